// Package masks holds what every mask variant shares: the template formulas
// of the paper (Zhang, Wu, Zhu, CVPR 2018, §3.1), template banks, parameter
// decoding and the argmax-and-gather subgraph. Each variant lives in its own
// subpackage (l1, euclidean, authorscode, gaussian, none) with a Params
// struct and a Build function that returns a graph.Graph with input
// "features" [B,C,H,W] and outputs "masked" and "mask" [B,C,H,W].
//
// Positions are 0-based: position k of an H×W map is (k / W, k % W), the
// row-major order of a reshape from [H,W] to [H·W].
package masks

import (
	"fmt"
	"math"

	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// Distance selects how the distance between a position and a template
// centre mu is measured. Both are normalised per axis by the map size, so
// that for a square n×n map L1 is ||[i,j]-mu||_1 / n exactly as in the paper.
type Distance int

const (
	// L1 is |i-mu_i|/H + |j-mu_j|/W (the paper's template).
	L1 Distance = iota
	// L2 is sqrt(((i-mu_i)/H)² + ((j-mu_j)/W)²) (the thesis's Euclidean template).
	L2
)

func (d Distance) String() string {
	switch d {
	case L1:
		return "l1"
	case L2:
		return "l2"
	}
	return fmt.Sprintf("Distance(%d)", int(d))
}

// ParseDistance is the inverse of Distance.String.
func ParseDistance(s string) (Distance, error) {
	switch s {
	case "l1":
		return L1, nil
	case "l2":
		return L2, nil
	}
	return 0, fmt.Errorf("%q is not one of l1, l2", s)
}

// NormalisedDistance is the distance between position (i, j) and centre
// (mi, mj) on an h×w map, in units of the map size.
func NormalisedDistance(d Distance, h, w, i, j, mi, mj int) float64 {
	di := float64(i-mi) / float64(h)
	dj := float64(j-mj) / float64(w)
	if d == L2 {
		return math.Sqrt(di*di + dj*dj)
	}
	return math.Abs(di) + math.Abs(dj)
}

// PaperTau is the paper's template amplitude tau = 0.5 / n², generalised to
// 0.5 / (H·W) (the number of positions).
func PaperTau(h, w int) float64 { return 0.5 / float64(h*w) }

// PaperBeta is the paper's template slope.
const PaperBeta = 4.0

// PaperAlpha is the paper's prior mass of the positive templates, n²/(1+n²).
func PaperAlpha(h, w int) float64 {
	n2 := float64(h * w)
	return n2 / (1 + n2)
}

// PositiveTemplateValue is t+_ij(mu) = amp · max(1 - beta·dist, -1).
func PositiveTemplateValue(d Distance, beta, amp float64, h, w, i, j, mi, mj int) float64 {
	return amp * math.Max(1-beta*NormalisedDistance(d, h, w, i, j, mi, mj), -1)
}

// PositiveBank returns the n² positive templates as a float32 tensor
// [H·W, H, W]: slice k is the template centred on position k.
func PositiveBank(d Distance, beta, amp float64, h, w int) *tensor.Tensor {
	return bank(h, w, func(i, j, mi, mj int) float64 {
		return PositiveTemplateValue(d, beta, amp, h, w, i, j, mi, mj)
	})
}

// GaussianBank returns templates amp·exp(-dist²/(2σ²)) with the L2
// normalised distance (σ in units of the map size), shape [H·W, H, W].
func GaussianBank(sigma, amp float64, h, w int) *tensor.Tensor {
	return bank(h, w, func(i, j, mi, mj int) float64 {
		d := NormalisedDistance(L2, h, w, i, j, mi, mj)
		return amp * math.Exp(-d*d/(2*sigma*sigma))
	})
}

func bank(h, w int, value func(i, j, mi, mj int) float64) *tensor.Tensor {
	t := tensor.Zeros(tensor.Float32, h*w, h, w)
	v := t.Float32s()
	for k := range h * w {
		mi, mj := k/w, k%w
		for i := range h {
			for j := range w {
				v[(k*h+i)*w+j] = float32(value(i, j, mi, mj))
			}
		}
	}
	return t
}

// Linspace returns n points evenly spaced from lo to hi inclusive, as
// MATLAB's linspace does (a single point is hi).
func Linspace(lo, hi float64, n int) []float64 {
	out := make([]float64, n)
	if n == 1 {
		out[0] = hi
		return out
	}
	for i := range out {
		out[i] = lo + (hi-lo)*float64(i)/float64(n-1)
	}
	return out
}

// LinspaceL1Bank returns, for every centre position k, the L1 distance of
// each position to k on the authors' coordinate grid: rows on
// linspace(-1,1,H), columns on linspace(-1,1,W). Shape [H·W, H, W]. The
// authors' mask is max(1 - beta·bank[mu], -1) with a learned beta.
func LinspaceL1Bank(h, w int) *tensor.Tensor {
	ys, xs := Linspace(-1, 1, h), Linspace(-1, 1, w)
	return bank(h, w, func(i, j, mi, mj int) float64 {
		return math.Abs(ys[i]-ys[mi]) + math.Abs(xs[j]-xs[mj])
	})
}
