package masks_test

import (
	"math"
	"testing"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/backends/conformance"
	"github.com/icnnlab/icnnlab/plugins/masks"
	"github.com/icnnlab/icnnlab/plugins/masks/authorscode"
	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// matlabCentroid follows getMu.m literally: 1-based coordinates,
// sumX = max(sum(x), 1e-9), mu = max(round(sum(coord·x)/sumX), 1) with
// MATLAB's round (halves away from zero = Go's math.Round); returned 0-based.
func matlabCentroid(x []float64, h, w int) (mi, mj int, spread float64) {
	sum, si, sj := 0.0, 0.0, 0.0
	for q, v := range x {
		sum += v
		si += v * float64(q/w+1)
		sj += v * float64(q%w+1)
	}
	sum = math.Max(sum, 1e-9)
	mi = int(math.Max(math.Round(si/sum), 1)) - 1
	mj = int(math.Max(math.Round(sj/sum), 1)) - 1
	v := 0.0
	for q, xv := range x {
		di, dj := float64(q/w-mi), float64(q%w-mj)
		v += xv * (di*di + dj*dj)
	}
	return mi, mj, math.Sqrt(v / sum)
}

func TestAuthorsCodeMask(t *testing.T) {
	const b, c, h, w = 2, 3, 3, 4
	// Maps chosen for their centroids (0-based row, col):
	maps := [b * c][h * w]float32{
		{1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, // (0, 0.5) → (0, 1): a half rounds up
		{0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0}, // (1.5, 1.5) → (2, 2)
		{},                                   // silent → (0, 0)
		{3, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0}, // (0, 0.5) → (0, 1)
		{0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 1}, // (4/3, 3) → (1, 3)
		{1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, // (0, 2/3) → (0, 1)
	}
	data := make([]float32, 0, b*c*h*w)
	for _, m := range maps {
		data = append(data, m[:]...)
	}
	x := tensor.MustFloat32(tensor.Shape{b, c, h, w}, data)
	p := authorscode.Defaults()
	g, err := authorscode.Build(p, b, c, h, w)
	if err != nil {
		t.Fatal(err)
	}
	betas := []float32{2, 1.5, 2.5}
	params := map[string]*tensor.Tensor{authorscode.ParamBeta: tensor.MustFloat32(tensor.Shape{c}, betas)}
	values, err := conformance.Evaluate(g, map[string]*tensor.Tensor{masks.InputFeatures: x}, params, nil, backends.Eval)
	if err != nil {
		t.Fatal(err)
	}
	mask := values[g.Output(masks.OutputMask).ID()]
	masked := values[g.Output(masks.OutputMasked).ID()]

	wantMu := [][2]int{{0, 1}, {2, 2}, {0, 0}, {0, 1}, {1, 3}, {0, 1}}
	ys, xs := []float64{-1, 0, 1}, []float64{-1, -1.0 / 3, 1.0 / 3, 1}
	strength := make([][]float64, b)
	spread := make([][]float64, b)
	for bi := range b {
		strength[bi], spread[bi] = make([]float64, c), make([]float64, c)
		for ci := range c {
			m := bi*c + ci
			xm := make([]float64, h*w)
			for q := range xm {
				xm[q] = float64(maps[m][q])
			}
			mi, mj, sp := matlabCentroid(xm, h, w)
			if [2]int{mi, mj} != wantMu[m] {
				t.Fatalf("map %d: MATLAB centroid (%d,%d), test expects %v", m, mi, mj, wantMu[m])
			}
			spread[bi][ci] = sp
			for q := range h * w {
				i, j := q/w, q%w
				want := math.Max(1-float64(betas[ci])*(math.Abs(ys[i]-ys[mi])+math.Abs(xs[j]-xs[mj])), -1)
				if got := mask.Float64At(m*h*w + q); math.Abs(got-want) > 1e-6 {
					t.Errorf("map %d (mu %v) mask(%d,%d) = %g, want %g", m, wantMu[m], i, j, got, want)
				}
				if got, wantM := masked.Float64At(m*h*w+q), math.Max(xm[q]*want, 0); math.Abs(got-wantM) > 1e-6 {
					t.Errorf("map %d masked(%d,%d) = %g, want %g", m, i, j, got, wantM)
				}
				strength[bi][ci] += xm[q] * want / float64(h*w)
			}
		}
	}

	// The pull on beta: d aux/d beta_c = pull/B·(beta_c − clip(3/σ̄_c, 1.5, 3)).
	aux := g.Output(masks.OutputAuxLoss)
	injected := values[aux.Inputs()[0].Inputs()[0].ID()]
	for ci := range c {
		num, den := 0.0, 0.0
		for bi := range b {
			num += strength[bi][ci] * spread[bi][ci]
			den += strength[bi][ci]
		}
		target := 3.0 // no strength at all: MATLAB's min(NaN, 3) gives 3
		if den > 0 {
			target = math.Min(math.Max(3/(num/den), 1.5), 3)
		}
		want := p.Pull / b * (float64(betas[ci]) - target)
		if got := injected.Float64At(ci); math.Abs(got-want) > 1e-4*math.Max(1, math.Abs(want)) {
			t.Errorf("filter %d: injected beta gradient %g, want %g (target %g)", ci, got, want, target)
		}
	}
	// beta's optimizer treatment.
	beta := g.Leaf(authorscode.ParamBeta)
	if a := beta.Attrs(); a.LRMult != 0.05 || a.DecayMult != 0 || a.Init != graph.Constant(2) {
		t.Errorf("beta attributes %+v", a)
	}
}
