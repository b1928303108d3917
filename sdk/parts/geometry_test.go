package parts

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCenterMatchesZooConvention(t *testing.T) {
	// VGG-16 conv5_3 at 224 px (internal/zoo: Size 196, Jump 16, Start 8).
	g := Geometry{Size: 196, Jump: 16, Start: 8, ImageWidth: 224, ImageHeight: 224}
	tests := []struct {
		i, j   int
		wx, wy float64
	}{
		{0, 0, 8, 8}, {0, 1, 24, 8}, {2, 0, 8, 40}, {13, 13, 216, 216},
	}
	for _, tc := range tests {
		x, y := g.Center(tc.i, tc.j)
		if x != tc.wx || y != tc.wy {
			t.Errorf("Center(%d,%d) = (%v,%v), want (%v,%v)", tc.i, tc.j, x, y, tc.wx, tc.wy)
		}
	}
}

func TestBox(t *testing.T) {
	// Two 3×3 convolutions (pad 1) then a 2×2 pool: Size 6, Jump 2, Start 1.
	g := Geometry{Size: 6, Jump: 2, Start: 1, ImageWidth: 8, ImageHeight: 8}
	tests := []struct {
		name       string
		i, j, side int
		want       Rect
		clipped    Rect
	}{
		{"corner unit sees padding", 0, 0, 6, Rect{-2, -2, 4, 4}, Rect{0, 0, 4, 4}},
		{"inner unit", 1, 2, 6, Rect{2, 0, 8, 6}, Rect{2, 0, 8, 6}},
		{"smaller patch", 3, 3, 2, Rect{6, 6, 8, 8}, Rect{6, 6, 8, 8}},
		{"odd side rounds the half pixel", 1, 1, 3, Rect{2, 2, 5, 5}, Rect{2, 2, 5, 5}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := g.Box(tc.i, tc.j, tc.side)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Box (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.clipped, got.Clip(8, 8)); diff != "" {
				t.Errorf("Clip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUpsampleInterpolatesBetweenUnitCentres(t *testing.T) {
	// A 2×2 map whose unit centres sit at pixels 1.5 and 5.5 of an 8-pixel
	// image: pixel centres before 1.5 and after 5.5 take the edge value,
	// those between are interpolated linearly.
	g := Geometry{Size: 4, Jump: 4, Start: 1.5, ImageWidth: 8, ImageHeight: 1}
	m := []float32{0, 8, 0, 8} // rows are equal: the image row follows the columns
	got := g.Upsample(m, 2, 2)
	want := []float32{0, 0, 2, 4, 6, 8, 8, 8}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Upsample (-want +got):\n%s", diff)
	}
}

func TestCheckCovers(t *testing.T) {
	g := Geometry{Size: 54, Jump: 8, Start: 4, ImageWidth: 64, ImageHeight: 64}
	if err := g.CheckCovers(8, 8); err != nil {
		t.Errorf("8×8 map on 64 px: %v", err)
	}
	if err := g.CheckCovers(9, 8); err == nil {
		t.Error("9×8 map on 64 px: no error, want the last row's centres outside the image")
	}
	if err := (Geometry{Size: 1, Jump: 0, ImageWidth: 1, ImageHeight: 1}).CheckCovers(1, 1); err == nil {
		t.Error("jump 0: no error")
	}
}
