package conformance

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

func f32(shape tensor.Shape, v ...float32) *tensor.Tensor { return tensor.MustFloat32(shape, v) }

func i64(shape tensor.Shape, v ...int64) *tensor.Tensor {
	t, err := tensor.FromInt64(shape, v)
	if err != nil {
		panic(err)
	}
	return t
}

// TestReferenceHandComputed checks the oracle against results worked out by hand.
func TestReferenceHandComputed(t *testing.T) {
	inf := math.Inf(1)
	tests := []struct {
		name      string
		build     func(g *graph.Graph) *graph.Node
		feeds     map[string]*tensor.Tensor
		mode      backends.Mode
		wantShape tensor.Shape
		want      []float64
	}{
		{
			name: "conv 1x1x3x3 sobel, no padding",
			build: func(g *graph.Graph) *graph.Node {
				return g.Conv2D(g.Input("x", tensor.Float32, 1, 1, 3, 3), g.Input("w", tensor.Float32, 1, 1, 3, 3), graph.ConvOptions{})
			},
			feeds: map[string]*tensor.Tensor{
				"x": f32(tensor.Shape{1, 1, 3, 3}, 1, 2, 3, 4, 5, 6, 7, 8, 9),
				"w": f32(tensor.Shape{1, 1, 3, 3}, 1, 0, -1, 2, 0, -2, 1, 0, -1),
			},
			wantShape: tensor.Shape{1, 1, 1, 1},
			want:      []float64{-8},
		},
		{
			name: "conv 1x1x3x3 sobel, padding 1",
			build: func(g *graph.Graph) *graph.Node {
				return g.Conv2D(g.Input("x", tensor.Float32, 1, 1, 3, 3), g.Input("w", tensor.Float32, 1, 1, 3, 3), graph.ConvOptions{Padding: [2]int{1, 1}})
			},
			feeds: map[string]*tensor.Tensor{
				"x": f32(tensor.Shape{1, 1, 3, 3}, 1, 2, 3, 4, 5, 6, 7, 8, 9),
				"w": f32(tensor.Shape{1, 1, 3, 3}, 1, 0, -1, 2, 0, -2, 1, 0, -1),
			},
			wantShape: tensor.Shape{1, 1, 3, 3},
			want:      []float64{-9, -6, 9, -20, -8, 20, -21, -6, 21},
		},
		{
			name: "conv sobel, padding 1, stride 2",
			build: func(g *graph.Graph) *graph.Node {
				return g.Conv2D(g.Input("x", tensor.Float32, 1, 1, 3, 3), g.Input("w", tensor.Float32, 1, 1, 3, 3),
					graph.ConvOptions{Padding: [2]int{1, 1}, Stride: [2]int{2, 2}})
			},
			feeds: map[string]*tensor.Tensor{
				"x": f32(tensor.Shape{1, 1, 3, 3}, 1, 2, 3, 4, 5, 6, 7, 8, 9),
				"w": f32(tensor.Shape{1, 1, 3, 3}, 1, 0, -1, 2, 0, -2, 1, 0, -1),
			},
			wantShape: tensor.Shape{1, 1, 2, 2},
			want:      []float64{-9, 9, -21, 21},
		},
		{
			name: "conv dilation 2 reads the corners",
			build: func(g *graph.Graph) *graph.Node {
				return g.Conv2D(g.Input("x", tensor.Float32, 1, 1, 3, 3), g.Input("w", tensor.Float32, 1, 1, 2, 2),
					graph.ConvOptions{Dilation: [2]int{2, 2}})
			},
			feeds: map[string]*tensor.Tensor{
				"x": f32(tensor.Shape{1, 1, 3, 3}, 1, 2, 3, 4, 5, 6, 7, 8, 9),
				"w": f32(tensor.Shape{1, 1, 2, 2}, 1, 10, 100, 1000),
			},
			wantShape: tensor.Shape{1, 1, 1, 1},
			want:      []float64{1 + 30 + 700 + 9000},
		},
		{
			name: "conv groups keep channels apart",
			build: func(g *graph.Graph) *graph.Node {
				return g.Conv2D(g.Input("x", tensor.Float32, 1, 2, 1, 1), g.Input("w", tensor.Float32, 2, 1, 1, 1), graph.ConvOptions{Groups: 2})
			},
			feeds: map[string]*tensor.Tensor{
				"x": f32(tensor.Shape{1, 2, 1, 1}, 3, 5),
				"w": f32(tensor.Shape{2, 1, 1, 1}, 2, 10),
			},
			wantShape: tensor.Shape{1, 2, 1, 1},
			want:      []float64{6, 50},
		},
		{
			name: "conv transpose stride 2 spreads blocks",
			build: func(g *graph.Graph) *graph.Node {
				return g.ConvTranspose2D(g.Input("x", tensor.Float32, 1, 1, 2, 2), g.Input("w", tensor.Float32, 1, 1, 2, 2), graph.ConvOptions{Stride: [2]int{2, 2}})
			},
			feeds: map[string]*tensor.Tensor{
				"x": f32(tensor.Shape{1, 1, 2, 2}, 1, 2, 3, 4),
				"w": f32(tensor.Shape{1, 1, 2, 2}, 1, 1, 1, 1),
			},
			wantShape: tensor.Shape{1, 1, 4, 4},
			want:      []float64{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4},
		},
		{
			name: "conv transpose stride 1 overlaps",
			build: func(g *graph.Graph) *graph.Node {
				return g.ConvTranspose2D(g.Input("x", tensor.Float32, 1, 1, 2, 2), g.Input("w", tensor.Float32, 1, 1, 2, 2), graph.ConvOptions{})
			},
			feeds: map[string]*tensor.Tensor{
				"x": f32(tensor.Shape{1, 1, 2, 2}, 1, 2, 3, 4),
				"w": f32(tensor.Shape{1, 1, 2, 2}, 1, 1, 1, 1),
			},
			wantShape: tensor.Shape{1, 1, 3, 3},
			want:      []float64{1, 3, 2, 4, 10, 6, 3, 7, 4},
		},
		{
			name: "conv transpose output padding adds a zero row and column",
			build: func(g *graph.Graph) *graph.Node {
				return g.ConvTranspose2D(g.Input("x", tensor.Float32, 1, 1, 1, 1), g.Input("w", tensor.Float32, 1, 1, 1, 1),
					graph.ConvOptions{Stride: [2]int{2, 2}, OutputPadding: [2]int{1, 1}})
			},
			feeds: map[string]*tensor.Tensor{
				"x": f32(tensor.Shape{1, 1, 1, 1}, 3),
				"w": f32(tensor.Shape{1, 1, 1, 1}, 2),
			},
			wantShape: tensor.Shape{1, 1, 2, 2},
			want:      []float64{6, 0, 0, 0},
		},
		{
			name: "max pool treats padding as -inf",
			build: func(g *graph.Graph) *graph.Node {
				return g.MaxPool2D(g.Input("x", tensor.Float32, 1, 1, 3, 3), graph.PoolOptions{Kernel: [2]int{2, 2}, Padding: [2]int{1, 1}})
			},
			feeds:     map[string]*tensor.Tensor{"x": f32(tensor.Shape{1, 1, 3, 3}, -1, -2, -3, -4, -5, -6, -7, -8, -9)},
			wantShape: tensor.Shape{1, 1, 2, 2},
			want:      []float64{-1, -2, -4, -5},
		},
		{
			name: "avg pool counts padding",
			build: func(g *graph.Graph) *graph.Node {
				return g.AvgPool2D(g.Input("x", tensor.Float32, 1, 1, 3, 3), graph.PoolOptions{Kernel: [2]int{2, 2}, Padding: [2]int{1, 1}})
			},
			feeds:     map[string]*tensor.Tensor{"x": f32(tensor.Shape{1, 1, 3, 3}, 1, 2, 3, 4, 5, 6, 7, 8, 9)},
			wantShape: tensor.Shape{1, 1, 2, 2},
			want:      []float64{0.25, 1.25, 2.75, 7},
		},
		{
			name: "max pool 3x3 stride 1",
			build: func(g *graph.Graph) *graph.Node {
				return g.MaxPool2D(g.Input("x", tensor.Float32, 1, 1, 3, 4), graph.PoolOptions{Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}})
			},
			feeds:     map[string]*tensor.Tensor{"x": f32(tensor.Shape{1, 1, 3, 4}, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7)},
			wantShape: tensor.Shape{1, 1, 1, 2},
			want:      []float64{9, 7},
		},
		{
			name: "numpy.take on axis 1 with repeats",
			build: func(g *graph.Graph) *graph.Node {
				return g.Gather(g.Input("x", tensor.Float32, 2, 3), g.Input("i", tensor.Int64, 3), 1)
			},
			feeds: map[string]*tensor.Tensor{
				"x": f32(tensor.Shape{2, 3}, 1, 2, 3, 4, 5, 6),
				"i": i64(tensor.Shape{3}, 2, 0, 2),
			},
			wantShape: tensor.Shape{2, 3},
			want:      []float64{3, 1, 3, 6, 4, 6},
		},
		{
			name: "numpy.take on axis 0 with 2-d indices",
			build: func(g *graph.Graph) *graph.Node {
				return g.Gather(g.Input("x", tensor.Float32, 2, 3), g.Input("i", tensor.Int64, 2, 2), 0)
			},
			feeds: map[string]*tensor.Tensor{
				"x": f32(tensor.Shape{2, 3}, 1, 2, 3, 4, 5, 6),
				"i": i64(tensor.Shape{2, 2}, 1, 0, 1, 1),
			},
			wantShape: tensor.Shape{2, 2, 3},
			want:      []float64{4, 5, 6, 1, 2, 3, 4, 5, 6, 4, 5, 6},
		},
		{
			name: "numpy.take with a scalar index drops the axis",
			build: func(g *graph.Graph) *graph.Node {
				return g.Gather(g.Input("x", tensor.Float32, 2, 3), g.Input("i", tensor.Int64), -1)
			},
			feeds: map[string]*tensor.Tensor{
				"x": f32(tensor.Shape{2, 3}, 1, 2, 3, 4, 5, 6),
				"i": i64(tensor.Shape{}, 1),
			},
			wantShape: tensor.Shape{2},
			want:      []float64{2, 5},
		},
		{
			name: "broadcast add [2,1,3]+[4,1]",
			build: func(g *graph.Graph) *graph.Node {
				return g.Add(g.Input("a", tensor.Float32, 2, 1, 3), g.Input("b", tensor.Float32, 4, 1))
			},
			feeds: map[string]*tensor.Tensor{
				"a": f32(tensor.Shape{2, 1, 3}, 0, 1, 2, 10, 11, 12),
				"b": f32(tensor.Shape{4, 1}, 100, 200, 300, 400),
			},
			wantShape: tensor.Shape{2, 4, 3},
			want: []float64{
				100, 101, 102, 200, 201, 202, 300, 301, 302, 400, 401, 402,
				110, 111, 112, 210, 211, 212, 310, 311, 312, 410, 411, 412,
			},
		},
		{
			name: "broadcast div scalar by vector",
			build: func(g *graph.Graph) *graph.Node {
				return g.Div(g.Input("a", tensor.Float32), g.Input("b", tensor.Float32, 3))
			},
			feeds: map[string]*tensor.Tensor{
				"a": f32(tensor.Shape{}, 6),
				"b": f32(tensor.Shape{3}, 1, 2, -3),
			},
			wantShape: tensor.Shape{3},
			want:      []float64{6, 3, -2},
		},
		{
			name: "logsumexp is stable and exact",
			build: func(g *graph.Graph) *graph.Node {
				return g.LogSumExpKeep(g.Input("x", tensor.Float64, 2, 2), 1)
			},
			feeds:     map[string]*tensor.Tensor{"x": mustF64(tensor.Shape{2, 2}, 0, math.Log(3), 1000, 1000)},
			wantShape: tensor.Shape{2, 1},
			want:      []float64{math.Log(4), 1000 + math.Log(2)},
		},
		{
			name: "sum over axes 0 and 2",
			build: func(g *graph.Graph) *graph.Node {
				return g.Sum(g.Input("x", tensor.Float32, 2, 2, 2), 0, -1)
			},
			feeds:     map[string]*tensor.Tensor{"x": f32(tensor.Shape{2, 2, 2}, 0, 1, 2, 3, 4, 5, 6, 7)},
			wantShape: tensor.Shape{2},
			want:      []float64{10, 18},
		},
		{
			name: "mean over axes 0 and 2 keeping dims",
			build: func(g *graph.Graph) *graph.Node {
				return g.MeanKeep(g.Input("x", tensor.Float32, 2, 2, 2), 0, 2)
			},
			feeds:     map[string]*tensor.Tensor{"x": f32(tensor.Shape{2, 2, 2}, 0, 1, 2, 3, 4, 5, 6, 7)},
			wantShape: tensor.Shape{1, 2, 1},
			want:      []float64{2.5, 4.5},
		},
		{
			name: "max over everything",
			build: func(g *graph.Graph) *graph.Node {
				return g.Max(g.Input("x", tensor.Float32, 2, 2))
			},
			feeds:     map[string]*tensor.Tensor{"x": f32(tensor.Shape{2, 2}, -5, -2, -7, -3)},
			wantShape: tensor.Shape{},
			want:      []float64{-2},
		},
		{
			name: "round halves away from zero",
			build: func(g *graph.Graph) *graph.Node {
				return g.Round(g.Input("x", tensor.Float32, 8))
			},
			feeds:     map[string]*tensor.Tensor{"x": f32(tensor.Shape{8}, -2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 2.4, -2.6)},
			wantShape: tensor.Shape{8},
			want:      []float64{-3, -2, -1, 1, 2, 3, 2, -3},
		},
		{
			name: "argmax ties take the first, axis 1",
			build: func(g *graph.Graph) *graph.Node {
				return g.ArgMax(g.Input("x", tensor.Float32, 3, 3), 1)
			},
			feeds:     map[string]*tensor.Tensor{"x": f32(tensor.Shape{3, 3}, 1, 3, 3, 2, 2, 1, 0, -1, 5)},
			wantShape: tensor.Shape{3},
			want:      []float64{1, 0, 2},
		},
		{
			name: "argmax ties take the first, axis 0",
			build: func(g *graph.Graph) *graph.Node {
				return g.ArgMax(g.Input("x", tensor.Float32, 3, 3), 0)
			},
			feeds:     map[string]*tensor.Tensor{"x": f32(tensor.Shape{3, 3}, 1, 3, 3, 2, 2, 1, 2, -1, 5)},
			wantShape: tensor.Shape{3},
			want:      []float64{1, 0, 2},
		},
		{
			name: "cast to int64 truncates toward zero",
			build: func(g *graph.Graph) *graph.Node {
				return g.Cast(g.Input("x", tensor.Float32, 4), tensor.Int64)
			},
			feeds:     map[string]*tensor.Tensor{"x": f32(tensor.Shape{4}, -1.7, 1.7, 2.5, -0.2)},
			wantShape: tensor.Shape{4},
			want:      []float64{-1, 1, 2, 0},
		},
		{
			name: "cast float64 to float32 rounds",
			build: func(g *graph.Graph) *graph.Node {
				return g.Cast(g.Input("x", tensor.Float64, 1), tensor.Float32)
			},
			feeds:     map[string]*tensor.Tensor{"x": mustF64(tensor.Shape{1}, 0.1)},
			wantShape: tensor.Shape{1},
			want:      []float64{float64(float32(0.1))},
		},
		{
			name: "clamp with an infinite bound",
			build: func(g *graph.Graph) *graph.Node {
				return g.Clamp(g.Input("x", tensor.Float32, 4), math.Inf(-1), 0.5)
			},
			feeds:     map[string]*tensor.Tensor{"x": f32(tensor.Shape{4}, -100, 0.25, 0.5, 3)},
			wantShape: tensor.Shape{4},
			want:      []float64{-100, 0.25, 0.5, 0.5},
		},
		{
			name: "clamp both sides",
			build: func(g *graph.Graph) *graph.Node {
				return g.Clamp(g.Input("x", tensor.Float32, 3), -1, inf)
			},
			feeds:     map[string]*tensor.Tensor{"x": f32(tensor.Shape{3}, -3, 0, 1e30)},
			wantShape: tensor.Shape{3},
			want:      []float64{-1, 0, float64(float32(1e30))},
		},
		{
			name: "unary ops",
			build: func(g *graph.Graph) *graph.Node {
				x := g.Input("x", tensor.Float64, 2)
				return g.Concat(0, g.Neg(x), g.Abs(x), g.Exp(x), g.Relu(x), g.LeakyRelu(x, 0.1), g.Sigmoid(x), g.Tanh(x))
			},
			feeds:     map[string]*tensor.Tensor{"x": mustF64(tensor.Shape{2}, -2, 0.5)},
			wantShape: tensor.Shape{14},
			want: []float64{2, -0.5, 2, 0.5, math.Exp(-2), math.Exp(0.5), 0, 0.5, -0.2, 0.5,
				1 / (1 + math.Exp(2)), 1 / (1 + math.Exp(-0.5)), math.Tanh(-2), math.Tanh(0.5)},
		},
		{
			name: "log and sqrt",
			build: func(g *graph.Graph) *graph.Node {
				x := g.Input("x", tensor.Float32, 2)
				return g.Concat(0, g.Log(x), g.Sqrt(x))
			},
			feeds:     map[string]*tensor.Tensor{"x": f32(tensor.Shape{2}, 1, 4)},
			wantShape: tensor.Shape{4},
			want:      []float64{0, math.Log(4), 1, 2},
		},
		{
			name: "matmul",
			build: func(g *graph.Graph) *graph.Node {
				return g.MatMul(g.Input("a", tensor.Float32, 2, 2), g.Input("b", tensor.Float32, 2, 2))
			},
			feeds: map[string]*tensor.Tensor{
				"a": f32(tensor.Shape{2, 2}, 1, 2, 3, 4),
				"b": f32(tensor.Shape{2, 2}, 5, 6, 7, 8),
			},
			wantShape: tensor.Shape{2, 2},
			want:      []float64{19, 22, 43, 50},
		},
		{
			name: "transpose 2-d",
			build: func(g *graph.Graph) *graph.Node {
				return g.Transpose(g.Input("x", tensor.Float32, 2, 3), 1, 0)
			},
			feeds:     map[string]*tensor.Tensor{"x": f32(tensor.Shape{2, 3}, 0, 1, 2, 3, 4, 5)},
			wantShape: tensor.Shape{3, 2},
			want:      []float64{0, 3, 1, 4, 2, 5},
		},
		{
			name: "transpose 3-d",
			build: func(g *graph.Graph) *graph.Node {
				return g.Transpose(g.Input("x", tensor.Float32, 2, 2, 2), 2, 0, 1)
			},
			feeds:     map[string]*tensor.Tensor{"x": f32(tensor.Shape{2, 2, 2}, 0, 1, 2, 3, 4, 5, 6, 7)},
			wantShape: tensor.Shape{2, 2, 2},
			want:      []float64{0, 2, 4, 6, 1, 3, 5, 7},
		},
		{
			name: "concat of three on axis 1",
			build: func(g *graph.Graph) *graph.Node {
				return g.Concat(1, g.Input("a", tensor.Float32, 2, 1), g.Input("b", tensor.Float32, 2, 2), g.Input("c", tensor.Float32, 2, 1))
			},
			feeds: map[string]*tensor.Tensor{
				"a": f32(tensor.Shape{2, 1}, 1, 2),
				"b": f32(tensor.Shape{2, 2}, 3, 4, 5, 6),
				"c": f32(tensor.Shape{2, 1}, 7, 8),
			},
			wantShape: tensor.Shape{2, 4},
			want:      []float64{1, 3, 4, 7, 2, 5, 6, 8},
		},
		{
			name: "reshape with -1",
			build: func(g *graph.Graph) *graph.Node {
				return g.Reshape(g.Input("x", tensor.Float32, 2, 3), -1, 2)
			},
			feeds:     map[string]*tensor.Tensor{"x": f32(tensor.Shape{2, 3}, 0, 1, 2, 3, 4, 5)},
			wantShape: tensor.Shape{3, 2},
			want:      []float64{0, 1, 2, 3, 4, 5},
		},
		{
			name: "mode switch in eval, dropout is the identity",
			build: func(g *graph.Graph) *graph.Node {
				x := g.Input("x", tensor.Float32, 2)
				return g.ModeSwitch(g.Neg(x), g.Dropout(x, 0.5))
			},
			feeds:     map[string]*tensor.Tensor{"x": f32(tensor.Shape{2}, 1, 2)},
			wantShape: tensor.Shape{2},
			want:      []float64{1, 2},
		},
		{
			name: "mode switch in train skips the eval branch",
			build: func(g *graph.Graph) *graph.Node {
				x := g.Input("x", tensor.Float32, 2)
				return g.ModeSwitch(g.Dropout(g.Neg(x), 0), g.Dropout(x, 0.5))
			},
			feeds:     map[string]*tensor.Tensor{"x": f32(tensor.Shape{2}, 1, 2)},
			mode:      backends.Train,
			wantShape: tensor.Shape{2},
			want:      []float64{-1, -2},
		},
		{
			name: "state and const",
			build: func(g *graph.Graph) *graph.Node {
				s := g.State("s", f32(tensor.Shape{2}, 10, 20))
				return g.Add(s, g.Const(f32(tensor.Shape{2}, 1, 2)))
			},
			wantShape: tensor.Shape{2},
			want:      []float64{11, 22},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := graph.New("hand")
			g.SetOutput("y", tc.build(g))
			if err := g.Err(); err != nil {
				t.Fatal(err)
			}
			out, err := EvaluateOutputs(g, tc.feeds, nil, nil, tc.mode)
			if err != nil {
				t.Fatal(err)
			}
			y := out["y"]
			if diff := cmp.Diff(tc.wantShape, y.Shape(), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("shape (-want +got):\n%s", diff)
			}
			if y.DType() != g.Output("y").DType() {
				t.Errorf("dtype %v, graph says %v", y.DType(), g.Output("y").DType())
			}
			got := y.AsFloat64().Float64s()
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateApprox(0, 1e-6)); diff != "" {
				t.Errorf("values (-want +got):\n%s", diff)
			}
		})
	}
}

func mustF64(shape tensor.Shape, v ...float64) *tensor.Tensor {
	t, err := tensor.FromFloat64(shape, v)
	if err != nil {
		panic(err)
	}
	return t
}

// TestReferenceConvTransposeIsAdjoint checks <conv(x), y> = <x, convT(y)>
// for random tensors: the defining property of the transposed convolution.
func TestReferenceConvTransposeIsAdjoint(t *testing.T) {
	options := []graph.ConvOptions{
		{},
		{Stride: [2]int{2, 2}},
		{Stride: [2]int{2, 3}, Padding: [2]int{1, 2}},
		{Dilation: [2]int{2, 1}, Padding: [2]int{2, 1}},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(shape ...int) *tensor.Tensor {
		v := make([]float64, tensor.Shape(shape).NumElements())
		for i := range v {
			v[i] = rng.NormFloat64()
		}
		return mustF64(shape, v...)
	}
	for _, o := range options {
		g := graph.New("adjoint")
		x := g.Input("x", tensor.Float64, 2, 3, 7, 8)
		w := g.Input("w", tensor.Float64, 4, 3, 3, 2)
		y := g.Conv2D(x, w, o)
		yIn := g.Input("y", tensor.Float64, y.Shape()...)
		// Output padding restores the rows and columns that the stride dropped.
		back := graph.ConvOptions{Stride: o.Stride, Padding: o.Padding, Dilation: o.Dilation}
		for i := range 2 {
			s, d := max(o.Stride[i], 1), max(o.Dilation[i], 1)
			covered := (y.Shape()[2+i]-1)*s - 2*o.Padding[i] + d*(w.Shape()[2+i]-1) + 1
			back.OutputPadding[i] = x.Shape()[2+i] - covered
		}
		xBack := g.ConvTranspose2D(yIn, w, back)
		g.SetOutput("conv", y)
		g.SetOutput("back", xBack)
		if err := g.Err(); err != nil {
			t.Fatal(err)
		}
		if !xBack.Shape().Equal(x.Shape()) {
			t.Fatalf("%+v: transpose gives %v, want %v", o, xBack.Shape(), x.Shape())
		}
		feeds := map[string]*tensor.Tensor{"x": random(2, 3, 7, 8), "w": random(4, 3, 3, 2), "y": random(y.Shape()...)}
		out, err := EvaluateOutputs(g, feeds, nil, nil, backends.Eval)
		if err != nil {
			t.Fatal(err)
		}
		dot := func(a, b *tensor.Tensor) float64 {
			s := 0.0
			for i := range a.Float64s() {
				s += a.Float64s()[i] * b.Float64s()[i]
			}
			return s
		}
		lhs, rhs := dot(out["conv"], feeds["y"]), dot(feeds["x"], out["back"])
		if math.Abs(lhs-rhs) > 1e-9*math.Max(1, math.Abs(lhs)) {
			t.Errorf("%+v: <conv(x), y> = %g but <x, convT(y)> = %g", o, lhs, rhs)
		}
	}
}

func TestReferenceErrors(t *testing.T) {
	g := graph.New("errors")
	x := g.Input("pixels", tensor.Float32, 2)
	p := g.Param("weight", graph.Constant(1), []int{2})
	g.SetOutput("y", g.Dropout(g.Mul(x, p), 0.5))
	good := map[string]*tensor.Tensor{"pixels": f32(tensor.Shape{2}, 1, 2)}
	params := graph.InitParams(g, 1)
	tests := []struct {
		name   string
		feeds  map[string]*tensor.Tensor
		params map[string]*tensor.Tensor
		mode   backends.Mode
		want   string
	}{
		{"missing feed", nil, params, backends.Eval, `"pixels"`},
		{"wrong feed shape", map[string]*tensor.Tensor{"pixels": f32(tensor.Shape{1, 2}, 1, 2)}, params, backends.Eval, `"pixels"`},
		{"missing param", good, nil, backends.Eval, `"weight"`},
		{"dropout in training", good, params, backends.Train, "dropout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Evaluate(g, tc.feeds, tc.params, nil, tc.mode)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one mentioning %s", err, tc.want)
			}
		})
	}
	if _, err := Evaluate(g, good, params, nil, backends.Eval); err != nil {
		t.Errorf("valid call: %v", err)
	}
}
