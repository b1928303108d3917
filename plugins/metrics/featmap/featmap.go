// Package featmap holds what every interpretability metric needs to read one
// layer's activations ([N,C,H,W] float32, after ReLU and mask); the
// receptive-field geometry that places each unit on the input image is
// sdk/parts.Geometry.
package featmap

import (
	"fmt"
	"math"

	"github.com/icnnlab/icnnlab/sdk/parts"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// Maps is one layer's activations: N images, C filters, H×W units each,
// row-major (C order) float32 as produced by the backends.
type Maps struct {
	N, C, H, W int
	Data       []float32
}

// FromTensor wraps a float32 [N,C,H,W] tensor without copying.
func FromTensor(t *tensor.Tensor) (*Maps, error) {
	if t == nil {
		return nil, fmt.Errorf("activations: nil tensor")
	}
	if t.DType() != tensor.Float32 {
		return nil, fmt.Errorf("activations: dtype %v, want float32", t.DType())
	}
	s := t.Shape()
	if len(s) != 4 {
		return nil, fmt.Errorf("activations: shape %v, want rank 4 [N,C,H,W]", s)
	}
	return New(s[0], s[1], s[2], s[3], t.Float32s())
}

// New wraps row-major [n,c,h,w] data without copying.
func New(n, c, h, w int, data []float32) (*Maps, error) {
	if n < 1 || c < 1 || h < 1 || w < 1 {
		return nil, fmt.Errorf("activations: shape [%d %d %d %d] has an empty dimension", n, c, h, w)
	}
	if len(data) != n*c*h*w {
		return nil, fmt.Errorf("activations: %d values for shape [%d %d %d %d] (want %d)", len(data), n, c, h, w, n*c*h*w)
	}
	for i, v := range data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			n0, rest := i/(c*h*w), i%(c*h*w)
			return nil, fmt.Errorf("activations: image %d filter %d unit %d is %v", n0, rest/(h*w), rest%(h*w), v)
		}
	}
	return &Maps{N: n, C: c, H: h, W: w, Data: data}, nil
}

// Map is the H×W map of filter f on image n (a view, not a copy).
func (m *Maps) Map(n, f int) []float32 {
	off := (n*m.C + f) * m.H * m.W
	return m.Data[off : off+m.H*m.W]
}

// CheckCovers reports an error when the units' receptive-field centres do
// not lie on the image described by g: then the geometry belongs to another
// layer or input size, and every metric would silently measure nonsense.
func (m *Maps) CheckCovers(g parts.Geometry) error { return g.CheckCovers(m.H, m.W) }

// ArgMax is the first (row-major) unit with the largest activation of one
// map, and that activation.
func ArgMax(x []float32, w int) (i, j int, v float32) {
	best := 0
	for k := 1; k < len(x); k++ {
		if x[k] > x[best] {
			best = k
		}
	}
	return best / w, best % w, x[best]
}

// AssignCategories gives every filter the category whose images activate it
// most, the paper's ĉ = argmax_c mean_{I∈I_c} Σ_ij x_ij. categories[n] is
// image n's category in [0, numCategories); categories without images are
// never chosen; ties go to the lower category index.
func AssignCategories(m *Maps, categories []int, numCategories int) ([]int, error) {
	if len(categories) != m.N {
		return nil, fmt.Errorf("assign categories: %d category labels for %d images", len(categories), m.N)
	}
	count := make([]int, numCategories)
	for n, c := range categories {
		if c < 0 || c >= numCategories {
			return nil, fmt.Errorf("assign categories: image %d has category %d, want [0,%d)", n, c, numCategories)
		}
		count[c]++
	}
	sums := make([]float64, m.C*numCategories)
	for n, c := range categories {
		for f := range m.C {
			var s float64
			for _, v := range m.Map(n, f) {
				s += float64(v)
			}
			sums[f*numCategories+c] += s
		}
	}
	out := make([]int, m.C)
	for f := range m.C {
		best, bestMean := -1, math.Inf(-1)
		for c := range numCategories {
			if count[c] == 0 {
				continue
			}
			if mean := sums[f*numCategories+c] / float64(count[c]); mean > bestMean {
				best, bestMean = c, mean
			}
		}
		if best < 0 {
			return nil, fmt.Errorf("assign categories: no category has images")
		}
		out[f] = best
	}
	return out, nil
}
