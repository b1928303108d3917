package featmap

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/icnnlab/icnnlab/sdk/parts"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

func TestFromTensorErrors(t *testing.T) {
	tests := []struct {
		name string
		t    *tensor.Tensor
		want string
	}{
		{"nil", nil, "nil tensor"},
		{"dtype", tensor.Zeros(tensor.Float64, 1, 1, 2, 2), "dtype float64"},
		{"rank", tensor.Zeros(tensor.Float32, 1, 2, 2), "rank 4"},
		{"empty", tensor.Zeros(tensor.Float32, 0, 1, 2, 2), "empty dimension"},
		{"nan", tensor.MustFloat32(tensor.Shape{1, 2, 1, 2}, []float32{0, 0, 0, float32NaN()}), "image 0 filter 1 unit 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := FromTensor(tc.t)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func float32NaN() float32 {
	zero := float32(0)
	return zero / zero
}

func TestMapAndArgMax(t *testing.T) {
	data := make([]float32, 2*3*2*2)
	for i := range data {
		data[i] = float32(i)
	}
	m, err := New(2, 3, 2, 2, data)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]float32{16, 17, 18, 19}, m.Map(1, 1)); diff != "" {
		t.Errorf("Map(1,1) (-want +got):\n%s", diff)
	}
	// Ties go to the first unit in row-major order.
	i, j, v := ArgMax([]float32{1, 3, 3, 0, 2, 3}, 3)
	if i != 0 || j != 1 || v != 3 {
		t.Errorf("ArgMax = (%d,%d,%v), want (0,1,3)", i, j, v)
	}
}

func TestCheckCovers(t *testing.T) {
	m, _ := New(1, 1, 8, 8, make([]float32, 64))
	if err := m.CheckCovers(parts.Geometry{Size: 54, Jump: 8, Start: 4, ImageWidth: 64, ImageHeight: 64}); err != nil {
		t.Errorf("small64 inserted conv: %v", err)
	}
	if err := m.CheckCovers(parts.Geometry{Size: 54, Jump: 8, Start: 4, ImageWidth: 32, ImageHeight: 32}); err == nil {
		t.Errorf("an 8×8 map with jump 8 on a 32-px image passed")
	}
}

func TestAssignCategories(t *testing.T) {
	// Filter 0: strongest on category 2; filter 1: on category 0 by mean
	// even though category 1 has the larger sum (two images).
	// Images: 0→cat 0, 1→cat 1, 2→cat 1, 3→cat 2.
	maps := [][2][]float32{
		{{1, 0}, {6, 0}},
		{{1, 1}, {3, 1}},
		{{0, 1}, {3, 1}},
		{{5, 5}, {0, 0}},
	}
	var data []float32
	for _, img := range maps {
		data = append(data, img[0]...)
		data = append(data, img[1]...)
	}
	m, err := New(4, 2, 1, 2, data)
	if err != nil {
		t.Fatal(err)
	}
	got, err := AssignCategories(m, []int{0, 1, 1, 2}, 4) // category 3 has no images
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int{2, 0}, got); diff != "" {
		t.Errorf("assignment (-want +got):\n%s", diff)
	}
	if _, err := AssignCategories(m, []int{0, 1, 5, 2}, 4); err == nil || !strings.Contains(err.Error(), "image 2") {
		t.Errorf("out-of-range category: error %v", err)
	}
}
