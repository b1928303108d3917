package graph

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// inferred is what shape inference decided for one node.
type inferred struct {
	Op    string
	Shape tensor.Shape
	DType tensor.DType
}

func inferredOf(n *Node) inferred { return inferred{n.Op().String(), n.Shape(), n.DType()} }

const (
	f32 = tensor.Float32
	f64 = tensor.Float64
	i32 = tensor.Int32
	i64 = tensor.Int64
)

// x4 is a float32 [N,C,H,W] input for the convolution cases.
func x4(g *Graph, shape ...int) *Node { return g.Input("x", f32, shape...) }

func pair(a, b int) [2]int { return [2]int{a, b} }

// shapeCases has at least one case per exported builder method; the case
// name starts with the method's name (TestShapeInferenceCoversEveryBuilder
// checks this).
var shapeCases = []struct {
	name  string
	build func(g *Graph) *Node
	want  inferred
}{
	{"Input", func(g *Graph) *Node { return g.Input("x", i64, 2, 0, 3) }, inferred{"input", tensor.Shape{2, 0, 3}, i64}},
	{"Input scalar", func(g *Graph) *Node { return g.Input("x", tensor.Bool) }, inferred{"input", tensor.Shape{}, tensor.Bool}},
	{"Param", func(g *Graph) *Node { return g.Param("w", HeNormal(), []int{3, 4}) }, inferred{"param", tensor.Shape{3, 4}, f32}},
	{"State", func(g *Graph) *Node { return g.State("s", tensor.Zeros(f64, 5)) }, inferred{"state", tensor.Shape{5}, f64}},
	{"Const", func(g *Graph) *Node { return g.Const(tensor.Zeros(tensor.Uint8, 2, 2)) }, inferred{"const", tensor.Shape{2, 2}, tensor.Uint8}},
	{"Scalar", func(g *Graph) *Node { return g.Scalar(2.5) }, inferred{"const", tensor.Shape{}, f32}},
	{"Neg", func(g *Graph) *Node { return g.Neg(g.Input("x", f64, 2, 3)) }, inferred{"neg", tensor.Shape{2, 3}, f64}},
	{"Abs", func(g *Graph) *Node { return g.Abs(g.Input("x", f32, 7)) }, inferred{"abs", tensor.Shape{7}, f32}},
	{"Exp", func(g *Graph) *Node { return g.Exp(g.Input("x", f32)) }, inferred{"exp", tensor.Shape{}, f32}},
	{"Log", func(g *Graph) *Node { return g.Log(g.Input("x", f32, 1, 1)) }, inferred{"log", tensor.Shape{1, 1}, f32}},
	{"Sqrt", func(g *Graph) *Node { return g.Sqrt(g.Input("x", f32, 0)) }, inferred{"sqrt", tensor.Shape{0}, f32}},
	{"Relu", func(g *Graph) *Node { return g.Relu(g.Input("x", f32, 2, 3, 4)) }, inferred{"relu", tensor.Shape{2, 3, 4}, f32}},
	{"Sigmoid", func(g *Graph) *Node { return g.Sigmoid(g.Input("x", f32, 3)) }, inferred{"sigmoid", tensor.Shape{3}, f32}},
	{"Tanh", func(g *Graph) *Node { return g.Tanh(g.Input("x", f32, 3)) }, inferred{"tanh", tensor.Shape{3}, f32}},
	{"StopGradient of ints", func(g *Graph) *Node { return g.StopGradient(g.Input("x", i64, 3)) }, inferred{"stop_gradient", tensor.Shape{3}, i64}},
	{"Round", func(g *Graph) *Node { return g.Round(g.Input("x", f32, 3)) }, inferred{"round", tensor.Shape{3}, f32}},
	{"LeakyRelu", func(g *Graph) *Node { return g.LeakyRelu(g.Input("x", f32, 3), 0.1) }, inferred{"leaky_relu", tensor.Shape{3}, f32}},
	{"Clamp", func(g *Graph) *Node { return g.Clamp(g.Input("x", f32, 3), -1, 1) }, inferred{"clamp", tensor.Shape{3}, f32}},
	{"MaxScalar", func(g *Graph) *Node { return g.MaxScalar(g.Input("x", f32, 3), 0) }, inferred{"clamp", tensor.Shape{3}, f32}},
	{"Cast int to float", func(g *Graph) *Node { return g.Cast(g.Input("x", i64, 2), f32) }, inferred{"cast", tensor.Shape{2}, f32}},
	{"Cast bool to int32", func(g *Graph) *Node { return g.Cast(g.Input("x", tensor.Bool, 2), i32) }, inferred{"cast", tensor.Shape{2}, i32}},
	{"Add broadcasts both ways", func(g *Graph) *Node { return g.Add(g.Input("a", f32, 2, 1, 3), g.Input("b", f32, 4, 1)) }, inferred{"add", tensor.Shape{2, 4, 3}, f32}},
	{"Add zero-size", func(g *Graph) *Node { return g.Add(g.Input("a", f32, 0, 3), g.Input("b", f32, 1, 3)) }, inferred{"add", tensor.Shape{0, 3}, f32}},
	{"Sub scalar", func(g *Graph) *Node { return g.Sub(g.Input("a", f64, 2, 3), g.Input("b", f64)) }, inferred{"sub", tensor.Shape{2, 3}, f64}},
	{"Mul", func(g *Graph) *Node { return g.Mul(g.Input("a", f32, 3), g.Input("b", f32, 2, 1)) }, inferred{"mul", tensor.Shape{2, 3}, f32}},
	{"Div", func(g *Graph) *Node { return g.Div(g.Input("a", f32, 5, 1, 1), g.Input("b", f32, 5, 2, 3)) }, inferred{"div", tensor.Shape{5, 2, 3}, f32}},
	{"Sum of everything", func(g *Graph) *Node { return g.Sum(g.Input("x", f32, 2, 3)) }, inferred{"sum", tensor.Shape{}, f32}},
	{"Sum negative axis", func(g *Graph) *Node { return g.Sum(g.Input("x", f32, 2, 3, 4), -1, 0) }, inferred{"sum", tensor.Shape{3}, f32}},
	{"Mean", func(g *Graph) *Node { return g.Mean(g.Input("x", f32, 2, 3, 4), 1) }, inferred{"mean", tensor.Shape{2, 4}, f32}},
	{"Max", func(g *Graph) *Node { return g.Max(g.Input("x", f32, 2, 3), 0) }, inferred{"max", tensor.Shape{3}, f32}},
	{"LogSumExp", func(g *Graph) *Node { return g.LogSumExp(g.Input("x", f32, 2, 3), 1) }, inferred{"logsumexp", tensor.Shape{2}, f32}},
	{"SumKeep", func(g *Graph) *Node { return g.SumKeep(g.Input("x", f32, 2, 3, 4)) }, inferred{"sum", tensor.Shape{1, 1, 1}, f32}},
	{"MeanKeep", func(g *Graph) *Node { return g.MeanKeep(g.Input("x", f32, 2, 3, 4), 0, 2) }, inferred{"mean", tensor.Shape{1, 3, 1}, f32}},
	{"MaxKeep", func(g *Graph) *Node { return g.MaxKeep(g.Input("x", f32, 2, 3), -2) }, inferred{"max", tensor.Shape{1, 3}, f32}},
	{"LogSumExpKeep", func(g *Graph) *Node { return g.LogSumExpKeep(g.Input("x", f32, 2, 3), 1) }, inferred{"logsumexp", tensor.Shape{2, 1}, f32}},
	{"ArgMax", func(g *Graph) *Node { return g.ArgMax(g.Input("x", f32, 2, 3, 4), -2) }, inferred{"argmax", tensor.Shape{2, 4}, i64}},
	{"MatMul", func(g *Graph) *Node { return g.MatMul(g.Input("a", f32, 2, 3), g.Input("b", f32, 3, 5)) }, inferred{"matmul", tensor.Shape{2, 5}, f32}},
	{"Conv2D same padding", func(g *Graph) *Node {
		return g.Conv2D(x4(g, 2, 3, 8, 8), g.Input("w", f32, 4, 3, 3, 3), ConvOptions{Padding: pair(1, 1)})
	}, inferred{"conv2d", tensor.Shape{2, 4, 8, 8}, f32}},
	{"Conv2D stride, dilation, groups", func(g *Graph) *Node {
		return g.Conv2D(x4(g, 1, 4, 11, 9), g.Input("w", f32, 6, 2, 3, 2),
			ConvOptions{Stride: pair(2, 3), Padding: pair(1, 0), Dilation: pair(2, 1), Groups: 2})
	}, inferred{"conv2d", tensor.Shape{1, 6, 5, 3}, f32}},
	{"Conv2D kernel overhangs by less than a stride", func(g *Graph) *Node {
		return g.Conv2D(x4(g, 1, 1, 6, 6), g.Input("w", f32, 1, 1, 5, 5), ConvOptions{Stride: pair(2, 2)})
	}, inferred{"conv2d", tensor.Shape{1, 1, 1, 1}, f32}},
	{"ConvTranspose2D", func(g *Graph) *Node {
		return g.ConvTranspose2D(x4(g, 2, 4, 5, 5), g.Input("w", f32, 4, 3, 3, 3),
			ConvOptions{Stride: pair(2, 2), Padding: pair(1, 1), OutputPadding: pair(1, 0)})
	}, inferred{"conv_transpose2d", tensor.Shape{2, 3, 10, 9}, f32}},
	{"ConvTranspose2D dilated", func(g *Graph) *Node {
		return g.ConvTranspose2D(x4(g, 1, 2, 4, 4), g.Input("w", f32, 2, 1, 3, 3), ConvOptions{Dilation: pair(2, 2)})
	}, inferred{"conv_transpose2d", tensor.Shape{1, 1, 8, 8}, f32}},
	{"MaxPool2D stride defaults to kernel", func(g *Graph) *Node {
		return g.MaxPool2D(x4(g, 2, 3, 9, 8), PoolOptions{Kernel: pair(2, 2)})
	}, inferred{"max_pool2d", tensor.Shape{2, 3, 4, 4}, f32}},
	{"AvgPool2D padded", func(g *Graph) *Node {
		return g.AvgPool2D(x4(g, 2, 3, 7, 7), PoolOptions{Kernel: pair(3, 3), Stride: pair(2, 2), Padding: pair(1, 1)})
	}, inferred{"avg_pool2d", tensor.Shape{2, 3, 4, 4}, f32}},
	{"Reshape infers -1", func(g *Graph) *Node { return g.Reshape(g.Input("x", f32, 2, 3, 4), 4, -1) }, inferred{"reshape", tensor.Shape{4, 6}, f32}},
	{"Reshape to scalar", func(g *Graph) *Node { return g.Reshape(g.Input("x", f32, 1, 1)) }, inferred{"reshape", tensor.Shape{}, f32}},
	{"Flatten", func(g *Graph) *Node { return g.Flatten(g.Input("x", f32, 2, 3, 4, 5)) }, inferred{"reshape", tensor.Shape{2, 60}, f32}},
	{"Transpose", func(g *Graph) *Node { return g.Transpose(g.Input("x", i64, 2, 3, 4), 2, 0, 1) }, inferred{"transpose", tensor.Shape{4, 2, 3}, i64}},
	{"Concat", func(g *Graph) *Node {
		return g.Concat(-1, g.Input("a", f32, 2, 1), g.Input("b", f32, 2, 3), g.Input("c", f32, 2, 0))
	}, inferred{"concat", tensor.Shape{2, 4}, f32}},
	{"Gather", func(g *Graph) *Node {
		return g.Gather(g.Input("x", f32, 5, 6, 7), g.Input("i", i64, 2, 3), 1)
	}, inferred{"gather", tensor.Shape{5, 2, 3, 7}, f32}},
	{"Gather scalar index", func(g *Graph) *Node {
		return g.Gather(g.Input("x", f32, 5, 6), g.Input("i", i64), 0)
	}, inferred{"gather", tensor.Shape{6}, f32}},
	{"Dropout", func(g *Graph) *Node { return g.Dropout(g.Input("x", f32, 2, 3), 0.5) }, inferred{"dropout", tensor.Shape{2, 3}, f32}},
	{"ModeSwitch", func(g *Graph) *Node {
		return g.ModeSwitch(g.Input("a", f32, 2), g.Input("b", f32, 2))
	}, inferred{"mode_switch", tensor.Shape{2}, f32}},
	{"Square", func(g *Graph) *Node { return g.Square(g.Input("x", f32, 3)) }, inferred{"mul", tensor.Shape{3}, f32}},
	{"AddScalar", func(g *Graph) *Node { return g.AddScalar(g.Input("x", f32, 3), 1) }, inferred{"add", tensor.Shape{3}, f32}},
	{"MulScalar", func(g *Graph) *Node { return g.MulScalar(g.Input("x", f32, 3), 2) }, inferred{"mul", tensor.Shape{3}, f32}},
	{"LogSoftmax", func(g *Graph) *Node { return g.LogSoftmax(g.Input("x", f32, 2, 5), 1) }, inferred{"sub", tensor.Shape{2, 5}, f32}},
	{"Softmax", func(g *Graph) *Node { return g.Softmax(g.Input("x", f32, 2, 5), -1) }, inferred{"exp", tensor.Shape{2, 5}, f32}},
	{"Softplus", func(g *Graph) *Node { return g.Softplus(g.Input("x", f32, 4)) }, inferred{"add", tensor.Shape{4}, f32}},
	{"SigmoidCrossEntropy", func(g *Graph) *Node {
		return g.SigmoidCrossEntropy(g.Input("z", f32, 2, 3), g.Input("y", f32, 2, 3))
	}, inferred{"mean", tensor.Shape{}, f32}},
	{"SoftmaxCrossEntropy", func(g *Graph) *Node {
		return g.SoftmaxCrossEntropy(g.Input("z", f32, 2, 3), g.Input("y", f32, 2, 3))
	}, inferred{"mean", tensor.Shape{}, f32}},
	{"Linear", func(g *Graph) *Node { return g.Linear("fc", g.Input("x", f32, 8, 5), 3) }, inferred{"add", tensor.Shape{8, 3}, f32}},
	{"Conv2DLayer", func(g *Graph) *Node {
		return g.Conv2DLayer("c", x4(g, 2, 4, 6, 6), 8, 3, ConvOptions{Padding: pair(1, 1), Groups: 2})
	}, inferred{"add", tensor.Shape{2, 8, 6, 6}, f32}},
	{"BatchNorm2D", func(g *Graph) *Node { return g.BatchNorm2D("bn", x4(g, 2, 3, 4, 4), 0.1, 1e-5) }, inferred{"add", tensor.Shape{2, 3, 4, 4}, f32}},
	{"GradientSurrogate", func(g *Graph) *Node {
		return g.GradientSurrogate(g.Input("x", f32, 2, 3), g.Input("dx", f32, 2, 3))
	}, inferred{"sum", tensor.Shape{}, f32}},
}

func TestShapeInference(t *testing.T) {
	for _, tc := range shapeCases {
		t.Run(tc.name, func(t *testing.T) {
			g := New("shapes")
			n := tc.build(g)
			if err := g.Err(); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, inferredOf(n)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if n.ID() < 0 || g.Nodes()[n.ID()] != n {
				t.Errorf("node %v is not in the graph", n)
			}
		})
	}
}

// Adding a builder method without a shape-inference case fails here.
func TestShapeInferenceCoversEveryBuilder(t *testing.T) {
	accessors := map[string]bool{"Leaf": true, "Loss": true, "Output": true}
	nodeType := reflect.TypeOf(&Node{})
	graphType := reflect.TypeOf(&Graph{})
	for i := range graphType.NumMethod() {
		m := graphType.Method(i)
		if m.Type.NumOut() != 1 || m.Type.Out(0) != nodeType || accessors[m.Name] {
			continue
		}
		covered := false
		for _, tc := range shapeCases {
			if tc.name == m.Name || strings.HasPrefix(tc.name, m.Name+" ") {
				covered = true
			}
		}
		if !covered {
			t.Errorf("builder method %s has no shape-inference case", m.Name)
		}
	}
}

// The composites wire their parameters and states as documented.
func TestCompositeLeaves(t *testing.T) {
	g := New("leaves")
	x := x4(g, 2, 3, 4, 4)
	g.BatchNorm2D("bn", x, 0.1, 1e-5)
	g.Linear("fc", g.Flatten(x), 10)
	g.Conv2DLayer("conv", x, 5, 3, ConvOptions{})
	if err := g.Err(); err != nil {
		t.Fatal(err)
	}
	type leaf struct {
		Op    string
		Shape tensor.Shape
		Init  Init
		Decay float64
	}
	got := map[string]leaf{}
	for _, n := range append(g.Params(), g.States()...) {
		got[n.Attrs().Name] = leaf{n.Op().String(), n.Shape(), n.Attrs().Init, n.Attrs().DecayMult}
	}
	want := map[string]leaf{
		"bn/gamma":        {"param", tensor.Shape{3}, Constant(1), 0},
		"bn/beta":         {"param", tensor.Shape{3}, Zeros(), 0},
		"bn/running_mean": {"state", tensor.Shape{3}, Init{}, 0},
		"bn/running_var":  {"state", tensor.Shape{3}, Init{}, 0},
		"fc/w":            {"param", tensor.Shape{48, 10}, HeNormal(), 1},
		"fc/b":            {"param", tensor.Shape{10}, Zeros(), 0},
		"conv/w":          {"param", tensor.Shape{5, 3, 3, 3}, HeNormal(), 1},
		"conv/b":          {"param", tensor.Shape{5}, Zeros(), 0},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("leaves (-want +got):\n%s", diff)
	}
	if n := len(g.StateUpdates()); n != 2 {
		t.Errorf("batch norm made %d state updates, want 2", n)
	}
	if v := g.Leaf("bn/running_var").Attrs().Value; !v.Equal(tensor.MustFloat32(tensor.Shape{3}, []float32{1, 1, 1})) {
		t.Errorf("running variance starts at %v, want ones", v)
	}
}

func TestShapeErrors(t *testing.T) {
	other := New("other")
	foreign := other.Input("f", f32, 2)
	cases := []struct {
		name  string
		build func(g *Graph)
		want  []string // substrings of the error
	}{
		{"matmul inner dims", func(g *Graph) { g.MatMul(g.Input("a", f32, 2, 3), g.Input("b", f32, 4, 5)) },
			[]string{`graph "errors": matmul([2 3], [4 5]): want [m,k]·[k,n]`}},
		{"matmul rank", func(g *Graph) { g.MatMul(g.Input("a", f32, 2, 3, 4), g.Input("b", f32, 4, 5)) }, []string{"matmul([2 3 4], [4 5])"}},
		{"matmul dtypes", func(g *Graph) { g.MatMul(g.Input("a", f32, 2, 3), g.Input("b", f64, 3, 5)) }, []string{"float32 and float64"}},
		{"conv channels", func(g *Graph) { g.Conv2D(x4(g, 1, 3, 8, 8), g.Input("w", f32, 4, 2, 3, 3), ConvOptions{}) },
			[]string{"conv2d([1 3 8 8], [4 2 3 3])", "weight expects 2 input channels, x has 3"}},
		{"conv groups", func(g *Graph) {
			g.Conv2D(x4(g, 1, 3, 8, 8), g.Input("w", f32, 4, 1, 3, 3), ConvOptions{Groups: 2})
		}, []string{"groups 2 must divide input channels 3 and output channels 4"}},
		{"conv rank", func(g *Graph) { g.Conv2D(g.Input("x", f32, 3, 8, 8), g.Input("w", f32, 4, 3, 3, 3), ConvOptions{}) }, []string{"want x [N,C,H,W]"}},
		{"conv kernel too large", func(g *Graph) { g.Conv2D(x4(g, 1, 1, 2, 8), g.Input("w", f32, 1, 1, 3, 3), ConvOptions{}) }, []string{"output would be 0x6"}},
		{"conv kernel too large for the stride", func(g *Graph) {
			g.Conv2D(x4(g, 1, 1, 4, 4), g.Input("w", f32, 1, 1, 5, 5), ConvOptions{Stride: pair(2, 2)})
		}, []string{"output would be 0x0"}},
		{"conv negative padding", func(g *Graph) {
			g.Conv2D(x4(g, 1, 1, 4, 4), g.Input("w", f32, 1, 1, 1, 1), ConvOptions{Padding: pair(-1, 0)})
		}, []string{"bad stride [1 1], padding [-1 0]"}},
		{"conv transpose channels", func(g *Graph) {
			g.ConvTranspose2D(x4(g, 1, 3, 4, 4), g.Input("w", f32, 4, 3, 3, 3), ConvOptions{})
		}, []string{"conv_transpose2d([1 3 4 4], [4 3 3 3]): want x [N,C,H,W] and w [C,O,KH,KW]"}},
		{"conv transpose output padding", func(g *Graph) {
			g.ConvTranspose2D(x4(g, 1, 3, 4, 4), g.Input("w", f32, 3, 3, 3, 3), ConvOptions{Stride: pair(2, 2), OutputPadding: pair(2, 0)})
		}, []string{"output padding [2 0]"}},
		{"conv transpose groups", func(g *Graph) {
			g.ConvTranspose2D(x4(g, 1, 4, 4, 4), g.Input("w", f32, 4, 3, 3, 3), ConvOptions{Groups: 2})
		}, []string{"only one group is supported, got 2"}},
		{"pool kernel too large for the stride", func(g *Graph) {
			g.MaxPool2D(x4(g, 1, 1, 2, 2), PoolOptions{Kernel: pair(3, 3), Stride: pair(2, 2)})
		}, []string{"max_pool2d([1 1 2 2]): output would be 0x0"}},
		{"pool padding", func(g *Graph) { g.AvgPool2D(x4(g, 1, 1, 8, 8), PoolOptions{Kernel: pair(2, 2), Padding: pair(2, 0)}) },
			[]string{"padding at most half the kernel"}},
		{"pool no kernel", func(g *Graph) { g.MaxPool2D(x4(g, 1, 1, 8, 8), PoolOptions{}) }, []string{"bad kernel [0 0]"}},
		{"reshape element count", func(g *Graph) { g.Reshape(g.Input("x", f32, 2, 3), 4, 2) },
			[]string{"reshape([2 3]): target [4 2] has 8 elements, x has 6"}},
		{"reshape cannot infer", func(g *Graph) { g.Reshape(g.Input("x", f32, 2, 3), 4, -1) }, []string{"cannot infer -1 in [4 -1] from 6 elements"}},
		{"reshape two unknowns", func(g *Graph) { g.Reshape(g.Input("x", f32, 2, 3), -1, -1) }, []string{"bad target shape [-1 -1]"}},
		{"flatten scalar", func(g *Graph) { g.Flatten(g.Input("x", f32)) }, []string{"cannot flatten a scalar"}},
		{"gather int32 indices", func(g *Graph) { g.Gather(g.Input("x", f32, 5, 3), g.Input("i", i32, 2), 0) },
			[]string{"gather([5 3], [2]): indices must be int64, got int32"}},
		{"gather axis", func(g *Graph) { g.Gather(g.Input("x", f32, 5, 3), g.Input("i", i64, 2), 2) }, []string{"axis 2 out of range for rank 2"}},
		{"transpose length", func(g *Graph) { g.Transpose(g.Input("x", f32, 2, 3), 0) }, []string{"permutation [0] has the wrong length"}},
		{"transpose repeat", func(g *Graph) { g.Transpose(g.Input("x", f32, 2, 3), 1, 1) }, []string{"[1 1] is not a permutation"}},
		{"concat dims", func(g *Graph) { g.Concat(0, g.Input("a", f32, 2, 3), g.Input("b", f32, 2, 4)) }, []string{"concat([2 3], [2 4]): dimension 1 differs"}},
		{"concat dtypes", func(g *Graph) { g.Concat(0, g.Input("a", f32, 2), g.Input("b", f64, 2)) }, []string{"ranks or dtypes differ"}},
		{"concat nothing", func(g *Graph) { g.Concat(0) }, []string{"concat of nothing"}},
		{"broadcast", func(g *Graph) { g.Add(g.Input("a", f32, 2, 3), g.Input("b", f32, 4)) }, []string{"add([2 3], [4]): shapes do not broadcast"}},
		{"binary dtypes", func(g *Graph) { g.Mul(g.Input("a", f32, 2), g.Input("b", f64, 2)) }, []string{"dtypes differ: float32 and float64"}},
		{"binary ints", func(g *Graph) { g.Sub(g.Input("a", i64, 2), g.Input("b", i64, 2)) }, []string{"needs float operands, got int64"}},
		{"unary ints", func(g *Graph) { g.Exp(g.Input("x", i64, 2)) }, []string{"exp([2]): needs a float operand, got int64"}},
		{"reduce axis", func(g *Graph) { g.Sum(g.Input("x", f32, 2, 3), 2) }, []string{"sum([2 3]): axis 2 out of range for rank 2"}},
		{"reduce negative axis names the given axis", func(g *Graph) { g.Mean(g.Input("x", f32, 2, 3), -3) }, []string{"axis -3 out of range for rank 2"}},
		{"reduce repeated axis", func(g *Graph) { g.Max(g.Input("x", f32, 2, 3), 1, -1) }, []string{"axis 1 repeated"}},
		{"argmax axis", func(g *Graph) { g.ArgMax(g.Input("x", f32, 2), 1) }, []string{"argmax([2]): axis 1 out of range"}},
		{"cast to bool", func(g *Graph) { g.Cast(g.Input("x", f32, 2), tensor.Bool) }, []string{"cannot cast to bool"}},
		{"clamp bounds", func(g *Graph) { g.Clamp(g.Input("x", f32, 2), 1, -1) }, []string{"clamp: lo 1 > hi -1"}},
		{"clamp NaN", func(g *Graph) { g.Clamp(g.Input("x", f32, 2), math.NaN(), 1) }, []string{"lo NaN > hi 1"}},
		{"dropout rate", func(g *Graph) { g.Dropout(g.Input("x", f32, 2), 1) }, []string{"rate 1 must be in [0, 1)"}},
		{"mode switch", func(g *Graph) { g.ModeSwitch(g.Input("a", f32, 2), g.Input("b", f32, 3)) }, []string{"branches must have one shape and dtype"}},
		{"duplicate leaf name", func(g *Graph) { g.Input("x", f32, 2); g.Param("x", Zeros(), []int{2}) },
			[]string{`param "x": the name is already used by %0 input "x"`}},
		{"empty leaf name", func(g *Graph) { g.Input("", f32, 2) }, []string{"input needs a name"}},
		{"negative leaf shape", func(g *Graph) { g.Input("x", f32, 2, -1) }, []string{"dimension 1 is negative"}},
		{"invalid leaf dtype", func(g *Graph) { g.Input("x", tensor.Invalid, 2) }, []string{`input "x": dtype invalid is not valid`}},
		{"state without value", func(g *Graph) { g.State("s", nil) }, []string{`state "s" needs an initial value`}},
		{"nil const", func(g *Graph) { g.Const(nil) }, []string{"const value is nil"}},
		{"nil operand", func(g *Graph) { g.Add(g.Input("a", f32, 2), nil) }, []string{"add: operand 1 is nil"}},
		{"operand of another graph", func(g *Graph) { g.Relu(foreign) }, []string{`relu: operand 0 (%0 input "f" float32[2]) belongs to graph "other"`}},
		{"loss not scalar", func(g *Graph) { g.SetLoss(g.Input("x", f32, 2)) }, []string{"loss must be a float scalar"}},
		{"loss not float", func(g *Graph) { g.SetLoss(g.Input("x", i64)) }, []string{"loss must be a float scalar"}},
		{"update of a non-state", func(g *Graph) { x := g.Input("x", f32, 2); g.SetStateUpdate(x, x) }, []string{"is not a state node"}},
		{"update of the wrong shape", func(g *Graph) {
			s := g.State("s", tensor.Zeros(f32, 2))
			g.SetStateUpdate(s, g.Input("v", f32, 3))
		}, []string{"state([2], [3])", `update of state "s" must have its shape`}},
		{"empty output name", func(g *Graph) { g.SetOutput("", g.Input("x", f32)) }, []string{"output name is empty"}},
		{"linear rank", func(g *Graph) { g.Linear("fc", g.Input("x", f32, 2, 3, 4), 5) }, []string{`linear "fc" wants x [N,in]`}},
		{"batch norm rank", func(g *Graph) { g.BatchNorm2D("bn", g.Input("x", f32, 2, 3), 0.1, 1e-5) }, []string{`batch-norm "bn" wants x [N,C,H,W]`}},
		{"conv layer rank", func(g *Graph) { g.Conv2DLayer("c", g.Input("x", f32, 2, 3), 4, 3, ConvOptions{}) }, []string{`conv layer "c" wants x [N,C,H,W]`}},
		{"gradient surrogate", func(g *Graph) { g.GradientSurrogate(g.Input("x", f32, 2), g.Input("dx", f32, 3)) }, []string{"gradient surrogate needs the gradient in x's shape"}},
		{"softmax cross entropy", func(g *Graph) { g.SoftmaxCrossEntropy(g.Input("z", f32, 2, 3), g.Input("y", f32, 2, 4)) }, []string{"mul([2 4], [2 3]): shapes do not broadcast"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := New("errors")
			tc.build(g)
			err := g.Err()
			if err == nil {
				t.Fatalf("no error; graph has %v", g.Nodes())
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q\ndoes not contain %q", err, want)
				}
			}
		})
	}
}

func TestShapeErrorIsTyped(t *testing.T) {
	g := New("typed")
	g.MatMul(g.Input("a", f32, 2, 3), g.Input("b", f32, 4, 5))
	var se *ShapeError
	if !errors.As(g.Err(), &se) {
		t.Fatalf("error %v is not a *ShapeError", g.Err())
	}
	want := &ShapeError{Graph: "typed", Op: OpMatMul, Shapes: []tensor.Shape{{2, 3}, {4, 5}}, Reason: "want [m,k]·[k,n]"}
	if diff := cmp.Diff(want, se); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// After the first error every builder call returns a poisoned node, adds
// nothing to the graph, and Err keeps reporting the first error.
func TestErrorsAreSticky(t *testing.T) {
	g := New("sticky")
	a := g.Input("a", f32, 2, 3)
	b := g.Input("b", f32, 4, 5)
	bad := g.MatMul(a, b)
	first := g.Err()
	if first == nil || !strings.Contains(first.Error(), "matmul([2 3], [4 5])") {
		t.Fatalf("first error = %v", first)
	}
	nodesBefore := len(g.Nodes())
	later := []*Node{
		bad,
		g.Relu(bad),          // uses the poisoned node
		g.Relu(a),            // would be fine on its own
		g.Reshape(a, 7),      // would fail differently
		g.Input("c", f32, 1), // new leaves too
		g.Param("p", Zeros(), []int{1}),
		g.Const(tensor.Scalar32(1)),
		g.BatchNorm2D("bn", a, 0.1, 1e-5),
		g.Linear("fc", a, 2),
	}
	for i, n := range later {
		if n == nil || n.ID() != -1 || n.Op() != OpInvalid {
			t.Errorf("call %d returned %v, want a poisoned node", i, n)
		}
	}
	g.SetOutput("y", a)
	g.SetLoss(g.Sum(a))
	if len(g.Nodes()) != nodesBefore || len(g.Outputs()) != 0 || g.Loss() != nil {
		t.Errorf("the failed graph still grew: %d nodes (had %d), outputs %v, loss %v", len(g.Nodes()), nodesBefore, g.Outputs(), g.Loss())
	}
	if g.Err() != first {
		t.Errorf("Err() = %v, want the first error %v", g.Err(), first)
	}
	if err := g.Validate(); err != first {
		t.Errorf("Validate() = %v, want the first error", err)
	}
	if _, err := Marshal(g); err == nil || !strings.Contains(err.Error(), "matmul") {
		t.Errorf("Marshal of a failed graph: %v", err)
	}
}

func TestBroadcastShapes(t *testing.T) {
	cases := []struct {
		a, b tensor.Shape
		want tensor.Shape
		ok   bool
	}{
		{tensor.Shape{}, tensor.Shape{}, tensor.Shape{}, true},
		{tensor.Shape{3}, tensor.Shape{}, tensor.Shape{3}, true},
		{tensor.Shape{2, 1}, tensor.Shape{1, 3}, tensor.Shape{2, 3}, true},
		{tensor.Shape{5, 1, 4}, tensor.Shape{3, 1}, tensor.Shape{5, 3, 4}, true},
		{tensor.Shape{0}, tensor.Shape{1}, tensor.Shape{0}, true},
		{tensor.Shape{2}, tensor.Shape{3}, nil, false},
		{tensor.Shape{0}, tensor.Shape{2}, nil, false},
	}
	for _, tc := range cases {
		got, ok := BroadcastShapes(tc.a, tc.b)
		if ok != tc.ok || !cmp.Equal(got, tc.want) {
			t.Errorf("BroadcastShapes(%v, %v) = %v, %v; want %v, %v", tc.a, tc.b, got, ok, tc.want, tc.ok)
		}
	}
}

func TestConvOutSize(t *testing.T) {
	cases := []struct{ in, kernel, stride, pad, dilation, want int }{
		{8, 3, 1, 1, 1, 8},
		{8, 3, 2, 1, 1, 4},
		{7, 3, 2, 0, 1, 3},
		{7, 3, 1, 0, 2, 3},
		{5, 5, 1, 0, 1, 1},
		{4, 5, 2, 0, 1, 0}, // overhangs by one: no output, not one
		{2, 3, 2, 0, 1, 0},
		{1, 5, 1, 2, 1, 1},
	}
	for _, tc := range cases {
		if got := ConvOutSize(tc.in, tc.kernel, tc.stride, tc.pad, tc.dilation); got != tc.want {
			t.Errorf("ConvOutSize(in %d, kernel %d, stride %d, pad %d, dilation %d) = %d, want %d",
				tc.in, tc.kernel, tc.stride, tc.pad, tc.dilation, got, tc.want)
		}
	}
}
