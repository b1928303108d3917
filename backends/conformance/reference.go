package conformance

import (
	"fmt"
	"math"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// The reference evaluator is the oracle of the suite, so it is written for
// obviousness rather than speed: every value is held as float64 whatever its
// dtype (integers up to 2^53 are exact), every op is a plain loop over the
// definition, and float32 rounding happens only where the IR asks for it (a
// cast to float32) and when results are handed back as tensors.

// value is a tensor in the evaluator's working representation.
type value struct {
	dtype tensor.DType
	shape tensor.Shape
	data  []float64
}

func newValue(dt tensor.DType, shape tensor.Shape) value {
	return value{dtype: dt, shape: shape.Clone(), data: make([]float64, shape.NumElements())}
}

func valueOf(t *tensor.Tensor) value {
	v := newValue(t.DType(), t.Shape())
	for i := range v.data {
		v.data[i] = t.Float64At(i)
	}
	return v
}

// tensorOf converts back to the value's dtype (float32 values are rounded to nearest).
func tensorOf(v value) *tensor.Tensor {
	t := tensor.Zeros(v.dtype, v.shape...)
	for i, x := range v.data {
		switch v.dtype {
		case tensor.Float32:
			t.Float32s()[i] = float32(x)
		case tensor.Float64:
			t.Float64s()[i] = x
		case tensor.Int32:
			t.Int32s()[i] = int32(x)
		case tensor.Int64:
			t.Int64s()[i] = int64(x)
		case tensor.Uint8:
			t.Uint8s()[i] = uint8(x)
		case tensor.Bool:
			t.Bools()[i] = x != 0
		}
	}
	return t
}

// Evaluate computes g in plain Go and returns the value of every node needed
// for the graph's outputs, loss and state-update values, keyed by node ID.
// Only the ModeSwitch branch selected by mode is evaluated.
//
// feeds holds every needed input, params every needed parameter (use
// graph.InitParams for a backend's starting point); a state missing from
// states takes its initial value. Dropout is the identity in Eval mode; in
// Train mode only rate 0 can be evaluated, because masks are backend-specific.
//
// Arithmetic is float64 throughout; results come back in each node's dtype.
func Evaluate(g *graph.Graph, feeds, params, states map[string]*tensor.Tensor, mode backends.Mode) (map[int]*tensor.Tensor, error) {
	leaves, err := leafValues(g, feeds, params, states, mode)
	if err != nil {
		return nil, err
	}
	vals, err := evaluator{mode: mode}.run(g, leaves)
	if err != nil {
		return nil, err
	}
	out := make(map[int]*tensor.Tensor, len(vals))
	for id, v := range vals {
		out[id] = tensorOf(v)
	}
	return out, nil
}

// EvaluateOutputs is Evaluate keyed by the graph's output names.
func EvaluateOutputs(g *graph.Graph, feeds, params, states map[string]*tensor.Tensor, mode backends.Mode) (map[string]*tensor.Tensor, error) {
	byID, err := Evaluate(g, feeds, params, states, mode)
	if err != nil {
		return nil, err
	}
	out := map[string]*tensor.Tensor{}
	for _, o := range g.Outputs() {
		out[o.Name] = byID[o.Node.ID()]
	}
	return out, nil
}

// roots are the nodes whose values a graph exists to produce.
func roots(g *graph.Graph) []*graph.Node {
	var rs []*graph.Node
	for _, o := range g.Outputs() {
		rs = append(rs, o.Node)
	}
	if g.Loss() != nil {
		rs = append(rs, g.Loss())
	}
	for _, u := range g.StateUpdates() {
		rs = append(rs, u.Value)
	}
	return rs
}

// needed returns the IDs of the nodes that must be evaluated in mode,
// following only the selected branch of each ModeSwitch.
func needed(g *graph.Graph, mode backends.Mode) map[int]bool {
	seen := map[int]bool{}
	stack := roots(g)
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[n.ID()] {
			continue
		}
		seen[n.ID()] = true
		in := n.Inputs()
		if n.Op() == graph.OpModeSwitch {
			in = in[modeBranch(mode) : modeBranch(mode)+1]
		}
		stack = append(stack, in...)
	}
	return seen
}

// modeBranch is the ModeSwitch operand used in mode: train is operand 0, eval operand 1.
func modeBranch(mode backends.Mode) int {
	if mode == backends.Train {
		return 0
	}
	return 1
}

// leafValues checks and converts the leaves needed in mode.
func leafValues(g *graph.Graph, feeds, params, states map[string]*tensor.Tensor, mode backends.Mode) (map[string]value, error) {
	if err := g.Err(); err != nil {
		return nil, fmt.Errorf("reference evaluator: %w", err)
	}
	need := needed(g, mode)
	if err := backends.CheckFeeds(g, feeds, need); err != nil {
		return nil, fmt.Errorf("reference evaluator: %w", err)
	}
	leaves := map[string]value{}
	for _, n := range g.Nodes() {
		if !need[n.ID()] {
			continue
		}
		name := n.Attrs().Name
		var t *tensor.Tensor
		switch n.Op() {
		case graph.OpInput:
			t = feeds[name]
		case graph.OpParam:
			t = params[name]
			if t == nil {
				return nil, fmt.Errorf("reference evaluator: param %q (%v%v) has no value", name, n.DType(), n.Shape())
			}
		case graph.OpState:
			t = states[name]
			if t == nil {
				t = n.Attrs().Value
			}
		default:
			continue
		}
		if t.DType() != n.DType() || !t.Shape().Equal(n.Shape()) {
			return nil, fmt.Errorf("reference evaluator: %s %q: got %v%v, graph wants %v%v", n.Op(), name, t.DType(), t.Shape(), n.DType(), n.Shape())
		}
		leaves[name] = valueOf(t)
	}
	return leaves, nil
}

// evaluator runs a graph on values. dropout, when set, implements training
// mode dropout (the suite's own tests use it to build a complete backend on
// top of the evaluator); when nil only rate 0 is accepted in training mode.
//
// frozen, when set, gives fixed values to some nodes: finite differences
// freeze the outputs of ops without a gradient (see frozenNodes) so that
// they differentiate the IR's semantics rather than the plain function.
type evaluator struct {
	mode    backends.Mode
	dropout func(n *graph.Node, x value) value
	frozen  map[int]value
}

// frozenNodes picks from vals the outputs of the ops through which no
// gradient flows (round, cast, argmax, stop_gradient).
func frozenNodes(g *graph.Graph, vals map[int]value) map[int]value {
	frozen := map[int]value{}
	for _, n := range g.Nodes() {
		switch n.Op() {
		case graph.OpInput, graph.OpParam, graph.OpState, graph.OpConst:
			continue
		}
		if v, ok := vals[n.ID()]; ok && !n.Op().Differentiable() {
			frozen[n.ID()] = v
		}
	}
	return frozen
}

func (e evaluator) run(g *graph.Graph, leaves map[string]value) (map[int]value, error) {
	need := needed(g, e.mode)
	vals := map[int]value{}
	for _, n := range g.Nodes() {
		if !need[n.ID()] {
			continue
		}
		if v, ok := e.frozen[n.ID()]; ok {
			vals[n.ID()] = v
			continue
		}
		in := make([]value, len(n.Inputs()))
		for i, x := range n.Inputs() {
			if n.Op() == graph.OpModeSwitch && i != modeBranch(e.mode) {
				continue
			}
			in[i] = vals[x.ID()]
		}
		v, err := e.node(n, in, leaves)
		if err != nil {
			return nil, fmt.Errorf("reference evaluator: graph %q: node %v: %w", g.Name(), n, err)
		}
		if !v.shape.Equal(n.Shape()) {
			return nil, fmt.Errorf("reference evaluator: graph %q: node %v: computed shape %v differs from the graph's", g.Name(), n, v.shape)
		}
		v.dtype = n.DType()
		vals[n.ID()] = v
	}
	return vals, nil
}

func (e evaluator) node(n *graph.Node, in []value, leaves map[string]value) (value, error) {
	a := n.Attrs()
	switch n.Op() {
	case graph.OpInput, graph.OpParam, graph.OpState:
		return leaves[a.Name], nil
	case graph.OpConst:
		return valueOf(a.Value), nil

	case graph.OpNeg:
		return mapValue(in[0], func(x float64) float64 { return -x }), nil
	case graph.OpAbs:
		return mapValue(in[0], math.Abs), nil
	case graph.OpExp:
		return mapValue(in[0], math.Exp), nil
	case graph.OpLog:
		return mapValue(in[0], math.Log), nil
	case graph.OpSqrt:
		return mapValue(in[0], math.Sqrt), nil
	case graph.OpRelu:
		return mapValue(in[0], func(x float64) float64 { return math.Max(x, 0) }), nil
	case graph.OpSigmoid:
		return mapValue(in[0], func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }), nil
	case graph.OpTanh:
		return mapValue(in[0], math.Tanh), nil
	case graph.OpLeakyRelu:
		return mapValue(in[0], func(x float64) float64 {
			if x > 0 {
				return x
			}
			return a.Alpha * x
		}), nil
	case graph.OpClamp:
		return mapValue(in[0], func(x float64) float64 { return math.Min(math.Max(x, a.Lo), a.Hi) }), nil
	case graph.OpRound:
		return mapValue(in[0], math.Round), nil // math.Round rounds halves away from zero
	case graph.OpStopGradient:
		return mapValue(in[0], func(x float64) float64 { return x }), nil
	case graph.OpCast:
		return mapValue(in[0], func(x float64) float64 { return castTo(a.DType, x) }), nil

	case graph.OpAdd:
		return broadcast(in[0], in[1], func(x, y float64) float64 { return x + y }), nil
	case graph.OpSub:
		return broadcast(in[0], in[1], func(x, y float64) float64 { return x - y }), nil
	case graph.OpMul:
		return broadcast(in[0], in[1], func(x, y float64) float64 { return x * y }), nil
	case graph.OpDiv:
		return broadcast(in[0], in[1], func(x, y float64) float64 { return x / y }), nil

	case graph.OpSum, graph.OpMean, graph.OpMax, graph.OpLogSumExp:
		return reduce(n.Op(), in[0], a.Axes, n.Shape()), nil
	case graph.OpArgMax:
		return argMax(in[0], a.Axis, n.Shape()), nil

	case graph.OpMatMul:
		return matMul(in[0], in[1]), nil
	case graph.OpConv2D:
		return conv2D(in[0], in[1], a, n.Shape()), nil
	case graph.OpConvTranspose2D:
		return convTranspose2D(in[0], in[1], a, n.Shape()), nil
	case graph.OpMaxPool2D, graph.OpAvgPool2D:
		return pool2D(n.Op(), in[0], a, n.Shape()), nil

	case graph.OpReshape:
		out := newValue(n.DType(), n.Shape())
		copy(out.data, in[0].data)
		return out, nil
	case graph.OpTranspose:
		return transpose(in[0], a.Perm), nil
	case graph.OpConcat:
		return concat(in, a.Axis, n.Shape()), nil
	case graph.OpGather:
		return gather(in[0], in[1], a.Axis, n.Shape())

	case graph.OpDropout:
		if e.mode == backends.Eval || a.Rate == 0 {
			return mapValue(in[0], func(x float64) float64 { return x }), nil
		}
		if e.dropout == nil {
			return value{}, fmt.Errorf("dropout with rate %g in training mode: masks are backend-specific, the reference cannot evaluate it", a.Rate)
		}
		return e.dropout(n, in[0]), nil
	case graph.OpModeSwitch:
		return mapValue(in[modeBranch(e.mode)], func(x float64) float64 { return x }), nil
	}
	return value{}, fmt.Errorf("op %v has no reference implementation", n.Op())
}

// castTo converts one element: to float32 by rounding to nearest, to
// integers by truncation toward zero (as C, Go and PyTorch do).
func castTo(dt tensor.DType, x float64) float64 {
	switch dt {
	case tensor.Float32:
		return float64(float32(x))
	case tensor.Int32, tensor.Int64:
		return math.Trunc(x)
	}
	return x
}

func mapValue(x value, f func(float64) float64) value {
	out := newValue(x.dtype, x.shape)
	for i, v := range x.data {
		out.data[i] = f(v)
	}
	return out
}

// strides are the C-order element strides of shape.
func strides(shape tensor.Shape) []int {
	s := make([]int, len(shape))
	step := 1
	for i := len(shape) - 1; i >= 0; i-- {
		s[i] = step
		step *= shape[i]
	}
	return s
}

// unravel turns a C-order linear index into a multi-index.
func unravel(i int, shape tensor.Shape) []int {
	idx := make([]int, len(shape))
	for d := len(shape) - 1; d >= 0; d-- {
		if shape[d] > 0 {
			idx[d] = i % shape[d]
			i /= shape[d]
		}
	}
	return idx
}

// broadcast applies f elementwise under NumPy broadcasting: dimensions are
// aligned from the right and a dimension of 1 repeats.
func broadcast(a, b value, f func(x, y float64) float64) value {
	outShape, _ := graph.BroadcastShapes(a.shape, b.shape)
	out := newValue(a.dtype, outShape)
	aStrides, bStrides := strides(a.shape), strides(b.shape)
	sourceIndex := func(idx []int, shape tensor.Shape, st []int) int {
		offset := len(idx) - len(shape)
		k := 0
		for d := range shape {
			if shape[d] != 1 {
				k += idx[offset+d] * st[d]
			}
		}
		return k
	}
	for i := range out.data {
		idx := unravel(i, outShape)
		out.data[i] = f(a.data[sourceIndex(idx, a.shape, aStrides)], b.data[sourceIndex(idx, b.shape, bStrides)])
	}
	return out
}

// reduce applies a reduction over axes (sorted, non-negative, as the builder
// stores them). outShape is the node's shape, with or without kept axes.
func reduce(op graph.Op, x value, axes []int, outShape tensor.Shape) value {
	reduced := make([]bool, len(x.shape))
	for _, ax := range axes {
		reduced[ax] = true
	}
	// keptShape has size 1 on reduced axes; its C order equals outShape's.
	keptShape := x.shape.Clone()
	count := 1
	for d := range keptShape {
		if reduced[d] {
			count *= keptShape[d]
			keptShape[d] = 1
		}
	}
	keptStrides := strides(keptShape)
	target := func(i int) int {
		idx := unravel(i, x.shape)
		k := 0
		for d := range idx {
			if !reduced[d] {
				k += idx[d] * keptStrides[d]
			}
		}
		return k
	}

	out := newValue(x.dtype, outShape)
	switch op {
	case graph.OpSum, graph.OpMean:
		for i, v := range x.data {
			out.data[target(i)] += v
		}
		if op == graph.OpMean {
			for i := range out.data {
				out.data[i] /= float64(count)
			}
		}
	case graph.OpMax:
		for i := range out.data {
			out.data[i] = math.Inf(-1)
		}
		for i, v := range x.data {
			t := target(i)
			out.data[t] = math.Max(out.data[t], v)
		}
	case graph.OpLogSumExp:
		// log Σ exp(x) = m + log Σ exp(x - m) with m the maximum, so that
		// large inputs do not overflow.
		m := reduce(graph.OpMax, x, axes, outShape)
		for i, v := range x.data {
			t := target(i)
			out.data[t] += math.Exp(v - m.data[t])
		}
		for i := range out.data {
			if math.IsInf(m.data[i], 0) {
				out.data[i] = m.data[i]
				continue
			}
			out.data[i] = m.data[i] + math.Log(out.data[i])
		}
	}
	return out
}

// outerInner splits shape around axis into the products of the dimensions before and after it.
func outerInner(shape tensor.Shape, axis int) (outer, n, inner int) {
	outer, inner = 1, 1
	for d := range axis {
		outer *= shape[d]
	}
	for d := axis + 1; d < len(shape); d++ {
		inner *= shape[d]
	}
	return outer, shape[axis], inner
}

// argMax is the index of the first maximum along axis.
func argMax(x value, axis int, outShape tensor.Shape) value {
	outer, n, inner := outerInner(x.shape, axis)
	out := newValue(tensor.Int64, outShape)
	for o := range outer {
		for in := range inner {
			best := 0
			for k := 1; k < n; k++ {
				if x.data[(o*n+k)*inner+in] > x.data[(o*n+best)*inner+in] {
					best = k
				}
			}
			out.data[o*inner+in] = float64(best)
		}
	}
	return out
}

func matMul(a, b value) value {
	m, k, n := a.shape[0], a.shape[1], b.shape[1]
	out := newValue(a.dtype, tensor.Shape{m, n})
	for i := range m {
		for j := range n {
			s := 0.0
			for p := range k {
				s += a.data[i*k+p] * b.data[p*n+j]
			}
			out.data[i*n+j] = s
		}
	}
	return out
}

// at4 indexes a rank-4 value.
func at4(v value, i, j, k, l int) float64 {
	s := v.shape
	return v.data[((i*s[1]+j)*s[2]+k)*s[3]+l]
}

// conv2D is the cross-correlation of x [N,C,H,W] with w [O,C/groups,KH,KW]:
// out[n,o,i,j] = Σ x[n, g·C/groups + c, i·s - p + kh·d, j·s - p + kw·d] · w[o,c,kh,kw]
// where g is the group of output channel o; taps in the padding read zero.
func conv2D(x, w value, a *graph.Attrs, outShape tensor.Shape) value {
	out := newValue(x.dtype, outShape)
	N, O, OH, OW := outShape[0], outShape[1], outShape[2], outShape[3]
	H, W := x.shape[2], x.shape[3]
	Cg, KH, KW := w.shape[1], w.shape[2], w.shape[3]
	perGroup := O / a.Groups
	for n := range N {
		for o := range O {
			group := o / perGroup
			for i := range OH {
				for j := range OW {
					s := 0.0
					for c := range Cg {
						for kh := range KH {
							for kw := range KW {
								y := i*a.Stride[0] - a.Padding[0] + kh*a.Dilation[0]
								xx := j*a.Stride[1] - a.Padding[1] + kw*a.Dilation[1]
								if y < 0 || y >= H || xx < 0 || xx >= W {
									continue
								}
								s += at4(x, n, group*Cg+c, y, xx) * at4(w, o, c, kh, kw)
							}
						}
					}
					out.data[((n*O+o)*OH+i)*OW+j] = s
				}
			}
		}
	}
	return out
}

// convTranspose2D is the adjoint of conv2D with respect to its input: every
// input element x[n,c,i,j] scatters x·w[c,o,kh,kw] to out[n,o,i·s - p + kh·d, j·s - p + kw·d];
// output padding only adds rows and columns at the bottom and right.
func convTranspose2D(x, w value, a *graph.Attrs, outShape tensor.Shape) value {
	out := newValue(x.dtype, outShape)
	N, C, H, W := x.shape[0], x.shape[1], x.shape[2], x.shape[3]
	O, KH, KW := w.shape[1], w.shape[2], w.shape[3]
	OH, OW := outShape[2], outShape[3]
	for n := range N {
		for c := range C {
			for i := range H {
				for j := range W {
					xv := at4(x, n, c, i, j)
					for o := range O {
						for kh := range KH {
							for kw := range KW {
								y := i*a.Stride[0] - a.Padding[0] + kh*a.Dilation[0]
								xx := j*a.Stride[1] - a.Padding[1] + kw*a.Dilation[1]
								if y < 0 || y >= OH || xx < 0 || xx >= OW {
									continue
								}
								out.data[((n*O+o)*OH+y)*OW+xx] += xv * at4(w, c, o, kh, kw)
							}
						}
					}
				}
			}
		}
	}
	return out
}

// pool2D pools windows of x [N,C,H,W]. Max pooling treats padding as -Inf;
// average pooling treats it as zeros and always divides by the window size.
func pool2D(op graph.Op, x value, a *graph.Attrs, outShape tensor.Shape) value {
	out := newValue(x.dtype, outShape)
	N, C, OH, OW := outShape[0], outShape[1], outShape[2], outShape[3]
	H, W := x.shape[2], x.shape[3]
	KH, KW := a.Kernel[0], a.Kernel[1]
	for n := range N {
		for c := range C {
			for i := range OH {
				for j := range OW {
					best, sum := math.Inf(-1), 0.0
					for kh := range KH {
						for kw := range KW {
							y := i*a.Stride[0] - a.Padding[0] + kh
							xx := j*a.Stride[1] - a.Padding[1] + kw
							if y < 0 || y >= H || xx < 0 || xx >= W {
								continue
							}
							v := at4(x, n, c, y, xx)
							best = math.Max(best, v)
							sum += v
						}
					}
					k := ((n*C+c)*OH+i)*OW + j
					if op == graph.OpMaxPool2D {
						out.data[k] = best
					} else {
						out.data[k] = sum / float64(KH*KW)
					}
				}
			}
		}
	}
	return out
}

// transpose permutes axes: out[idx] = x[idx'] with idx'[perm[d]] = idx[d].
func transpose(x value, perm []int) value {
	outShape := make(tensor.Shape, len(perm))
	for d, p := range perm {
		outShape[d] = x.shape[p]
	}
	out := newValue(x.dtype, outShape)
	xStrides := strides(x.shape)
	for i := range out.data {
		idx := unravel(i, outShape)
		k := 0
		for d, p := range perm {
			k += idx[d] * xStrides[p]
		}
		out.data[i] = x.data[k]
	}
	return out
}

// concat joins values along axis: for each index before the axis, the
// blocks of each operand follow one another.
func concat(xs []value, axis int, outShape tensor.Shape) value {
	out := newValue(xs[0].dtype, outShape)
	outer, _, _ := outerInner(outShape, axis)
	k := 0
	for o := range outer {
		for _, x := range xs {
			_, n, inner := outerInner(x.shape, axis)
			block := n * inner
			copy(out.data[k:k+block], x.data[o*block:(o+1)*block])
			k += block
		}
	}
	return out
}

// gather is numpy.take(x, indices, axis): out[pre, j..., post] = x[pre, indices[j...], post].
// Indices must lie in [0, x.shape[axis]).
func gather(x, indices value, axis int, outShape tensor.Shape) (value, error) {
	outer, n, inner := outerInner(x.shape, axis)
	m := len(indices.data)
	out := newValue(x.dtype, outShape)
	for j, f := range indices.data {
		if f < 0 || f >= float64(n) {
			return value{}, fmt.Errorf("gather index %g at position %d is outside [0, %d)", f, j, n)
		}
	}
	for o := range outer {
		for j, f := range indices.data {
			src := (o*n + int(f)) * inner
			dst := (o*m + j) * inner
			copy(out.data[dst:dst+inner], x.data[src:src+inner])
		}
	}
	return out, nil
}
