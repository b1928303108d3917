package gorgonia

import (
	"fmt"
	"io"
	"math"

	G "gorgonia.org/gorgonia"
	gt "gorgonia.org/tensor"

	"github.com/icnnlab/icnnlab/sdk/graph"
)

// ---- unary ----

// unaryKernel is every elementwise unary op of the IR except cast.
type unaryKernel struct {
	op            graph.Op
	alpha, lo, hi float64 // leaky relu slope; clamp bounds
}

func (k unaryKernel) name() string { return k.op.String() }

// overwrites: every unary op writes each element.
func (unaryKernel) overwrites() bool { return true }
func (k unaryKernel) writeAttrs(w io.Writer) {
	attrWriter{w}.floats("alh", k.alpha, k.lo, k.hi)
}

func (k unaryKernel) forward(ctx *runContext, in []G.Value, out G.Value) error {
	switch in[0].Dtype() {
	case gt.Float32:
		if k.op == graph.OpExp {
			expSlice(dataOf[float32](out), dataOf[float32](in[0]))
			return nil
		}
		return unaryForwardParallel(ctx, k, dataOf[float32](in[0]), dataOf[float32](out))
	case gt.Float64:
		return unaryForwardParallel(ctx, k, dataOf[float64](in[0]), dataOf[float64](out))
	}
	return fmt.Errorf("dtype %v is not a float", in[0].Dtype())
}

func unaryForward[T float](k unaryKernel, x, y []T) error {
	switch k.op {
	case graph.OpNeg:
		for i, v := range x {
			y[i] = -v
		}
	case graph.OpAbs:
		for i, v := range x {
			y[i] = T(math.Abs(float64(v)))
		}
	case graph.OpExp:
		for i, v := range x {
			y[i] = expOf(v)
		}
	case graph.OpLog:
		for i, v := range x {
			y[i] = T(math.Log(float64(v)))
		}
	case graph.OpSqrt:
		for i, v := range x {
			y[i] = T(math.Sqrt(float64(v)))
		}
	case graph.OpRelu:
		for i, v := range x {
			y[i] = rectify(v)
		}
	case graph.OpSigmoid:
		for i, v := range x {
			// Both branches avoid overflow in exp.
			if v >= 0 {
				y[i] = T(1 / (1 + math.Exp(-float64(v))))
			} else {
				e := math.Exp(float64(v))
				y[i] = T(e / (1 + e))
			}
		}
	case graph.OpTanh:
		for i, v := range x {
			y[i] = T(math.Tanh(float64(v)))
		}
	case graph.OpLeakyRelu:
		a := T(k.alpha)
		for i, v := range x {
			if v > 0 {
				y[i] = v
			} else {
				y[i] = a * v
			}
		}
	case graph.OpClamp:
		for i, v := range x {
			f := float64(v)
			if f < k.lo {
				f = k.lo
			}
			if f > k.hi {
				f = k.hi
			}
			y[i] = T(f)
		}
	case graph.OpRound:
		for i, v := range x {
			y[i] = T(math.Round(float64(v)))
		}
	case graph.OpStopGradient:
		copy(y, x)
	default:
		return fmt.Errorf("not a unary op")
	}
	return nil
}

func (k unaryKernel) diffWRT(n int) []bool {
	if !k.op.Differentiable() {
		return make([]bool, n)
	}
	return allTrue(n)
}

func (k unaryKernel) symDiff(ctx *runContext, inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	if !k.op.Differentiable() {
		return make(G.Nodes, len(inputs)), nil
	}
	x := inputs[0]
	dx, err := applyKernel(ctx, unaryGradKernel(k), x.Dtype(), nodeShape(x), x, output, grad)
	return G.Nodes{dx}, err
}

// unaryGradKernel maps (x, y, dy) to dx for a unary op.
type unaryGradKernel unaryKernel

func (k unaryGradKernel) name() string { return k.op.String() + "_grad" }

// overwrites: every rule writes each dx element, zeros included.
func (unaryGradKernel) overwrites() bool { return true }
func (k unaryGradKernel) writeAttrs(w io.Writer) {
	attrWriter{w}.floats("alh", k.alpha, k.lo, k.hi)
}

func (k unaryGradKernel) forward(ctx *runContext, in []G.Value, out G.Value) error {
	switch in[0].Dtype() {
	case gt.Float32:
		return unaryBackwardParallel(ctx, k, dataOf[float32](in[0]), dataOf[float32](in[1]), dataOf[float32](in[2]), dataOf[float32](out))
	case gt.Float64:
		return unaryBackwardParallel(ctx, k, dataOf[float64](in[0]), dataOf[float64](in[1]), dataOf[float64](in[2]), dataOf[float64](out))
	}
	return fmt.Errorf("dtype %v is not a float", in[0].Dtype())
}

func unaryBackward[T float](k unaryGradKernel, x, y, dy, dx []T) error {
	switch k.op {
	case graph.OpNeg:
		for i, g := range dy {
			dx[i] = -g
		}
	case graph.OpAbs:
		for i, g := range dy {
			switch {
			case x[i] > 0:
				dx[i] = g
			case x[i] < 0:
				dx[i] = -g
			default: // zero or NaN
				dx[i] = 0
			}
		}
	case graph.OpExp:
		for i, g := range dy {
			dx[i] = g * y[i]
		}
	case graph.OpLog:
		for i, g := range dy {
			dx[i] = g / x[i]
		}
	case graph.OpSqrt:
		for i, g := range dy {
			dx[i] = g / (2 * y[i])
		}
	case graph.OpRelu:
		for i, g := range dy {
			dx[i] = keepIf(g, x[i] > 0)
		}
	case graph.OpSigmoid:
		for i, g := range dy {
			dx[i] = g * y[i] * (1 - y[i])
		}
	case graph.OpTanh:
		for i, g := range dy {
			dx[i] = g * (1 - y[i]*y[i])
		}
	case graph.OpLeakyRelu:
		a := T(k.alpha)
		for i, g := range dy {
			if x[i] > 0 {
				dx[i] = g
			} else {
				dx[i] = a * g
			}
		}
	case graph.OpClamp:
		// As PyTorch: the gradient passes where lo <= x <= hi.
		for i, g := range dy {
			if f := float64(x[i]); f >= k.lo && f <= k.hi {
				dx[i] = g
			} else {
				dx[i] = 0
			}
		}
	default:
		return fmt.Errorf("no gradient rule")
	}
	return nil
}

func (k unaryGradKernel) diffWRT(n int) []bool { return make([]bool, n) }
func (k unaryGradKernel) symDiff(_ *runContext, inputs G.Nodes, _, _ *G.Node) (G.Nodes, error) {
	return nil, fmt.Errorf("second derivatives of %s are not supported", k.op)
}

// ---- cast ----

type castKernel struct {
	noGradient
	to gt.Dtype
}

func (k castKernel) name() string           { return "cast" }
func (castKernel) overwrites() bool         { return true }
func (k castKernel) writeAttrs(w io.Writer) { io.WriteString(w, k.to.String()) }

func (k castKernel) forward(_ *runContext, in []G.Value, out G.Value) error {
	switch in[0].Dtype() {
	case gt.Float32:
		return castFrom(dataOf[float32](in[0]), out)
	case gt.Float64:
		return castFrom(dataOf[float64](in[0]), out)
	case gt.Int32:
		return castFrom(dataOf[int32](in[0]), out)
	case gt.Int64:
		return castFrom(dataOf[int64](in[0]), out)
	}
	return fmt.Errorf("cannot cast from %v", in[0].Dtype())
}

func castFrom[S number](x []S, out G.Value) error {
	switch out.Dtype() {
	case gt.Float32:
		castInto(x, dataOf[float32](out))
	case gt.Float64:
		castInto(x, dataOf[float64](out))
	case gt.Int32:
		castInto(x, dataOf[int32](out))
	case gt.Int64:
		castInto(x, dataOf[int64](out))
	default:
		return fmt.Errorf("cannot cast to %v", out.Dtype())
	}
	return nil
}

func castInto[S, D number](x []S, y []D) {
	for i, v := range x {
		y[i] = D(v)
	}
}

// ---- binary with broadcasting ----

type binaryKernel struct {
	op                       graph.Op
	aShape, bShape, outShape []int
}

func (k binaryKernel) name() string   { return k.op.String() }
func (binaryKernel) overwrites() bool { return true }
func (k binaryKernel) writeAttrs(w io.Writer) {
	a := attrWriter{w}
	a.ints("a", k.aShape...)
	a.ints("b", k.bShape...)
}

func (k binaryKernel) forward(ctx *runContext, in []G.Value, out G.Value) error {
	switch out.Dtype() {
	case gt.Float32:
		binaryForwardParallel(ctx, k, dataOf[float32](in[0]), dataOf[float32](in[1]), dataOf[float32](out))
	case gt.Float64:
		binaryForward(k, dataOf[float64](in[0]), dataOf[float64](in[1]), dataOf[float64](out))
	default:
		return fmt.Errorf("dtype %v is not a float", out.Dtype())
	}
	return nil
}

func binaryForward[T float](k binaryKernel, a, b, y []T) {
	p := broadcastPlan(k.outShape, k.aShape, k.bShape)
	op := k.op
	p.rows(func(o, ia, ib, n, inca, incb int) {
		binaryRow(op, a, b, y, o, ia, ib, n, inca, incb)
	})
}

// binaryRow computes one innermost row of a broadcast binary op.
func binaryRow[T float](op graph.Op, a, b, y []T, o, ia, ib, n, inca, incb int) {
	yr := y[o : o+n]
	if inca == 1 && incb == 1 {
		ar, br := a[ia:ia+n], b[ib:ib+n]
		switch op {
		case graph.OpAdd:
			for j := range yr {
				yr[j] = ar[j] + br[j]
			}
		case graph.OpSub:
			for j := range yr {
				yr[j] = ar[j] - br[j]
			}
		case graph.OpMul:
			for j := range yr {
				yr[j] = ar[j] * br[j]
			}
		case graph.OpDiv:
			for j := range yr {
				yr[j] = ar[j] / br[j]
			}
		}
		return
	}
	for j := range yr {
		av, bv := a[ia+j*inca], b[ib+j*incb]
		switch op {
		case graph.OpAdd:
			yr[j] = av + bv
		case graph.OpSub:
			yr[j] = av - bv
		case graph.OpMul:
			yr[j] = av * bv
		case graph.OpDiv:
			yr[j] = av / bv
		}
	}
}

func (k binaryKernel) diffWRT(n int) []bool { return allTrue(n) }

func (k binaryKernel) symDiff(ctx *runContext, inputs G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	a, b := inputs[0], inputs[1]
	grads := make(G.Nodes, 2)
	for which, target := range []*G.Node{a, b} {
		gk := binaryGradKernel{op: k.op, which: which, aShape: k.aShape, bShape: k.bShape, outShape: k.outShape, st: &scratch{}}
		var children G.Nodes
		switch k.op {
		case graph.OpAdd, graph.OpSub:
			children = G.Nodes{grad}
		default:
			children = G.Nodes{a, b, grad}
		}
		g, err := applyKernel(ctx, gk, target.Dtype(), nodeShape(target), children...)
		if err != nil {
			return nil, err
		}
		grads[which] = g
	}
	return grads, nil
}

// binaryGradKernel computes the gradient of a broadcasting binary op with
// respect to operand `which`, summed back over the broadcast axes. Its
// inputs are (dy) for add/sub and (a, b, dy) for mul/div.
type binaryGradKernel struct {
	op                       graph.Op
	which                    int
	aShape, bShape, outShape []int
	// st keeps the broadcast operand's full-size term and its float64
	// sums across steps (slots 0 and 1), so a step allocates neither.
	st *scratch
}

func (k binaryGradKernel) name() string { return fmt.Sprintf("%s_grad%d", k.op, k.which) }

// overwrites: dx is written whole, directly or by sumInto.
func (binaryGradKernel) overwrites() bool { return true }
func (k binaryGradKernel) writeAttrs(w io.Writer) {
	a := attrWriter{w}
	a.ints("which", k.which)
	a.ints("a", k.aShape...)
	a.ints("b", k.bShape...)
	a.ints("o", k.outShape...)
}

func (k binaryGradKernel) forward(_ *runContext, in []G.Value, out G.Value) error {
	switch out.Dtype() {
	case gt.Float32:
		var operands [3][]float32
		binaryBackward(k, operandsInto(operands[:0], in), dataOf[float32](out))
	case gt.Float64:
		var operands [3][]float64
		binaryBackward(k, operandsInto(operands[:0], in), dataOf[float64](out))
	default:
		return fmt.Errorf("dtype %v is not a float", out.Dtype())
	}
	return nil
}

// operandsInto appends the data of each value to dst. Kernels pass a small
// array on their stack as dst, so that a call allocates nothing, where a
// new slice of operands was an allocation per kernel call and step.
func operandsInto[T number](dst [][]T, in []G.Value) [][]T {
	for _, v := range in {
		dst = append(dst, dataOf[T](v))
	}
	return dst
}

func binaryBackward[T float](k binaryGradKernel, in [][]T, dx []T) {
	target := k.aShape
	if k.which == 1 {
		target = k.bShape
	}
	dy := in[len(in)-1]
	// The local derivative times dy, in the output's shape. Where the
	// operand was not broadcast, that is dx itself: no buffer, no copy.
	direct := numElements(target) == len(dy)
	newTerm := func() []T {
		if direct {
			return dx
		}
		return scratchOrNew[T](k.st, 0, len(dy))
	}
	var term []T
	switch k.op {
	case graph.OpAdd:
		term = dy
	case graph.OpSub:
		if k.which == 0 {
			term = dy
		} else {
			term = newTerm()
			for i, g := range dy {
				term[i] = -g
			}
		}
	case graph.OpMul, graph.OpDiv:
		a, b := in[0], in[1]
		term = newTerm()
		p := broadcastPlan(k.outShape, k.aShape, k.bShape)
		op, which := k.op, k.which
		p.rows(func(o, ia, ib, n, inca, incb int) {
			for j := range n {
				av, bv, g := a[ia+j*inca], b[ib+j*incb], dy[o+j]
				switch {
				case op == graph.OpMul && which == 0:
					term[o+j] = g * bv
				case op == graph.OpMul:
					term[o+j] = g * av
				case which == 0:
					term[o+j] = g / bv
				default:
					term[o+j] = -g * av / (bv * bv)
				}
			}
		})
	}
	if direct && len(term) > 0 && &term[0] == &dx[0] {
		return
	}
	sumIntoAcc(term, k.outShape, dx, target, scratchOrNew[float64](k.st, 1, len(dx)))
}

// sumInto adds src (shape srcShape) into dst (shape dstShape, which
// broadcasts to srcShape), summing over the broadcast axes in a fixed
// order. Sums accumulate in float64 so float32 results do not depend on
// how long the reduced axes are.
func sumInto[T float](src []T, srcShape []int, dst []T, dstShape []int) {
	sumIntoAcc(src, srcShape, dst, dstShape, nil)
}

// sumIntoAcc is sumInto with acc (len(dst) float64s, any contents; nil:
// allocated) for the sums.
func sumIntoAcc[T float](src []T, srcShape []int, dst []T, dstShape []int, acc []float64) {
	if numElements(dstShape) == len(src) {
		copy(dst, src)
		return
	}
	if acc == nil {
		acc = make([]float64, len(dst))
	}
	clear(acc)
	p := sumIntoPlan(srcShape, dstShape)
	p.rows(func(o, it, _, n, inct, _ int) {
		if inct == 0 {
			s := 0.0
			for _, v := range src[o : o+n] {
				s += float64(v)
			}
			acc[it] += s
			return
		}
		for j, v := range src[o : o+n] {
			acc[it+j*inct] += float64(v)
		}
	})
	for i, v := range acc {
		dst[i] = T(v)
	}
}

func (k binaryGradKernel) diffWRT(n int) []bool { return make([]bool, n) }
func (k binaryGradKernel) symDiff(_ *runContext, _ G.Nodes, _, _ *G.Node) (G.Nodes, error) {
	return nil, fmt.Errorf("second derivatives of %s are not supported", k.op)
}
