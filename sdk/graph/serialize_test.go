package graph

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"

	"github.com/icnnlab/icnnlab/sdk/graph/internal/graphpb"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// everyOpGraph uses every primitive op and the composites.
func everyOpGraph(t testing.TB) *Graph {
	t.Helper()
	g := New("every-op")
	x := g.Input("x", tensor.Float32, 2, 3, 8, 8)
	y := g.Input("y", tensor.Float32, 2, 1)
	idx := g.Input("idx", tensor.Int64, 2, 3)
	w := g.Param("conv/w", HeNormal(), []int{4, 3, 3, 3})
	h := g.Conv2D(x, w, ConvOptions{Stride: [2]int{1, 1}, Padding: [2]int{1, 1}})
	h = g.Conv2DLayer("conv2", h, 4, 3, ConvOptions{Padding: [2]int{2, 2}, Dilation: [2]int{2, 2}, Groups: 2})
	h = g.BatchNorm2D("bn", h, 0.1, 1e-5)
	h = g.LeakyRelu(h, 0.2)
	h = g.MaxPool2D(h, PoolOptions{Kernel: [2]int{2, 2}})
	tw := g.Param("up/w", GlorotUniform(), []int{4, 2, 3, 3}, LRMult(0.5))
	up := g.ConvTranspose2D(h, tw, ConvOptions{Stride: [2]int{2, 2}, Padding: [2]int{1, 1}, OutputPadding: [2]int{1, 1}})
	up = g.AvgPool2D(up, PoolOptions{Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Padding: [2]int{1, 1}})
	flat := g.Flatten(g.Dropout(g.Relu(up), 0.5))
	logits := g.Linear("fc", flat, 1)
	bank := g.Const(tensor.MustFloat32(tensor.Shape{4, 2}, []float32{1, 2, 3, 4, 5, 6, 7, 8}))
	picked := g.Gather(bank, idx, 0) // [2,3,2]
	am := g.ArgMax(picked, -1)
	cast := g.Cast(am, tensor.Float32)
	misc := g.Add(g.Sum(g.Exp(g.Neg(g.Abs(g.Tanh(g.Sigmoid(cast)))))), g.Mean(g.Log(g.Sqrt(g.AddScalar(g.Round(cast), 1)))))
	misc = g.Add(misc, g.Max(g.Clamp(g.Transpose(picked, 2, 0, 1), math.Inf(-1), 3)))
	misc = g.Add(misc, g.LogSumExp(g.Concat(0, picked, picked, picked), 0, 2))
	misc = g.Div(g.Sub(misc, g.StopGradient(misc)), g.Scalar(2))
	mode := g.ModeSwitch(misc, g.MulScalar(misc, 2))
	run := g.State("running", tensor.Zeros(tensor.Float32))
	g.SetStateUpdate(run, g.Add(run, g.Mean(logits)))
	loss := g.Add(g.SigmoidCrossEntropy(logits, y), g.Mean(g.Reshape(g.MatMul(g.Reshape(g.Sum(mode), 1, 1), g.Const(tensor.MustFloat32(tensor.Shape{1, 1}, []float32{1}))), -1)))
	g.SetLoss(loss)
	g.SetOutput("logits", logits)
	g.SetOutput("softmax", g.Softmax(g.Concat(1, logits, logits), 1))
	two := g.Concat(1, logits, g.MaxScalar(logits, 0))
	g.SetOutput("xent", g.SoftmaxCrossEntropy(two, g.Square(g.LogSoftmax(two, -1))))
	g.SetOutput("surrogate", g.GradientSurrogate(logits, g.Tanh(logits)))
	bools := g.Const(must(tensor.FromBool(tensor.Shape{3}, []bool{true, false, true})))
	g.SetOutput("consts", g.Concat(0, g.Cast(g.Const(must(tensor.FromInt32(tensor.Shape{2}, []int32{-1, 7}))), tensor.Float64),
		g.Const(must(tensor.FromFloat64(tensor.Shape{1}, []float64{math.NaN()})))))
	g.SetOutput("bools", bools)
	g.SetOutput("bytes", g.Const(must(tensor.FromUint8(tensor.Shape{2, 1}, []uint8{0, 255}))))
	g.SetOutput("ints", g.Const(must(tensor.FromInt64(tensor.Shape{}, []int64{math.MinInt64}))))
	if err := g.Err(); err != nil {
		t.Fatal(err)
	}
	used := map[Op]bool{}
	for _, n := range g.Nodes() {
		used[n.Op()] = true
	}
	for _, op := range AllOps() {
		if !used[op] {
			t.Fatalf("the test graph does not use %s", op)
		}
	}
	return g
}

// graphSummary is a comparable view of a graph.
type nodeSummary struct {
	ID     int
	Op     string
	Inputs []int
	Attrs  Attrs
	Shape  tensor.Shape
	DType  tensor.DType
}

func summarize(g *Graph) (nodes []nodeSummary, outputs map[string]int, loss int, updates [][2]int) {
	for _, n := range g.Nodes() {
		var in []int
		for _, x := range n.Inputs() {
			in = append(in, x.ID())
		}
		nodes = append(nodes, nodeSummary{n.ID(), n.Op().String(), in, n.attrs, n.Shape(), n.DType()})
	}
	outputs = map[string]int{}
	for _, o := range g.Outputs() {
		outputs[o.Name] = o.Node.ID()
	}
	loss = -1
	if g.Loss() != nil {
		loss = g.Loss().ID()
	}
	for _, u := range g.StateUpdates() {
		updates = append(updates, [2]int{u.State.ID(), u.Value.ID()})
	}
	return
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

var tensorEq = cmp.Comparer(func(a, b *tensor.Tensor) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(b)
})

func TestMarshalRoundTripIsExact(t *testing.T) {
	g := everyOpGraph(t)
	b1, err := Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	g2, err := Unmarshal(b1)
	if err != nil {
		t.Fatal(err)
	}
	b2, err := Marshal(g2)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b1, b2) {
		t.Error("Marshal(Unmarshal(Marshal(g))) differs from Marshal(g)")
	}
	n1, o1, l1, u1 := summarize(g)
	n2, o2, l2, u2 := summarize(g2)
	if diff := cmp.Diff(n1, n2, tensorEq); diff != "" {
		t.Errorf("nodes differ after the round trip (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(o1, o2); diff != "" {
		t.Errorf("outputs differ:\n%s", diff)
	}
	if l1 != l2 || !cmp.Equal(u1, u2) {
		t.Errorf("loss %d vs %d, updates %v vs %v", l1, l2, u1, u2)
	}
	if g2.Name() != g.Name() {
		t.Errorf("name %q, want %q", g2.Name(), g.Name())
	}
}

func TestMarshalRefusesAFailedGraph(t *testing.T) {
	g := New("bad")
	g.MatMul(g.Input("a", tensor.Float32, 2, 3), g.Input("b", tensor.Float32, 4, 5))
	if _, err := Marshal(g); err == nil || !strings.Contains(err.Error(), "matmul") {
		t.Errorf("err = %v", err)
	}
	if _, err := Marshal(nil); err == nil || !strings.Contains(err.Error(), "graph is nil") {
		t.Errorf("Marshal(nil): %v", err)
	}
}

// mutate marshals a small valid graph after letting edit break it.
func mutate(t *testing.T, edit func(*graphpb.Graph)) []byte {
	t.Helper()
	g := New("m")
	x := g.Input("x", tensor.Float32, 2, 3)
	w := g.Param("w", HeNormal(), []int{3, 4})
	g.SetOutput("y", g.MatMul(x, w))
	b, err := Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	var pb graphpb.Graph
	if err := proto.Unmarshal(b, &pb); err != nil {
		t.Fatal(err)
	}
	edit(&pb)
	out, err := proto.Marshal(&pb)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestUnmarshalRejectsMalformedGraphs(t *testing.T) {
	cases := []struct {
		name string
		edit func(*graphpb.Graph)
		want string
	}{
		{"forward reference", func(p *graphpb.Graph) { p.Nodes[2].Inputs[0] = 2 }, "node 2 (matmul): input 0 refers to node 2"},
		{"unknown op", func(p *graphpb.Graph) { p.Nodes[2].Op = 999 }, "unknown op 999"},
		{"declared shape wrong", func(p *graphpb.Graph) { p.Nodes[2].Shape = []int64{2, 5} }, "declared float32[2 5] but its operands give float32[2 4]"},
		{"operand shapes clash", func(p *graphpb.Graph) { p.Nodes[1].Shape = []int64{4, 4} }, "matmul([2 3], [4 4])"},
		{"duplicate leaf", func(p *graphpb.Graph) { p.Nodes[1].Attrs.Name = "x" }, `"x": the name is already used`},
		{"bad id", func(p *graphpb.Graph) { p.Nodes[1].Id = 7 }, "id 7 at position 1"},
		{"output out of range", func(p *graphpb.Graph) { p.Outputs[0].Node = 9 }, `output "y" refers to node 9`},
		{"bad version", func(p *graphpb.Graph) { p.FormatVersion = 2 }, "format version 2"},
		{"negative dim", func(p *graphpb.Graph) { p.Nodes[0].Shape = []int64{-2, 3} }, "negative"},
		{"huge shape", func(p *graphpb.Graph) { p.Nodes[0].Shape = []int64{1 << 20, 1 << 20} }, "more than"},
		{"bad tensor bytes", func(p *graphpb.Graph) {
			p.Nodes = append(p.Nodes, &graphpb.Node{Id: 3, Op: uint32(OpConst), Dtype: uint32(tensor.Float32), Shape: []int64{2},
				Attrs: &graphpb.Attrs{Value: &graphpb.Tensor{Dtype: uint32(tensor.Float32), Shape: []int64{2}, Data: []byte{1, 2, 3}}}})
		}, "needs 8 bytes of data, got 3"},
		{"bad dtype", func(p *graphpb.Graph) { p.Nodes[0].Dtype = 42 }, "dtype 42"},
		{"leaf with inputs", func(p *graphpb.Graph) { p.Nodes[1].Inputs = []int64{0} }, "node 1 (param): a param node takes no inputs"},
		{"wrong arity", func(p *graphpb.Graph) { p.Nodes[2].Inputs = []int64{0} }, "has 1 operands, matmul takes 2"},
		{"attribute the op ignores", func(p *graphpb.Graph) { p.Nodes[2].Attrs = &graphpb.Attrs{Alpha: 0.5} }, "node 2 (matmul): attributes {alpha:0.5} are not the builder's {}"},
		{"unknown init kind", func(p *graphpb.Graph) { p.Nodes[1].Attrs.Init.Kind = 99 }, "init kind 99 is not valid"},
		{"attribute out of range", func(p *graphpb.Graph) { p.Nodes[2].Attrs = &graphpb.Attrs{Axis: 1 << 40} }, "out of range"},
		{"duplicate output", func(p *graphpb.Graph) { p.Outputs = append(p.Outputs, p.Outputs[0]) }, `output "y" is declared twice`},
		{"loss not a scalar", func(p *graphpb.Graph) { p.LossPlusOne = 3 }, "the loss must be a float scalar, got %2 matmul"},
		{"loss out of range", func(p *graphpb.Graph) { p.LossPlusOne = -4 }, "the loss refers to node -5"},
		{"update of a non-state", func(p *graphpb.Graph) {
			p.StateUpdates = append(p.StateUpdates, &graphpb.StateUpdate{State: 0, Value: 0})
		}, "is not a state node"},
		{"bool tensor byte", func(p *graphpb.Graph) {
			p.Nodes = append(p.Nodes, &graphpb.Node{Id: 3, Op: uint32(OpConst), Dtype: uint32(tensor.Bool), Shape: []int64{1},
				Attrs: &graphpb.Attrs{Value: &graphpb.Tensor{Dtype: uint32(tensor.Bool), Shape: []int64{1}, Data: []byte{2}}}})
		}, "bool element 0 has byte value 2"},
		{"const without value", func(p *graphpb.Graph) {
			p.Nodes = append(p.Nodes, &graphpb.Node{Id: 3, Op: uint32(OpConst), Dtype: uint32(tensor.Float32)})
		}, "node 3 (const): const has no value"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Unmarshal(mutate(t, tc.edit))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v\nwant it to contain %q", err, tc.want)
			}
		})
	}
	if _, err := Unmarshal([]byte{0xff, 0xff, 0xff}); err == nil {
		t.Error("garbage bytes were accepted")
	}
}

// Edits of a real graph's message: the checks that need states and
// reductions, which the small graph of mutate lacks.
func TestUnmarshalRejectsEditsOfALargeGraph(t *testing.T) {
	b, err := Marshal(everyOpGraph(t))
	if err != nil {
		t.Fatal(err)
	}
	find := func(p *graphpb.Graph, op Op) *graphpb.Node {
		for _, n := range p.Nodes {
			if Op(n.Op) == op {
				return n
			}
		}
		t.Fatalf("no %s node", op)
		return nil
	}
	cases := []struct {
		name string
		edit func(*graphpb.Graph)
		want string
	}{
		{"two updates of one state", func(p *graphpb.Graph) { p.StateUpdates = append(p.StateUpdates, p.StateUpdates[0]) }, "has two updates"},
		{"unsorted axes", func(p *graphpb.Graph) {
			n := find(p, OpMean)
			n.Attrs.Axes = []int64{3, 2, 0}
		}, "are not the builder's"},
		{"pool stride left to default", func(p *graphpb.Graph) { find(p, OpMaxPool2D).Attrs.Stride = nil }, "(max_pool2d): attributes"},
		{"state value of the wrong shape", func(p *graphpb.Graph) {
			find(p, OpState).Attrs.Value = &graphpb.Tensor{Dtype: uint32(tensor.Float32), Shape: []int64{1}, Data: make([]byte, 4)}
		}, "(state): declared float32[4] but its operands give float32[1]"},
		{"conv channels", func(p *graphpb.Graph) { find(p, OpParam).Shape = []int64{4, 2, 3, 3} }, "weight expects 2 input channels, x has 3"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var p graphpb.Graph
			if err := proto.Unmarshal(b, &p); err != nil {
				t.Fatal(err)
			}
			tc.edit(&p)
			_, err := Unmarshal(must(proto.Marshal(&p)))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

// The loss and the "loss" output can differ (SetOutput after SetLoss), and
// output order is part of the graph: both survive the round trip.
func TestRoundTripKeepsOutputOrderAndLoss(t *testing.T) {
	g := New("order")
	x := g.Input("x", tensor.Float32, 3)
	g.SetOutput("first", g.Exp(x))
	l := g.Sum(x)
	g.SetLoss(l)
	g.SetOutput("last", x)
	g.SetOutput("loss", g.Mean(x))
	g2, err := Unmarshal(must(Marshal(g)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range g2.Outputs() {
		names = append(names, fmt.Sprintf("%s=%d", o.Name, o.Node.ID()))
	}
	if diff := cmp.Diff([]string{"first=1", "loss=3", "last=0"}, names); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
	if g2.Loss() == nil || g2.Loss().ID() != l.ID() {
		t.Errorf("loss is %v, want node %d", g2.Loss(), l.ID())
	}
}

func FuzzUnmarshalGraph(f *testing.F) {
	f.Add(must(Marshal(everyOpGraph(f))))
	small := New("small")
	h := small.Input("h", tensor.Float32, 2, 3)
	small.SetOutput("z", small.Reshape(small.Transpose(small.Gather(h, small.Input("i", tensor.Int64, 4), 1), 1, 0), -1))
	f.Add(must(Marshal(small)))

	g := New("seed")
	x := g.Input("x", tensor.Float32, 1, 2, 4, 4)
	w := g.Param("w", HeNormal(), []int{2, 2, 3, 3})
	y := g.Relu(g.Conv2D(x, w, ConvOptions{Padding: [2]int{1, 1}}))
	g.SetLoss(g.Mean(g.MaxPool2D(y, PoolOptions{Kernel: [2]int{2, 2}})))
	for _, sg := range []*Graph{g} {
		if b, err := Marshal(sg); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := Unmarshal(data)
		if err != nil {
			return
		}
		// Whatever is accepted must marshal again and come back the same.
		b, err := Marshal(g)
		if err != nil {
			t.Fatalf("accepted graph does not marshal: %v", err)
		}
		g2, err := Unmarshal(b)
		if err != nil {
			t.Fatalf("re-marshalled graph is rejected: %v", err)
		}
		b2, _ := Marshal(g2)
		if !bytes.Equal(b, b2) {
			t.Fatal("round trip is not stable")
		}
	})
}
