package ilsvrcpart

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/icnnlab/icnnlab/internal/data"
	"github.com/icnnlab/icnnlab/internal/data/partset"
	"github.com/icnnlab/icnnlab/sdk/parts"
)

const dogXML = `<?xml version="1.0"?>
<annotation>
  <folder>n02084071</folder>
  <filename>n02084071_7</filename>
  <size><width>20</width><height>16</height><depth>3</depth></size>
  <object>
    <name>n02084071</name>
    <bndbox><xmin>2</xmin><ymin>1</ymin><xmax>17</xmax><ymax>12</ymax></bndbox>
    <part><name>head</name><bndbox><xmin>2</xmin><ymin>1</ymin><xmax>5</xmax><ymax>4</ymax></bndbox></part>
    <part><name>frontleg</name><bndbox><xmin>6</xmin><ymin>8</ymin><xmax>7</xmax><ymax>12</ymax></bndbox></part>
    <part><name>front leg</name><bndbox><xmin>10</xmin><ymin>8</ymin><xmax>11</xmax><ymax>12</ymax></bndbox></part>
  </object>
  <object>
    <name>n02084071</name>
    <bndbox><xmin>0</xmin><ymin>0</ymin><xmax>3</xmax><ymax>3</ymax></bndbox>
  </object>
</annotation>`

func TestParseAnnotation(t *testing.T) {
	a, err := ParseAnnotation([]byte(dogXML), "dog.xml")
	if err != nil {
		t.Fatal(err)
	}
	want := &Annotation{Filename: "n02084071_7", Width: 20, Height: 16, Objects: []Object{
		{Name: "n02084071", Box: Box{2, 1, 17, 12}, Parts: []Part{{"head", Box{2, 1, 5, 4}}, {"frontleg", Box{6, 8, 7, 12}}, {"frontleg", Box{10, 8, 11, 12}}}},
		{Name: "n02084071", Box: Box{0, 0, 3, 3}},
	}}
	if diff := cmp.Diff(want, a); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// Head centre (4, 3); front legs (7, 10.5) and (11, 10.5) average to (9, 10.5).
	wantLm := []parts.Landmark{{Name: "head", X: 4, Y: 3, Visible: true}, {Name: "frontleg", X: 9, Y: 10.5, Visible: true}}
	if diff := cmp.Diff(wantLm, a.Objects[0].Landmarks()); diff != "" {
		t.Errorf("landmarks (-want +got):\n%s", diff)
	}
	if lm := a.Objects[1].Landmarks(); lm[0].Visible || lm[1].Visible {
		t.Errorf("an object without parts has visible landmarks: %+v", lm)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{strings.Replace(dogXML, "<xmax>17</xmax>", "<xmax>seventeen</xmax>", 1), `object 1/bndbox/xmax "seventeen" is not an integer`},
		{strings.Replace(dogXML, "<xmax>17</xmax>", "<xmax>20</xmax>", 1), "object 1/bndbox [2 1 20 12] is empty or outside the 20×16 image"},
		{strings.Replace(dogXML, "<name>head</name>", "<name>tail</name>", 1), `object 1 part 1: name "tail" is neither head nor front leg`},
		{strings.Replace(dogXML, "<width>20</width>", "", 1), `size/width: "" is not an image dimension`},
		{strings.Replace(dogXML, "</object>\n  <object>", "</object>\n  <object", 1), "dog.xml:"},
		{dogXML[:200], "dog.xml:"},
	}
	for _, tc := range tests {
		_, err := ParseAnnotation([]byte(tc.in), "dog.xml")
		if err == nil || !strings.Contains(err.Error(), "dog.xml") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func fixture(t *testing.T) string {
	root := t.TempDir()
	var jb bytes.Buffer
	jpeg.Encode(&jb, image.NewGray(image.Rect(0, 0, 20, 16)), nil)
	for _, cat := range []string{"n02084071", "n02121808"} {
		writeFile(t, filepath.Join(root, "Annotations", cat, "a.xml"), []byte(strings.ReplaceAll(dogXML, "n02084071", cat)))
		writeFile(t, filepath.Join(root, "Images", cat, "a.JPEG"), jb.Bytes())
	}
	writeFile(t, filepath.Join(root, "ImageSets", "train.txt"), []byte("n02121808/a\nn02084071/a\n"))
	return root
}

func TestLoad(t *testing.T) {
	root := fixture(t)
	c, err := Load(root, "train")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"n02084071", "n02121808"}, c.Categories); diff != "" {
		t.Errorf("categories (-want +got):\n%s", diff)
	}
	if len(c.Objects) != 4 || c.Objects[0].Category != 1 {
		t.Fatalf("%d objects, first of category %d", len(c.Objects), c.Objects[0].Category)
	}
	task, err := partset.SingleCategory(c, "n02084071", []*partset.Collection{c}, 4, 1, 32)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := data.Batch(task, []int{0, 1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	set, err := task.Annotations([]int{0, 1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	for n, im := range set.Images {
		if _, o := task.Object(n); strings.HasSuffix(o.Key, "#0") {
			// The object box is x 2..17, y 1..12 (16×12 px) → 32×32: head centre (4,3) → (4, 5.33).
			got, _ := im.Landmark("head")
			if got.X != 4 || got.Y < 5.333 || got.Y > 5.334 {
				t.Errorf("example %d head %+v", n, got)
			}
		}
	}
}

func TestLoadErrors(t *testing.T) {
	root := fixture(t)
	list := filepath.Join(root, "ImageSets", "train.txt")
	writeFile(t, list, []byte("n02121808/a\nbadline\n"))
	if _, err := Load(root, "train"); err == nil || !strings.Contains(err.Error(), list+":2") {
		t.Errorf("bad line: error %v", err)
	}
	writeFile(t, list, []byte("n02121808/b\n"))
	if _, err := Load(root, "train"); err == nil || !strings.Contains(err.Error(), filepath.Join(root, "Annotations", "n02121808", "b.xml")) {
		t.Errorf("missing annotation: error %v", err)
	}
	writeFile(t, list, []byte("n02121808/a\n"))
	img := filepath.Join(root, "Images", "n02121808", "a.JPEG")
	raw, _ := os.ReadFile(img)
	writeFile(t, img, raw[:len(raw)/2])
	c, err := Load(root, "train")
	if err != nil {
		t.Fatal(err)
	}
	task, _ := partset.MultiCategory(c, c.Categories, 1, 1, 32)
	if _, err := task.Example(0); err == nil || !strings.Contains(err.Error(), img) {
		t.Errorf("truncated image: error %v", err)
	}
}

func FuzzParseAnnotation(f *testing.F) {
	f.Add([]byte(dogXML))
	f.Add([]byte("<annotation><size><width>1</width><height>1</height></size></annotation>"))
	f.Fuzz(func(t *testing.T, in []byte) {
		a, err := ParseAnnotation(in, "fuzz.xml")
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.xml") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		for _, o := range a.Objects {
			for _, b := range append([]Box{o.Box}, func() (bs []Box) {
				for _, p := range o.Parts {
					bs = append(bs, p.Box)
				}
				return
			}()...) {
				if b.Rect().Empty() || !b.Rect().In(image.Rect(0, 0, a.Width, a.Height)) {
					t.Fatalf("box %v outside %dx%d", b, a.Width, a.Height)
				}
			}
			_ = fmt.Sprint(o.Landmarks())
		}
	})
}
