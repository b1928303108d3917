package conformance

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// opCase is one small graph exercising one op. The graph's output "y" is
// the node build returns; Run compares it with the reference evaluator and,
// unless forwardOnly, Gradients of Sum(y ⊙ R) are compared with finite
// differences. Inputs are drawn away from the op's non-differentiable points.
type opCase struct {
	op          graph.Op
	name        string
	build       func(b *caseBuilder) *graph.Node
	gradMode    backends.Mode // mode of the gradient check (forward checks use Run, i.e. Eval)
	forwardOnly bool          // output is not differentiable, or nothing to differentiate
}

// blockCase checks that op passes no gradient: with x a float input and
// block(x) built through op, the gradient of Sum(x ⊙ R) + Sum(block(x) ⊙ R2)
// with respect to x must be exactly R.
type blockCase struct {
	op    graph.Op
	name  string
	block func(b *caseBuilder, x *graph.Node) *graph.Node
}

// caseBuilder declares a case's inputs and parameters and draws the values
// fed to them from a generator seeded by the case name.
type caseBuilder struct {
	g     *graph.Graph
	rng   *rand.Rand
	feeds map[string]*tensor.Tensor
}

func newCaseBuilder(name string) *caseBuilder {
	h := fnv.New64a()
	h.Write([]byte(name))
	s := h.Sum64()
	return &caseBuilder{g: graph.New(name), rng: rand.New(rand.NewPCG(s, s^0x5eed)), feeds: map[string]*tensor.Tensor{}}
}

// feed declares a float32 input with the given values.
func (b *caseBuilder) feed(name string, shape []int, v []float32) *graph.Node {
	t, err := tensor.FromFloat32(shape, v)
	if err != nil {
		b.g.Fail(fmt.Errorf("case input %q: %w", name, err))
	} else {
		b.feeds[name] = t
	}
	return b.g.Input(name, tensor.Float32, shape...)
}

// uniform declares a float32 input drawn from U(lo, hi).
func (b *caseBuilder) uniform(name string, lo, hi float64, shape ...int) *graph.Node {
	v := make([]float32, tensor.Shape(shape).NumElements())
	for i := range v {
		v[i] = float32(lo + (hi-lo)*b.rng.Float64())
	}
	return b.feed(name, shape, v)
}

// avoiding declares a float32 input drawn from U(lo, hi) but at least
// margin away from each point in avoid (the op's kinks).
func (b *caseBuilder) avoiding(name string, lo, hi float64, avoid []float64, margin float64, shape ...int) *graph.Node {
	v := make([]float32, tensor.Shape(shape).NumElements())
	tooClose := func(x float64) bool {
		for _, a := range avoid {
			if math.Abs(x-a) < margin {
				return true
			}
		}
		return false
	}
	for i := range v {
		x := lo + (hi-lo)*b.rng.Float64()
		for tooClose(x) {
			x = lo + (hi-lo)*b.rng.Float64()
		}
		v[i] = float32(x)
	}
	return b.feed(name, shape, v)
}

// nonZero declares an input with |x| in [0.1, hi] and a random sign.
func (b *caseBuilder) nonZero(name string, hi float64, shape ...int) *graph.Node {
	return b.avoiding(name, -hi, hi, []float64{0}, 0.1, shape...)
}

// distinct declares an input whose values are a shuffled grid with spacing
// 0.05, so that maxima are unique and stay unique under small perturbations.
func (b *caseBuilder) distinct(name string, shape ...int) *graph.Node {
	n := tensor.Shape(shape).NumElements()
	v := make([]float32, n)
	for i, p := range b.rng.Perm(n) {
		v[i] = float32(0.05 * float64(p-n/2))
	}
	return b.feed(name, shape, v)
}

// indices declares an int64 input with the given values.
func (b *caseBuilder) indices(name string, shape []int, v ...int64) *graph.Node {
	t, err := tensor.FromInt64(shape, v)
	if err != nil {
		b.g.Fail(fmt.Errorf("case input %q: %w", name, err))
	} else {
		b.feeds[name] = t
	}
	return b.g.Input(name, tensor.Int64, shape...)
}

// param declares a trainable parameter initialised from U(-1, 1).
func (b *caseBuilder) param(name string, shape ...int) *graph.Node {
	return b.g.Param(name, graph.Uniform(1), shape)
}

// randomTensor is a standard-normal tensor of the given float dtype.
func (b *caseBuilder) randomTensor(dt tensor.DType, shape tensor.Shape) *tensor.Tensor {
	t := tensor.Zeros(dt, shape...)
	for i := range t.Len() {
		x := b.rng.NormFloat64()
		if dt == tensor.Float64 {
			t.Float64s()[i] = x
		} else {
			t.Float32s()[i] = float32(x)
		}
	}
	return t
}

// dims names a shape in a case name without regular-expression
// metacharacters, so that go test -run can select the case: 2x3, or scalar.
func dims(shape []int) string {
	if len(shape) == 0 {
		return "scalar"
	}
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = fmt.Sprint(d)
	}
	return strings.Join(parts, "x")
}

// caseSeed is the compile seed of every case, so parameters are reproducible.
const caseSeed = 20180618

func unaryCases() []opCase {
	type unary struct {
		op    graph.Op
		apply func(g *graph.Graph, x *graph.Node) *graph.Node
		input func(b *caseBuilder, shape ...int) *graph.Node
	}
	wide := func(b *caseBuilder, shape ...int) *graph.Node { return b.uniform("x", -3, 3, shape...) }
	positive := func(b *caseBuilder, shape ...int) *graph.Node { return b.uniform("x", 0.2, 3, shape...) }
	nonZero := func(b *caseBuilder, shape ...int) *graph.Node { return b.nonZero("x", 2, shape...) }
	ops := []unary{
		{graph.OpNeg, (*graph.Graph).Neg, wide},
		{graph.OpAbs, (*graph.Graph).Abs, nonZero},
		{graph.OpExp, (*graph.Graph).Exp, func(b *caseBuilder, shape ...int) *graph.Node { return b.uniform("x", -2, 2, shape...) }},
		{graph.OpLog, (*graph.Graph).Log, positive},
		{graph.OpSqrt, (*graph.Graph).Sqrt, positive},
		{graph.OpRelu, (*graph.Graph).Relu, nonZero},
		{graph.OpSigmoid, (*graph.Graph).Sigmoid, func(b *caseBuilder, shape ...int) *graph.Node { return b.uniform("x", -5, 5, shape...) }},
		{graph.OpTanh, (*graph.Graph).Tanh, wide},
		{graph.OpLeakyRelu, func(g *graph.Graph, x *graph.Node) *graph.Node { return g.LeakyRelu(x, 0.1) }, nonZero},
		{graph.OpStopGradient, (*graph.Graph).StopGradient, wide},
	}
	var cases []opCase
	for _, u := range ops {
		for _, shape := range [][]int{{2, 3}, {2, 1, 4}, {}} {
			cases = append(cases, opCase{
				op:    u.op,
				name:  "shape_" + dims(shape),
				build: func(b *caseBuilder) *graph.Node { return u.apply(b.g, u.input(b, shape...)) },
				// StopGradient's own (absent) gradient is checked by blockCases.
				forwardOnly: u.op == graph.OpStopGradient,
			})
		}
	}
	return append(cases,
		opCase{op: graph.OpLeakyRelu, name: "alpha0.3", build: func(b *caseBuilder) *graph.Node {
			return b.g.LeakyRelu(b.nonZero("x", 2, 3, 4), 0.3)
		}},
		opCase{op: graph.OpClamp, name: "finite", build: func(b *caseBuilder) *graph.Node {
			return b.g.Clamp(b.avoiding("x", -1, 1, []float64{-0.5, 0.5}, 0.05, 3, 4), -0.5, 0.5)
		}},
		opCase{op: graph.OpClamp, name: "no_lower_bound", build: func(b *caseBuilder) *graph.Node {
			return b.g.Clamp(b.avoiding("x", -1e3, 1, []float64{0.3}, 0.05, 3, 4), math.Inf(-1), 0.3)
		}},
		opCase{op: graph.OpClamp, name: "no_upper_bound", build: func(b *caseBuilder) *graph.Node {
			return b.g.Clamp(b.avoiding("x", -1, 1e3, []float64{-0.2}, 0.05, 3, 4), -0.2, math.Inf(1))
		}},
		opCase{op: graph.OpClamp, name: "unbounded", build: func(b *caseBuilder) *graph.Node {
			return b.g.Clamp(b.uniform("x", -5, 5, 3, 4), math.Inf(-1), math.Inf(1))
		}},
		opCase{op: graph.OpRound, name: "halves_away_from_zero", forwardOnly: true, build: func(b *caseBuilder) *graph.Node {
			return b.g.Round(b.feed("x", []int{12}, []float32{-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 2.49, -2.51, 0, 7, -0.2, 3.7}))
		}},
		opCase{op: graph.OpRound, name: "random", forwardOnly: true, build: func(b *caseBuilder) *graph.Node {
			return b.g.Round(b.uniform("x", -10, 10, 4, 5))
		}},
		opCase{op: graph.OpCast, name: "float32_to_int64_truncates", forwardOnly: true, build: func(b *caseBuilder) *graph.Node {
			return b.g.Cast(b.feed("x", []int{6}, []float32{-1.7, 1.7, -0.2, 2.5, 3, -4}), tensor.Int64)
		}},
		opCase{op: graph.OpCast, name: "float32_to_int32", forwardOnly: true, build: func(b *caseBuilder) *graph.Node {
			return b.g.Cast(b.uniform("x", -50, 50, 3, 4), tensor.Int32)
		}},
		opCase{op: graph.OpCast, name: "float32_to_float64_and_back", forwardOnly: true, build: func(b *caseBuilder) *graph.Node {
			x64 := b.g.Cast(b.uniform("x", -3, 3, 2, 3), tensor.Float64)
			return b.g.Cast(b.g.Mul(x64, x64), tensor.Float32)
		}},
		opCase{op: graph.OpCast, name: "int64_to_float32", forwardOnly: true, build: func(b *caseBuilder) *graph.Node {
			return b.g.Cast(b.indices("i", []int{2, 2}, 3, -1, 0, 1000), tensor.Float32)
		}},
	)
}

func binaryCases() []opCase {
	type binary struct {
		op    graph.Op
		apply func(g *graph.Graph, a, b *graph.Node) *graph.Node
	}
	ops := []binary{
		{graph.OpAdd, (*graph.Graph).Add},
		{graph.OpSub, (*graph.Graph).Sub},
		{graph.OpMul, (*graph.Graph).Mul},
		{graph.OpDiv, (*graph.Graph).Div},
	}
	patterns := []struct {
		name string
		a, b []int
	}{
		{"same_2x3", []int{2, 3}, []int{2, 3}},
		{"2x1x3_with_4x1", []int{2, 1, 3}, []int{4, 1}},
		{"3_with_2x3", []int{3}, []int{2, 3}},
		{"scalar_with_2x3", []int{}, []int{2, 3}},
		{"2x3_with_scalar", []int{2, 3}, []int{}},
		{"1x3x1_with_2x1x4", []int{1, 3, 1}, []int{2, 1, 4}},
		{"2x3x4x5_with_3x1x1", []int{2, 3, 4, 5}, []int{3, 1, 1}},
	}
	var cases []opCase
	for _, o := range ops {
		for _, p := range patterns {
			cases = append(cases, opCase{op: o.op, name: p.name, build: func(b *caseBuilder) *graph.Node {
				x := b.uniform("a", -2, 2, p.a...)
				var y *graph.Node
				if o.op == graph.OpDiv {
					y = b.avoiding("b", -2, 2, []float64{0}, 0.5, p.b...)
				} else {
					y = b.uniform("b", -2, 2, p.b...)
				}
				return o.apply(b.g, x, y)
			}})
		}
	}
	return append(cases,
		opCase{op: graph.OpAdd, name: "param_bias", build: func(b *caseBuilder) *graph.Node {
			return b.g.Add(b.uniform("x", -1, 1, 3, 4), b.param("bias", 4))
		}},
		opCase{op: graph.OpMul, name: "same_operand_twice", build: func(b *caseBuilder) *graph.Node {
			x := b.uniform("x", -2, 2, 3, 2)
			return b.g.Mul(x, x)
		}},
		opCase{op: graph.OpDiv, name: "float64", build: func(b *caseBuilder) *graph.Node {
			x := b.g.Cast(b.uniform("x", -2, 2, 2, 3), tensor.Float64)
			y := b.g.Cast(b.avoiding("y", -2, 2, []float64{0}, 0.5, 3), tensor.Float64)
			return b.g.Cast(b.g.Div(x, y), tensor.Float32)
		}, forwardOnly: true},
	)
}

func reductionCases() []opCase {
	type reduction struct {
		op     graph.Op
		plain  func(g *graph.Graph, x *graph.Node, axes ...int) *graph.Node
		keep   func(g *graph.Graph, x *graph.Node, axes ...int) *graph.Node
		unique bool // needs distinct values to have a gradient
	}
	ops := []reduction{
		{graph.OpSum, (*graph.Graph).Sum, (*graph.Graph).SumKeep, false},
		{graph.OpMean, (*graph.Graph).Mean, (*graph.Graph).MeanKeep, false},
		{graph.OpMax, (*graph.Graph).Max, (*graph.Graph).MaxKeep, true},
		{graph.OpLogSumExp, (*graph.Graph).LogSumExp, (*graph.Graph).LogSumExpKeep, false},
	}
	variants := []struct {
		name string
		keep bool
		axes []int
	}{
		{"all", false, nil},
		{"all_keepdims", true, nil},
		{"axis1", false, []int{1}},
		{"axis-1", false, []int{-1}},
		{"axes0_2_keepdims", true, []int{0, 2}},
		{"axes-1_0", false, []int{-1, 0}},
	}
	var cases []opCase
	for _, o := range ops {
		for _, v := range variants {
			cases = append(cases, opCase{op: o.op, name: v.name, build: func(b *caseBuilder) *graph.Node {
				var x *graph.Node
				if o.unique {
					x = b.distinct("x", 2, 3, 4)
				} else {
					x = b.uniform("x", -2, 2, 2, 3, 4)
				}
				if v.keep {
					return o.keep(b.g, x, v.axes...)
				}
				return o.plain(b.g, x, v.axes...)
			}})
		}
	}
	return append(cases,
		opCase{op: graph.OpLogSumExp, name: "large_inputs_are_stable", build: func(b *caseBuilder) *graph.Node {
			return b.g.LogSumExp(b.uniform("x", 80, 100, 3, 5), 1)
		}},
		opCase{op: graph.OpMax, name: "negative_values", build: func(b *caseBuilder) *graph.Node {
			return b.g.Max(b.g.AddScalar(b.distinct("x", 4, 3), -10), 0)
		}},
		opCase{op: graph.OpArgMax, name: "axis0", forwardOnly: true, build: func(b *caseBuilder) *graph.Node {
			return b.g.ArgMax(b.distinct("x", 3, 4, 5), 0)
		}},
		opCase{op: graph.OpArgMax, name: "axis-1", forwardOnly: true, build: func(b *caseBuilder) *graph.Node {
			return b.g.ArgMax(b.distinct("x", 3, 4, 5), -1)
		}},
		opCase{op: graph.OpArgMax, name: "ties_take_the_first", forwardOnly: true, build: func(b *caseBuilder) *graph.Node {
			return b.g.ArgMax(b.feed("x", []int{4, 3}, []float32{1, 3, 3, 2, 2, 1, 0, -1, 5, 7, 7, 7}), 1)
		}},
	)
}

func convCases() []opCase {
	type conv struct {
		name      string
		x, w      []int
		o         graph.ConvOptions
		transpose bool
		paramW    bool
	}
	convs := []conv{
		{name: "basic", x: []int{1, 1, 5, 5}, w: []int{1, 1, 3, 3}},
		{name: "stride2x1_pad1x0", x: []int{2, 3, 6, 5}, w: []int{4, 3, 3, 2}, o: graph.ConvOptions{Stride: [2]int{2, 1}, Padding: [2]int{1, 0}}},
		{name: "dilation2_pad2", x: []int{1, 2, 7, 7}, w: []int{2, 2, 3, 3}, o: graph.ConvOptions{Dilation: [2]int{2, 2}, Padding: [2]int{2, 2}}},
		{name: "groups2", x: []int{1, 4, 5, 5}, w: []int{6, 2, 3, 3}, o: graph.ConvOptions{Groups: 2, Padding: [2]int{1, 1}}},
		{name: "depthwise", x: []int{2, 3, 4, 4}, w: []int{3, 1, 2, 2}, o: graph.ConvOptions{Groups: 3}},
		{name: "1x1", x: []int{2, 3, 3, 2}, w: []int{5, 3, 1, 1}},
		{name: "param_weight_stride2_pad1", x: []int{2, 2, 6, 6}, w: []int{3, 2, 3, 3}, o: graph.ConvOptions{Stride: [2]int{2, 2}, Padding: [2]int{1, 1}}, paramW: true},

		{name: "basic", x: []int{1, 2, 3, 3}, w: []int{2, 3, 3, 3}, transpose: true},
		{name: "stride2_pad1_outpad1", x: []int{2, 2, 3, 4}, w: []int{2, 3, 3, 3}, o: graph.ConvOptions{Stride: [2]int{2, 2}, Padding: [2]int{1, 1}, OutputPadding: [2]int{1, 1}}, transpose: true},
		{name: "stride2x3_outpad0x2", x: []int{1, 3, 3, 3}, w: []int{3, 2, 2, 3}, o: graph.ConvOptions{Stride: [2]int{2, 3}, OutputPadding: [2]int{0, 2}}, transpose: true},
		{name: "dilation2_pad1", x: []int{1, 2, 4, 4}, w: []int{2, 2, 3, 3}, o: graph.ConvOptions{Dilation: [2]int{2, 2}, Padding: [2]int{1, 1}}, transpose: true},
		{name: "param_weight", x: []int{2, 3, 2, 2}, w: []int{3, 2, 2, 2}, o: graph.ConvOptions{Stride: [2]int{2, 2}}, transpose: true, paramW: true},
	}
	var cases []opCase
	for _, c := range convs {
		op := graph.OpConv2D
		if c.transpose {
			op = graph.OpConvTranspose2D
		}
		cases = append(cases, opCase{op: op, name: c.name, build: func(b *caseBuilder) *graph.Node {
			x := b.uniform("x", -1, 1, c.x...)
			var w *graph.Node
			if c.paramW {
				w = b.param("w", c.w...)
			} else {
				w = b.uniform("w", -1, 1, c.w...)
			}
			if c.transpose {
				return b.g.ConvTranspose2D(x, w, c.o)
			}
			return b.g.Conv2D(x, w, c.o)
		}})
	}

	pools := []struct {
		name string
		x    []int
		o    graph.PoolOptions
	}{
		{"k2_s2", []int{1, 2, 4, 4}, graph.PoolOptions{Kernel: [2]int{2, 2}}},
		{"k3_s2_pad1", []int{2, 1, 5, 5}, graph.PoolOptions{Kernel: [2]int{3, 3}, Stride: [2]int{2, 2}, Padding: [2]int{1, 1}}},
		{"k2x3_s1", []int{1, 1, 4, 5}, graph.PoolOptions{Kernel: [2]int{2, 3}, Stride: [2]int{1, 1}}},
		{"k2_s2_pad1_odd", []int{1, 2, 5, 3}, graph.PoolOptions{Kernel: [2]int{2, 2}, Padding: [2]int{1, 1}}},
	}
	for _, p := range pools {
		cases = append(cases,
			opCase{op: graph.OpMaxPool2D, name: p.name, build: func(b *caseBuilder) *graph.Node {
				// Negative values make a backend that pads with zeros visibly wrong.
				return b.g.MaxPool2D(b.g.AddScalar(b.distinct("x", p.x...), -5), p.o)
			}},
			opCase{op: graph.OpAvgPool2D, name: p.name, build: func(b *caseBuilder) *graph.Node {
				return b.g.AvgPool2D(b.uniform("x", -1, 1, p.x...), p.o)
			}},
		)
	}
	return append(cases,
		opCase{op: graph.OpMatMul, name: "2x3_by_3x4", build: func(b *caseBuilder) *graph.Node {
			return b.g.MatMul(b.uniform("a", -1, 1, 2, 3), b.uniform("b", -1, 1, 3, 4))
		}},
		opCase{op: graph.OpMatMul, name: "1x5_by_5x1", build: func(b *caseBuilder) *graph.Node {
			return b.g.MatMul(b.uniform("a", -1, 1, 1, 5), b.uniform("b", -1, 1, 5, 1))
		}},
		opCase{op: graph.OpMatMul, name: "param_weight", build: func(b *caseBuilder) *graph.Node {
			return b.g.MatMul(b.uniform("x", -1, 1, 4, 3), b.param("w", 3, 2))
		}},
	)
}

func structureCases() []opCase {
	return []opCase{
		{op: graph.OpReshape, name: "infer_last", build: func(b *caseBuilder) *graph.Node {
			return b.g.Reshape(b.uniform("x", -1, 1, 2, 3, 4), 4, -1)
		}},
		{op: graph.OpReshape, name: "flatten", build: func(b *caseBuilder) *graph.Node {
			return b.g.Reshape(b.uniform("x", -1, 1, 2, 3, 4), -1)
		}},
		{op: graph.OpReshape, name: "add_unit_axes", build: func(b *caseBuilder) *graph.Node {
			return b.g.Reshape(b.uniform("x", -1, 1, 2, 3, 4), 2, 1, -1, 1)
		}},
		{op: graph.OpReshape, name: "to_scalar", build: func(b *caseBuilder) *graph.Node {
			return b.g.Reshape(b.uniform("x", -1, 1, 1, 1))
		}},
		{op: graph.OpTranspose, name: "rank2", build: func(b *caseBuilder) *graph.Node {
			return b.g.Transpose(b.uniform("x", -1, 1, 3, 5), 1, 0)
		}},
		{op: graph.OpTranspose, name: "rank4_0231", build: func(b *caseBuilder) *graph.Node {
			return b.g.Transpose(b.uniform("x", -1, 1, 2, 3, 4, 5), 0, 2, 3, 1)
		}},
		{op: graph.OpTranspose, name: "rank4_3102", build: func(b *caseBuilder) *graph.Node {
			return b.g.Transpose(b.uniform("x", -1, 1, 2, 3, 4, 5), 3, 1, 0, 2)
		}},
		{op: graph.OpTranspose, name: "rank3_identity", build: func(b *caseBuilder) *graph.Node {
			return b.g.Transpose(b.uniform("x", -1, 1, 2, 3, 4), 0, 1, 2)
		}},
		{op: graph.OpConcat, name: "three_on_axis1", build: func(b *caseBuilder) *graph.Node {
			return b.g.Concat(1, b.uniform("a", -1, 1, 2, 1, 3), b.uniform("b", -1, 1, 2, 2, 3), b.uniform("c", -1, 1, 2, 3, 3))
		}},
		{op: graph.OpConcat, name: "three_on_axis0", build: func(b *caseBuilder) *graph.Node {
			return b.g.Concat(0, b.uniform("a", -1, 1, 1, 4), b.uniform("b", -1, 1, 3, 4), b.uniform("c", -1, 1, 2, 4))
		}},
		{op: graph.OpConcat, name: "two_on_axis-1", build: func(b *caseBuilder) *graph.Node {
			return b.g.Concat(-1, b.uniform("a", -1, 1, 2, 2, 1), b.uniform("b", -1, 1, 2, 2, 3))
		}},
		{op: graph.OpConcat, name: "same_operand_twice", build: func(b *caseBuilder) *graph.Node {
			x := b.uniform("x", -1, 1, 2, 3)
			return b.g.Concat(0, x, x)
		}},
		{op: graph.OpGather, name: "axis0_repeated", build: func(b *caseBuilder) *graph.Node {
			return b.g.Gather(b.uniform("x", -1, 1, 4, 3), b.indices("i", []int{5}, 2, 0, 2, 3, 2), 0)
		}},
		{op: graph.OpGather, name: "axis1_2d_indices", build: func(b *caseBuilder) *graph.Node {
			return b.g.Gather(b.uniform("x", -1, 1, 2, 5, 3), b.indices("i", []int{2, 2}, 4, 4, 0, 1), 1)
		}},
		{op: graph.OpGather, name: "axis-1", build: func(b *caseBuilder) *graph.Node {
			return b.g.Gather(b.uniform("x", -1, 1, 2, 3, 4), b.indices("i", []int{3}, 3, 3, 1), -1)
		}},
		{op: graph.OpGather, name: "scalar_index", build: func(b *caseBuilder) *graph.Node {
			return b.g.Gather(b.uniform("x", -1, 1, 3, 4), b.indices("i", []int{}, 2), 1)
		}},
		{op: graph.OpGather, name: "by_argmax", build: func(b *caseBuilder) *graph.Node {
			// Picking rows by an argmax: the gradient reaches the rows, not the scores.
			scores := b.distinct("scores", 4, 5)
			return b.g.Gather(b.uniform("rows", -1, 1, 5, 3), b.g.ArgMax(scores, 1), 0)
		}},
		{op: graph.OpDropout, name: "eval_is_identity", build: func(b *caseBuilder) *graph.Node {
			return b.g.Dropout(b.uniform("x", -1, 1, 3, 4), 0.5)
		}},
		{op: graph.OpDropout, name: "rate0", build: func(b *caseBuilder) *graph.Node {
			return b.g.Dropout(b.uniform("x", -1, 1, 3, 4), 0)
		}},
		{op: graph.OpModeSwitch, name: "eval_branch", build: func(b *caseBuilder) *graph.Node {
			x := b.uniform("x", -1, 1, 2, 3)
			return b.g.ModeSwitch(b.g.Neg(x), b.g.Exp(x))
		}},
		{op: graph.OpModeSwitch, name: "train_branch", gradMode: backends.Train, build: func(b *caseBuilder) *graph.Node {
			x := b.uniform("x", -1, 1, 2, 3)
			return b.g.ModeSwitch(b.g.Mul(x, x), b.g.Exp(x))
		}},
	}
}

func leafCases() []opCase {
	return []opCase{
		{op: graph.OpInput, name: "output_is_input", build: func(b *caseBuilder) *graph.Node {
			return b.uniform("x", -1, 1, 2, 3)
		}},
		{op: graph.OpParam, name: "output_is_param", forwardOnly: true, build: func(b *caseBuilder) *graph.Node {
			return b.param("p", 3, 2)
		}},
		{op: graph.OpParam, name: "used", build: func(b *caseBuilder) *graph.Node {
			return b.g.Mul(b.uniform("x", -1, 1, 2, 3), b.param("p", 2, 3))
		}},
		{op: graph.OpState, name: "initial_value", build: func(b *caseBuilder) *graph.Node {
			s := b.g.State("s", b.randomTensor(tensor.Float32, tensor.Shape{2, 3}))
			return b.g.Add(b.uniform("x", -1, 1, 2, 3), s)
		}},
		{op: graph.OpConst, name: "added", build: func(b *caseBuilder) *graph.Node {
			c := b.g.Const(b.randomTensor(tensor.Float32, tensor.Shape{3}))
			return b.g.Mul(b.uniform("x", -1, 1, 2, 3), c)
		}},
		{op: graph.OpConst, name: "alone", forwardOnly: true, build: func(b *caseBuilder) *graph.Node {
			return b.g.Exp(b.g.Const(b.randomTensor(tensor.Float32, tensor.Shape{2, 2})))
		}},
	}
}

// opCases lists every forward (and gradient) case.
func opCases() []opCase {
	var all []opCase
	for _, part := range [][]opCase{leafCases(), unaryCases(), binaryCases(), reductionCases(), convCases(), structureCases()} {
		all = append(all, part...)
	}
	return all
}

// blockCases lists the gradient-blocking checks of the ops without a
// gradient. x holds multiples of 0.05, so scaling it by 7.3 keeps every value
// at least 0.04 away from the points where round and truncation jump: a
// float32 backend and the float64 reference then agree on the forward pass.
func blockCases() []blockCase {
	return []blockCase{
		{graph.OpStopGradient, "identity", func(b *caseBuilder, x *graph.Node) *graph.Node {
			return b.g.StopGradient(x)
		}},
		{graph.OpStopGradient, "inside_a_product", func(b *caseBuilder, x *graph.Node) *graph.Node {
			return b.g.Exp(b.g.StopGradient(b.g.Mul(x, x)))
		}},
		{graph.OpRound, "round", func(b *caseBuilder, x *graph.Node) *graph.Node {
			return b.g.Round(b.g.MulScalar(x, 7.3))
		}},
		{graph.OpCast, "via_int64", func(b *caseBuilder, x *graph.Node) *graph.Node {
			return b.g.Cast(b.g.Cast(b.g.MulScalar(x, 7.3), tensor.Int64), tensor.Float32)
		}},
		{graph.OpCast, "via_float64", func(b *caseBuilder, x *graph.Node) *graph.Node {
			return b.g.Cast(b.g.Cast(x, tensor.Float64), tensor.Float32)
		}},
		{graph.OpArgMax, "argmax", func(b *caseBuilder, x *graph.Node) *graph.Node {
			return b.g.Cast(b.g.ArgMax(x, 1), tensor.Float32)
		}},
	}
}
