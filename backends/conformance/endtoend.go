package conformance

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// RunEndToEnd trains a tiny CNN (conv → relu → max-pool → linear → sigmoid
// cross-entropy) for 30 SGD steps to tell vertical from horizontal bars in
// noisy 6×6 images; the loss must fall to less than half its first value.
func RunEndToEnd(t *testing.T, newBackend func() (backends.Backend, error)) {
	const (
		batch, side = 16, 6
		steps       = 30
	)
	be := newBackendOrFatal(t, newBackend)
	skipInferenceOnly(t, be)
	g := graph.New("tiny_cnn")
	images := g.Input("images", tensor.Float32, batch, 1, side, side)
	labels := g.Input("labels", tensor.Float32, batch, 1)
	h := g.Relu(g.Conv2DLayer("conv", images, 4, 3, graph.ConvOptions{Padding: [2]int{1, 1}}))
	h = g.MaxPool2D(h, graph.PoolOptions{Kernel: [2]int{2, 2}})
	logits := g.Linear("fc", g.Flatten(h), 1)
	g.SetOutput("logits", logits)
	g.SetLoss(g.SigmoidCrossEntropy(logits, labels))
	opt := backends.Optimizer{Kind: backends.SGD, LearningRate: 0.1, Momentum: 0.9}
	exe := compile(t, be, g, backends.CompileOptions{Seed: 1, Optimizer: opt})

	feeds := barImages(batch, side)
	var first, last float64
	for step := 1; step <= steps; step++ {
		out, err := exe.TrainStep(feeds, "loss")
		if err != nil {
			t.Fatalf("step %d: TrainStep: %v", step, err)
		}
		l := out["loss"].Float64At(0)
		if math.IsNaN(l) || math.IsInf(l, 0) {
			t.Fatalf("step %d: loss is %g", step, l)
		}
		if step == 1 {
			first = l
		}
	}
	out, err := exe.Run(feeds, "loss")
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	last = out["loss"].Float64At(0)
	t.Logf("loss %.4f before training, %.4f after %d steps", first, last, steps)
	if !(last < first/2) {
		t.Errorf("loss fell from %.4f to %.4f in %d SGD steps, want below half", first, last, steps)
	}
}

// barImages is a toy problem: label 1 images hold a bright vertical bar,
// label 0 images a horizontal one, at a random position, under noise.
func barImages(batch, side int) map[string]*tensor.Tensor {
	rng := rand.New(rand.NewPCG(2018, 6))
	images := tensor.Zeros(tensor.Float32, batch, 1, side, side)
	labels := tensor.Zeros(tensor.Float32, batch, 1)
	px := images.Float32s()
	for n := range batch {
		vertical := n%2 == 1
		at := rng.IntN(side)
		for i := range side {
			for j := range side {
				v := 0.1 * rng.NormFloat64()
				if (vertical && j == at) || (!vertical && i == at) {
					v++
				}
				px[(n*side+i)*side+j] = float32(v)
			}
		}
		if vertical {
			labels.Float32s()[n] = 1
		}
	}
	return map[string]*tensor.Tensor{"images": images, "labels": labels}
}
