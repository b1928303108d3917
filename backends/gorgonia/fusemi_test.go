package gorgonia

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/backends/conformance"
	"github.com/icnnlab/icnnlab/plugins/losses"
	"github.com/icnnlab/icnnlab/plugins/losses/mi"
	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// miCase is a −MI loss graph built by the loss plugin.
type miCase struct {
	name   string
	shape  losses.LossShape
	params func(p *mi.Params)
	scale  float64 // feature scale: scores of order scale·τ·H·W
	// extraReader makes the loss also read the chain's log p(x) terms, so
	// the chain must not fuse.
	extraReader bool
}

func (mc miCase) build(t *testing.T) *graph.Graph {
	t.Helper()
	p := mi.Defaults()
	if mc.params != nil {
		mc.params(&p)
	}
	g, err := mi.Build(p, mc.shape)
	if err != nil {
		t.Fatal(err)
	}
	if mc.extraReader {
		var lpx *graph.Node
		for _, n := range g.Nodes() {
			if n.Op() == graph.OpLogSumExp && len(n.Attrs().Axes) == 1 && n.Attrs().Axes[0] == 2 {
				lpx = n
			}
		}
		if lpx == nil {
			t.Fatal("no log p(x) node in the loss graph")
		}
		g.SetLoss(g.Add(g.Loss(), g.Sum(lpx)))
	}
	return g
}

func (mc miCase) runningZ() bool {
	p := mi.Defaults()
	if mc.params != nil {
		mc.params(&p)
	}
	return p.ZEstimate == losses.ZRunning
}

func (mc miCase) feeds() map[string]*tensor.Tensor {
	s := mc.shape
	rng := rand.New(rand.NewPCG(21, 22))
	x := tensor.Zeros(tensor.Float32, s.Batch, s.Channels, s.H, s.W)
	for i := range x.Float32s() {
		// ReLU-like features: a third exactly zero, the rest positive.
		if v := rng.NormFloat64() + 0.3; v > 0 {
			x.Float32s()[i] = float32(mc.scale * v)
		}
	}
	labels := tensor.Zeros(tensor.Float32, s.Batch, s.Classes)
	for i := range labels.Float32s() {
		labels.Float32s()[i] = float32(rng.IntN(2))
	}
	return map[string]*tensor.Tensor{losses.InputFeatures: x, losses.InputLabels: labels}
}

func miCases() []miCase {
	single := losses.LossShape{Batch: 5, Channels: 3, H: 3, W: 4, Classes: 1, Task: losses.TaskSingle}
	return []miCase{
		{name: "batch Z", shape: single, scale: 1},
		{name: "batch Z, strong scores", shape: single, scale: 30},
		{name: "running Z", shape: single, scale: 3, params: func(p *mi.Params) { p.ZEstimate = losses.ZRunning }},
		{name: "batch-max scaling with floor", shape: single, scale: 2, params: func(p *mi.Params) {
			p.Normalize, p.Floor = losses.NormalizeBatchMax, 0.1
		}},
		{name: "multi-category, L2 templates", shape: losses.LossShape{Batch: 4, Channels: 2, H: 4, W: 3, Classes: 3, Task: losses.TaskMulti},
			scale: 5, params: func(p *mi.Params) { p.Distance = "l2" }},
		{name: "log p(x) read elsewhere: not fused", shape: single, scale: 1, extraReader: true},
	}
}

// miGradients compiles mc with or without the −MI fusion and returns the
// loss and its gradient, and the kernels of the gradient program.
func miGradients(t *testing.T, mc miCase, fuse bool, threads int) (map[string]*tensor.Tensor, map[string]int) {
	t.Helper()
	defer func(old bool) { fuseMI = old }(fuseMI)
	fuseMI = fuse
	exe := compileOrFatal(t, mc.build(t), backends.CompileOptions{Seed: 3, Threads: threads})
	grads, err := exe.Gradients(backends.Train, mc.feeds(), losses.InputFeatures)
	if err != nil {
		t.Fatal(err)
	}
	kernels := map[string]int{}
	for key, p := range exe.(*executable).programs {
		if strings.HasPrefix(key, "grad|") {
			for _, n := range p.eg.AllNodes() {
				kernels[fmt.Sprint(n.Op())]++
			}
		}
	}
	return grads, kernels
}

// TestMIFusionMatchesUnfusedOps checks the fused −MI kernel against the
// ops it replaces (value and gradient, float32 rounding apart) and its
// gradient against float64 finite differences of the reference evaluator.
func TestMIFusionMatchesUnfusedOps(t *testing.T) {
	for _, mc := range miCases() {
		t.Run(mc.name, func(t *testing.T) {
			fused, kernels := miGradients(t, mc, true, 2)
			if got, want := kernels["neg_mi_core"] > 0, !mc.extraReader; got != want {
				t.Fatalf("fused: %v, want %v (kernels %v)", got, want, kernels)
			}
			// With batch Z the kernel computes log Z too: no logsumexp is left.
			if got, want := kernels["logsumexp"] == 0, !mc.extraReader && !mc.runningZ(); got != want {
				t.Fatalf("log Z fused: %v, want %v (kernels %v)", got, want, kernels)
			}
			oneThread, _ := miGradients(t, mc, true, 1)
			plain, plainKernels := miGradients(t, mc, false, 2)
			if plainKernels["neg_mi_core"] > 0 {
				t.Fatalf("fusion off, yet the chain fused: %v", plainKernels)
			}
			for _, name := range []string{"loss", losses.InputFeatures} {
				got, want := fused[name].Float32s(), plain[name].Float32s()
				scale := 0.0
				for _, v := range want {
					scale = math.Max(scale, math.Abs(float64(v)))
				}
				for i := range want {
					if d := math.Abs(float64(got[i] - want[i])); d > 1e-5*scale+1e-6 || math.IsNaN(float64(got[i])) {
						t.Fatalf("%s[%d]: fused %v, unfused %v (largest magnitude %g)", name, i, got[i], want[i], scale)
					}
					if g1 := oneThread[name].Float32s()[i]; g1 != got[i] {
						t.Fatalf("%s[%d]: %v at 2 threads, %v at 1", name, i, got[i], g1)
					}
				}
			}

			// Finite differences in float64 of the same graph.
			entries := make([]int, fused[losses.InputFeatures].Len())
			for i := range entries {
				entries[i] = i
			}
			loss, fd, err := conformance.FiniteDifferences(mc.build(t), mc.feeds(), nil, nil, backends.Train, losses.InputFeatures, entries)
			if err != nil {
				t.Fatal(err)
			}
			if got := float64(fused["loss"].Float32s()[0]); math.Abs(got-loss) > 1e-5*math.Max(1, math.Abs(loss)) {
				t.Fatalf("loss %v, reference %v", got, loss)
			}
			scale := 0.0
			for _, v := range fd {
				scale = math.Max(scale, math.Abs(v))
			}
			for i, want := range fd {
				if got := float64(fused[losses.InputFeatures].Float32s()[i]); math.Abs(got-want) > 1e-3*scale+1e-5 {
					t.Fatalf("d loss/d features[%d]: fused %v, finite differences %v (largest %g)", i, got, want, scale)
				}
			}
		})
	}
}
