package backends

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

func TestFetchOutputs(t *testing.T) {
	g := graph.New("fetch")
	x := g.Input("x", tensor.Float32, 2)
	g.SetOutput("x", x)
	g.SetOutput("relu", g.Relu(x))
	names := []string{"relu", "x"}
	nodes, err := ResolveOutputs(g, names)
	if err != nil {
		t.Fatal(err)
	}
	// Each node's "value" is its id, so a mix-up of names and nodes shows.
	byID := func(n *graph.Node) (*tensor.Tensor, error) {
		return tensor.FromFloat32(tensor.Shape{1}, []float32{float32(n.ID())})
	}
	out, err := FetchOutputs(names, nodes, byID)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float32{}
	for name, v := range out {
		got[name] = v.Float32s()[0]
	}
	want := map[string]float32{"relu": float32(g.Output("relu").ID()), "x": float32(x.ID())}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("fetched values (-want +got):\n%s", diff)
	}

	failing := func(n *graph.Node) (*tensor.Tensor, error) {
		if n == x {
			return nil, errors.New("device lost")
		}
		return byID(n)
	}
	if _, err := FetchOutputs(names, nodes, failing); err == nil || !strings.Contains(err.Error(), `output "x": device lost`) {
		t.Errorf("error %v, want one naming output \"x\"", err)
	}
}
