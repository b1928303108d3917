package cub

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
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

var partNames = []string{"back", "beak", "belly", "breast", "crown", "forehead", "left eye", "left leg", "left wing", "nape", "right eye", "right leg", "right wing", "tail", "throat"}

// tables returns the text files of a 3-image CUB in the release's format.
// Image 1 (train): crown (10,4) and beak (14,6) visible, other head parts
// not; back (8,10); tail invisible. Image 2 (test), image 3 (train).
func tables() map[string]string {
	var parts, locs strings.Builder
	for p, n := range partNames {
		fmt.Fprintf(&parts, "%d %s\n", p+1, n)
	}
	for id := 1; id <= 3; id++ {
		for p, n := range partNames {
			x, y, vis := 0.0, 0.0, 0
			switch {
			case id == 1 && n == "crown":
				x, y, vis = 10, 4, 1
			case id == 1 && n == "beak":
				x, y, vis = 14, 6, 1
			case n == "back":
				x, y, vis = 8, 10, 1
			case id != 1 && n == "tail":
				x, y, vis = 2, 12, 1
			}
			fmt.Fprintf(&locs, "%d %d %.1f %.1f %d\n", id, p+1, x, y, vis)
		}
	}
	return map[string]string{
		Files.Classes:  "1 001.Black_footed_Albatross\n2 002.Laysan_Albatross\n",
		Files.Images:   "1 001.Black_footed_Albatross/a1.jpg\n2 001.Black_footed_Albatross/a2.jpg\n3 002.Laysan_Albatross/b1.jpg\n",
		Files.Labels:   "1 1\n2 1\n3 2\n",
		Files.Split:    "1 1\n2 0\n3 1\n",
		Files.Boxes:    "1 2.0 2.0 16.0 12.0\n2 0.0 0.0 20.0 16.0\n3 4.5 3.5 8.0 8.0\n",
		Files.Parts:    parts.String(),
		Files.PartLocs: locs.String(),
	}
}

func writeFixture(t *testing.T, files map[string]string) string {
	root := t.TempDir()
	for name, body := range files {
		write(t, filepath.Join(root, name), []byte(body))
	}
	for _, p := range []string{"001.Black_footed_Albatross/a1.jpg", "001.Black_footed_Albatross/a2.jpg", "002.Laysan_Albatross/b1.jpg"} {
		write(t, filepath.Join(root, "images", p), jpegBytes(t, 20, 16))
	}
	return root
}

func write(t *testing.T, path string, b []byte) {
	t.Helper()
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func jpegBytes(t *testing.T, w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(10 * x), 90, uint8(10 * y), 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestLoadTablesAndLandmarks(t *testing.T) {
	root := writeFixture(t, tables())
	d, err := Load(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Images) != 3 || len(d.Classes) != 2 || len(d.PartNames) != 15 || d.PartNames[6] != "left eye" {
		t.Fatalf("images %d classes %d parts %v", len(d.Images), len(d.Classes), d.PartNames)
	}
	im := d.Images[2]
	if im.Class != 2 || !im.Train || im.Box != [4]float64{4.5, 3.5, 8, 8} || im.Path != "002.Laysan_Albatross/b1.jpg" {
		t.Errorf("image 3 = %+v", im)
	}
	// head = mean of the visible crown and beak; back as given; tail not visible.
	want := []parts.Landmark{{Name: "head", X: 12, Y: 5, Visible: true}, {Name: "back", X: 8, Y: 10, Visible: true}, {Name: "tail"}}
	if diff := cmp.Diff(want, d.Landmarks(&d.Images[0])); diff != "" {
		t.Errorf("landmarks (-want +got):\n%s", diff)
	}
}

func TestCollectionsAndTasks(t *testing.T) {
	root := writeFixture(t, tables())
	d, err := Load(root)
	if err != nil {
		t.Fatal(err)
	}
	train, _ := d.Collection("train", false)
	test, _ := d.Collection("test", false)
	if len(train.Objects) != 2 || len(test.Objects) != 1 || train.Objects[1].Category != 1 {
		t.Fatalf("train %d test %d", len(train.Objects), len(test.Objects))
	}
	multi, err := partset.MultiCategory(train, d.Classes, 10, 1, 32)
	if err != nil || multi.Len() != 2 {
		t.Fatalf("multi: %v", err)
	}
	if _, _, _, err := data.Batch(multi, []int{0, 1}); err != nil {
		t.Fatal(err)
	}
	// The paper's CUB task: all birds against objects of another dataset.
	birds, _ := d.Collection("train", true)
	neg := &partset.Collection{Source: "other", Split: "train", Categories: []string{"cat"}, Groups: []string{"background", "x"}, Objects: []partset.Object{
		{Key: "c", Category: 0, Open: func() (*partset.Annotation, error) {
			return &partset.Annotation{Image: image.NewRGBA(image.Rect(0, 0, 8, 8)), Landmarks: []parts.Landmark{{Name: "eye", X: 1, Y: 1, Visible: true}}}, nil
		}},
	}}
	single, err := partset.SingleCategory(birds, "bird", []*partset.Collection{neg}, 4, 1, 32)
	if err != nil {
		t.Fatal(err)
	}
	// Two birds, and the one negative there is, interleaved.
	if single.Len() != 3 || single.Label(0) != 1 || single.Label(1) != 0 || single.Label(2) != 1 {
		t.Fatalf("single: %d examples", single.Len())
	}
	set, err := single.Annotations([]int{0, 1, 2})
	if err != nil {
		t.Fatal(err)
	}
	if set.Images[1].Landmarks != nil || set.Categories[set.Images[1].Category] != "cat" {
		t.Errorf("the negative from another dataset kept its landmarks: %+v", set.Images[1])
	}
	// Image 1's box (2,2)+16×12 is cropped to 32×32: x scales by 2, y by 8/3.
	first := 0
	if _, o := single.Object(0); o.Key != "1" {
		first = 2
	}
	got, _ := set.Images[first].Landmark("head")
	if want := (parts.Landmark{Name: "head", X: 20, Y: 8, Visible: true}); got != want {
		t.Errorf("image 1's head in the crop %+v, want %+v", got, want)
	}
}

func TestErrorsNameFileAndLine(t *testing.T) {
	tests := []struct {
		file, body, want string
	}{
		{Files.Images, "1 a.jpg\n2\n", "images.txt:2: 1 fields, want 2"},
		{Files.Labels, "1 1\n2 1\n3 9\n", "image_class_labels.txt:3: class id 9 is beyond the 2 classes"},
		{Files.Split, "1 1\n2 2\n3 1\n", "train_test_split.txt:2: is_training_image \"2\""},
		{Files.Boxes, "1 2 2 16 12\n2 0 0 x 16\n3 0 0 1 1\n", "bounding_boxes.txt:2: width \"x\" is not a finite number"},
		{Files.Labels, "1 1\n1 1\n3 2\n", "image_class_labels.txt:2: image id 1 appears twice"},
		{Files.Split, "1 1\n3 1\n", "train_test_split.txt: no line for image 2"},
		{Files.Images, "1 ../../etc/passwd\n", "leaves images/"},
	}
	for _, tc := range tests {
		files := tables()
		files[tc.file] = tc.body
		_, err := Load(writeFixture(t, files))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.file, err, tc.want)
		}
	}
	// A bad part_locs line.
	files := tables()
	lines := strings.Split(files[Files.PartLocs], "\n")
	lines[16] = "2 2 1.0 1.0 maybe"
	files[Files.PartLocs] = strings.Join(lines, "\n")
	if _, err := Load(writeFixture(t, files)); err == nil || !strings.Contains(err.Error(), filepath.Join("parts", "part_locs.txt")+":17: visible") {
		t.Errorf("part_locs: error %v", err)
	}
	// A missing table.
	root := writeFixture(t, tables())
	os.Remove(filepath.Join(root, Files.Boxes))
	if _, err := Load(root); err == nil || !strings.Contains(err.Error(), filepath.Join(root, Files.Boxes)) {
		t.Errorf("missing file: error %v", err)
	}
}

func TestTruncatedImage(t *testing.T) {
	root := writeFixture(t, tables())
	path := filepath.Join(root, "images", "001.Black_footed_Albatross", "a2.jpg")
	write(t, path, jpegBytes(t, 20, 16)[:100])
	d, _ := Load(root)
	test, _ := d.Collection("test", false)
	task, _ := partset.MultiCategory(test, d.Classes, 1, 1, 32)
	if _, err := task.Example(0); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("error %v, want one naming %s", err, path)
	}
}

// FuzzParseTables feeds arbitrary text as each table in turn.
func FuzzParseTables(f *testing.F) {
	base := tables()
	f.Add(uint8(0), base[Files.PartLocs])
	f.Add(uint8(1), base[Files.Boxes])
	f.Add(uint8(2), "1 a b c\n")
	names := []string{Files.PartLocs, Files.Boxes, Files.Images, Files.Labels, Files.Split, Files.Classes, Files.Parts}
	f.Fuzz(func(t *testing.T, which uint8, body string) {
		files := tables()
		name := names[int(which)%len(names)]
		files[name] = body
		d, err := Parse(func(n string) ([]byte, error) { return []byte(files[n]), nil })
		if err != nil {
			if !strings.Contains(err.Error(), "cub ") {
				t.Fatalf("error %q does not name the table", err)
			}
			return
		}
		for k := range d.Images {
			im := &d.Images[k]
			if im.Class < 1 || im.Class > len(d.Classes) || len(im.Parts) != len(d.PartNames)+1 {
				t.Fatalf("image %d: class %d, %d parts", im.ID, im.Class, len(im.Parts))
			}
			_ = d.Landmarks(im)
		}
	})
}
