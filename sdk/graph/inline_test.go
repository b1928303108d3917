package graph

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// buildSub is a small subgraph touching every kind of node Inline handles:
// inputs, a param with multipliers, a state with an update, a const, and
// ops with attributes.
func buildSub(t *testing.T) *Graph {
	t.Helper()
	s := New("sub")
	x := s.Input("x", tensor.Float32, 2, 1, 4, 4)
	labels := s.Input("labels", tensor.Float32, 2, 1)
	w := s.Param("w", HeNormal(), []int{3, 1, 3, 3}, LRMult(0.5), DecayMult(0))
	run := s.State("running", tensor.Zeros(tensor.Float32, 3))
	y := s.Conv2D(x, w, ConvOptions{Padding: [2]int{1, 1}}) // [2,3,4,4]
	p := s.MaxPool2D(y, PoolOptions{Kernel: [2]int{2, 2}})  // [2,3,2,2]
	m := s.Mean(p, 0, 2, 3)                                 // [3]
	idx := s.ArgMax(s.Reshape(p, 2, 3, 4), 2)               // [2,3]
	gathered := s.Gather(s.Const(tensor.MustFloat32(tensor.Shape{4}, []float32{1, 2, 3, 4})), idx, 0)
	z := s.Add(s.Sum(gathered, 1), s.Reshape(labels, 2)) // [2]
	s.SetStateUpdate(run, s.Add(s.MulScalar(run, 0.9), s.MulScalar(s.StopGradient(m), 0.1)))
	s.SetOutput("pooled", p)
	s.SetLoss(s.Mean(s.Clamp(z, -1, 5)))
	return s.MustOK()
}

func TestInlineCopiesStructure(t *testing.T) {
	sub := buildSub(t)
	g := New("host")
	hx := g.Relu(g.Input("image", tensor.Float32, 2, 1, 4, 4))
	hl := g.Input("y", tensor.Float32, 2, 1)
	outs, err := g.Inline(sub, "plug", map[string]*Node{"x": hx, "labels": hl})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(outs), 2; got != want {
		t.Fatalf("got %d outputs, want %d: %v", got, want, outs)
	}
	if got := outs["pooled"].Shape(); !got.Equal(tensor.Shape{2, 3, 2, 2}) {
		t.Errorf("pooled shape %v", got)
	}
	if got := outs["loss"]; got == nil || got.Rank() != 0 {
		t.Errorf("loss output %v, want a scalar", got)
	}
	if g.Loss() != nil {
		t.Errorf("Inline set the host's loss")
	}

	// Every non-input node of sub appears in g, in order, with its op,
	// attributes (names prefixed) and shape.
	type row struct {
		Op    string
		Name  string
		Shape string
		LR    float64
	}
	describe := func(nodes []*Node, skip func(*Node) bool) []row {
		var rows []row
		for _, n := range nodes {
			if skip(n) {
				continue
			}
			rows = append(rows, row{n.Op().String(), n.Attrs().Name, n.Shape().String(), n.Attrs().LRMult})
		}
		return rows
	}
	want := describe(sub.Nodes(), func(n *Node) bool { return n.Op() == OpInput })
	for i := range want {
		if want[i].Name != "" {
			want[i].Name = "plug/" + want[i].Name
		}
	}
	hostLeaves := 3 // image, relu, y
	got := describe(g.Nodes()[hostLeaves:], func(*Node) bool { return false })
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("copied nodes differ (-want +got):\n%s", diff)
	}

	if p := g.Leaf("plug/w"); p == nil || p.Attrs().DecayMult != 0 || p.Attrs().Init.Kind != InitHeNormal {
		t.Errorf("param plug/w not copied with its attributes: %v", p)
	}
	ups := g.StateUpdates()
	if len(ups) != 1 || ups[0].State != g.Leaf("plug/running") {
		t.Fatalf("state updates %v, want one for plug/running", ups)
	}
	if ups[0].Value.Graph() != g {
		t.Errorf("state update value belongs to another graph")
	}
	// The inputs were replaced by the bound nodes.
	conv := g.LeavesOf(OpParam)[0]
	for _, n := range g.Nodes() {
		if n.Op() == OpConv2D && (n.Inputs()[0] != hx || n.Inputs()[1] != conv) {
			t.Errorf("conv operands %v, want the bound relu and plug/w", n.Inputs())
		}
	}
}

func TestInlineTwiceWithPrefixes(t *testing.T) {
	sub := buildSub(t)
	g := New("host")
	x := g.Input("image", tensor.Float32, 2, 1, 4, 4)
	y := g.Input("y", tensor.Float32, 2, 1)
	for _, p := range []string{"a", "b"} {
		if _, err := g.Inline(sub, p, map[string]*Node{"x": x, "labels": y}); err != nil {
			t.Fatalf("prefix %s: %v", p, err)
		}
	}
	var names []string
	for _, n := range g.Params() {
		names = append(names, n.Attrs().Name)
	}
	if diff := cmp.Diff([]string{"a/w", "b/w"}, names); diff != "" {
		t.Errorf("params (-want +got):\n%s", diff)
	}
	if got := len(g.StateUpdates()); got != 2 {
		t.Errorf("%d state updates, want 2", got)
	}
	// The same prefix twice collides on the parameter name.
	if _, err := g.Inline(sub, "a", map[string]*Node{"x": x, "labels": y}); err == nil || !strings.Contains(err.Error(), "a/w") {
		t.Errorf("reusing a prefix: err = %v, want a name clash on a/w", err)
	}
}

func TestInlineErrors(t *testing.T) {
	sub := buildSub(t)
	tests := []struct {
		name string
		bind func(g *Graph) map[string]*Node
		want string
	}{
		{"unbound input", func(g *Graph) map[string]*Node {
			return map[string]*Node{"x": g.Input("image", tensor.Float32, 2, 1, 4, 4)}
		}, `input "labels"`},
		{"shape mismatch", func(g *Graph) map[string]*Node {
			return map[string]*Node{"x": g.Input("image", tensor.Float32, 2, 1, 5, 4), "labels": g.Input("y", tensor.Float32, 2, 1)}
		}, `input "x" wants float32[2 1 4 4]`},
		{"dtype mismatch", func(g *Graph) map[string]*Node {
			return map[string]*Node{"x": g.Input("image", tensor.Float64, 2, 1, 4, 4), "labels": g.Input("y", tensor.Float32, 2, 1)}
		}, `input "x" wants float32`},
		{"unknown binding", func(g *Graph) map[string]*Node {
			return map[string]*Node{"x": g.Input("image", tensor.Float32, 2, 1, 4, 4), "labels": g.Input("y", tensor.Float32, 2, 1),
				"lables": g.Input("z", tensor.Float32, 2, 1)}
		}, `"lables"`},
		{"node of another graph", func(g *Graph) map[string]*Node {
			other := New("other")
			return map[string]*Node{"x": other.Input("image", tensor.Float32, 2, 1, 4, 4), "labels": g.Input("y", tensor.Float32, 2, 1)}
		}, `graph "other"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := New("host")
			_, err := g.Inline(sub, "p", tc.bind(g))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %s", err, tc.want)
			}
			if g.Err() == nil {
				t.Errorf("the error was not recorded on the host graph")
			}
		})
	}
}

func TestInlineFailedSubgraph(t *testing.T) {
	bad := New("bad")
	bad.MatMul(bad.Input("a", tensor.Float32, 2, 3), bad.Input("b", tensor.Float32, 2, 3))
	g := New("host")
	if _, err := g.Inline(bad, "p", nil); err == nil || !strings.Contains(err.Error(), "failed to build") {
		t.Fatalf("err = %v, want the subgraph's build failure", err)
	}
}

func TestInlineEmptyPrefixKeepsNames(t *testing.T) {
	sub := buildSub(t)
	g := New("host")
	x := g.Input("image", tensor.Float32, 2, 1, 4, 4)
	y := g.Input("y", tensor.Float32, 2, 1)
	if _, err := g.Inline(sub, "", map[string]*Node{"x": x, "labels": y}); err != nil {
		t.Fatal(err)
	}
	if g.Leaf("w") == nil || g.Leaf("running") == nil {
		t.Errorf("names changed with an empty prefix: params %v states %v", g.Params(), g.States())
	}
}
