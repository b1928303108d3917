package conformance

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

func TestFiniteDifferences(t *testing.T) {
	x := tensor.MustFloat32(tensor.Shape{2, 2}, []float32{1, -2, 0.5, 3})
	tests := []struct {
		name    string
		loss    func(g *graph.Graph, x *graph.Node) *graph.Node
		entries []int
		want    []float64
	}{
		// d Σ x² / d x = 2x
		{"square", func(g *graph.Graph, x *graph.Node) *graph.Node { return g.Sum(g.Square(x)) }, []int{0, 1, 3}, []float64{2, -4, 6}},
		// stop_gradient is held fixed: d Σ x·sg(x) / d x = x
		{"stop gradient", func(g *graph.Graph, x *graph.Node) *graph.Node { return g.Sum(g.Mul(x, g.StopGradient(x))) }, []int{2, 1}, []float64{0.5, -2}},
		// a surrogate's derivative is the gradient it carries
		{"surrogate", func(g *graph.Graph, x *graph.Node) *graph.Node { return g.GradientSurrogate(x, g.Exp(x)) }, []int{0}, []float64{math.E}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := graph.New(tt.name)
			in := g.Input("x", tensor.Float32, 2, 2)
			g.SetLoss(tt.loss(g, in))
			_, got, err := FiniteDifferences(g, map[string]*tensor.Tensor{"x": x}, nil, nil, backends.Eval, "x", tt.entries)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateApprox(1e-8, 1e-8)); diff != "" {
				t.Errorf("derivatives (-want +got):\n%s", diff)
			}
		})
	}
	g := graph.New("unused")
	g.Input("x", tensor.Float32, 2, 2)
	g.SetLoss(g.Sum(g.Const(tensor.MustFloat32(tensor.Shape{1}, []float32{1}))))
	if _, got, err := FiniteDifferences(g, map[string]*tensor.Tensor{"x": x}, nil, nil, backends.Eval, "x", []int{0}); err != nil || got[0] != 0 {
		t.Errorf("unused input: %v, %v; want a zero derivative", got, err)
	}
}
