package mi_test

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/backends/conformance"
	_ "github.com/icnnlab/icnnlab/backends/gorgonia"
	"github.com/icnnlab/icnnlab/plugins/losses"
	"github.com/icnnlab/icnnlab/plugins/losses/intercategory"
	"github.com/icnnlab/icnnlab/plugins/losses/internal/lossref"
	"github.com/icnnlab/icnnlab/plugins/losses/mi"
	"github.com/icnnlab/icnnlab/plugins/losses/spatialentropy"
	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// randomFeatures draws ReLU-like maps: a quarter zeros, the rest uniform in
// (0, scale), rounded to multiples of 2^-10 so that finite-difference steps
// of 2^-8 are exact in float32.
func randomFeatures(seed uint64, s losses.LossShape, scale float64) *tensor.Tensor {
	rng := rand.New(rand.NewPCG(seed, 7))
	t := tensor.Zeros(tensor.Float32, s.Batch, s.Channels, s.H, s.W)
	for i := range t.Float32s() {
		if rng.Float64() < 0.25 {
			continue
		}
		t.Float32s()[i] = float32(math.Round(rng.Float64()*scale*1024) / 1024)
	}
	return t
}

func singleLabels(b int) *tensor.Tensor {
	t := tensor.Zeros(tensor.Float32, b, 1)
	for i := 0; i < b; i += 2 {
		t.Float32s()[i] = 1
	}
	return t
}

func evalLoss(t *testing.T, g *graph.Graph, feeds, states map[string]*tensor.Tensor) float64 {
	t.Helper()
	out, err := conformance.EvaluateOutputs(g, feeds, nil, states, backends.Eval)
	if err != nil {
		t.Fatal(err)
	}
	return out["loss"].Float64At(0)
}

// backendGradient is d loss / d features on the gorgonia backend.
func backendGradient(t *testing.T, g *graph.Graph, feeds map[string]*tensor.Tensor) *tensor.Tensor {
	t.Helper()
	be, err := backends.New("gorgonia")
	if err != nil {
		t.Fatal(err)
	}
	exe, err := be.Compile(g, backends.CompileOptions{})
	if err != nil {
		t.Fatalf("compile %s: %v", g.Name(), err)
	}
	out, err := exe.Gradients(backends.Train, feeds, losses.InputFeatures)
	if err != nil {
		t.Fatalf("gradients %s: %v", g.Name(), err)
	}
	return out[losses.InputFeatures]
}

func relClose(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*math.Max(1e-12, math.Abs(want))
}

func TestNegMIMatchesEquation1(t *testing.T) {
	tests := []struct {
		name  string
		shape losses.LossShape
		scale float64
		tweak func(*mi.Params)
	}{
		{"paper constants 3x3", losses.LossShape{Batch: 4, Channels: 2, H: 3, W: 3, Classes: 1, Task: losses.TaskSingle}, 4, nil},
		{"paper constants 4x4", losses.LossShape{Batch: 3, Channels: 3, H: 4, W: 4, Classes: 1, Task: losses.TaskSingle}, 8, nil},
		{"non-square, strong templates", losses.LossShape{Batch: 5, Channels: 2, H: 3, W: 5, Classes: 3, Task: losses.TaskMulti}, 3,
			func(p *mi.Params) { p.Tau = 0.5 }},
		{"euclidean templates", losses.LossShape{Batch: 4, Channels: 2, H: 4, W: 3, Classes: 1, Task: losses.TaskSingle}, 3,
			func(p *mi.Params) { p.Distance = "l2"; p.Tau = 0.3; p.Beta = 2 }},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := mi.Defaults()
			if tc.tweak != nil {
				tc.tweak(&p)
			}
			g, err := mi.Build(p, tc.shape)
			if err != nil {
				t.Fatal(err)
			}
			s := tc.shape
			x := randomFeatures(uint64(i+1), s, tc.scale)
			labels := tensor.Zeros(tensor.Float32, s.Batch, s.Classes)
			got := evalLoss(t, g, map[string]*tensor.Tensor{"features": x, "labels": labels}, nil)

			tmpl := p.TemplateParams.Resolve(s.H, s.W)
			maps := lossref.Maps(x.Float32s(), s.Batch, s.Channels, s.H*s.W)
			want := lossref.NegMI(maps, tmpl)
			t.Logf("−MI = %.6g (graph %.6g)", want, got)
			if !relClose(got, want, 1e-4) {
				t.Errorf("graph −MI = %.9g, eq. 1 = %.9g", got, want)
			}
			// Eq. 5: −MI = −H(T) + H(T'|X) + Σ_x p(T+,x) H(T+|X=x), per filter.
			decomposed := 0.0
			for _, m := range maps {
				f := lossref.NewFilter(m, tmpl, nil)
				decomposed += -tmpl.PriorEntropy() + f.InterCategory() + f.Spatial()
			}
			if !relClose(decomposed, want, 1e-9) {
				t.Errorf("eq. 5 decomposition %.12g != eq. 1 %.12g", decomposed, want)
			}
			// The graph's ablation terms are the decomposition's pieces.
			feeds := map[string]*tensor.Tensor{"features": x, "labels": labels}
			sg, err := spatialentropy.Build(p, s)
			if err != nil {
				t.Fatal(err)
			}
			ig, err := intercategory.Build(p, s)
			if err != nil {
				t.Fatal(err)
			}
			spatial, inter := evalLoss(t, sg, feeds, nil), evalLoss(t, ig, feeds, nil)
			wantSpatial, wantInter := 0.0, 0.0
			for _, m := range maps {
				f := lossref.NewFilter(m, tmpl, nil)
				wantSpatial += f.Spatial()
				wantInter += f.InterCategory()
			}
			if !relClose(spatial, wantSpatial, 1e-4) || !relClose(inter, wantInter, 1e-4) {
				t.Errorf("spatial %.9g (want %.9g), inter-category %.9g (want %.9g)", spatial, wantSpatial, inter, wantInter)
			}
			if !relClose(-float64(s.Channels)*tmpl.PriorEntropy()+inter+spatial, got, 1e-4) {
				t.Errorf("graph terms do not add up to the graph's −MI")
			}
		})
	}
}

// The scale-free variant is eq. 1 on each filter's maps divided by the
// batch mean of their maxima and multiplied by normalized_max (default
// H·W), so multiplying every activation by a constant changes nothing.
func TestBatchMaxNormalisation(t *testing.T) {
	s := losses.LossShape{Batch: 4, Channels: 3, H: 3, W: 4, Classes: 1, Task: losses.TaskSingle}
	p := mi.Defaults()
	p.Normalize = losses.NormalizeBatchMax
	g, err := mi.Build(p, s)
	if err != nil {
		t.Fatal(err)
	}
	x := randomFeatures(11, s, 3)
	labels := tensor.Zeros(tensor.Float32, s.Batch, s.Classes)
	got := evalLoss(t, g, map[string]*tensor.Tensor{"features": x, "labels": labels}, nil)

	n := s.H * s.W
	scaled := batchMaxByHand(x.Float32s(), s, 0)
	want := lossref.NegMI(lossref.Maps(scaled, s.Batch, s.Channels, n), p.TemplateParams.Resolve(s.H, s.W))
	if !relClose(got, want, 1e-4) {
		t.Errorf("batch-max −MI = %.9g, eq. 1 on the normalised maps = %.9g", got, want)
	}
	big := x.Clone()
	for i := range big.Float32s() {
		big.Float32s()[i] *= 50
	}
	if again := evalLoss(t, g, map[string]*tensor.Tensor{"features": big, "labels": labels}, nil); !relClose(again, got, 1e-4) {
		t.Errorf("−MI of 50·x = %.9g, of x = %.9g: want the same (scale-free)", again, got)
	}
	// Without normalisation the loss depends on the scale.
	plain, err := mi.Build(mi.Defaults(), s)
	if err != nil {
		t.Fatal(err)
	}
	a := evalLoss(t, plain, map[string]*tensor.Tensor{"features": x, "labels": labels}, nil)
	b := evalLoss(t, plain, map[string]*tensor.Tensor{"features": big, "labels": labels}, nil)
	if relClose(a, b, 1e-3) {
		t.Errorf("plain −MI of x and 50·x agree (%.6g): the test would not see a missing normalisation", a)
	}
}

// batchMaxByHand scales maps as batch-max does: per filter c, m_c = mean_b
// max_ij x_bcij, floored at floor·mean_c m_c; x' = H·W·x/m_c.
func batchMaxByHand(v []float32, s losses.LossShape, floor float64) []float32 {
	n := s.H * s.W
	m := make([]float64, s.Channels)
	layer := 0.0
	for c := range s.Channels {
		for b := range s.Batch {
			best := 0.0
			for q := range n {
				best = max(best, float64(v[(b*s.Channels+c)*n+q]))
			}
			m[c] += best / float64(s.Batch)
		}
		layer += m[c] / float64(s.Channels)
	}
	scaled := make([]float32, len(v))
	for c := range s.Channels {
		mc := max(m[c], floor*layer)
		for b := range s.Batch {
			for q := range n {
				i := (b*s.Channels+c)*n + q
				scaled[i] = float32(float64(n) * float64(v[i]) / mc)
			}
		}
	}
	return scaled
}

// With a floor, a nearly silent filter is divided by floor × the layer's
// mean scale instead of its own, so its loss gradient stays bounded; the
// other filters are scaled as without a floor.
func TestBatchMaxFloor(t *testing.T) {
	s := losses.LossShape{Batch: 4, Channels: 3, H: 3, W: 4, Classes: 1, Task: losses.TaskSingle}
	x := randomFeatures(11, s, 3)
	n := s.H * s.W
	for b := range s.Batch { // filter 1 nearly silent
		for q := range n {
			x.Float32s()[(b*s.Channels+1)*n+q] *= 1e-2
		}
	}
	labels := tensor.Zeros(tensor.Float32, s.Batch, s.Classes)
	feeds := map[string]*tensor.Tensor{"features": x, "labels": labels}
	gradNorm := func(floor float64) (loss, silent, others float64) {
		p := mi.Defaults()
		p.Normalize, p.Floor = losses.NormalizeBatchMax, floor
		g, err := mi.Build(p, s)
		if err != nil {
			t.Fatal(err)
		}
		loss = evalLoss(t, g, feeds, nil)
		want := lossref.NegMI(lossref.Maps(batchMaxByHand(x.Float32s(), s, floor), s.Batch, s.Channels, n), p.TemplateParams.Resolve(s.H, s.W))
		if !relClose(loss, want, 1e-4) {
			t.Errorf("floor %g: batch-max −MI = %.9g, eq. 1 on the maps scaled by hand = %.9g", floor, loss, want)
		}
		grad := backendGradient(t, g, feeds)
		for i := range grad.Float32s() {
			v := math.Abs(float64(grad.Float32s()[i]))
			if (i/n)%s.Channels == 1 {
				silent = max(silent, v)
			} else {
				others = max(others, v)
			}
		}
		return loss, silent, others
	}
	// The silent filter's scale is about 1/100 of the others' and 1/67 of
	// the layer's mean: its gradient is about 100 times theirs without a
	// floor, and a floor of 0.1 divides it by about 6.7.
	_, silent0, others0 := gradNorm(0)
	_, silent, others := gradNorm(0.1)
	if !(silent0 > 30*others0) {
		t.Errorf("without a floor the silent filter's largest gradient %g is not far above the others' %g: the test would not see the floor work", silent0, others0)
	}
	if !(silent < silent0/4) || !relClose(others, others0, 0.5) {
		t.Errorf("floor 0.1: the silent filter's largest gradient %g (without: %g), the others' %g (without: %g); want the silent one cut by about 6.7, the others about kept", silent, silent0, others, others0)
	}
	for _, bad := range []float64{-0.1, 1.5, math.NaN()} {
		p := mi.Defaults()
		p.Normalize, p.Floor = losses.NormalizeBatchMax, bad
		if _, err := mi.Build(p, s); err == nil || !strings.Contains(err.Error(), "floor") {
			t.Errorf("floor %g: error %v, want one naming floor", bad, err)
		}
	}
}

func TestRunningZ(t *testing.T) {
	s := losses.LossShape{Batch: 4, Channels: 2, H: 3, W: 3, Classes: 1, Task: losses.TaskSingle}
	p := mi.Defaults()
	p.Tau = 0.4
	p.ZEstimate = losses.ZRunning
	p.Momentum = 0.8
	g, err := mi.Build(p, s)
	if err != nil {
		t.Fatal(err)
	}
	x := randomFeatures(11, s, 3)
	feeds := map[string]*tensor.Tensor{"features": x, "labels": singleLabels(s.Batch)}
	tmpl := p.TemplateParams.Resolve(s.H, s.W)
	maps := lossref.Maps(x.Float32s(), s.Batch, s.Channels, s.H*s.W)

	// First step: the bias correction gives the old value weight 0, so the
	// running loss is the batch loss.
	if got, want := evalLoss(t, g, feeds, nil), lossref.NegMI(maps, tmpl); !relClose(got, want, 1e-4) {
		t.Errorf("first running step −MI = %.9g, want the batch value %.9g", got, want)
	}

	// Later step from a given state: compare the loss and the state update.
	const steps = 3
	old := tensor.Zeros(tensor.Float32, s.Channels, tmpl.K)
	for i := range old.Float32s() {
		old.Float32s()[i] = float32(0.05 * float64(i%7))
	}
	states := map[string]*tensor.Tensor{losses.StateLogZ: old, losses.StateSteps: tensor.Scalar32(steps)}
	byID, err := conformance.Evaluate(g, feeds, nil, states, backends.Eval)
	if err != nil {
		t.Fatal(err)
	}
	want := 0.0
	for c, m := range maps {
		oldC := make([]float64, tmpl.K)
		for k := range oldC {
			oldC[k] = float64(old.Float32s()[c*tmpl.K+k])
		}
		logZ := lossref.RunningLogZ(m, tmpl, oldC, steps+1, p.Momentum)
		want -= lossref.NewFilter(m, tmpl, logZ).MI()
		for _, u := range g.StateUpdates() {
			if u.State.Attrs().Name != losses.StateLogZ {
				continue
			}
			gotZ := byID[u.Value.ID()]
			for k := range logZ {
				if d := math.Abs(gotZ.Float64At(c*tmpl.K+k) - logZ[k]); d > 1e-5 {
					t.Fatalf("log_z[%d,%d] update = %g, want %g", c, k, gotZ.Float64At(c*tmpl.K+k), logZ[k])
				}
			}
		}
	}
	if got := byID[g.Loss().ID()].Float64At(0); !relClose(got, want, 1e-4) {
		t.Errorf("running −MI = %.9g, want %.9g", got, want)
	}
	var stepUpdate *tensor.Tensor
	for _, u := range g.StateUpdates() {
		if u.State.Attrs().Name == losses.StateSteps {
			stepUpdate = byID[u.Value.ID()]
		}
	}
	if stepUpdate == nil || stepUpdate.Float64At(0) != steps+1 {
		t.Errorf("step counter update = %v, want %d", stepUpdate, steps+1)
	}
}

func TestParamsValidation(t *testing.T) {
	tests := []struct {
		raw  string
		want []string
	}{
		{`{"beta": -1, "z_estimate": "ema"}`, []string{"beta", "z_estimate"}},
		{`{"alpha": 1.5, "momentum": 1}`, []string{"alpha", "momentum"}},
		{`{"distance": "l3", "tau": -0.1}`, []string{"distance", "tau"}},
		{`{"betta": 4}`, []string{"betta"}},
	}
	for _, tc := range tests {
		_, err := mi.Parse([]byte(tc.raw))
		if err == nil {
			t.Errorf("%s: no error", tc.raw)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not name %s", tc.raw, err, w)
			}
		}
	}
	if p, err := mi.Parse([]byte(`{"z_estimate": "running", "tau": 0.01}`)); err != nil || p.ZEstimate != losses.ZRunning || p.Tau != 0.01 || p.Beta != 4 {
		t.Errorf("valid params: %+v, %v", p, err)
	}
	if _, err := mi.Build(mi.Defaults(), losses.LossShape{Batch: 2, Channels: 1, H: 3, W: 3, Classes: 2, Task: losses.TaskSingle}); err == nil || !strings.Contains(err.Error(), "classes") {
		t.Errorf("single task with 2 classes: err = %v", err)
	}
}
