//go:build cgo

package libtorch

import (
	"math/rand/v2"
	"testing"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// biasNet is conv+bias → relu → (conv+bias, also an output) → flatten →
// linear → loss, with a bias written the other way round (b + conv). The
// first and last adds can be folded; the second conv's value is an output,
// so its add cannot.
func biasNet() *graph.Graph {
	g := graph.New("bias-folds")
	x := g.Input("x", tensor.Float32, 2, 3, 6, 6)
	y := g.Input("y", tensor.Float32, 2, 1)
	h := g.Relu(g.Conv2DLayer("c1", x, 4, 3, graph.ConvOptions{Padding: [2]int{1, 1}}))
	w2 := g.Param("c2/w", graph.HeNormal(), []int{5, 4, 3, 3})
	b2 := g.Param("c2/b", graph.HeNormal(), []int{5})
	conv2 := g.Conv2D(h, w2, graph.ConvOptions{})
	g.SetOutput("conv2", conv2)
	h2 := g.Relu(g.Add(g.Reshape(b2, 1, 5, 1, 1), conv2))
	z := g.Linear("fc", g.Flatten(h2), 1)
	loss := g.SigmoidCrossEntropy(z, y)
	g.SetOutput("loss", loss)
	g.SetLoss(loss)
	return g.MustOK()
}

func TestPlanBiasFolds(t *testing.T) {
	g := biasNet()
	folds := planBiasFolds(g)
	var inner []graph.Op
	for _, f := range folds {
		inner = append(inner, f.inner.Op())
		if f.inner == g.Output("conv2") {
			t.Errorf("folded the add of conv2, whose own value is an output")
		}
	}
	if len(folds) != 2 {
		t.Errorf("folded %d adds (%v), want 2: conv c1 and linear fc", len(folds), inner)
	}
}

// Folding biases and laying weights out column-major change which
// libtorch kernels run, not what they compute: the loss, the outputs, every
// gradient and the trained parameters match the op-by-op, row-major run.
func TestKernelChoicesMatchOpByOp(t *testing.T) {
	be := newTestBackend(t)
	rng := rand.New(rand.NewPCG(3, 4))
	x := tensor.Zeros(tensor.Float32, 2, 3, 6, 6)
	for i := range x.Float32s() {
		x.Float32s()[i] = float32(rng.NormFloat64())
	}
	y := tensor.Zeros(tensor.Float32, 2, 1)
	y.Float32s()[1] = 1
	feeds := map[string]*tensor.Tensor{"x": x, "y": y}
	g := biasNet()
	wrt := []string{"x"}
	for _, p := range g.Params() {
		wrt = append(wrt, p.Attrs().Name)
	}
	opts := backends.CompileOptions{Seed: 5, Optimizer: backends.Optimizer{Kind: backends.SGD, LearningRate: 0.1, Momentum: 0.9}}

	results := map[bool]map[string]*tensor.Tensor{}
	for _, tuned := range []bool{false, true} {
		foldBiases, columnMajorWeights = tuned, tuned
		exe, err := be.Compile(g, opts)
		foldBiases, columnMajorWeights = true, true
		if err != nil {
			t.Fatal(err)
		}
		defer exe.Close()
		e := exe.(*executable)
		if got := len(e.folds); (got > 0) != tuned {
			t.Fatalf("tuned=%v: %d folds", tuned, got)
		}
		if e.columnMajor["fc/w"] != tuned || e.columnMajor["opt/momentum/fc/w"] != tuned || e.columnMajor["c2/w"] {
			t.Fatalf("tuned=%v: column-major %v, want fc/w and its momentum only", tuned, e.columnMajor)
		}
		res, err := exe.Gradients(backends.Train, feeds, wrt...)
		if err != nil {
			t.Fatal(err)
		}
		for step := range 2 {
			out, err := exe.TrainStep(feeds, "loss", "conv2")
			if err != nil {
				t.Fatal(err)
			}
			res["loss after "+string(rune('0'+step))] = out["loss"]
			res["conv2 at "+string(rune('0'+step))] = out["conv2"]
		}
		for _, p := range g.Params() {
			if res["trained "+p.Attrs().Name], err = exe.Read(p.Attrs().Name); err != nil {
				t.Fatal(err)
			}
		}
		// A snapshot restored into a fresh executable reads back the same.
		snap, err := exe.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		again, err := be.Compile(g, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer again.Close()
		if err := again.Restore(snap); err != nil {
			t.Fatal(err)
		}
		back, err := again.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		for name, want := range snap {
			if diff, _ := maxAbsDiffAndScale(back[name], want); diff != 0 {
				t.Errorf("tuned=%v: %s differs by %g after a snapshot round trip", tuned, name, diff)
			}
		}
		results[tuned] = res
	}
	for name, want := range results[false] {
		diff, scale := maxAbsDiffAndScale(results[true][name], want)
		if diff > 1e-5*scale+1e-6 {
			t.Errorf("%s: tuned and op-by-op differ by %.3g (largest |value| %.3g)", name, diff, scale)
		}
	}
}
