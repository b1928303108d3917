package graph

import (
	"fmt"
	"math"
	"slices"

	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// ---- Leaves ----------------------------------------------------------------

func (g *Graph) leaf(op Op, name string, dt tensor.DType, shape tensor.Shape, attrs Attrs) *Node {
	if g.err != nil {
		return g.poison()
	}
	if name == "" {
		g.Fail(fmt.Errorf("graph %q: %s needs a name", g.name, op))
		return g.poison()
	}
	if prev, ok := g.leaves[name]; ok {
		g.Fail(fmt.Errorf("graph %q: %s %q: the name is already used by %v", g.name, op, name, prev))
		return g.poison()
	}
	if err := shape.Validate(); err != nil {
		g.Fail(fmt.Errorf("graph %q: %s %q: %w", g.name, op, name, err))
		return g.poison()
	}
	if !dt.Valid() {
		g.Fail(fmt.Errorf("graph %q: %s %q: dtype %v is not valid", g.name, op, name, dt))
		return g.poison()
	}
	attrs.Name = name
	n := g.add(op, nil, attrs, shape, dt)
	g.leaves[name] = n
	return n
}

// Input declares a tensor fed on every call.
func (g *Graph) Input(name string, dt tensor.DType, shape ...int) *Node {
	return g.leaf(OpInput, name, dt, shape, Attrs{})
}

// ParamOption adjusts a parameter's optimizer treatment.
type ParamOption func(*Attrs)

// LRMult scales the learning rate of one parameter (the authors' code uses 0.05 for beta).
func LRMult(m float64) ParamOption { return func(a *Attrs) { a.LRMult = m } }

// DecayMult scales weight decay for one parameter (0 for biases, usually).
func DecayMult(m float64) ParamOption { return func(a *Attrs) { a.DecayMult = m } }

// Param declares a trainable float32 parameter.
func (g *Graph) Param(name string, init Init, shape []int, opts ...ParamOption) *Node {
	a := Attrs{Init: init, LRMult: 1, DecayMult: 1}
	for _, o := range opts {
		o(&a)
	}
	return g.leaf(OpParam, name, tensor.Float32, shape, a)
}

// State declares a non-trainable buffer with an initial value; give it an
// update rule with SetStateUpdate.
func (g *Graph) State(name string, initial *tensor.Tensor) *Node {
	if initial == nil {
		g.Fail(fmt.Errorf("graph %q: state %q needs an initial value", g.name, name))
		return g.poison()
	}
	return g.leaf(OpState, name, initial.DType(), initial.Shape(), Attrs{Value: initial.Clone()})
}

// Const embeds a constant tensor (e.g. a template bank).
func (g *Graph) Const(v *tensor.Tensor) *Node {
	if g.err != nil {
		return g.poison()
	}
	if v == nil || !v.DType().Valid() {
		g.Fail(fmt.Errorf("graph %q: const value is nil or has no dtype", g.name))
		return g.poison()
	}
	return g.add(OpConst, nil, Attrs{Value: v.Clone()}, v.Shape(), v.DType())
}

// Scalar is a float32 constant scalar.
func (g *Graph) Scalar(v float64) *Node { return g.Const(tensor.Scalar32(float32(v))) }

// ---- Elementwise ------------------------------------------------------------

func (g *Graph) unary(op Op, x *Node, attrs Attrs) *Node {
	if !g.usable(op, x) {
		return g.poison()
	}
	if op != OpCast && op != OpStopGradient && !x.dtype.IsFloat() {
		return g.failShape(op, []*Node{x}, "needs a float operand, got %v", x.dtype)
	}
	return g.add(op, []*Node{x}, attrs, x.shape, x.dtype)
}

func (g *Graph) Neg(x *Node) *Node          { return g.unary(OpNeg, x, Attrs{}) }
func (g *Graph) Abs(x *Node) *Node          { return g.unary(OpAbs, x, Attrs{}) }
func (g *Graph) Exp(x *Node) *Node          { return g.unary(OpExp, x, Attrs{}) }
func (g *Graph) Log(x *Node) *Node          { return g.unary(OpLog, x, Attrs{}) }
func (g *Graph) Sqrt(x *Node) *Node         { return g.unary(OpSqrt, x, Attrs{}) }
func (g *Graph) Relu(x *Node) *Node         { return g.unary(OpRelu, x, Attrs{}) }
func (g *Graph) Sigmoid(x *Node) *Node      { return g.unary(OpSigmoid, x, Attrs{}) }
func (g *Graph) Tanh(x *Node) *Node         { return g.unary(OpTanh, x, Attrs{}) }
func (g *Graph) StopGradient(x *Node) *Node { return g.unary(OpStopGradient, x, Attrs{}) }

// Round rounds halves away from zero, as MATLAB (and Go's math.Round) do. No gradient.
func (g *Graph) Round(x *Node) *Node { return g.unary(OpRound, x, Attrs{}) }

// LeakyRelu is x for x > 0 and alpha·x otherwise.
func (g *Graph) LeakyRelu(x *Node, alpha float64) *Node {
	return g.unary(OpLeakyRelu, x, Attrs{Alpha: alpha})
}

// Clamp limits x to [lo, hi]; pass ±math.Inf for a one-sided clamp.
func (g *Graph) Clamp(x *Node, lo, hi float64) *Node {
	if g.err == nil && !(lo <= hi) {
		g.Fail(fmt.Errorf("graph %q: clamp: lo %g > hi %g", g.name, lo, hi))
		return g.poison()
	}
	return g.unary(OpClamp, x, Attrs{Lo: lo, Hi: hi})
}

// MaxScalar is max(x, c) elementwise (clamp from below).
func (g *Graph) MaxScalar(x *Node, c float64) *Node { return g.Clamp(x, c, math.Inf(1)) }

// Cast converts to dt (float32, float64, int64, int32). No gradient.
func (g *Graph) Cast(x *Node, dt tensor.DType) *Node {
	if !g.usable(OpCast, x) {
		return g.poison()
	}
	switch dt {
	case tensor.Float32, tensor.Float64, tensor.Int64, tensor.Int32:
	default:
		return g.failShape(OpCast, []*Node{x}, "cannot cast to %v", dt)
	}
	return g.add(OpCast, []*Node{x}, Attrs{DType: dt}, x.shape, dt)
}

// BroadcastShapes applies NumPy broadcasting rules.
func BroadcastShapes(a, b tensor.Shape) (tensor.Shape, bool) {
	n := max(len(a), len(b))
	out := make(tensor.Shape, n)
	for i := range n {
		da, db := 1, 1
		if j := len(a) - n + i; j >= 0 {
			da = a[j]
		}
		if j := len(b) - n + i; j >= 0 {
			db = b[j]
		}
		switch {
		case da == db:
			out[i] = da
		case da == 1:
			out[i] = db
		case db == 1:
			out[i] = da
		default:
			return nil, false
		}
	}
	return out, true
}

func (g *Graph) binary(op Op, a, b *Node) *Node {
	if !g.usable(op, a, b) {
		return g.poison()
	}
	if a.dtype != b.dtype {
		return g.failShape(op, []*Node{a, b}, "dtypes differ: %v and %v", a.dtype, b.dtype)
	}
	if !a.dtype.IsFloat() {
		return g.failShape(op, []*Node{a, b}, "needs float operands, got %v", a.dtype)
	}
	s, ok := BroadcastShapes(a.shape, b.shape)
	if !ok {
		return g.failShape(op, []*Node{a, b}, "shapes do not broadcast")
	}
	return g.add(op, []*Node{a, b}, Attrs{}, s, a.dtype)
}

func (g *Graph) Add(a, b *Node) *Node { return g.binary(OpAdd, a, b) }
func (g *Graph) Sub(a, b *Node) *Node { return g.binary(OpSub, a, b) }
func (g *Graph) Mul(a, b *Node) *Node { return g.binary(OpMul, a, b) }
func (g *Graph) Div(a, b *Node) *Node { return g.binary(OpDiv, a, b) }

// ---- Reductions -------------------------------------------------------------

// normAxes validates and normalises axes (negative counts from the end;
// empty means all axes), returning them sorted.
func normAxes(rank int, axes []int) ([]int, error) {
	if len(axes) == 0 {
		all := make([]int, rank)
		for i := range all {
			all[i] = i
		}
		return all, nil
	}
	out := make([]int, 0, len(axes))
	for _, given := range axes {
		a := given
		if a < 0 {
			a += rank
		}
		if a < 0 || a >= rank {
			return nil, fmt.Errorf("axis %d out of range for rank %d", given, rank)
		}
		if slices.Contains(out, a) {
			return nil, fmt.Errorf("axis %d repeated", a)
		}
		out = append(out, a)
	}
	slices.Sort(out)
	return out, nil
}

func reducedShape(s tensor.Shape, axes []int, keep bool) tensor.Shape {
	out := tensor.Shape{}
	for i, d := range s {
		if slices.Contains(axes, i) {
			if keep {
				out = append(out, 1)
			}
			continue
		}
		out = append(out, d)
	}
	return out
}

func (g *Graph) reduce(op Op, x *Node, keep bool, axes []int) *Node {
	if !g.usable(op, x) {
		return g.poison()
	}
	if !x.dtype.IsFloat() {
		return g.failShape(op, []*Node{x}, "needs a float operand, got %v", x.dtype)
	}
	ax, err := normAxes(x.Rank(), axes)
	if err != nil {
		return g.failShape(op, []*Node{x}, "%v", err)
	}
	return g.add(op, []*Node{x}, Attrs{Axes: ax, KeepDims: keep}, reducedShape(x.shape, ax, keep), x.dtype)
}

// Sum, Mean, Max and LogSumExp reduce over axes (all axes if none given).
func (g *Graph) Sum(x *Node, axes ...int) *Node  { return g.reduce(OpSum, x, false, axes) }
func (g *Graph) Mean(x *Node, axes ...int) *Node { return g.reduce(OpMean, x, false, axes) }
func (g *Graph) Max(x *Node, axes ...int) *Node  { return g.reduce(OpMax, x, false, axes) }
func (g *Graph) LogSumExp(x *Node, axes ...int) *Node {
	return g.reduce(OpLogSumExp, x, false, axes)
}

// SumKeep, MeanKeep, MaxKeep and LogSumExpKeep keep reduced axes as size 1.
func (g *Graph) SumKeep(x *Node, axes ...int) *Node  { return g.reduce(OpSum, x, true, axes) }
func (g *Graph) MeanKeep(x *Node, axes ...int) *Node { return g.reduce(OpMean, x, true, axes) }
func (g *Graph) MaxKeep(x *Node, axes ...int) *Node  { return g.reduce(OpMax, x, true, axes) }
func (g *Graph) LogSumExpKeep(x *Node, axes ...int) *Node {
	return g.reduce(OpLogSumExp, x, true, axes)
}

// ArgMax returns int64 indices of the maximum along axis (first on ties), removing the axis.
func (g *Graph) ArgMax(x *Node, axis int) *Node {
	if !g.usable(OpArgMax, x) {
		return g.poison()
	}
	ax, err := normAxes(x.Rank(), []int{axis})
	if err != nil {
		return g.failShape(OpArgMax, []*Node{x}, "%v", err)
	}
	return g.add(OpArgMax, []*Node{x}, Attrs{Axis: ax[0]}, reducedShape(x.shape, ax, false), tensor.Int64)
}

// ---- Linear algebra and convolutions ---------------------------------------

// MatMul multiplies [m,k]·[k,n].
func (g *Graph) MatMul(a, b *Node) *Node {
	if !g.usable(OpMatMul, a, b) {
		return g.poison()
	}
	if a.Rank() != 2 || b.Rank() != 2 || a.shape[1] != b.shape[0] {
		return g.failShape(OpMatMul, []*Node{a, b}, "want [m,k]·[k,n]")
	}
	if a.dtype != b.dtype || !a.dtype.IsFloat() {
		return g.failShape(OpMatMul, []*Node{a, b}, "needs float operands of one dtype, got %v and %v", a.dtype, b.dtype)
	}
	return g.add(OpMatMul, []*Node{a, b}, Attrs{}, tensor.Shape{a.shape[0], b.shape[1]}, a.dtype)
}

// ConvOptions configures Conv2D and ConvTranspose2D. Zero values mean stride
// 1, no padding, dilation 1, one group.
type ConvOptions struct {
	Stride        [2]int
	Padding       [2]int
	OutputPadding [2]int // transpose only
	Dilation      [2]int
	Groups        int
}

func (o ConvOptions) normalised() ConvOptions {
	for i := range 2 {
		if o.Stride[i] == 0 {
			o.Stride[i] = 1
		}
		if o.Dilation[i] == 0 {
			o.Dilation[i] = 1
		}
	}
	if o.Groups == 0 {
		o.Groups = 1
	}
	return o
}

// ConvOutSize is the output length of a convolution along one axis; it is
// below 1 when the (dilated) kernel does not fit in the padded input.
func ConvOutSize(in, kernel, stride, pad, dilation int) int {
	span := in + 2*pad - dilation*(kernel-1) - 1
	if span < 0 {
		// Go's division truncates toward zero, which would turn a kernel
		// that overhangs the input by less than a stride into one output.
		return 0
	}
	return span/stride + 1
}

// Conv2D convolves x [N,C,H,W] with w [O,C/groups,KH,KW]. Add a bias with Add.
func (g *Graph) Conv2D(x, w *Node, o ConvOptions) *Node {
	const op = OpConv2D
	if !g.usable(op, x, w) {
		return g.poison()
	}
	o = o.normalised()
	in := []*Node{x, w}
	if x.Rank() != 4 || w.Rank() != 4 {
		return g.failShape(op, in, "want x [N,C,H,W] and w [O,C/groups,KH,KW]")
	}
	if x.dtype != w.dtype || !x.dtype.IsFloat() {
		return g.failShape(op, in, "needs float operands of one dtype")
	}
	if o.Groups < 1 || x.shape[1]%o.Groups != 0 || w.shape[0]%o.Groups != 0 {
		return g.failShape(op, in, "groups %d must divide input channels %d and output channels %d", o.Groups, x.shape[1], w.shape[0])
	}
	if w.shape[1]*o.Groups != x.shape[1] {
		return g.failShape(op, in, "weight expects %d input channels, x has %d", w.shape[1]*o.Groups, x.shape[1])
	}
	for i := range 2 {
		if o.Stride[i] < 1 || o.Dilation[i] < 1 || o.Padding[i] < 0 {
			return g.failShape(op, in, "bad stride %v, padding %v or dilation %v", o.Stride, o.Padding, o.Dilation)
		}
	}
	h := ConvOutSize(x.shape[2], w.shape[2], o.Stride[0], o.Padding[0], o.Dilation[0])
	wd := ConvOutSize(x.shape[3], w.shape[3], o.Stride[1], o.Padding[1], o.Dilation[1])
	if h < 1 || wd < 1 {
		return g.failShape(op, in, "output would be %dx%d: kernel larger than padded input", h, wd)
	}
	a := Attrs{Stride: o.Stride[:], Padding: o.Padding[:], Dilation: o.Dilation[:], Groups: o.Groups}
	return g.add(op, in, a, tensor.Shape{x.shape[0], w.shape[0], h, wd}, x.dtype)
}

// ConvTranspose2D is the gradient of Conv2D with respect to its input:
// x [N,C,H,W], w [C,O,KH,KW] (PyTorch layout), one group.
func (g *Graph) ConvTranspose2D(x, w *Node, o ConvOptions) *Node {
	const op = OpConvTranspose2D
	if !g.usable(op, x, w) {
		return g.poison()
	}
	o = o.normalised()
	in := []*Node{x, w}
	if x.Rank() != 4 || w.Rank() != 4 || w.shape[0] != x.shape[1] {
		return g.failShape(op, in, "want x [N,C,H,W] and w [C,O,KH,KW]")
	}
	if x.dtype != w.dtype || !x.dtype.IsFloat() {
		return g.failShape(op, in, "needs float operands of one dtype")
	}
	if o.Groups != 1 {
		return g.failShape(op, in, "only one group is supported, got %d", o.Groups)
	}
	for i := range 2 {
		if o.Stride[i] < 1 || o.Dilation[i] < 1 || o.Padding[i] < 0 || o.OutputPadding[i] < 0 ||
			o.OutputPadding[i] >= max(o.Stride[i], o.Dilation[i]) {
			return g.failShape(op, in, "bad stride %v, padding %v, output padding %v or dilation %v",
				o.Stride, o.Padding, o.OutputPadding, o.Dilation)
		}
	}
	size := func(i int) int {
		return (x.shape[2+i]-1)*o.Stride[i] - 2*o.Padding[i] + o.Dilation[i]*(w.shape[2+i]-1) + o.OutputPadding[i] + 1
	}
	h, wd := size(0), size(1)
	if h < 1 || wd < 1 {
		return g.failShape(op, in, "output would be %dx%d", h, wd)
	}
	a := Attrs{Stride: o.Stride[:], Padding: o.Padding[:], OutputPadding: o.OutputPadding[:], Dilation: o.Dilation[:], Groups: 1}
	return g.add(op, in, a, tensor.Shape{x.shape[0], w.shape[1], h, wd}, x.dtype)
}

// PoolOptions configures the pooling ops; Stride defaults to Kernel.
type PoolOptions struct {
	Kernel  [2]int
	Stride  [2]int
	Padding [2]int
}

func (g *Graph) pool(op Op, x *Node, o PoolOptions) *Node {
	if !g.usable(op, x) {
		return g.poison()
	}
	in := []*Node{x}
	if x.Rank() != 4 || !x.dtype.IsFloat() {
		return g.failShape(op, in, "want a float x [N,C,H,W]")
	}
	for i := range 2 {
		if o.Stride[i] == 0 {
			o.Stride[i] = o.Kernel[i]
		}
		if o.Kernel[i] < 1 || o.Stride[i] < 1 || o.Padding[i] < 0 || 2*o.Padding[i] > o.Kernel[i] {
			return g.failShape(op, in, "bad kernel %v, stride %v or padding %v (padding at most half the kernel)", o.Kernel, o.Stride, o.Padding)
		}
	}
	h := ConvOutSize(x.shape[2], o.Kernel[0], o.Stride[0], o.Padding[0], 1)
	w := ConvOutSize(x.shape[3], o.Kernel[1], o.Stride[1], o.Padding[1], 1)
	if h < 1 || w < 1 {
		return g.failShape(op, in, "output would be %dx%d", h, w)
	}
	a := Attrs{Kernel: o.Kernel[:], Stride: o.Stride[:], Padding: o.Padding[:]}
	return g.add(op, in, a, tensor.Shape{x.shape[0], x.shape[1], h, w}, x.dtype)
}

// MaxPool2D pools the maximum; padding counts as -Inf.
func (g *Graph) MaxPool2D(x *Node, o PoolOptions) *Node { return g.pool(OpMaxPool2D, x, o) }

// AvgPool2D pools the mean; padding counts as zeros in the mean.
func (g *Graph) AvgPool2D(x *Node, o PoolOptions) *Node { return g.pool(OpAvgPool2D, x, o) }

// ---- Structure --------------------------------------------------------------

// Reshape changes the shape; one dimension may be -1 and is inferred.
func (g *Graph) Reshape(x *Node, shape ...int) *Node {
	if !g.usable(OpReshape, x) {
		return g.poison()
	}
	s := slices.Clone(shape)
	infer, known := -1, 1
	for i, d := range s {
		switch {
		case d == -1 && infer < 0:
			infer = i
		case d < 0:
			return g.failShape(OpReshape, []*Node{x}, "bad target shape %v", shape)
		default:
			known *= d
		}
	}
	n := x.shape.NumElements()
	if infer >= 0 {
		if known == 0 || n%known != 0 {
			return g.failShape(OpReshape, []*Node{x}, "cannot infer -1 in %v from %d elements", shape, n)
		}
		s[infer] = n / known
	}
	if tensor.Shape(s).NumElements() != n {
		return g.failShape(OpReshape, []*Node{x}, "target %v has %d elements, x has %d", shape, tensor.Shape(s).NumElements(), n)
	}
	return g.add(OpReshape, []*Node{x}, Attrs{Shape: s}, s, x.dtype)
}

// Flatten reshapes [N, ...] to [N, rest].
func (g *Graph) Flatten(x *Node) *Node {
	if !g.usable(OpReshape, x) {
		return g.poison()
	}
	if x.Rank() < 1 {
		return g.failShape(OpReshape, []*Node{x}, "cannot flatten a scalar")
	}
	return g.Reshape(x, x.shape[0], -1)
}

// Transpose permutes axes: out.shape[i] = x.shape[perm[i]].
func (g *Graph) Transpose(x *Node, perm ...int) *Node {
	if !g.usable(OpTranspose, x) {
		return g.poison()
	}
	if len(perm) != x.Rank() {
		return g.failShape(OpTranspose, []*Node{x}, "permutation %v has the wrong length", perm)
	}
	s := make(tensor.Shape, len(perm))
	seen := make([]bool, len(perm))
	for i, p := range perm {
		if p < 0 || p >= len(perm) || seen[p] {
			return g.failShape(OpTranspose, []*Node{x}, "%v is not a permutation", perm)
		}
		seen[p] = true
		s[i] = x.shape[p]
	}
	return g.add(OpTranspose, []*Node{x}, Attrs{Perm: slices.Clone(perm)}, s, x.dtype)
}

// Concat joins tensors along axis; other dimensions must match.
func (g *Graph) Concat(axis int, xs ...*Node) *Node {
	if !g.usable(OpConcat, xs...) {
		return g.poison()
	}
	if len(xs) == 0 {
		g.Fail(fmt.Errorf("graph %q: concat of nothing", g.name))
		return g.poison()
	}
	ax, err := normAxes(xs[0].Rank(), []int{axis})
	if err != nil {
		return g.failShape(OpConcat, xs, "%v", err)
	}
	out := xs[0].shape.Clone()
	for _, x := range xs[1:] {
		if x.Rank() != len(out) || x.dtype != xs[0].dtype {
			return g.failShape(OpConcat, xs, "ranks or dtypes differ")
		}
		for i := range out {
			if i != ax[0] && x.shape[i] != out[i] {
				return g.failShape(OpConcat, xs, "dimension %d differs", i)
			}
		}
		out[ax[0]] += x.shape[ax[0]]
	}
	return g.add(OpConcat, slices.Clone(xs), Attrs{Axis: ax[0]}, out, xs[0].dtype)
}

// Gather takes slices of x along axis at the int64 indices (numpy.take):
// the result has shape x[:axis] + indices.shape + x[axis+1:]. The gradient
// flows to x (scatter-add), not to the indices.
func (g *Graph) Gather(x, indices *Node, axis int) *Node {
	if !g.usable(OpGather, x, indices) {
		return g.poison()
	}
	in := []*Node{x, indices}
	if indices.dtype != tensor.Int64 {
		return g.failShape(OpGather, in, "indices must be int64, got %v", indices.dtype)
	}
	ax, err := normAxes(x.Rank(), []int{axis})
	if err != nil {
		return g.failShape(OpGather, in, "%v", err)
	}
	a := ax[0]
	s := append(append(x.shape[:a].Clone(), indices.shape...), x.shape[a+1:]...)
	return g.add(OpGather, in, Attrs{Axis: a}, s, x.dtype)
}

// ---- Training behaviour -----------------------------------------------------

// Dropout zeroes elements with probability rate in training (scaling the
// rest by 1/(1-rate)) and is the identity in evaluation.
func (g *Graph) Dropout(x *Node, rate float64) *Node {
	if !g.usable(OpDropout, x) {
		return g.poison()
	}
	if !(rate >= 0 && rate < 1) {
		return g.failShape(OpDropout, []*Node{x}, "rate %g must be in [0, 1)", rate)
	}
	return g.add(OpDropout, []*Node{x}, Attrs{Rate: rate}, x.shape, x.dtype)
}

// ModeSwitch is train in training steps and eval in evaluation. Backends
// resolve it when they compile, so it costs nothing at run time.
func (g *Graph) ModeSwitch(train, eval *Node) *Node {
	if !g.usable(OpModeSwitch, train, eval) {
		return g.poison()
	}
	if !train.shape.Equal(eval.shape) || train.dtype != eval.dtype {
		return g.failShape(OpModeSwitch, []*Node{train, eval}, "branches must have one shape and dtype")
	}
	return g.add(OpModeSwitch, []*Node{train, eval}, Attrs{}, train.shape, train.dtype)
}
