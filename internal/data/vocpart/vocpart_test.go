package vocpart

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/icnnlab/icnnlab/internal/data"
	"github.com/icnnlab/icnnlab/internal/data/matv5"
	"github.com/icnnlab/icnnlab/internal/data/matv5/mattest"
	"github.com/icnnlab/icnnlab/internal/data/partset"
	"github.com/icnnlab/icnnlab/sdk/parts"
)

const W, H = 12, 10

// rect is a W×H mask with [x0,x1)×[y0,y1) set.
func rect(x0, y0, x1, y1 int) []uint8 {
	m := make([]uint8, W*H)
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			m[y*W+x] = 1
		}
	}
	return m
}

type fixPart struct {
	name string
	mask []uint8
}

func objectsArray(objs []struct {
	class string
	mask  []uint8
	parts []fixPart
}) *matv5.Array {
	var elems [][]*matv5.Array
	for k, o := range objs {
		parts := &matv5.Array{Class: matv5.Empty}
		if len(o.parts) > 0 {
			var pe [][]*matv5.Array
			for _, p := range o.parts {
				pe = append(pe, []*matv5.Array{mattest.Text(p.name), mattest.Mask(p.mask, H, W, true)})
			}
			parts = mattest.StructArray([]string{"part_name", "mask"}, pe)
		}
		elems = append(elems, []*matv5.Array{mattest.Text(o.class), mattest.Scalar(float64(k + 1)), mattest.Mask(o.mask, H, W, false), parts})
	}
	return mattest.StructArray([]string{"class", "classIndex", "mask", "parts"}, elems)
}

func writeAnno(t *testing.T, root, id string, compress bool, objs []struct {
	class string
	mask  []uint8
	parts []fixPart
}) {
	t.Helper()
	a := mattest.StructArray([]string{"imname", "objects"}, [][]*matv5.Array{{mattest.Text(id), objectsArray(objs)}})
	a.Name = "anno"
	write(t, filepath.Join(root, "Annotations_Part", id+".mat"), mattest.Encode([]*matv5.Array{a}, compress))
}

func write(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeJPEG(t *testing.T, path string, w, h int) {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(20 * x), uint8(20 * y), 128, 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	write(t, path, b.Bytes())
}

type obj = struct {
	class string
	mask  []uint8
	parts []fixPart
}

// fixture: image a has a cat (parts in every group) and a chair; image b a dog.
func fixture(t *testing.T) string {
	root := t.TempDir()
	writeAnno(t, root, "2008_000001", true, []obj{
		{"cat", rect(2, 1, 10, 9), []fixPart{
			{"head", rect(2, 1, 4, 3)}, {"lear", rect(4, 1, 5, 2)}, {"neck", rect(4, 3, 6, 4)},
			{"torso", rect(4, 4, 10, 7)}, {"lfleg", rect(4, 7, 6, 9)}, {"tail", rect(8, 1, 10, 3)},
		}},
		{"chair", rect(0, 0, 3, 3), nil},
	})
	writeAnno(t, root, "2008_000002", false, []obj{{"dog", rect(1, 1, 6, 6), []fixPart{{"head", rect(1, 1, 3, 3)}}}})
	writeJPEG(t, filepath.Join(root, "JPEGImages", "2008_000001.jpg"), W, H)
	writeJPEG(t, filepath.Join(root, "JPEGImages", "2008_000002.jpg"), W, H)
	write(t, filepath.Join(root, "ImageSets", "Main", "train.txt"), []byte("2008_000001\n2008_000002\n"))
	return root
}

func TestPartGroup(t *testing.T) {
	for name, want := range map[string]int{
		"head": 1, "leye": 1, "rear": 1, "beak": 1, "muzzle": 1, "lhorn": 1, "nose": 1,
		"torso": 2, "neck": 2, "lwing": 2,
		"lleg": 3, "rfoot": 3, "lfleg": 3, "rbpa": 3, "lfho": 3, "lfuleg": 3, "rblleg": 3,
		"tail": 4, "wheel": 0, "hair": 0, "leg2": 0,
	} {
		if got, ok := PartGroup(name); got != want || ok != (want != 0) {
			t.Errorf("PartGroup(%q) = %d, %v, want %d", name, got, ok, want)
		}
	}
}

func TestLoadAndAnnotations(t *testing.T) {
	root := fixture(t)
	c, err := Load(root, "train")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Objects) != 3 || c.Categories[c.Objects[0].Category] != "cat" || c.Categories[c.Objects[1].Category] != "chair" {
		t.Fatalf("objects %+v", c.Objects)
	}
	task, err := partset.SingleCategory(c, "cat", []*partset.Collection{c}, 2, 1, 16)
	if err != nil {
		t.Fatal(err)
	}
	if task.Len() != 2 || task.Label(0) != 1 || task.Label(1) != 0 {
		t.Fatalf("task len %d labels %d %d", task.Len(), task.Label(0), task.Label(1))
	}
	if _, _, _, err := data.Batch(task, []int{0, 1}); err != nil {
		t.Fatal(err)
	}
	set, err := task.Annotations([]int{0, 1})
	if err != nil {
		t.Fatal(err)
	}
	cat := set.Images[0]
	// The cat's box is 8×8 at (2,1): the crop scales by 2.
	want := [5]int{256 - 20 - 80 - 16 - 16, 20, 80, 16, 16}
	if got := cat.GroupAreas(); !cmp.Equal(want[:], got[:5]) {
		t.Errorf("group areas %v, want %v", got[:5], want)
	}
	wantLm := []parts.Landmark{{Name: "head", X: 2.6, Y: 1.8, Visible: true}, {Name: "neck", X: 6, Y: 5, Visible: true}, {Name: "torso", X: 10, Y: 9, Visible: true}}
	// head centroid: the head (4 px centred (3,2)) and the ear (1 px at (4.5,1.5)) = (3.3, 1.9) → ((3.3-2)·2, (1.9-1)·2); the torso centre (7, 5.5) → (10, 9).
	if diff := cmp.Diff(wantLm, cat.Landmarks, cmp.Comparer(func(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 })); diff != "" {
		t.Errorf("landmarks (-want +got):\n%s", diff)
	}
	if chair := set.Images[1]; chair.GroupMask != nil || set.Categories[chair.Category] != "chair" {
		t.Errorf("chair: mask %v category %d", chair.GroupMask != nil, chair.Category)
	}
	multi, err := partset.MultiCategory(c, Animals, 10, 1, 16)
	if err != nil || multi.Len() != 2 || multi.Classes() != 6 {
		t.Fatalf("multi: %v len %d", err, multi.Len())
	}
}

func TestErrors(t *testing.T) {
	t.Run("missing list", func(t *testing.T) {
		root := t.TempDir()
		if _, err := Load(root, "val"); err == nil || !strings.Contains(err.Error(), filepath.Join("ImageSets", "Main", "val.txt")) {
			t.Errorf("error %v", err)
		}
	})
	t.Run("bad list line", func(t *testing.T) {
		root := fixture(t)
		list := filepath.Join(root, "ImageSets", "Main", "train.txt")
		write(t, list, []byte("2008_000001\n2008_000002 extra\n"))
		if _, err := Load(root, "train"); err == nil || !strings.Contains(err.Error(), list+":2") {
			t.Errorf("error %v, want one naming %s:2", err, list)
		}
	})
	t.Run("missing mat", func(t *testing.T) {
		root := fixture(t)
		path := filepath.Join(root, "Annotations_Part", "2008_000002.mat")
		os.Remove(path)
		if _, err := Load(root, "train"); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("error %v, want one naming %s", err, path)
		}
	})
	t.Run("malformed mat", func(t *testing.T) {
		root := fixture(t)
		path := filepath.Join(root, "Annotations_Part", "2008_000002.mat")
		raw, _ := os.ReadFile(path)
		write(t, path, raw[:len(raw)-50])
		_, err := Load(root, "train")
		var me *matv5.Error
		if !errors.As(err, &me) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "offset 128") {
			t.Errorf("error %v, want a matv5 error naming %s and the offset", err, path)
		}
	})
	t.Run("truncated image", func(t *testing.T) {
		root := fixture(t)
		path := filepath.Join(root, "JPEGImages", "2008_000001.jpg")
		raw, _ := os.ReadFile(path)
		write(t, path, raw[:len(raw)/2])
		c, err := Load(root, "train")
		if err != nil {
			t.Fatal(err)
		}
		task, _ := partset.MultiCategory(c, []string{"cat"}, 1, 1, 16)
		if _, err := task.Example(0); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("error %v, want one naming %s", err, path)
		}
	})
	t.Run("unknown animal part", func(t *testing.T) {
		root := fixture(t)
		writeAnno(t, root, "2008_000002", false, []obj{{"dog", rect(1, 1, 6, 6), []fixPart{{"wheel", rect(1, 1, 3, 3)}}}})
		c, err := Load(root, "train")
		if err != nil {
			t.Fatal(err)
		}
		task, _ := partset.MultiCategory(c, []string{"dog"}, 1, 1, 16)
		if _, err := task.Annotations([]int{0}); err == nil || !strings.Contains(err.Error(), `"wheel"`) || !strings.Contains(err.Error(), "2008_000002.mat") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("unknown class", func(t *testing.T) {
		root := fixture(t)
		writeAnno(t, root, "2008_000002", true, []obj{{"unicorn", rect(1, 1, 6, 6), nil}})
		if _, err := Load(root, "train"); err == nil || !strings.Contains(err.Error(), `objects(1).class "unicorn"`) {
			t.Errorf("error %v", err)
		}
	})
}
