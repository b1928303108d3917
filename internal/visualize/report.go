package visualize

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"

	"github.com/icnnlab/icnnlab/plugins/visualizers/upconv"
)

// Report is everything report.html shows. It holds only plain values
// (paths relative to the report, numbers, strings and ready-made SVG), so
// that a report can be rendered from fixed inputs in tests.
type Report struct {
	Title string
	Runs  []RunSection
}

// RunSection is one run's part of the report.
type RunSection struct {
	// ID is the section's anchor ("run-0"); cards are ID-filter-N.
	ID string
	// Name is the run's directory name, its key in the run store (never
	// the directory's path: reports are committed and must not hold a
	// path of one machine).
	Name string
	// Network says what was trained ("ordinary vgg-m, single bird, seed
	// 1"); Accuracy is its test accuracy ("" when unknown).
	Network  string
	Accuracy string
	Manifest string     // pretty JSON
	Metrics  []KeyValue // metrics.json, in file order
	Layer    LayerFacts
	Plots    []template.HTML // training curves and metric distributions
	// Coverage is the labelled filters × part-groups map (CoverageMap);
	// Heatmap the plugin's unlabelled image of it; Groups its rows.
	Coverage template.HTML
	Heatmap  string
	Groups   []string
	// TopImages is how many top images each filter's coverage counts.
	TopImages int
	Decoder   *DecoderFacts // nil when upconv did not run
	Cards     []FilterCard
	// Gallery lists, per part, the filters whose mined peaks fall on it
	// most, purest first (empty without pattern purity); PurityPeaks is
	// the K of the purity.
	Gallery     []PartGallery
	PurityPeaks int
	// Numbers are the section's figures for report.json.
	Numbers RunNumbers
	// Notes are things the reader should know (a metric that could not be
	// computed, and why).
	Notes []string
}

// KeyValue is one row of a table.
type KeyValue struct{ Key, Value string }

// LayerFacts describes the visualized layer.
type LayerFacts struct {
	Name                    string
	Channels, Height, Width int
	RFSize, RFJump          int
	RFStart                 float64
	Images, TrainImages     int
	PartInterpretability    string // the layer's mean P_f, or "n/a"
	LocationInstability     string // mean over defined filters, or "n/a"
	PatternPurity           string // mean over firing filters, or "n/a"
}

// PartGallery is one part's filters in the per-part gallery.
type PartGallery struct {
	Part    string
	Filters []GalleryFilter
	// More counts the part's filters not drawn.
	More int
}

// GalleryFilter is one filter of a part's gallery.
type GalleryFilter struct {
	Filter int
	Purity string // "0.85 (17/20)"
	// Image is its strip of top patches; Link its card ("" without one).
	Image, Link string
}

// DecoderFacts summarises the upconv decoder.
type DecoderFacts struct {
	Backend     string
	Steps       int
	TrainImages int
	// Mirrored: the decoder trained on the mirror images too.
	Mirrored bool
	// Object and Background split the held-out error by the part masks
	// (nil when the images have none).
	Object, Background *upconv.Region
	// FeatureSide is the layer's map side; InputSide the decoder's, onto
	// which the features are resampled when they differ.
	FeatureSide, InputSide int
	// Patches per pattern row and their side in image pixels.
	Patches, PatchSize int
	HeldOutImages      int
	MSE, Baseline      float64
	Ratio              float64
	Reconstructions    string
	MeanImage          string
	// Seconds is the wall time of training, scoring and drawing.
	Seconds float64
	// ZeroFeatures is the share of the held-out feature values that are
	// zero.
	ZeroFeatures float64
	// Masked: the layer is an interpretable one, read after its mask; the
	// report then says what that leaves a decoder.
	Masked bool
}

// FilterCard is one filter's card. It leads with the part its mined
// patterns fall on and their purity, its top patches and the decoder's
// rendering of its patterns; the metrics and overlays follow.
type FilterCard struct {
	Filter int
	// Part is the part most of its mined peaks fall on, Purity the share
	// that do ("0.85, 17 of 20 peaks"); both "" without pattern purity.
	Part, Purity string
	// PatchesImage is the strip of its top patches, each peak's
	// receptive-field centre marked green on Part and red off it.
	PatchesImage string
	// RFImage shows its receptive fields on its top images; UpconvImage its
	// patterns (rows: top patches, reconstruction of the mean feature, of
	// the filter-only feature). Either may be empty.
	RFImage, UpconvImage string
	// BestPart is the part-interpretability argmax with its score P_f;
	// Instability its location instability ("" when unavailable).
	BestPart    string
	PartScore   string
	Instability string
	// Coverage is the receptive-field region's best part group and its
	// share of the region's pixels.
	Coverage string
	// TopCategories counts the categories of its top images ("bird 6,
	// sheep 2").
	TopCategories string
	Patterns      []int // pattern sizes
}

// NumbersFile is the report's figures as JSON (Numbers), beside
// report.html.
const NumbersFile = "report.json"

// Numbers is report.json: every run's layer figures, so that a table row
// that links the report can quote them.
type Numbers struct {
	Runs []RunNumbers `json:"runs"`
}

// RunNumbers are one run's figures; absent ones were not measured.
type RunNumbers struct {
	Run     string `json:"run"`
	Network string `json:"network"`
	Layer   string `json:"layer"`
	// PartInterpretability is the layer's mean P_f (the tables' number).
	PartInterpretability *float64 `json:"part_interpretability,omitempty"`
	// PatternPurity is the mean pattern purity over the PurityFiring
	// filters that fire, each scored on its PurityPeaks strongest peaks.
	PatternPurity *float64 `json:"pattern_purity,omitempty"`
	PurityFiring  int      `json:"purity_firing_filters,omitempty"`
	PurityPeaks   int      `json:"purity_peaks,omitempty"`
	// PurityParts counts, per part, the filters whose peaks fall on it most.
	PurityParts map[string]int  `json:"purity_parts,omitempty"`
	Decoder     *DecoderNumbers `json:"decoder,omitempty"`
}

// DecoderNumbers are the decoder's held-out figures.
type DecoderNumbers struct {
	TrainImages   int `json:"train_images"`
	HeldOutImages int `json:"held_out_images"`
	Steps         int `json:"steps"`
	// Mirrored: trained on the mirror images too (2·TrainImages pairs).
	Mirrored    bool    `json:"mirrored"`
	MSE         float64 `json:"mse"`
	BaselineMSE float64 `json:"baseline_mse"`
	Ratio       float64 `json:"ratio"`
	// Seconds is the wall time of the decoder's plugin call (training,
	// scoring and drawing) on the machine that made the report.
	Seconds float64 `json:"seconds"`
	// ZeroFeatures is the share of the held-out feature values that are zero.
	ZeroFeatures float64 `json:"zero_features"`
	// Object and Background split the held-out error by the part masks.
	Object     *upconv.Region `json:"object,omitempty"`
	Background *upconv.Region `json:"background,omitempty"`
	// Losses is the training loss (pixel MSE of the batch) at steps 1,
	// 1+LossEvery, 1+2·LossEvery, …: the loss curve.
	Losses    []float64 `json:"losses"`
	LossEvery int       `json:"loss_every"`
}

// Numbers collects every section's figures.
func (r *Report) Numbers() Numbers {
	n := Numbers{Runs: []RunNumbers{}}
	for _, s := range r.Runs {
		n.Runs = append(n.Runs, s.Numbers)
	}
	return n
}

//go:embed report.html.tmpl
var reportTemplate string

var tmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"f3":  func(v float64) string { return fmt.Sprintf("%.4f", v) },
	"pct": func(v float64) string { return fmt.Sprintf("%.0f %%", 100*v) },
}).Parse(reportTemplate))

// Render writes the report as one self-contained HTML page (images are
// referenced relative to it).
func (r *Report) Render() ([]byte, error) {
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, r); err != nil {
		return nil, fmt.Errorf("render report: %w", err)
	}
	return buf.Bytes(), nil
}
