//go:build cgo

package libtorch

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/internal/zoo"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// small64Feeds is one fixed random batch for small64 at the given size.
func small64Feeds(t *testing.T, batch int) (*zoo.Model, map[string]*tensor.Tensor) {
	t.Helper()
	m, err := zoo.Small64(batch, false, zoo.Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	images := tensor.Zeros(tensor.Float32, m.Input.Shape()...)
	for i := range images.Float32s() {
		images.Float32s()[i] = float32(rng.NormFloat64())
	}
	labels := tensor.Zeros(tensor.Float32, m.Labels.Shape()...)
	for i := range labels.Float32s() {
		labels.Float32s()[i] = float32(rng.IntN(2))
	}
	return m, map[string]*tensor.Tensor{"images": images, "labels": labels}
}

// trainLosses compiles small64 with opts and returns the loss of each of
// three training steps and a parameter read afterwards.
func trainLosses(t *testing.T, opts backends.CompileOptions) ([]float64, *tensor.Tensor) {
	t.Helper()
	m, feeds := small64Feeds(t, 4)
	exe, err := newTestBackend(t).Compile(m.Graph, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer exe.Close()
	var losses []float64
	for range 3 {
		out, err := exe.TrainStep(feeds, "loss")
		if err != nil {
			t.Fatal(err)
		}
		losses = append(losses, out["loss"].Float64At(0))
	}
	w, err := exe.Read(m.Graph.Params()[0].Attrs().Name)
	if err != nil {
		t.Fatal(err)
	}
	return losses, w
}

var precisionOpts = backends.CompileOptions{Seed: 5, Threads: 1, Optimizer: backends.Optimizer{Kind: backends.SGD, LearningRate: 0.01, Momentum: 0.9}}

// Channels-last memory changes the kernels' summation order, not the
// values: the same training run to float32 accuracy, and parameters read
// back in the ordinary row-major layout.
func TestChannelsLastTrainsLikeNCHW(t *testing.T) {
	want, wantW := trainLosses(t, precisionOpts)
	opts := precisionOpts
	opts.ChannelsLast = true
	got, gotW := trainLosses(t, opts)
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-5*math.Max(1, math.Abs(want[i])) {
			t.Errorf("step %d loss: channels-last %v, NCHW %v", i+1, got[i], want[i])
		}
	}
	if diff, scale := maxAbsDiffAndScale(gotW, wantW); diff > 1e-5*scale {
		t.Errorf("first parameter after 3 steps: max difference %g (scale %g)", diff, scale)
	}
}

// bf16 autocast (on the CPU here; the same switch serves CUDA) really runs
// the convolutions in bfloat16, so the loss moves by bfloat16 rounding (8
// mantissa bits) but no more, and parameters stay float32.
func TestAutocastBF16(t *testing.T) {
	want, _ := trainLosses(t, precisionOpts)
	opts := precisionOpts
	opts.Autocast = backends.AutocastBF16
	got, w := trainLosses(t, opts)
	if got[0] == want[0] {
		t.Errorf("first loss %v equals the float32 one exactly: autocast did not engage", got[0])
	}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 0.03*math.Max(1, math.Abs(want[i])) {
			t.Errorf("step %d loss: bf16 autocast %v, float32 %v: more than bfloat16 rounding", i+1, got[i], want[i])
		}
	}
	if w.DType() != tensor.Float32 {
		t.Errorf("parameter dtype %v after autocast steps, want float32", w.DType())
	}
}

func TestAutocastRejectsUnknownModes(t *testing.T) {
	m, _ := small64Feeds(t, 1)
	opts := precisionOpts
	opts.Autocast = "int8"
	_, err := newTestBackend(t).Compile(m.Graph, opts)
	if err == nil || !strings.Contains(err.Error(), `autocast "int8"`) {
		t.Errorf("compile with autocast int8: error %v, want one naming the mode", err)
	}
}
