package authorscode_test

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/icnnlab/icnnlab/plugins/losses"
	"github.com/icnnlab/icnnlab/plugins/losses/authorscode"
	"github.com/icnnlab/icnnlab/plugins/losses/internal/graphtest"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// reference applies the rule of our_vl_simplenn.m's conv_mask backward in
// float64 loops. x, mask: [b][c][q]; positive[b][c]; wPos, wNeg per filter.
func reference(x, mask [][][]float64, positive [][]bool, wPos, wNeg []float64, epoch float64, p authorscode.Params) [][][]float64 {
	B, C, N := len(x), len(x[0]), len(x[0][0])
	a := p.Temperature
	mean := func(v []float64, m []float64) float64 {
		s := 0.0
		for q := range v {
			if m == nil {
				s += v[q]
			} else {
				s += v[q] * m[q]
			}
		}
		return s / float64(len(v))
	}
	out := make([][][]float64, B)
	for b := range B {
		out[b] = make([][]float64, C)
		for c := range C {
			out[b][c] = make([]float64, N)
		}
	}
	for c := range C {
		zPos, zNeg := 0.0, 0.0
		for b := range B {
			zPos += math.Exp(mean(x[b][c], mask[B-1-b][C-1-c]) / a)
			zNeg += math.Exp(-mean(x[b][c], nil) / a)
		}
		aLogZPos, aLogZNeg := a*math.Log(zPos/float64(B)), a*math.Log(zNeg/float64(B))
		sPos, sNeg := make([]float64, B), make([]float64, B)
		var sumPos, sumNeg, nPos, nNeg float64
		for b := range B {
			if positive[b][c] {
				m := mean(x[b][c], mask[b][c])
				sPos[b] = math.Exp(m/a) * (m - aLogZPos + a)
				sumPos += sPos[b]
				nPos++
			} else {
				m := mean(x[b][c], nil)
				sNeg[b] = math.Exp(-m/a) * (-m - aLogZNeg + a)
				sumNeg += sNeg[b]
				nNeg++
			}
		}
		k := p.Scale * p.Mag / epoch / float64(B)
		for b := range B {
			for q := range N {
				if positive[b][c] {
					out[b][c][q] = -mask[b][c][q] * sPos[b] / (sumPos / nPos) * wPos[c] * k
				} else {
					out[b][c][q] = sNeg[b] / (sumNeg / nNeg) * wNeg[c] * k
				}
			}
		}
	}
	return out
}

func random(rng *rand.Rand, shape ...int) *tensor.Tensor {
	t := tensor.Zeros(tensor.Float32, shape...)
	for i := range t.Float32s() {
		t.Float32s()[i] = float32(rng.Float64())
	}
	return t
}

func split(t *tensor.Tensor, b, c, n int) [][][]float64 {
	out := make([][][]float64, b)
	for i := range b {
		out[i] = make([][]float64, c)
		for j := range c {
			out[i][j] = make([]float64, n)
			for q := range n {
				out[i][j][q] = t.Float64At((i*c+j)*n + q)
			}
		}
	}
	return out
}

func TestRuleMatchesReference(t *testing.T) {
	type setup struct {
		name   string
		shape  losses.LossShape
		labels []float32
		states func(c, classes int) map[string]*tensor.Tensor
		// expected filter categories (-1: first step, every labelled image positive)
		category []int
		density  []float64
	}
	multiStats := func(c, classes int) map[string]*tensor.Tensor {
		st := tensor.Zeros(tensor.Float32, c, classes)
		for i := range c { // filter i prefers class i % classes
			st.Float32s()[i*classes+i%classes] = 5
			st.Float32s()[i*classes+(i+1)%classes] = 1
		}
		seen := tensor.MustFloat32(tensor.Shape{classes}, []float32{1, 1, 1})
		return map[string]*tensor.Tensor{losses.StateCategoryStats: st, losses.StateCategorySeen: seen}
	}
	tests := []setup{
		{name: "single", shape: losses.LossShape{Batch: 4, Channels: 3, H: 3, W: 3, Classes: 1, Task: losses.TaskSingle},
			labels: []float32{1, 0, 1, 1}, category: []int{0, 0, 0}},
		{name: "multi first step", shape: losses.LossShape{Batch: 5, Channels: 4, H: 3, W: 4, Classes: 3, Task: losses.TaskMulti},
			labels: []float32{1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0}, category: []int{-1, -1, -1, -1}},
		{name: "multi with categories", shape: losses.LossShape{Batch: 5, Channels: 4, H: 3, W: 4, Classes: 3, Task: losses.TaskMulti},
			labels: []float32{1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 0}, states: multiStats, category: []int{0, 1, 2, 0},
			density: []float64{0.5, 0.3, 0.2}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.shape
			p := authorscode.Defaults()
			p.ClassDensity = tc.density
			g, err := authorscode.Build(p, s)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(uint64(i), 9))
			n := s.H * s.W
			x := random(rng, s.Batch, s.Channels, s.H, s.W)
			for j := range x.Float32s() {
				x.Float32s()[j] *= 3
			}
			mask := random(rng, s.Batch, s.Channels, s.H, s.W)
			for j := range mask.Float32s() {
				mask.Float32s()[j] = 2*mask.Float32s()[j] - 1
			}
			labels := tensor.MustFloat32(tensor.Shape{s.Batch, s.Classes}, tc.labels)
			const epoch = 3
			feeds := map[string]*tensor.Tensor{"features": x, "labels": labels, "mask": mask, "epoch": tensor.Scalar32(epoch)}
			var states map[string]*tensor.Tensor
			if tc.states != nil {
				states = tc.states(s.Channels, s.Classes)
			}
			values, err := graphtest.Run(g, feeds, nil, states)
			if err != nil {
				t.Fatal(err)
			}
			got, err := graphtest.InjectedGradient(g.Loss(), values)
			if err != nil {
				t.Fatal(err)
			}

			positive := make([][]bool, s.Batch)
			for b := range s.Batch {
				positive[b] = make([]bool, s.Channels)
				for c := range s.Channels {
					if cat := tc.category[c]; cat >= 0 {
						positive[b][c] = tc.labels[b*s.Classes+cat] == 1
						continue
					}
					for cls := range s.Classes {
						positive[b][c] = positive[b][c] || tc.labels[b*s.Classes+cls] == 1
					}
				}
			}
			wPos, wNeg := make([]float64, s.Channels), make([]float64, s.Channels)
			for c := range s.Channels {
				wPos[c], wNeg[c] = 1, 1
				if cat := tc.category[c]; s.Task == losses.TaskMulti && cat >= 0 {
					wPos[c], wNeg[c] = 0.5/tc.density[cat], 0.5/(1-tc.density[cat])
				}
			}
			want := reference(split(x, s.Batch, s.Channels, n), split(mask, s.Batch, s.Channels, n), positive, wPos, wNeg, epoch, p)
			maxAbs, maxDiff := 0.0, 0.0
			for b := range s.Batch {
				for c := range s.Channels {
					for q := range n {
						maxAbs = max(maxAbs, math.Abs(want[b][c][q]))
						maxDiff = max(maxDiff, math.Abs(got.Float64At((b*s.Channels+c)*n+q)-want[b][c][q]))
					}
				}
			}
			if maxAbs == 0 || maxDiff > 1e-4*maxAbs {
				t.Errorf("injected gradient differs from the reference by %g (largest %g)", maxDiff, maxAbs)
			}
		})
	}
}

// Large activations would overflow exp(m/α) in float32; the shifted
// exponentials keep the normalised strengths finite.
func TestRuleLargeActivations(t *testing.T) {
	s := losses.LossShape{Batch: 3, Channels: 2, H: 2, W: 2, Classes: 1, Task: losses.TaskSingle}
	g, err := authorscode.Build(authorscode.Defaults(), s)
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.Zeros(tensor.Float32, 3, 2, 2, 2)
	for i := range x.Float32s() {
		x.Float32s()[i] = float32(100 + 10*i)
	}
	mask := x.Clone()
	for i := range mask.Float32s() {
		mask.Float32s()[i] = 1
	}
	feeds := map[string]*tensor.Tensor{"features": x, "labels": tensor.MustFloat32(tensor.Shape{3, 1}, []float32{1, 1, 0}),
		"mask": mask, "epoch": tensor.Scalar32(1)}
	values, err := graphtest.Run(g, feeds, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := graphtest.InjectedGradient(g.Loss(), values)
	if err != nil {
		t.Fatal(err)
	}
	for i := range got.Len() {
		if v := got.Float64At(i); math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("gradient %d is %g", i, v)
		}
	}
}

func TestValidation(t *testing.T) {
	_, err := authorscode.Parse([]byte(`{"temperature": 0, "class_density": [0.5, 1.2]}`))
	if err == nil || !strings.Contains(err.Error(), "temperature") || !strings.Contains(err.Error(), "class_density") {
		t.Errorf("err = %v", err)
	}
	p := authorscode.Defaults()
	p.ClassDensity = []float64{0.5, 0.5}
	_, err = authorscode.Build(p, losses.LossShape{Batch: 2, Channels: 1, H: 2, W: 2, Classes: 3, Task: losses.TaskMulti})
	if err == nil || !strings.Contains(err.Error(), "class_density") {
		t.Errorf("density length mismatch: err = %v", err)
	}
}
