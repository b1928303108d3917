package receptivefield

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/icnnlab/icnnlab/plugins/visualizers/vizwire"
	"github.com/icnnlab/icnnlab/sdk/parts"
)

// purityWorld is 8 images of 16×16 px with a 4×4 map (jump 4, start 2:
// unit (i, j) is centred on pixel (2+4j, 2+4i)). In every image the
// "head" is a 4×4 square that moves with the image index (top-left corner
// at (4·(n%3), 4·(n%2))), the "torso" the bottom row band y ≥ 12, and the
// rest is background.
func purityWorld() (vizwire.Maps, []uint8, parts.Geometry, []string) {
	const n, c, side, s = 8, 3, 4, 16
	g := parts.Geometry{Size: 8, Jump: 4, Start: 2, ImageWidth: s, ImageHeight: s}
	masks := make([]uint8, n*s*s)
	a := vizwire.Maps{N: n, C: c, H: side, W: side, Data: make([]float32, n*c*side*side)}
	for img := range n {
		hx, hy := 4*(img%3), 4*(img%2)
		for y := range s {
			for x := range s {
				switch {
				case x >= hx && x < hx+4 && y >= hy && y < hy+4:
					masks[img*s*s+y*s+x] = 1
				case y >= 12:
					masks[img*s*s+y*s+x] = 2
				}
			}
		}
		// Filter 0 follows the head: its peak unit is the one centred in it.
		a.At(img, 0)[(hy/4)*side+hx/4] = float32(1 + img)
		// Filter 1 fires at a fixed place, unit (1, 3), whatever is there:
		// the head never reaches column 12.., so that is background.
		a.At(img, 1)[1*side+3] = float32(1 + img)
		// Filter 2 alternates: torso band (row 3) on even images,
		// background (row 2, column 3) on odd ones.
		if img%2 == 0 {
			a.At(img, 2)[3*side+img%4] = 2
		} else {
			a.At(img, 2)[2*side+3] = 1
		}
	}
	return a, masks, g, []string{"background", "head", "torso"}
}

func TestPurityHandMade(t *testing.T) {
	a, masks, g, groups := purityWorld()
	got, err := Purity(a, masks, g, groups, 8)
	if err != nil {
		t.Fatal(err)
	}
	want := []FilterPurity{
		// Every peak of the head-following filter is on the head: purity 1.
		{Filter: 0, Peaks: 8, Part: "head", OnPart: 8, Purity: 1, Groups: map[string]int{"background": 0, "head": 8, "torso": 0}},
		// A filter that fires at a fixed border place never hits a part:
		// no part, purity 0 — the case the metric must fail.
		{Filter: 1, Peaks: 8, Groups: map[string]int{"background": 8, "head": 0, "torso": 0}},
		// Half its peaks on the torso, half on the background: 0.5.
		{Filter: 2, Peaks: 8, Part: "torso", OnPart: 4, Purity: 0.5, Groups: map[string]int{"background": 4, "head": 0, "torso": 4}},
	}
	if d := cmp.Diff(want, got.Filters); d != "" {
		t.Errorf("filters (-want +got):\n%s", d)
	}
	if d := cmp.Diff(0.5, got.Mean, cmpopts.EquateApprox(0, 1e-12)); d != "" || got.Firing != 3 {
		t.Errorf("mean %v over %d firing filters, want 0.5 over 3", got.Mean, got.Firing)
	}
	if d := cmp.Diff([]PartFilters{{Part: "head", Filters: []int{0}}, {Part: "torso", Filters: []int{2}}}, got.Parts); d != "" {
		t.Errorf("gallery (-want +got):\n%s", d)
	}

	// K = 4 keeps filter 2's strongest peaks, all on the torso: the top of
	// a filter's patterns is scored, not its tail.
	top, err := Purity(a, masks, g, groups, 4)
	if err != nil {
		t.Fatal(err)
	}
	if f := top.Filters[2]; f.Peaks != 4 || f.Purity != 1 || f.Part != "torso" {
		t.Errorf("filter 2 with K=4: %+v, want 4 peaks all on the torso", f)
	}
}

// A silent filter has no pattern: it is left out of the mean, not scored 0.
func TestPuritySilentFilter(t *testing.T) {
	a, masks, g, groups := purityWorld()
	for img := range a.N {
		clear(a.At(img, 1))
	}
	got, err := Purity(a, masks, g, groups, 8)
	if err != nil {
		t.Fatal(err)
	}
	if f := got.Filters[1]; f.Peaks != 0 || f.Purity != 0 || f.Part != "" {
		t.Errorf("silent filter: %+v", f)
	}
	if got.Firing != 2 || got.Mean != 0.75 {
		t.Errorf("mean %v over %d filters, want 0.75 over 2", got.Mean, got.Firing)
	}
}

func TestPurityErrors(t *testing.T) {
	a, masks, g, groups := purityWorld()
	for _, tc := range []struct {
		name   string
		masks  []uint8
		groups []string
		k      int
	}{
		{"no peaks", masks, groups, 0},
		{"short masks", masks[:10], groups, 4},
		{"no parts", masks, groups[:1], 4},
		{"group id beyond the names", masks, groups[:2], 8},
	} {
		if _, err := Purity(a, tc.masks, g, tc.groups, tc.k); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

// The strip marks each peak's receptive-field centre where the filter's
// part is: green on it, red off it.
func TestPurityStripMarksCentres(t *testing.T) {
	a, masks, g, groups := purityWorld()
	images := vizwire.Maps{N: a.N, C: 3, H: 16, W: 16, Data: make([]float32, a.N*3*16*16)}
	sum, err := Purity(a, masks, g, groups, 8)
	if err != nil {
		t.Fatal(err)
	}
	// Filter 2's two strongest peaks: image 0 (torso, value 2) first.
	img := PurityStrip(a, images, masks, g, sum.Filters[2], groups, 8, 8, 1)
	if img == nil {
		t.Fatal("no strip")
	}
	// Tile 0 starts at (2, 2); the centre of unit (3, 0) is pixel (2, 14),
	// 8-px patch box from (-2, 10): the centre sits at (4, 4) in the tile.
	if c := img.RGBAAt(2+4, 2+4); c != onPartColour {
		t.Errorf("first tile centre %v, want the on-part colour", c)
	}
	// The 5th strongest is an odd image's background peak (value 1).
	x0 := 2 + 4*(8+2)
	if c := img.RGBAAt(x0+4, 2+4); c != offPartColour {
		t.Errorf("fifth tile centre %v, want the off-part colour", c)
	}
}

// Render scores purity and draws strips for the drawn filters and the
// gallery's purest filter per part, no more.
func TestRenderPurityFiles(t *testing.T) {
	a, masks, g, groups := purityWorld()
	images := vizwire.Maps{N: a.N, C: 3, H: 16, W: 16, Data: make([]float32, a.N*3*16*16)}
	files, sum, err := Render(Input{Meta: vizwire.Meta{Layer: "conv", Geometry: g, Groups: groups}, Activations: a, Images: images, Parts: masks},
		Options{Filters: []int{1}, TopImages: 2, TopFraction: 0.05, Scale: 1, PurityPeaks: 8, Patches: 3, Gallery: 1})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, f.Name)
	}
	want := []string{"filter-001.png", "patches-000.png", "patches-001.png", "patches-002.png", "parts-heatmap.png"}
	if d := cmp.Diff(want, names); d != "" {
		t.Errorf("files (-want +got):\n%s", d)
	}
	if sum.Purity == nil || sum.Purity.Filters[0].Image != "patches-000.png" || sum.PatchSize != 8 {
		t.Errorf("summary purity %+v, patch size %d", sum.Purity, sum.PatchSize)
	}
}
