//go:build cgo

package libtorch

import (
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/backends/gorgonia"
	"github.com/icnnlab/icnnlab/internal/zoo"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// The same small64 network, weights and batch through both backends (the
// libtorch one on $ICNNLAB_TEST_DEVICE, the CPU by default): the
// loss and every parameter's gradient agree to float32 accuracy (the two
// sum in different orders), and so does the loss after two SGD steps.
func TestParityWithGorgoniaOnSmall64(t *testing.T) {
	torchBackend := newTestBackend(t)
	const batch, seed = 4, 7
	m, err := zoo.Small64(batch, false, zoo.Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	images := tensor.Zeros(tensor.Float32, m.Input.Shape()...)
	for i := range images.Float32s() {
		images.Float32s()[i] = float32(rng.NormFloat64())
	}
	labels := tensor.Zeros(tensor.Float32, m.Labels.Shape()...)
	for i := range labels.Float32s() {
		labels.Float32s()[i] = float32(rng.IntN(2))
	}
	feeds := map[string]*tensor.Tensor{"images": images, "labels": labels}
	var params []string
	for _, p := range m.Graph.Params() {
		params = append(params, p.Attrs().Name)
	}
	opts := backends.CompileOptions{Seed: seed, Optimizer: backends.Optimizer{Kind: backends.SGD, LearningRate: 1e-4, Momentum: 0.9, WeightDecay: 5e-4}}

	results := map[string]map[string]*tensor.Tensor{}
	stepped := map[string][]float64{}
	for name, be := range map[string]backends.Backend{"gorgonia": gorgonia.Backend{}, "libtorch": torchBackend} {
		opts := opts
		if name == "libtorch" {
			opts.Device = os.Getenv(deviceEnv) // CUDA in bench/gpu.sh: CPU↔CUDA parity
		}
		exe, err := be.Compile(m.Graph, opts)
		if err != nil {
			t.Fatalf("%s: compile: %v", name, err)
		}
		defer exe.Close()
		if results[name], err = exe.Gradients(backends.Train, feeds, params...); err != nil {
			t.Fatalf("%s: gradients: %v", name, err)
		}
		for range 3 {
			out, err := exe.TrainStep(feeds, "loss")
			if err != nil {
				t.Fatalf("%s: train step: %v", name, err)
			}
			stepped[name] = append(stepped[name], out["loss"].Float64At(0))
		}
	}
	want, got := results["gorgonia"], results["libtorch"]
	for _, name := range append([]string{"loss"}, params...) {
		diff, scale := maxAbsDiffAndScale(got[name], want[name])
		if diff > 1e-4*scale+1e-7 {
			t.Errorf("%s: libtorch and gorgonia differ by %.3g (largest |value| %.3g)", name, diff, scale)
		}
	}
	for i := range stepped["gorgonia"] {
		g, w := stepped["libtorch"][i], stepped["gorgonia"][i]
		if math.Abs(g-w) > 1e-4*math.Abs(w) {
			t.Errorf("loss at step %d: libtorch %.7g, gorgonia %.7g", i, g, w)
		}
	}
	t.Logf("loss %.7g (libtorch) vs %.7g (gorgonia); losses over 3 SGD steps %.7g vs %.7g",
		got["loss"].Float64At(0), want["loss"].Float64At(0), stepped["libtorch"], stepped["gorgonia"])
}

func maxAbsDiffAndScale(got, want *tensor.Tensor) (diff, scale float64) {
	if got == nil || !got.Shape().Equal(want.Shape()) {
		return math.Inf(1), 0
	}
	for i := range want.Len() {
		diff = max(diff, math.Abs(got.Float64At(i)-want.Float64At(i)))
		scale = max(scale, math.Abs(want.Float64At(i)))
	}
	return diff, scale
}
