package synth_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/icnnlab/icnnlab/internal/data/synth"
	"github.com/icnnlab/icnnlab/plugins/metrics/featmap"
	"github.com/icnnlab/icnnlab/plugins/metrics/instability"
	"github.com/icnnlab/icnnlab/plugins/metrics/partinterp"
	"github.com/icnnlab/icnnlab/sdk/parts"
)

const (
	imageSize = 64
	numImages = 20
)

// samples are 20 objects of the default-difficulty world cropped by their
// box, as the paper crops objects for evaluation.
func samples(t *testing.T) []*synth.Sample {
	t.Helper()
	cfg := synth.NewConfig(imageSize, 6, 0.5, 7)
	out := make([]*synth.Sample, numImages)
	for i := range out {
		out[i] = synth.CropToBox(synth.Generate(cfg, i), imageSize)
	}
	return out
}

func TestAnnotations(t *testing.T) {
	ss := samples(t)
	set := synth.Annotations(ss)
	if err := set.Validate(); err != nil {
		t.Fatal(err)
	}
	if got, want := set.GroupID("head"), int(synth.PartGroup[1]); set.Groups[0] != "background" || got != want {
		t.Errorf("groups %v: head id %d, want %d", set.Groups, got, want)
	}
	for n, s := range ss {
		im := set.Images[n]
		if set.Categories[im.Category] != s.CategoryName || !cmp.Equal(im.GroupMask, s.Groups) || len(im.Landmarks) != len(s.Landmarks) {
			t.Fatalf("image %d does not mirror its sample", n)
		}
	}
	// The annotation file carries the same set.
	data, err := parts.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	back, err := parts.Parse(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(set, back); diff != "" {
		t.Errorf("file round trip (-want +got):\n%s", diff)
	}
}

// stackFilters builds [N, len(filters), h, w] from per-filter map makers.
func stackFilters(t *testing.T, n, h, w int, filters ...func(img int) []float32) *featmap.Maps {
	t.Helper()
	var data []float32
	for img := range n {
		for _, f := range filters {
			data = append(data, f(img)...)
		}
	}
	m, err := featmap.New(n, len(filters), h, w, data)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestPartInterpretabilityOracleVersusNoise(t *testing.T) {
	ss := samples(t)
	set := synth.Annotations(ss)
	head := uint8(set.GroupID("head"))
	// small64's conv2: receptive field 8 px, jump 2, first centre at 1,
	// so unit (i, j) sits on the 2×2 pixel cell [2j, 2j+2) × [2i, 2i+2).
	g := parts.Geometry{Size: 8, Jump: 2, Start: 1, ImageWidth: imageSize, ImageHeight: imageSize}
	const side = imageSize / 2
	oracle := func(img int) []float32 { // share of head pixels per cell
		m := make([]float32, side*side)
		for y := range imageSize {
			for x := range imageSize {
				if ss[img].Groups[y*imageSize+x] == head {
					m[(y/2)*side+x/2] += 0.25
				}
			}
		}
		return m
	}
	rng := rand.New(rand.NewPCG(1, 2))
	noise := make([][]float32, numImages)
	for i := range noise {
		noise[i] = make([]float32, side*side)
		for u := range noise[i] {
			noise[i][u] = rng.Float32()
		}
	}
	m := stackFilters(t, numImages, side, side, oracle, func(img int) []float32 { return noise[img] })
	for _, region := range []string{partinterp.RegionUpsample, partinterp.RegionBox, partinterp.RegionRound} {
		t.Run(region, func(t *testing.T) {
			res, err := partinterp.Evaluate(m, g, set, partinterp.Options{Region: region})
			if err != nil {
				t.Fatal(err)
			}
			o, n := res.Filters[0], res.Filters[1]
			t.Logf("oracle P_f %.3f (%s), noise P_f %.3f (%s)", o.Score, o.BestPart, n.Score, n.BestPart)
			if o.Score < 0.8 || o.BestPart != "head" {
				t.Errorf("head oracle: P_f %v on %q, want ≥ 0.8 on head", o.Score, o.BestPart)
			}
			if n.Score > 0.2 {
				t.Errorf("noise filter: P_f %v (%s), want ≤ 0.2", n.Score, n.BestPart)
			}
		})
	}
}

func TestLocationInstabilityOracleVersusRandom(t *testing.T) {
	ss := samples(t)
	set := synth.Annotations(ss)
	// small64's interpretable top layer: 8×8 map, jump 8, first centre at 4.
	g := parts.Geometry{Size: 54, Jump: 8, Start: 4, ImageWidth: imageSize, ImageHeight: imageSize}
	const side = 8
	headAt := func(img int) (float64, float64) {
		l := ss[img].Landmarks[synth.LandmarkHead]
		return l.X, l.Y
	}
	oracle := func(img int) []float32 { // a bump on the head, peak at the nearest unit
		hx, hy := headAt(img)
		m := make([]float32, side*side)
		for i := range side {
			for j := range side {
				x, y := g.Center(i, j)
				m[i*side+j] = float32(math.Exp(-((x-hx)*(x-hx) + (y-hy)*(y-hy)) / (2 * 8 * 8)))
			}
		}
		return m
	}
	rng := rand.New(rand.NewPCG(3, 4))
	random := make([][]float32, numImages)
	for i := range random {
		random[i] = make([]float32, side*side)
		random[i][rng.IntN(side*side)] = 1 + rng.Float32()
	}
	m := stackFilters(t, numImages, side, side, oracle, func(img int) []float32 { return random[img] })
	res, err := instability.Evaluate(m, g, set, instability.Options{Landmarks: []string{"head"}})
	if err != nil {
		t.Fatal(err)
	}
	o, r := res.Filters[0], res.Filters[1]
	t.Logf("oracle D %.4f over %d images, random D %.4f", o.Score, o.Images["head"], r.Score)
	visible := 0
	for _, s := range ss {
		if s.Landmarks[synth.LandmarkHead].Visible {
			visible++
		}
	}
	// The oracle's peak is the unit nearest the head, at most half a cell
	// diagonal (4√2 px) away: d ≤ 4√2/(64√2) = 1/16, so D stays well below
	// that bound; a peak anywhere on the map spreads d over the image.
	if !o.Defined || o.Images["head"] != visible || o.Score > 1.0/32 {
		t.Errorf("head oracle: D %v over %d images (want ≤ 1/32 over the %d with a visible head)", o.Score, o.Images["head"], visible)
	}
	if r.Score < 3*o.Score || r.Score < 0.08 {
		t.Errorf("random-position filter: D %v, want ≥ 0.08 and ≥ 3× the oracle's %v", r.Score, o.Score)
	}
}
