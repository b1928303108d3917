package synth

import (
	"bytes"
	"encoding/json"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/icnnlab/icnnlab/internal/data"
)

func testConfig(size int, difficulty float64) Config {
	return NewConfig(size, len(CategoryNames), difficulty, 7)
}

func TestGenerateIsDeterministicAndOrderFree(t *testing.T) {
	cfg := testConfig(64, 0.7)
	const n = 24
	forward := make([]*Sample, n)
	for i := range n {
		forward[i] = Generate(cfg, i)
	}
	// Generate the same indices in reverse, concurrently.
	parallel := make([]*Sample, n)
	var wg sync.WaitGroup
	for i := n - 1; i >= 0; i-- {
		wg.Add(1)
		go func() { defer wg.Done(); parallel[i] = Generate(cfg, i) }()
	}
	wg.Wait()
	for i := range n {
		a, b := forward[i], parallel[i]
		if !bytes.Equal(a.Image.Pix, b.Image.Pix) || !bytes.Equal(a.PartLabels, b.PartLabels) || !bytes.Equal(a.Layers, b.Layers) {
			t.Fatalf("sample %d: pixels or labels differ between two generations", i)
		}
		if diff := cmp.Diff(a.Landmarks, b.Landmarks); diff != "" || a.Box != b.Box || a.Category != b.Category {
			t.Fatalf("sample %d: annotations differ (-first +second):\n%s", i, diff)
		}
	}
	for i := 1; i < n; i++ {
		if bytes.Equal(forward[i].Image.Pix, forward[i-1].Image.Pix) {
			t.Errorf("samples %d and %d have identical images", i-1, i)
		}
	}
	other := cfg
	other.Seed++
	if bytes.Equal(Generate(other, 3).Image.Pix, forward[3].Image.Pix) {
		t.Error("seeds 7 and 8 give the same image for index 3")
	}
}

// manySamples draws n samples of cfg.
func manySamples(cfg Config, n int) []*Sample {
	out := make([]*Sample, n)
	for i := range out {
		out[i] = Generate(cfg, i)
	}
	return out
}

func TestVisibleLandmarksLieOnTheirGroup(t *testing.T) {
	for _, cfg := range []Config{testConfig(64, 0), testConfig(64, 1), testConfig(224, 0.5)} {
		n := 300
		if cfg.Size > 100 {
			n = 60
		}
		visible := make([]int, numLandmarks)
		for _, s := range manySamples(cfg, n) {
			for k, lm := range s.Landmarks {
				if !lm.Visible {
					continue
				}
				visible[k]++
				x, y := int(math.Floor(lm.X)), int(math.Floor(lm.Y))
				if got := Group(s.Groups[y*s.Size+x]); got != LandmarkGroup[k] {
					t.Fatalf("size %d sample %d: visible landmark %s at (%.1f,%.1f) lies on group %s, want %s", cfg.Size, s.Index, lm.Name, lm.X, lm.Y, got, LandmarkGroup[k])
				}
			}
		}
		// Without occluders almost every landmark must be visible: they are
		// placed inside their parts, not merely flagged.
		if cfg.Occlusion == 0 {
			for k, v := range visible {
				if rate := float64(v) / float64(n); rate < 0.97 {
					t.Errorf("size %d difficulty 0: landmark %s visible in %.1f%% of samples, want ≥ 97%%", cfg.Size, LandmarkNames[k], 100*rate)
				}
			}
		}
	}
}

func TestBoxIsTightAroundObjectPixels(t *testing.T) {
	for _, s := range manySamples(testConfig(64, 1), 200) {
		var minX, minY, maxX, maxY = s.Size, s.Size, -1, -1
		for k, p := range s.PartLabels {
			if p == 0 {
				continue
			}
			x, y := k%s.Size, k/s.Size
			minX, minY, maxX, maxY = min(minX, x), min(minY, y), max(maxX, x), max(maxY, y)
		}
		want := image.Rect(minX, minY, maxX+1, maxY+1)
		if maxX < 0 {
			want = image.Rectangle{}
		}
		if s.Box != want {
			t.Fatalf("sample %d: box %v, tight box of object pixels %v", s.Index, s.Box, want)
		}
	}
}

func TestLayersAndLabelsAgree(t *testing.T) {
	cfg := testConfig(64, 1)
	cfg.Occlusion = 1
	occludedSamples := 0
	for _, s := range manySamples(cfg, 100) {
		occluded := 0
		for k, p := range s.PartLabels {
			layer := Layer(s.Layers[k])
			switch {
			case layer == LayerOccluder && (p != 0 || s.Groups[k] != 0):
				t.Fatalf("sample %d pixel %d: occluded pixel carries part %s", s.Index, k, Part(p))
			case (layer == LayerObject) != (p != 0):
				t.Fatalf("sample %d pixel %d: layer %d but part %s", s.Index, k, layer, Part(p))
			case Group(s.Groups[k]) != PartGroup[p]:
				t.Fatalf("sample %d pixel %d: group %d, want %s for part %s", s.Index, k, s.Groups[k], PartGroup[p], Part(p))
			}
			if layer == LayerOccluder {
				occluded++
			}
		}
		if occluded > 0 {
			occludedSamples++
		}
	}
	if occludedSamples < 90 {
		t.Errorf("occlusion 1: only %d of 100 samples have occluder pixels", occludedSamples)
	}
}

// TestDrawnColoursFollowTheLabels paints every part in its own flat colour
// and checks that each pixel's colour is the colour of its label: the mask
// is exactly the set of pixels the part was drawn on.
func TestDrawnColoursFollowTheLabels(t *testing.T) {
	for cat := range CategoryNames {
		rng := sampleRNG(3, cat)
		fig := buildFigure(rng, cat, 1)
		pose := affine{m00: 0.45, m11: 0.45, m01: 0.1, m10: -0.1, tx: 0.5, ty: 0.55}
		var layers []layerItem
		for _, it := range fig.items {
			c := PartColours[it.part]
			layers = append(layers, layerItem{shp: it.shp, part: it.part, layer: LayerObject, toObj: pose.inverse(),
				pt: &paint{base: rgb{float64(c.R) / 255, float64(c.G) / 255, float64(c.B) / 255}}})
		}
		// Sort by z as Generate does.
		for i := range layers {
			for j := i + 1; j < len(layers); j++ {
				if fig.items[j].z < fig.items[i].z {
					layers[i], layers[j] = layers[j], layers[i]
					fig.items[i], fig.items[j] = fig.items[j], fig.items[i]
				}
			}
		}
		s := render(96, &background{}, layers, 1)
		seen := map[Part]bool{}
		for k, p := range s.PartLabels {
			if p == 0 {
				continue
			}
			seen[Part(p)] = true
			want := PartColours[p]
			got := s.Image.Pix[4*k : 4*k+3]
			for c, w := range []uint8{want.R, want.G, want.B} {
				if math.Abs(float64(got[c])-float64(w)) > 6 {
					t.Fatalf("%s pixel %d labelled %s has colour %v, want %v", CategoryNames[cat], k, Part(p), got, want)
				}
			}
		}
		for _, p := range CategoryParts[cat] {
			if !seen[p] {
				t.Errorf("%s: part %s never drawn", CategoryNames[cat], p)
			}
		}
	}
}

func TestEveryPartOfTheCategoryHasPixelsWithoutOcclusion(t *testing.T) {
	cfg := testConfig(64, 0.5)
	cfg.Occlusion = 0
	missing := map[string]int{}
	const n = 300
	for _, s := range manySamples(cfg, n) {
		px := s.PartPixels()
		for _, p := range CategoryParts[s.Category] {
			if px[p] == 0 {
				missing[s.CategoryName+"/"+p.String()]++
			}
		}
		for _, p := range []Part{PartHead, PartTorso, PartFrontLeg, PartBackLeg, PartTail} {
			if px[p] == 0 {
				t.Errorf("sample %d (%s): main part %s has no pixels", s.Index, s.CategoryName, p)
			}
		}
	}
	// Small parts may be hidden in an odd pose, but rarely.
	for name, m := range missing {
		if m > n/6/20 {
			t.Errorf("%s has no pixels in %d of ~%d samples", name, m, n/6)
		}
	}
}

func TestCategoriesAreBalanced(t *testing.T) {
	for _, k := range []int{2, 3, 6} {
		cfg := NewConfig(64, k, 0.5, 11)
		count := make([]int, k)
		for i := range 600 {
			c := CategoryOf(cfg, i)
			if c < 0 || c >= k {
				t.Fatalf("categories %d: index %d has category %d", k, i, c)
			}
			count[c]++
		}
		want := make([]int, k)
		for c := range want {
			want[c] = 600 / k
		}
		if diff := cmp.Diff(want, count); diff != "" {
			t.Errorf("categories %d: counts over 600 indices (-want +got):\n%s", k, diff)
		}
		// The order inside blocks is not the index modulo k.
		same := 0
		for i := range 600 {
			if CategoryOf(cfg, i) == i%k {
				same++
			}
		}
		if same == 600 {
			t.Errorf("categories %d: category is the index modulo %d", k, k)
		}
	}
	s := Generate(NewConfig(64, 3, 0.5, 11), 5)
	if s.Category != CategoryOf(NewConfig(64, 3, 0.5, 11), 5) || s.CategoryName != CategoryNames[s.Category] {
		t.Errorf("sample category %d %q disagrees with CategoryOf", s.Category, s.CategoryName)
	}
}

func TestCropToBoxKeepsAnnotationsConsistent(t *testing.T) {
	before, kept := 0, 0
	for _, s := range manySamples(testConfig(64, 0.5), 150) {
		for _, out := range []int{64, 224} {
			c := CropToBox(s, out)
			if c.Size != out || len(c.PartLabels) != out*out || c.Image.Bounds().Dx() != out {
				t.Fatalf("sample %d: crop to %d gives size %d", s.Index, out, c.Size)
			}
			for k, lm := range c.Landmarks {
				if s.Landmarks[k].Visible {
					before++
				}
				if !lm.Visible {
					continue
				}
				kept++
				x, y := int(math.Floor(lm.X)), int(math.Floor(lm.Y))
				if g := Group(c.Groups[y*out+x]); g != LandmarkGroup[k] {
					t.Fatalf("sample %d crop %d: visible %s on group %s", s.Index, out, lm.Name, g)
				}
			}
			// The object fills the crop up to the margin.
			if c.Box.Dx() < out*3/4 || c.Box.Dy() < out*3/4 {
				t.Errorf("sample %d crop %d: object box %v does not fill the crop", s.Index, out, c.Box)
			}
			if c.Category != s.Category {
				t.Errorf("crop changed the category")
			}
		}
	}
	if float64(kept) < 0.95*float64(before) {
		t.Errorf("crop kept %d of %d visible landmarks visible, want ≥ 95%%", kept, before)
	}
}

func TestValidateNamesTheBadField(t *testing.T) {
	good := DefaultConfig()
	if err := good.Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	tests := []struct {
		field  string
		mutate func(*Config)
	}{
		{"size", func(c *Config) { c.Size = 8 }},
		{"size", func(c *Config) { c.Size = 5000 }},
		{"categories", func(c *Config) { c.Categories = 1 }},
		{"categories", func(c *Config) { c.Categories = 7 }},
		{"difficulty", func(c *Config) { c.Difficulty = 1.5 }},
		{"difficulty", func(c *Config) { c.Difficulty = math.NaN() }},
		{"clutter", func(c *Config) { c.Clutter = -0.1 }},
		{"occlusion", func(c *Config) { c.Occlusion = 2 }},
	}
	for _, tc := range tests {
		c := good
		tc.mutate(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.field+" =") {
			t.Errorf("%+v: error %v does not name %q", c, err, tc.field)
		}
	}
	if _, err := good.CategoryIndex("zebra"); err == nil || !strings.Contains(err.Error(), "zebra") {
		t.Errorf("CategoryIndex(zebra) = %v, want an error naming it", err)
	}
}

func TestSameSceneAtEveryResolution(t *testing.T) {
	for i := range 30 {
		small, large := Generate(testConfig(64, 0.6), i), Generate(testConfig(224, 0.6), i)
		if small.Category != large.Category || small.Flipped != large.Flipped {
			t.Fatalf("sample %d: category/flip differ between 64 and 224 px", i)
		}
		scale := 224.0 / 64
		for k := range small.Landmarks {
			a, b := small.Landmarks[k], large.Landmarks[k]
			if math.Abs(a.X*scale-b.X) > 1e-6 || math.Abs(a.Y*scale-b.Y) > 1e-6 {
				t.Errorf("sample %d %s: (%.2f,%.2f)×3.5 vs (%.2f,%.2f)", i, a.Name, a.X*scale, a.Y*scale, b.X, b.Y)
			}
		}
		for _, d := range []int{
			small.Box.Min.X*224/64 - large.Box.Min.X, small.Box.Min.Y*224/64 - large.Box.Min.Y,
			small.Box.Max.X*224/64 - large.Box.Max.X, small.Box.Max.Y*224/64 - large.Box.Max.Y,
		} {
			if d < -8 || d > 8 {
				t.Errorf("sample %d: box %v at 64 px does not scale to %v at 224 px", i, small.Box, large.Box)
				break
			}
		}
	}
}

func TestSplitsAreDisjoint(t *testing.T) {
	s := Splits(1000, 100, 200)
	rs := []IndexRange{s.Train, s.Val, s.Test}
	want := []int{1000, 100, 200}
	for i, r := range rs {
		if r.Len() != want[i] {
			t.Errorf("range %d has %d indices, want %d", i, r.Len(), want[i])
		}
		for j := i + 1; j < len(rs); j++ {
			if r.Start < rs[j].End && rs[j].Start < r.End {
				t.Errorf("ranges %v and %v overlap", r, rs[j])
			}
		}
	}
	if Splits(50, 1, 200).Test != s.Test {
		t.Error("the test range moved when the training set changed")
	}
}

func TestSingleCategoryTaskIsBalanced(t *testing.T) {
	cfg := testConfig(32, 0.5)
	task, err := SingleCategoryTask(cfg, "cow", IndexRange{102, 702}, true)
	if err != nil {
		t.Fatal(err)
	}
	if task.Classes() != 1 || task.ClassNames()[0] != "cow" || task.ImageSize() != 32 {
		t.Fatalf("classes %d %v size %d", task.Classes(), task.ClassNames(), task.ImageSize())
	}
	labels := map[int]int{}
	negCats := map[int]int{}
	for i := range task.Len() {
		idx := task.SampleIndex(i)
		if idx < 102 || idx >= 702 {
			t.Fatalf("example %d uses index %d outside the range", i, idx)
		}
		isCow := CategoryOf(cfg, idx) == Cow
		if (task.Label(i) == 1) != isCow {
			t.Fatalf("example %d: label %d but category %s", i, task.Label(i), CategoryNames[CategoryOf(cfg, idx)])
		}
		labels[task.Label(i)]++
		if !isCow {
			negCats[CategoryOf(cfg, idx)]++
		}
	}
	if labels[1] != 100 || labels[0] != 100 {
		t.Errorf("labels %v, want 100 positives and 100 negatives", labels)
	}
	if diff := cmp.Diff(map[int]int{Bird: 20, Cat: 20, Dog: 20, Horse: 20, Sheep: 20}, negCats); diff != "" {
		t.Errorf("negative categories (-want +got):\n%s", diff)
	}
	if _, err := SingleCategoryTask(NewConfig(64, 2, 0.5, 1), "horse", IndexRange{0, 10}, false); err == nil {
		t.Error("horse accepted as target of a two-category world")
	}
	images, targets, lab, err := data.Batch(task, []int{0, 1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int{4, 3, 32, 32}, []int(images.Shape())); diff != "" {
		t.Errorf("batch image shape (-want +got):\n%s", diff)
	}
	for b, l := range lab {
		if targets.Float32s()[b] != float32(l) {
			t.Errorf("target %d = %g, label %d", b, targets.Float32s()[b], l)
		}
	}
}

func TestMultiCategoryTask(t *testing.T) {
	cfg := NewConfig(32, 4, 0.3, 5)
	task, err := MultiCategoryTask(cfg, IndexRange{0, 40}, false)
	if err != nil {
		t.Fatal(err)
	}
	if task.Len() != 40 || task.Classes() != 4 {
		t.Fatalf("len %d classes %d", task.Len(), task.Classes())
	}
	for i := range task.Len() {
		ex, err := task.Example(i)
		if err != nil {
			t.Fatal(err)
		}
		if ex.Label != Generate(cfg, i).Category || len(ex.Image) != 3*32*32 {
			t.Fatalf("example %d: label %d, %d values", i, ex.Label, len(ex.Image))
		}
	}
	other, _ := MultiCategoryTask(NewConfig(32, 4, 0.3, 6), IndexRange{0, 40}, false)
	if bytes.Equal(task.Spec(), other.Spec()) {
		t.Error("different seeds give equal specs")
	}
	var spec map[string]any
	if err := json.Unmarshal(task.Spec(), &spec); err != nil || spec["source"] != "synth" {
		t.Errorf("spec %s: %v", task.Spec(), err)
	}
}

func TestCHWIsRoughlyNormalised(t *testing.T) {
	var sum, sq [3]float64
	var n float64
	for _, s := range manySamples(testConfig(64, 0.5), 200) {
		x := s.CHW()
		per := len(x) / 3
		for c := range 3 {
			for _, v := range x[c*per : (c+1)*per] {
				sum[c] += float64(v)
				sq[c] += float64(v) * float64(v)
			}
		}
		n += float64(per)
	}
	for c := range 3 {
		mean := sum[c] / n
		std := math.Sqrt(sq[c]/n - mean*mean)
		if math.Abs(mean) > 0.15 || std < 0.8 || std > 1.25 {
			t.Errorf("channel %d: mean %.3f std %.3f after normalisation, want ≈ 0 and ≈ 1", c, mean, std)
		}
	}
}

func TestWriteDataset(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(48, 0.5)
	if err := WriteDataset(dir, cfg, 5); err != nil {
		t.Fatal(err)
	}
	js, err := os.ReadFile(filepath.Join(dir, "annotations.json"))
	if err != nil {
		t.Fatal(err)
	}
	var file AnnotationFile
	if err := json.Unmarshal(js, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Images) != 5 || file.PartGroup["beak"] != "head" {
		t.Fatalf("annotations: %d images, beak group %q", len(file.Images), file.PartGroup["beak"])
	}
	for i, a := range file.Images {
		s := Generate(cfg, i)
		f, err := os.Open(filepath.Join(dir, a.Labels))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(img.(*image.Gray).Pix, s.PartLabels) {
			t.Errorf("%s: label PNG differs from the sample's part labels", a.Labels)
		}
		if a.Box != [4]int{s.Box.Min.X, s.Box.Min.Y, s.Box.Max.X, s.Box.Max.Y} || a.CategoryName != s.CategoryName {
			t.Errorf("image %d: annotation %v %s, sample %v %s", i, a.Box, a.CategoryName, s.Box, s.CategoryName)
		}
		for _, p := range []string{a.File, a.Mask} {
			if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
				t.Error(err)
			}
		}
	}
	csv, err := os.ReadFile(filepath.Join(dir, "annotations.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(string(csv), "\n"); lines != 6 || !strings.HasPrefix(string(csv), "file,mask,labels,index,category") {
		t.Errorf("annotations.csv has %d lines:\n%s", lines, csv)
	}
	if err := WriteDataset(dir, Config{}, 1); err == nil {
		t.Error("invalid config accepted")
	}
}

func TestContactSheetShowsEverySample(t *testing.T) {
	samples := manySamples(testConfig(64, 0.5), 6)
	sheet := ContactSheet(samples, 3)
	if sheet.Bounds().Dx() < 3*2*64 || sheet.Bounds().Dy() < 2*64 {
		t.Fatalf("sheet %v too small for 2×3 cells of two 64-px panels", sheet.Bounds())
	}
	// The first cell's left panel is the raw image.
	for y := range 64 {
		for x := range 64 {
			if sheet.RGBAAt(1+x, 1+y) != samples[0].Image.RGBAAt(x, y) {
				t.Fatalf("sheet pixel (%d,%d) is not the first sample's pixel", x, y)
			}
		}
	}
}

func BenchmarkGenerate64(b *testing.B)  { benchGenerate(b, 64) }
func BenchmarkGenerate224(b *testing.B) { benchGenerate(b, 224) }

func benchGenerate(b *testing.B, size int) {
	cfg := NewConfig(size, 6, 0.5, 1)
	i := 0
	for b.Loop() {
		Generate(cfg, i)
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
}

// BenchmarkGenerate64Parallel uses every core, as data loaders do.
func BenchmarkGenerate64Parallel(b *testing.B) {
	cfg := NewConfig(64, 6, 0.5, 1)
	var next atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			Generate(cfg, int(next.Add(1)))
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
}

func BenchmarkTaskExampleCropped64(b *testing.B) {
	task, err := MultiCategoryTask(NewConfig(64, 6, 0.5, 1), IndexRange{0, 1 << 20}, true)
	if err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		if _, err := task.Example(i); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
}
