package parts

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"strings"
	"testing"
	"testing/fstest"
)

// TestDocExampleParses keeps the example in docs/metrics.md valid.
func TestDocExampleParses(t *testing.T) {
	doc, err := os.ReadFile("../../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	start := strings.Index(text, "```json\n")
	if start < 0 {
		t.Fatal("docs/metrics.md has no json example")
	}
	text = text[start+len("```json\n"):]
	example := text[:strings.Index(text, "```")]
	var mask bytes.Buffer
	if err := png.Encode(&mask, image.NewGray(image.Rect(0, 0, 64, 64))); err != nil {
		t.Fatal(err)
	}
	set, err := Parse([]byte(example), fstest.MapFS{"masks/000001.png": {Data: mask.Bytes()}})
	if err != nil {
		t.Fatalf("docs example: %v", err)
	}
	if len(set.Images) != 3 || set.Images[0].GroupMask[130] != 1 || set.Images[2].GroupMask != nil {
		t.Errorf("docs example parsed to %+v", set.Images)
	}
	if _, ok := set.Images[0].Landmark("torso"); ok {
		t.Errorf("hidden torso reported visible")
	}
}
