package parts

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

const header = `"format": "icnnlab-annotations/v1",
 "categories": ["bird", "cat"],
 "groups": ["background", "head", "torso"],
 "landmarks": ["head", "tail"],`

func TestParseRLEAndPNG(t *testing.T) {
	gray := image.NewGray(image.Rect(0, 0, 3, 2))
	copy(gray.Pix, []uint8{0, 1, 1, 2, 2, 0})
	var pngData bytes.Buffer
	if err := png.Encode(&pngData, gray); err != nil {
		t.Fatal(err)
	}
	pal := image.NewPaletted(image.Rect(0, 0, 3, 2), color.Palette{color.Black, color.White, color.Gray{128}})
	copy(pal.Pix, []uint8{2, 2, 2, 0, 0, 1})
	var palData bytes.Buffer
	if err := png.Encode(&palData, pal); err != nil {
		t.Fatal(err)
	}
	dir := fstest.MapFS{"masks/a.png": {Data: pngData.Bytes()}, "masks/b.png": {Data: palData.Bytes()}}
	doc := `{` + header + `
 "images": [
  {"width": 3, "height": 2, "category": "cat", "mask": {"rle": [0, 1, 1, 2, 2, 3]},
   "landmarks": [{"name": "head", "x": 1.5, "y": 0.5}, {"name": "tail", "x": 2, "y": 1, "visible": false}]},
  {"width": 3, "height": 2, "category": "bird", "mask": {"png": "masks/a.png"}, "landmarks": []},
  {"width": 3, "height": 2, "category": "bird", "mask": {"png": "masks/b.png"}},
  {"width": 3, "height": 2, "category": "bird"}
 ]}`
	got, err := Parse([]byte(doc), dir)
	if err != nil {
		t.Fatal(err)
	}
	want := &Set{
		Categories: []string{"bird", "cat"}, Groups: []string{"background", "head", "torso"}, Landmarks: []string{"head", "tail"},
		Images: []Image{
			{Width: 3, Height: 2, Category: 1, GroupMask: []uint8{0, 1, 1, 2, 2, 2},
				Landmarks: []Landmark{{Name: "head", X: 1.5, Y: 0.5, Visible: true}, {Name: "tail", X: 2, Y: 1}}},
			{Width: 3, Height: 2, GroupMask: []uint8{0, 1, 1, 2, 2, 0}},
			{Width: 3, Height: 2, GroupMask: []uint8{2, 2, 2, 0, 0, 1}},
			{Width: 3, Height: 2},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parsed (-want +got):\n%s", diff)
	}
	if l, ok := got.Images[0].Landmark("tail"); ok || l.Name != "tail" {
		t.Errorf("hidden tail reported visible: %+v %v", l, ok)
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	set := &Set{
		Categories: []string{"dog"}, Groups: []string{"background", "head"}, Landmarks: []string{"head"},
		Images: []Image{
			{Width: 4, Height: 1, GroupMask: []uint8{1, 1, 0, 1}, Landmarks: []Landmark{{Name: "head", X: 0.5, Y: 0.25, Visible: true}}},
			{Width: 2, Height: 2, Landmarks: []Landmark{{Name: "head", X: 1, Y: 1}}},
		},
	}
	data, err := Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(data, nil)
	if err != nil {
		t.Fatalf("parse own output: %v\n%s", err, data)
	}
	if diff := cmp.Diff(set, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if got := EncodeRLE([]uint8{1, 1, 0, 1}); !cmp.Equal(got, []int{1, 2, 0, 1, 1, 1}) {
		t.Errorf("EncodeRLE = %v", got)
	}
}

func TestParseErrors(t *testing.T) {
	img := func(s string) string { return `{` + header + ` "images": [` + s + `]}` }
	ok := `{"width": 2, "height": 1, "category": "bird", "mask": {"rle": [0, 2]}}`
	tests := []struct {
		name, doc, want string
	}{
		{"not json", `{`, "annotations: unexpected EOF"},
		{"format", `{"format": "v0"}`, `format "v0"`},
		{"unknown field", `{"format": "icnnlab-annotations/v1", "colour": 1}`, `unknown field "colour"`},
		{"trailing", img(ok) + `{}`, "trailing data"},
		{"background only", `{"format": "icnnlab-annotations/v1", "categories": ["a"], "groups": ["background"]}`, "groups: 1 names"},
		{"duplicate group", `{"format": "icnnlab-annotations/v1", "categories": ["a"], "groups": ["bg", "head", "head"]}`, `groups[2]: "head" repeats groups[1]`},
		{"no categories", `{"format": "icnnlab-annotations/v1", "groups": ["bg", "head"]}`, "categories: empty"},
		{"category", img(ok + `, {"width": 2, "height": 1, "category": "owl"}`), `image 1: category: "owl" is not in`},
		{"size", img(`{"width": 0, "height": 1, "category": "bird"}`), "image 0: width×height 0×1"},
		{"huge", img(`{"width": 100000, "height": 100000, "category": "bird"}`), "image 0: width×height 100000×100000 exceeds"},
		{"rle odd", img(`{"width": 2, "height": 1, "category": "bird", "mask": {"rle": [0]}}`), "image 0: mask: rle: 1 numbers"},
		{"rle short", img(`{"width": 2, "height": 1, "category": "bird", "mask": {"rle": [0, 1]}}`), "image 0: mask: rle: covers 1 pixels, want 2×1 = 2"},
		{"rle long", img(`{"width": 2, "height": 1, "category": "bird", "mask": {"rle": [0, 1, 1, 5]}}`), "image 0: mask: rle: run 1 overruns"},
		{"rle id", img(`{"width": 2, "height": 1, "category": "bird", "mask": {"rle": [3, 2]}}`), "image 0: mask: rle: run 0: group id 3, want [0,3)"},
		{"rle zero run", img(`{"width": 2, "height": 1, "category": "bird", "mask": {"rle": [0, 0, 1, 2]}}`), "run 0: length 0"},
		{"both", img(`{"width": 2, "height": 1, "category": "bird", "mask": {"rle": [0, 2], "png": "a.png"}}`), "image 0: mask: has both"},
		{"neither", img(`{"width": 2, "height": 1, "category": "bird", "mask": {}}`), "image 0: mask: has neither"},
		{"png without dir", img(`{"width": 2, "height": 1, "category": "bird", "mask": {"png": "a.png"}}`), `image 0: mask: png "a.png": no directory`},
		{"landmark name", img(ok + `, {"width": 2, "height": 1, "category": "bird", "landmarks": [{"name": "wing", "x": 1, "y": 1}]}`), `image 1: landmarks[0]: unknown name "wing"`},
		{"landmark twice", img(`{"width": 2, "height": 1, "category": "bird", "landmarks": [{"name": "head", "x": 1, "y": 1}, {"name": "head", "x": 1, "y": 1}]}`), `image 0: landmarks[1]: "head" appears twice`},
		{"landmark empty", img(`{"width": 2, "height": 1, "category": "bird", "landmarks": [{"x": 1, "y": 1}]}`), "image 0: landmarks[0]: name is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestParsePNGErrors(t *testing.T) {
	rgba := image.NewRGBA(image.Rect(0, 0, 2, 1))
	var rgbaData, grayData bytes.Buffer
	_ = png.Encode(&rgbaData, rgba)
	_ = png.Encode(&grayData, image.NewGray(image.Rect(0, 0, 3, 3)))
	dir := fstest.MapFS{"rgba.png": {Data: rgbaData.Bytes()}, "big.png": {Data: grayData.Bytes()}, "bad.png": {Data: []byte("nope")}}
	tests := []struct{ path, want string }{
		{"rgba.png", "colour model *image.NRGBA"},
		{"big.png", "3×3, want 2×1"},
		{"bad.png", "png bad.png: "},
		{"missing.png", "open missing.png"},
		{"../up.png", "without .."},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			doc := `{` + header + ` "images": [{"width": 2, "height": 1, "category": "bird", "mask": {"png": "` + tc.path + `"}}]}`
			_, err := Parse([]byte(doc), dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "image 0: mask") {
				t.Errorf("error %v, want one naming image 0's mask and containing %q", err, tc.want)
			}
		})
	}
}

// FuzzParseAnnotations checks that no input crashes the parser or makes it
// return an inconsistent set, and that whatever parses survives a
// Marshal/Parse round trip unchanged.
func FuzzParseAnnotations(f *testing.F) {
	f.Add([]byte(`{` + header + ` "images": [{"width": 3, "height": 2, "category": "cat", "mask": {"rle": [0, 1, 1, 2, 2, 3]}, "landmarks": [{"name": "head", "x": 1.5, "y": 0.5}]}]}`))
	f.Add([]byte(`{` + header + ` "images": [{"width": 2, "height": 1, "category": "bird", "mask": {"rle": [3, 2]}}]}`))
	f.Add([]byte(`{` + header + ` "images": [{"width": 2, "height": 1, "category": "bird", "mask": {"png": "x.png"}}]}`))
	f.Add([]byte(`{"format": "icnnlab-annotations/v1"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := Parse(data, nil)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "annotations: ") {
				t.Errorf("error without the package prefix: %v", err)
			}
			return
		}
		if err := set.Validate(); err != nil {
			t.Fatalf("parsed set is invalid: %v", err)
		}
		out, err := Marshal(set)
		if err != nil {
			t.Fatalf("marshal parsed set: %v", err)
		}
		back, err := Parse(out, nil)
		if err != nil {
			t.Fatalf("parse marshalled set: %v\n%s", err, out)
		}
		if diff := cmp.Diff(set, back); diff != "" {
			t.Errorf("round trip (-first +second):\n%s", diff)
		}
	})
}
