package datasettest

import (
	"path/filepath"
	"testing"

	"github.com/icnnlab/icnnlab/internal/data/cub"
	"github.com/icnnlab/icnnlab/internal/data/ilsvrcpart"
	"github.com/icnnlab/icnnlab/internal/data/partset"
	"github.com/icnnlab/icnnlab/internal/data/vocpart"
)

// The trees load with the real loaders, and every object's ground truth
// maps into its crop with the parts and landmarks the writers put there.
func TestTreesLoadWithTheLoaders(t *testing.T) {
	dir := t.TempDir()
	o := Options{Train: 3, Test: 2, Seed: 1}
	voc, ilsvrc, cubRoot := filepath.Join(dir, "voc"), filepath.Join(dir, "ilsvrc"), filepath.Join(dir, "cub")
	if err := WriteVOCPart(voc, []string{"bird", "cat", "chair"}, o); err != nil {
		t.Fatal(err)
	}
	if err := WriteILSVRCPart(ilsvrc, []string{"bird", "cattle"}, o); err != nil {
		t.Fatal(err)
	}
	if err := WriteCUB(cubRoot, []string{"Albatross", "Wren"}, o); err != nil {
		t.Fatal(err)
	}

	vtrain, err := vocpart.Load(voc, "train")
	if err != nil {
		t.Fatal(err)
	}
	vval, err := vocpart.Load(voc, "val")
	if err != nil {
		t.Fatal(err)
	}
	if len(vtrain.Objects) != 9 || len(vval.Objects) != 6 {
		t.Errorf("VOC Part: %d train and %d val objects, want 9 and 6", len(vtrain.Objects), len(vval.Objects))
	}
	task, err := partset.SingleCategory(vtrain, "bird", []*partset.Collection{vtrain}, 6, 1, 64)
	if err != nil {
		t.Fatal(err)
	}
	set, err := task.Annotations([]int{0, 1})
	if err != nil {
		t.Fatal(err)
	}
	bird := set.Images[0] // the single-category task starts with a positive
	if set.Categories[bird.Category] != "bird" {
		t.Fatalf("first example is a %s, want a bird", set.Categories[bird.Category])
	}
	areas := bird.GroupAreas()
	for g := 1; g < len(vocpart.Groups); g++ {
		if areas[g] == 0 {
			t.Errorf("VOC bird: group %s has no pixels", vocpart.Groups[g])
		}
	}
	for _, lm := range vocpart.Landmarks {
		if _, ok := bird.Landmark(lm); !ok {
			t.Errorf("VOC bird: landmark %s not visible", lm)
		}
	}

	itrain, err := ilsvrcpart.Load(ilsvrc, "train")
	if err != nil {
		t.Fatal(err)
	}
	if len(itrain.Objects) != 6 || len(itrain.Categories) != 2 || itrain.Categories[1] != "cattle" {
		t.Errorf("ILSVRC: %d objects of %v, want 6 of [bird cattle]", len(itrain.Objects), itrain.Categories)
	}
	a, err := itrain.Objects[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range a.Landmarks {
		if !l.Visible {
			t.Errorf("ILSVRC landmark %s not visible", l.Name)
		}
	}

	d, err := cub.Load(cubRoot)
	if err != nil {
		t.Fatal(err)
	}
	ctrain, err := d.Collection("train", true)
	if err != nil {
		t.Fatal(err)
	}
	ctest, err := d.Collection("test", true)
	if err != nil {
		t.Fatal(err)
	}
	if len(ctrain.Objects) != 6 || len(ctest.Objects) != 4 {
		t.Errorf("CUB: %d train and %d test birds, want 6 and 4", len(ctrain.Objects), len(ctest.Objects))
	}
	ca, err := ctrain.Objects[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ca.Landmarks {
		if !l.Visible || !boxFor(ca).Contains(l.X, l.Y) {
			t.Errorf("CUB landmark %+v not visible inside the box %v", l, ca.Box)
		}
	}
}

type boxOf struct{ x0, y0, x1, y1 float64 }

func (b boxOf) Contains(x, y float64) bool { return x >= b.x0 && x <= b.x1 && y >= b.y0 && y <= b.y1 }

func boxFor(a *partset.Annotation) boxOf {
	return boxOf{float64(a.Box.Min.X), float64(a.Box.Min.Y), float64(a.Box.Max.X), float64(a.Box.Max.Y)}
}
