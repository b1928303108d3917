package gorgonia

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// small64Graph is the reference benchmark network: 3x64x64 input, three
// conv3x3+relu+maxpool2 stages (32, 64, 128 channels), a conv3x3 128→128 +
// relu, then linear 256 + relu, linear 1 and the logistic loss.
func small64Graph(batch int) *graph.Graph {
	g := graph.New("small64")
	x := g.Input("x", tensor.Float32, batch, 3, 64, 64)
	y := g.Input("y", tensor.Float32, batch, 1)
	pad := graph.ConvOptions{Padding: [2]int{1, 1}}
	pool := graph.PoolOptions{Kernel: [2]int{2, 2}}
	h := x
	for i, c := range []int{32, 64, 128} {
		h = g.MaxPool2D(g.Relu(g.Conv2DLayer("conv"+string(rune('1'+i)), h, c, 3, pad)), pool)
	}
	h = g.Relu(g.Conv2DLayer("conv4", h, 128, 3, pad))
	h = g.Relu(g.Linear("fc1", g.Flatten(h), 256))
	logit := g.Linear("fc2", h, 1)
	g.SetOutput("logit", logit)
	g.SetLoss(g.SigmoidCrossEntropy(logit, y))
	return g
}

func small64Feeds(batch int) map[string]*tensor.Tensor {
	rng := rand.New(rand.NewPCG(1, 1))
	x := tensor.Zeros(tensor.Float32, batch, 3, 64, 64)
	for i := range x.Float32s() {
		x.Float32s()[i] = float32(rng.NormFloat64())
	}
	y := tensor.Zeros(tensor.Float32, batch, 1)
	for i := range y.Float32s() {
		y.Float32s()[i] = float32(rng.IntN(2))
	}
	return map[string]*tensor.Tensor{"x": x, "y": y}
}

// BenchmarkSmall64Step times one training step at batch 32 and reports
// images per second and the peak resident memory of the process.
func BenchmarkSmall64Step(b *testing.B) {
	const batch = 32
	exe, err := Backend{}.Compile(small64Graph(batch), backends.CompileOptions{Seed: 1,
		Optimizer: backends.Optimizer{Kind: backends.SGD, LearningRate: 0.01, Momentum: 0.9}})
	if err != nil {
		b.Fatal(err)
	}
	defer exe.Close()
	feeds := small64Feeds(batch)
	if _, err := exe.TrainStep(feeds); err != nil { // compile the train program outside the timing
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if _, err := exe.TrainStep(feeds); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(batch/sec, "img/s")
	b.ReportMetric(sec*1000, "ms/step")
	if hwm := peakRSSMiB(); hwm > 0 {
		b.ReportMetric(hwm, "peakRSS-MiB")
	}
	b.Logf("GOMAXPROCS=%d, %s", runtime.GOMAXPROCS(0), blasName)
}

// peakRSSMiB reads VmHWM from /proc/self/status (0 where unavailable).
func peakRSSMiB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb float64
			if _, err := fmt.Sscan(rest, &kb); err != nil {
				return 0
			}
			return kb / 1024
		}
	}
	return 0
}
