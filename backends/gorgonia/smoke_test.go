package gorgonia

import (
	"testing"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

func TestSmokeLinear(t *testing.T) {
	g := graph.New("smoke")
	x := g.Input("x", tensor.Float32, 4, 3)
	y := g.Input("y", tensor.Float32, 4, 1)
	z := g.Linear("fc", x, 1)
	g.SetOutput("z", z)
	g.SetLoss(g.SigmoidCrossEntropy(z, y))
	g.MustOK()
	exe, err := Backend{}.Compile(g, backends.CompileOptions{Seed: 1, Optimizer: backends.Optimizer{Kind: backends.SGD, LearningRate: 0.5}})
	if err != nil {
		t.Fatal(err)
	}
	feeds := map[string]*tensor.Tensor{
		"x": tensor.MustFloat32(tensor.Shape{4, 3}, []float32{1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1}),
		"y": tensor.MustFloat32(tensor.Shape{4, 1}, []float32{1, 0, 1, 0}),
	}
	for i := range 20 {
		out, err := exe.TrainStep(feeds, "loss")
		if err != nil {
			t.Fatal(err)
		}
		t.Log(i, out["loss"])
	}
	gr, err := exe.Gradients(backends.Eval, feeds, "fc/w", "x")
	if err != nil {
		t.Fatal(err)
	}
	t.Log(gr)
}
