package receptivefield

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/icnnlab/icnnlab/plugins/visualizers/vizwire"
	"github.com/icnnlab/icnnlab/sdk/parts"
)

// Hand-made layer on 16-px images with a 4×4 map (jump 4): filter 0 fires
// in the top-left unit, strongest on image 2; filter 1 in the bottom-right
// unit. Parts: the top-left 8×8 quadrant is group 1 ("head"), the
// bottom-right one group 2 ("legs"), the rest background.
func TestRenderCoverage(t *testing.T) {
	const n, c, h, w, s = 3, 2, 4, 4, 16
	g := parts.Geometry{Size: 6, Jump: 4, Start: 2, ImageWidth: s, ImageHeight: s}
	a := vizwire.Maps{N: n, C: c, H: h, W: w, Data: make([]float32, n*c*h*w)}
	for img := range n {
		a.At(img, 0)[0] = float32(1 + img)
		a.At(img, 1)[h*w-1] = 1
	}
	images := vizwire.Maps{N: n, C: 3, H: s, W: s, Data: make([]float32, n*3*s*s)}
	parts := make([]uint8, n*s*s)
	for img := range n {
		for y := range s {
			for x := range s {
				switch {
				case x < 8 && y < 8:
					parts[img*s*s+y*s+x] = 1
				case x >= 8 && y >= 8:
					parts[img*s*s+y*s+x] = 2
				}
			}
		}
	}
	files, sum, err := Render(Input{Meta: vizwire.Meta{Layer: "conv", Geometry: g, Groups: []string{"background", "head", "legs"}},
		Activations: a, Images: images, Parts: parts}, Options{Filters: []int{0}, TopImages: 2, TopFraction: 0.02, Scale: 1})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, f.Name)
	}
	if d := cmp.Diff([]string{"filter-000.png", "parts-heatmap.png"}, names); d != "" {
		t.Errorf("files (-want +got):\n%s", d)
	}
	f0, f1 := sum.Filters[0], sum.Filters[1]
	if d := cmp.Diff([]int{2, 1}, f0.TopImages); d != "" {
		t.Errorf("filter 0 top images (-want +got):\n%s", d)
	}
	if f0.BestGroup != "head" || f1.BestGroup != "legs" {
		t.Errorf("best groups %q and %q, want head and legs", f0.BestGroup, f1.BestGroup)
	}
	// The up-sampled top-left unit covers only head pixels.
	if d := cmp.Diff(map[string]float64{"background": 0, "head": 1, "legs": 0}, f0.Coverage, cmpopts.EquateApprox(0, 1e-9)); d != "" {
		t.Errorf("filter 0 coverage (-want +got):\n%s", d)
	}
	if d := cmp.Diff(map[string]int{"head": 1, "legs": 1}, sum.GroupFilters); d != "" {
		t.Errorf("group filters (-want +got):\n%s", d)
	}
	if f1.Image != "" || f0.Image != "filter-000.png" {
		t.Errorf("images %q, %q: only filter 0 is drawn", f0.Image, f1.Image)
	}
}

func TestRenderRejectsBadFilter(t *testing.T) {
	a := vizwire.Maps{N: 1, C: 2, H: 2, W: 2, Data: make([]float32, 8)}
	images := vizwire.Maps{N: 1, C: 3, H: 8, W: 8, Data: make([]float32, 192)}
	g := parts.Geometry{Size: 4, Jump: 4, Start: 2, ImageWidth: 8, ImageHeight: 8}
	if _, _, err := Render(Input{Meta: vizwire.Meta{Layer: "x", Geometry: g}, Activations: a, Images: images}, Options{Filters: []int{2}, TopImages: 1, TopFraction: 0.5}); err == nil {
		t.Error("filter 2 of 2 accepted")
	}
}
