package zoo_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/icnnlab/icnnlab/backends"
	_ "github.com/icnnlab/icnnlab/backends/gorgonia"
	"github.com/icnnlab/icnnlab/internal/zoo"
	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// TestTrainStepOnGorgonia compiles zoo models on the CPU backend and takes
// one SGD step each: the small64 workload at batch 2 (interpretable, with
// a stand-in mask that keeps the positive part so the masked layer is
// really in the graph), and every paper architecture at width 1/8 and
// 64 px with a 3-class softmax, dropout and the paper's two masked layers.
func TestTrainStepOnGorgonia(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles and runs zoo models on the CPU backend")
	}
	backend, err := backends.New("gorgonia")
	if err != nil {
		t.Fatalf("gorgonia backend: %v", err)
	}
	mask := func(g *graph.Graph, _ string, x *graph.Node) *graph.Node { return g.MaxScalar(x, 0) }

	t.Run("small64", func(t *testing.T) {
		m, err := zoo.Small64(2, true, zoo.Hooks{Mask: mask})
		if err != nil {
			t.Fatal(err)
		}
		out := trainOnce(t, backend, m, []float32{1, 0}, zoo.FeatureOutput("conv4"))
		if got := out[zoo.FeatureOutput("conv4")].Shape(); !got.Equal(tensor.Shape{2, 128, 8, 8}) {
			t.Errorf("features/conv4 shape %v, want [2 128 8 8]", got)
		}
	})
	for _, arch := range []string{zoo.ArchAlexNet, zoo.ArchVGGM, zoo.ArchVGGS, zoo.ArchVGG16} {
		t.Run(arch, func(t *testing.T) {
			spec := zoo.Spec{Arch: arch, InputSize: 64, Width: 0.125, Classes: 3, Loss: zoo.LossSoftmax, Dropout: 0.5, Batch: 2}
			m, err := zoo.Build(spec, zoo.Hooks{Interpretable: true, Mask: mask})
			if err != nil {
				t.Fatal(err)
			}
			trainOnce(t, backend, m, []float32{1, 0, 0, 0, 0, 1})
		})
	}
}

// trainOnce feeds noise images and the given labels, takes one SGD step
// and checks that the loss is the model's classification loss of its own
// logits and that the first conv's weights moved.
func trainOnce(t *testing.T, backend backends.Backend, m *zoo.Model, labelValues []float32, extra ...string) map[string]*tensor.Tensor {
	t.Helper()
	exec, err := backend.Compile(m.Graph, backends.CompileOptions{
		Seed:      1,
		Optimizer: backends.Optimizer{Kind: backends.SGD, LearningRate: 0.01, Momentum: 0.9}.WithDefaults(),
	})
	if err != nil {
		t.Fatalf("compile %s: %v", m.Spec.Arch, err)
	}
	defer exec.Close()

	s := m.Spec
	rng := rand.New(rand.NewPCG(1, 2))
	images := tensor.Zeros(tensor.Float32, s.Batch, 3, s.InputSize, s.InputSize)
	for i := range images.Float32s() {
		images.Float32s()[i] = float32(rng.NormFloat64())
	}
	labels := tensor.MustFloat32(tensor.Shape{s.Batch, s.Classes}, labelValues)
	feeds := map[string]*tensor.Tensor{"images": images, "labels": labels}

	firstConv := m.Layers[0].Name + "/w"
	before, err := exec.Read(firstConv)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.TrainStep(feeds, append([]string{"loss", "logits"}, extra...)...)
	if err != nil {
		t.Fatalf("train step: %v", err)
	}
	loss := float64(out["loss"].Float32s()[0])
	if want := classificationLoss(s, out["logits"].Float32s(), labelValues); math.IsNaN(loss) || math.Abs(loss-want) > 1e-4*(1+want) {
		t.Errorf("loss %g, want the %s loss of the logits, %g", loss, s.Loss, want)
	}
	after, err := exec.Read(firstConv)
	if err != nil {
		t.Fatal(err)
	}
	if after.MaxAbsDiff(before) == 0 {
		t.Errorf("one SGD step left %s unchanged", firstConv)
	}
	if exec.Step() != 1 {
		t.Errorf("step counter %d after one step", exec.Step())
	}
	return out
}

// classificationLoss recomputes the graph's loss in float64: the mean
// logistic loss over all outputs, or the mean softmax cross-entropy over rows.
func classificationLoss(s zoo.Spec, logits, labels []float32) float64 {
	total := 0.0
	for b := range s.Batch {
		z, y := logits[b*s.Classes:(b+1)*s.Classes], labels[b*s.Classes:(b+1)*s.Classes]
		switch s.Loss {
		case zoo.LossLogistic:
			for k := range z {
				zk := float64(z[k])
				total += math.Max(zk, 0) + math.Log1p(math.Exp(-math.Abs(zk))) - zk*float64(y[k])
			}
		case zoo.LossSoftmax:
			top := math.Inf(-1)
			for _, v := range z {
				top = math.Max(top, float64(v))
			}
			sum := 0.0
			for _, v := range z {
				sum += math.Exp(float64(v) - top)
			}
			logZ := top + math.Log(sum)
			for k := range z {
				total -= float64(y[k]) * (float64(z[k]) - logZ)
			}
		}
	}
	if s.Loss == zoo.LossLogistic {
		return total / float64(s.Batch*s.Classes)
	}
	return total / float64(s.Batch)
}
