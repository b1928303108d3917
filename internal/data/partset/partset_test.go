package partset

import (
	"bytes"
	"image"
	"image/color"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/icnnlab/icnnlab/sdk/parts"
)

func TestResampleBilinearIdentityAndLinear(t *testing.T) {
	// A horizontal ramp stays a ramp: resampling a linear function is exact
	// away from the clamped edges.
	w, h := 8, 4
	src := make([]float32, w*h)
	for y := range h {
		for x := range w {
			src[y*w+x] = float32(x)
		}
	}
	if got := ResampleBilinear(src, w, h, Region{0, 0, 8, 8}, 8); !cmp.Equal(got[:8], src[:8]) {
		t.Errorf("8→8 row 0 = %v, want %v", got[:8], src[:8])
	}
	// Halving: output pixel i samples x = 2i+0.5, between pixels 2i and 2i+1.
	got := ResampleBilinear(src, w, h, Region{0, 0, 8, 4}, 4)
	if diff := cmp.Diff([]float32{0.5, 2.5, 4.5, 6.5}, got[:4]); diff != "" {
		t.Errorf("8→4 (-want +got):\n%s", diff)
	}
	// A crop of columns 2..6 scaled to 8: centres at 2.25, 2.75, ... minus 0.5.
	got = ResampleBilinear(src, w, h, Region{2, 0, 6, 4}, 8)
	for i, v := range got[:8] {
		if want := float32(2 + (float64(i)+0.5)*0.5 - 0.5); math.Abs(float64(v-want)) > 1e-6 {
			t.Errorf("crop pixel %d = %v, want %v", i, v, want)
		}
	}
}

func TestResampleNearest(t *testing.T) {
	src := []uint8{1, 2, 3, 4}
	got := ResampleNearest(src, 2, 2, Region{0, 0, 2, 2}, 4)
	want := []uint8{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// Outside the plane is background.
	if got := ResampleNearest(src, 2, 2, Region{-2, 0, 2, 2}, 2); got[0] != 0 || got[1] != 2 {
		t.Errorf("outside = %v", got)
	}
}

func TestCropCHWNormalisesAndReplicatesGrey(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 4, 4))
	for k := range img.Pix {
		img.Pix[k] = 255
	}
	out := CropCHW(img, Region{0, 0, 4, 4}, 2)
	for c := range 3 {
		want := (1 - ChannelMean[c]) / ChannelStd[c]
		for _, v := range out[c*4 : (c+1)*4] {
			if math.Abs(float64(v-want)) > 1e-6 {
				t.Fatalf("channel %d value %v, want %v", c, v, want)
			}
		}
	}
	// YCbCr (JPEG) and RGBA agree on a colour.
	rgba := image.NewRGBA(image.Rect(0, 0, 2, 2))
	ycc := image.NewYCbCr(image.Rect(0, 0, 2, 2), image.YCbCrSubsampleRatio444)
	yy, cb, cr := color.RGBToYCbCr(200, 100, 50)
	for k := range 4 {
		rgba.Pix[4*k], rgba.Pix[4*k+1], rgba.Pix[4*k+2], rgba.Pix[4*k+3] = 200, 100, 50, 255
		ycc.Y[k], ycc.Cb[k], ycc.Cr[k] = yy, cb, cr
	}
	a, b := CropCHW(rgba, Region{0, 0, 2, 2}, 2), CropCHW(ycc, Region{0, 0, 2, 2}, 2)
	for k := range a {
		if math.Abs(float64(a[k]-b[k])) > 0.05 {
			t.Fatalf("value %d: RGBA %v, YCbCr %v", k, a[k], b[k])
		}
	}
}

func TestCropAnnotationMapsLandmarksAndHidesOutside(t *testing.T) {
	a := &Annotation{
		Image:  image.NewGray(image.Rect(0, 0, 10, 10)),
		Box:    image.Rect(2, 2, 6, 6),
		Groups: make([]uint8, 100),
		Landmarks: []parts.Landmark{
			{Name: "in", X: 3, Y: 5, Visible: true},
			{Name: "out", X: 8, Y: 1, Visible: true},
		},
	}
	a.Groups[2*10+2] = 1 // pixel (2,2): the crop's top-left quarter
	im, err := CropAnnotation(a, 8)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]parts.Landmark{{Name: "in", X: 2, Y: 6, Visible: true}, {Name: "out", X: 8, Y: 0}}, im.Landmarks); diff != "" {
		t.Errorf("landmarks (-want +got):\n%s", diff)
	}
	if areas := im.GroupAreas(); areas[1] != 4 || im.GroupMask[0] != 1 || im.GroupMask[2] != 0 {
		t.Errorf("group mask %v", im.GroupMask)
	}
	a.Groups = a.Groups[:99]
	if _, err := CropAnnotation(a, 8); err == nil {
		t.Error("a group mask of the wrong size: no error")
	}
}

func collection(name string, cats []string, perCat int) *Collection {
	c := &Collection{Source: name, Split: "train", Categories: cats, Groups: []string{"background", "part"}}
	for k := range perCat * len(cats) {
		c.Objects = append(c.Objects, Object{Key: string(rune('a' + k)), Category: k % len(cats), Open: func() (*Annotation, error) {
			return &Annotation{Image: image.NewGray(image.Rect(0, 0, 4, 4))}, nil
		}})
	}
	return c
}

func TestSingleCategoryBalancesAndIsSeeded(t *testing.T) {
	c := collection("x", []string{"bird", "cat", "dog"}, 4)
	task, err := SingleCategory(c, "bird", []*Collection{c}, 6, 1, 8)
	if err != nil {
		t.Fatal(err)
	}
	var pos, cat, dog int
	for i := range task.Len() {
		_, o := task.Object(i)
		switch {
		case task.Label(i) == 1 && o.Category == 0:
			pos++
		case task.Label(i) == 0 && o.Category == 1:
			cat++
		case task.Label(i) == 0 && o.Category == 2:
			dog++
		default:
			t.Fatalf("example %d: label %d category %d", i, task.Label(i), o.Category)
		}
	}
	if pos != 3 || cat+dog != 3 || cat < 1 || dog < 1 {
		t.Errorf("positives %d, cats %d, dogs %d", pos, cat, dog)
	}
	again, _ := SingleCategory(c, "bird", []*Collection{c}, 6, 1, 8)
	other, _ := SingleCategory(c, "bird", []*Collection{c}, 6, 2, 8)
	if !bytes.Equal(task.Spec(), again.Spec()) || bytes.Equal(task.Spec(), other.Spec()) {
		t.Errorf("specs: same seed equal %v, other seed differs %v", bytes.Equal(task.Spec(), again.Spec()), !bytes.Equal(task.Spec(), other.Spec()))
	}
	if _, err := SingleCategory(c, "fish", []*Collection{c}, 6, 1, 8); err == nil {
		t.Error("unknown target: no error")
	}
	if _, err := SingleCategory(collection("y", []string{"bird"}, 2), "bird", nil, 6, 1, 8); err == nil {
		t.Error("no negatives: no error")
	}
}
