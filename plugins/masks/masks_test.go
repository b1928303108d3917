package masks_test

import (
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/backends/conformance"
	"github.com/icnnlab/icnnlab/plugins/masks"
	"github.com/icnnlab/icnnlab/plugins/masks/authorscode"
	"github.com/icnnlab/icnnlab/plugins/masks/euclidean"
	"github.com/icnnlab/icnnlab/plugins/masks/gaussian"
	"github.com/icnnlab/icnnlab/plugins/masks/l1"
	"github.com/icnnlab/icnnlab/plugins/masks/none"
	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// The paper's n=3 templates, beta 4, written out by hand:
// t = tau·max(1 - 4·(|di|+|dj|)/3, -1); |d|=1 → -1/3, |d|≥2 → -1.
func TestPaperTemplatesByHand(t *testing.T) {
	tau := 0.5 / 9
	third := -1.0 / 3
	tests := []struct {
		mi, mj int
		want   [9]float64
	}{
		{0, 0, [9]float64{1, third, -1, third, -1, -1, -1, -1, -1}},
		{1, 1, [9]float64{-1, third, -1, third, 1, third, -1, third, -1}},
		{2, 1, [9]float64{-1, -1, -1, -1, third, -1, third, 1, third}},
	}
	bank := masks.PositiveBank(masks.L1, 4, tau, 3, 3)
	for _, tc := range tests {
		k := tc.mi*3 + tc.mj
		got := make([]float64, 9)
		for q := range got {
			got[q] = float64(bank.Float32s()[k*9+q])
		}
		want := make([]float64, 9)
		for q := range want {
			want[q] = tau * tc.want[q]
		}
		if diff := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-8)); diff != "" {
			t.Errorf("template at (%d,%d) (-want +got):\n%s", tc.mi, tc.mj, diff)
		}
	}
}

// Every template of the n=4 and non-square banks against the formula,
// written independently of the package's helpers.
func TestBanksAgainstFormula(t *testing.T) {
	for _, sz := range [][2]int{{4, 4}, {3, 5}} {
		h, w := sz[0], sz[1]
		for _, d := range []masks.Distance{masks.L1, masks.L2} {
			const beta, amp = 4.0, 0.7
			bank := masks.PositiveBank(d, beta, amp, h, w)
			gauss := masks.GaussianBank(0.2, amp, h, w)
			for k := range h * w {
				for i := range h {
					for j := range w {
						di, dj := float64(i-k/w)/float64(h), float64(j-k%w)/float64(w)
						dist := math.Abs(di) + math.Abs(dj)
						if d == masks.L2 {
							dist = math.Hypot(di, dj)
						}
						want := amp * math.Max(1-beta*dist, -1)
						got := float64(bank.Float32s()[(k*h+i)*w+j])
						if math.Abs(got-want) > 1e-6 {
							t.Fatalf("%v %dx%d template %d at (%d,%d) = %g, want %g", d, h, w, k, i, j, got, want)
						}
						wantG := amp * math.Exp(-(di*di+dj*dj)/(2*0.2*0.2))
						if g := float64(gauss.Float32s()[(k*h+i)*w+j]); math.Abs(g-wantG) > 1e-6 {
							t.Fatalf("gaussian %dx%d template %d at (%d,%d) = %g, want %g", h, w, k, i, j, g, wantG)
						}
					}
				}
			}
		}
	}
}

func evalMask(t *testing.T, g *graph.Graph, x *tensor.Tensor, params map[string]*tensor.Tensor) map[string]*tensor.Tensor {
	t.Helper()
	out, err := conformance.EvaluateOutputs(g, map[string]*tensor.Tensor{masks.InputFeatures: x}, params, nil, backends.Eval)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// x [1,2,3,3]: map 0 has a unique max at (2,1); map 1 ties at (0,2) and
// (1,0), so the first in row-major order, (0,2), wins.
var tieFeatures = tensor.MustFloat32(tensor.Shape{1, 2, 3, 3}, []float32{
	0, 1, 0,
	2, 0, 3,
	0, 5, 4,

	1, 0, 6,
	6, 2, 0,
	0, 3, 1,
})

func TestArgMaxMaskForward(t *testing.T) {
	p := l1.Defaults()
	p.Amplitude = masks.AmplitudeTau
	g, err := l1.Build(p, 1, 2, 3, 3)
	if err != nil {
		t.Fatal(err)
	}
	out := evalMask(t, g, tieFeatures, nil)
	tau := 0.5 / 9
	for c, mu := range [][2]int{{2, 1}, {0, 2}} {
		for i := range 3 {
			for j := range 3 {
				q := (c*3+i)*3 + j
				tmpl := tau * math.Max(1-4*float64(abs(i-mu[0])+abs(j-mu[1]))/3, -1)
				if got := out[masks.OutputMask].Float64At(q); math.Abs(got-tmpl) > 1e-7 {
					t.Errorf("map %d mask(%d,%d) = %g, want %g (mu %v)", c, i, j, got, tmpl, mu)
				}
				want := math.Max(float64(tieFeatures.Float32s()[q])*tmpl, 0)
				if got := out[masks.OutputMasked].Float64At(q); math.Abs(got-want) > 1e-7 {
					t.Errorf("map %d masked(%d,%d) = %g, want %g", c, i, j, got, want)
				}
			}
		}
	}
}

func TestEuclideanAndGaussianUseTheArgMax(t *testing.T) {
	ge, err := euclidean.Build(euclidean.Defaults(), 1, 2, 3, 3)
	if err != nil {
		t.Fatal(err)
	}
	gg, err := gaussian.Build(gaussian.Defaults(), 1, 2, 3, 3)
	if err != nil {
		t.Fatal(err)
	}
	me := evalMask(t, ge, tieFeatures, nil)[masks.OutputMask]
	mg := evalMask(t, gg, tieFeatures, nil)[masks.OutputMask]
	for c, mu := range [][2]int{{2, 1}, {0, 2}} {
		for q := range 9 {
			i, j := q/3, q%3
			d := math.Hypot(float64(i-mu[0])/3, float64(j-mu[1])/3)
			if got, want := me.Float64At(c*9+q), math.Max(1-4*d, -1); math.Abs(got-want) > 1e-6 {
				t.Errorf("euclidean map %d (%d,%d) = %g, want %g", c, i, j, got, want)
			}
			if got, want := mg.Float64At(c*9+q), math.Exp(-d*d/(2*0.125*0.125)); math.Abs(got-want) > 1e-6 {
				t.Errorf("gaussian map %d (%d,%d) = %g, want %g", c, i, j, got, want)
			}
		}
	}
}

func TestNoneMask(t *testing.T) {
	g, err := none.Build(none.Defaults(), 1, 2, 3, 3)
	if err != nil {
		t.Fatal(err)
	}
	out := evalMask(t, g, tieFeatures, nil)
	if !out[masks.OutputMasked].Equal(tieFeatures) {
		t.Errorf("masked = %v, want the features", out[masks.OutputMasked])
	}
	for i := range 18 {
		if out[masks.OutputMask].Float64At(i) != 1 {
			t.Fatalf("mask = %v, want ones", out[masks.OutputMask])
		}
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func TestMaskIsConstantInBackprop(t *testing.T) {
	builds := map[string]func() (*graph.Graph, error){
		"l1":           func() (*graph.Graph, error) { return l1.Build(l1.Defaults(), 2, 3, 4, 4) },
		"euclidean":    func() (*graph.Graph, error) { return euclidean.Build(euclidean.Defaults(), 2, 3, 4, 4) },
		"gaussian":     func() (*graph.Graph, error) { return gaussian.Build(gaussian.Defaults(), 2, 3, 4, 4) },
		"authors-code": func() (*graph.Graph, error) { return authorscode.Build(authorscode.Defaults(), 2, 3, 4, 4) },
		"none":         func() (*graph.Graph, error) { return none.Build(none.Defaults(), 2, 3, 4, 4) },
	}
	for name, build := range builds {
		g, err := build()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if m := g.Output(masks.OutputMask); m == nil || m.Op() != graph.OpStopGradient && name != "none" {
			t.Errorf("%s: mask output %v is not a stop-gradient", name, m)
		}
		for _, o := range []string{masks.OutputMasked, masks.OutputMask} {
			if s := g.Output(o).Shape(); !s.Equal(tensor.Shape{2, 3, 4, 4}) {
				t.Errorf("%s: %s shape %v", name, o, s)
			}
		}
	}
}

func TestParamsValidation(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want []string
	}{
		{"l1", func() error { _, err := l1.Parse([]byte(`{"beta": 0, "amplitude": "big"}`)); return err }(), []string{"beta", "amplitude"}},
		{"l1 unknown", func() error { _, err := l1.Parse([]byte(`{"slope": 4}`)); return err }(), []string{"slope"}},
		{"gaussian", func() error { _, err := gaussian.Parse([]byte(`{"sigma": -1}`)); return err }(), []string{"sigma"}},
		{"authors-code", func() error {
			_, err := authorscode.Parse([]byte(`{"beta_init": -2, "target_min": 2, "target_max": 1, "pull": -1}`))
			return err
		}(), []string{"beta_init", "target_max", "pull"}},
		{"none", func() error { _, err := none.Parse([]byte(`{"x": 1}`)); return err }(), []string{"x"}},
		{"shape", func() error { _, err := l1.Build(l1.Defaults(), 0, 3, 4, -1); return err }(), []string{"batch", "w"}},
	}
	for _, tc := range tests {
		if tc.err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(tc.err.Error(), w) {
				t.Errorf("%s: %q does not name %s", tc.name, tc.err, w)
			}
		}
	}
	if p, err := l1.Parse([]byte(`{"amplitude": "tau"}`)); err != nil || p.Amplitude != "tau" || p.Beta != 4 {
		t.Errorf("valid l1 params: %+v %v", p, err)
	}
}
