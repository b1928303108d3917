package visualize

import (
	"flag"
	"html/template"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/icnnlab/icnnlab/plugins/visualizers/draw"
	"github.com/icnnlab/icnnlab/plugins/visualizers/upconv"
)

var update = flag.Bool("update", false, "rewrite testdata/report.golden.html")

// fixedReport is a report over made-up numbers whose images are written to
// dir (missing lists image paths to leave out, to see a broken one caught).
func fixedReport(t *testing.T, dir string, missing ...string) *Report {
	t.Helper()
	rep := &Report{Title: "icnnlab visualization: fixed <inputs> & co", Runs: []RunSection{{
		ID: "run-0", Name: "interp-0123456789ab",
		Network: "interpretable (mask l1, loss mi) small64, single bird, seed 1", Accuracy: "0.8853",
		Manifest: "{\n  \"name\": \"interp\",\n  \"backend\": \"gorgonia\"\n}",
		Metrics:  []KeyValue{{"test_accuracy", "0.8853"}, {"test_images", "340"}},
		Layer: LayerFacts{Name: "conv4", Channels: 64, Height: 8, Width: 8, RFSize: 68, RFJump: 8, RFStart: 3.5,
			Images: 300, TrainImages: 500, PartInterpretability: "0.120", LocationInstability: "0.109 (64 filters defined)",
			PatternPurity: "0.412 (60 filters fire, K = 20)"},
		Plots: []template.HTML{
			LinePlot("training loss", "step", []Series{{Name: "train_loss", X: []float64{42, 84, 126}, Y: []float64{1.2, 0.43, 0.3}}}),
			Histogram("part interpretability P_f per filter", "P_f", []float64{0, 0.1, 0.15, 0.9}, 0, 1, 10),
			Bars("filters by the part their RF covers most", []string{"head", "torso"}, []float64{3, 5}),
			LinePlot("empty", "step", nil),
		},
		Coverage: CoverageMap("coverage", []string{"background", "head", "torso"}, []CoverageColumn{
			{Filter: 7, Shares: []float64{0.2, 0.72, 0.08}, Best: 1, Link: "#run-0-filter-7"},
			{Filter: 12, Shares: []float64{0.5, 0.1, 0.4}, Best: 2, Link: "#run-0-filter-12"},
			{Filter: 3, Best: -1},
		}),
		Heatmap:   "interp/receptive-field/parts-heatmap.png",
		Groups:    []string{"background", "head", "torso"},
		TopImages: 8,
		Decoder: &DecoderFacts{Backend: "gorgonia", Steps: 400, Seconds: 93.4, TrainImages: 500, Mirrored: true, Object: &upconv.Region{Share: 0.25, MSE: 0.03, BaselineMSE: 0.06, Ratio: 0.5}, Background: &upconv.Region{Share: 0.75, MSE: 0.018, BaselineMSE: 0.024, Ratio: 0.75}, FeatureSide: 6, InputSide: 8, HeldOutImages: 300, MSE: 0.0201, Baseline: 0.0329,
			Ratio: 0.611, ZeroFeatures: 0.92, Masked: true, Patches: 6, PatchSize: 32, Reconstructions: "interp/upconv/reconstructions.png", MeanImage: "interp/upconv/mean-image.png"},
		Cards: []FilterCard{
			{Filter: 7, Part: "head", Purity: "0.85 (17 of 20 peaks)", PatchesImage: "interp/receptive-field/patches-007.png",
				RFImage: "interp/receptive-field/filter-007.png", UpconvImage: "interp/upconv/filter-007.png",
				BestPart: "head", PartScore: "0.45", Instability: "0.081", Coverage: "head 72% (background 20%)",
				TopCategories: "bird 6, sheep 2", Patterns: []int{20, 11, 3}},
			{Filter: 12, Purity: "0 (all 20 peaks on the background)", RFImage: "interp/receptive-field/filter-012.png"},
		},
		PurityPeaks: 20,
		Gallery: []PartGallery{
			{Part: "head", Filters: []GalleryFilter{
				{Filter: 7, Purity: "0.85 (17 of 20 peaks)", Image: "interp/receptive-field/patches-007.png", Link: "#run-0-filter-7"},
				{Filter: 30, Purity: "0.60 (12 of 20 peaks)", Image: "interp/receptive-field/patches-030.png"},
			}, More: 3},
			{Part: "tail <& co>", Filters: []GalleryFilter{{Filter: 2, Purity: "0.35 (7 of 20 peaks)", Image: "interp/receptive-field/patches-002.png"}}},
		},
		Notes: []string{"location instability unavailable: a <reason>"},
	}}}
	skip := map[string]bool{}
	for _, m := range missing {
		skip[m] = true
	}
	write := func(rel string, img *image.RGBA) {
		if skip[rel] {
			return
		}
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		data, err := draw.PNG(img)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tile := image.NewRGBA(image.Rect(0, 0, 16, 16))
	for i := range 16 {
		tile.SetRGBA(i, i, color.RGBA{255, 0, 0, 255})
	}
	sec := rep.Runs[0]
	for _, p := range []string{sec.Heatmap, sec.Decoder.Reconstructions, sec.Decoder.MeanImage} {
		write(p, tile)
	}
	for _, g := range sec.Gallery {
		for _, f := range g.Filters {
			write(f.Image, tile)
		}
	}
	for _, c := range sec.Cards {
		for _, p := range []string{c.RFImage, c.UpconvImage, c.PatchesImage} {
			if p != "" {
				write(p, tile)
			}
		}
	}
	return rep
}

// fixedImages is how many <img> the fixed report has (the heat map PNG is
// a link: the page draws the labelled map as SVG).
const fixedImages = 9

// The decoder section says what a masked layer leaves the decoder, and
// that the background is out of reach only when the decoder did not
// recover it; an ordinary layer as sparse gets no such note.
func TestReportMaskedLayerNote(t *testing.T) {
	for _, c := range []struct {
		name               string
		masked             bool
		background         float64
		note, noBackground bool
	}{
		{"ordinary layer, 83 % zeros after its ReLU", false, 1.03, false, false},
		{"masked, background recovered in part", true, 0.75, true, false},
		{"masked, background not recovered", true, 1.03, true, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			rep := fixedReport(t, t.TempDir())
			dec := rep.Runs[0].Decoder
			dec.Masked, dec.ZeroFeatures = c.masked, 0.83
			dec.Background = &upconv.Region{Share: 0.75, MSE: 0.024 * c.background, BaselineMSE: 0.024, Ratio: c.background}
			html, err := rep.Render()
			if err != nil {
				t.Fatal(err)
			}
			got := struct{ Note, NoBackground bool }{
				strings.Contains(string(html), "What a decoder can recover from this layer"),
				strings.Contains(string(html), "not in these maps"),
			}
			want := struct{ Note, NoBackground bool }{c.note, c.noBackground}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("note (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReportGolden(t *testing.T) {
	html, err := fixedReport(t, t.TempDir()).Render()
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "report.golden.html")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, html, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/visualize -update)", err)
	}
	if d := cmp.Diff(string(want), string(html)); d != "" {
		t.Errorf("report.html differs from %s (-want +got; -update rewrites it):\n%s", golden, d)
	}
}
