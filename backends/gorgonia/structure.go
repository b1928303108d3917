package gorgonia

import (
	"fmt"
	"io"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
	gt "gorgonia.org/tensor"
)

// copyValue copies src's elements into dst of the same dtype and size.
func copyValue(src, dst G.Value) error {
	switch src.Dtype() {
	case gt.Float32:
		copy(dataOf[float32](dst), dataOf[float32](src))
	case gt.Float64:
		copy(dataOf[float64](dst), dataOf[float64](src))
	case gt.Int32:
		copy(dataOf[int32](dst), dataOf[int32](src))
	case gt.Int64:
		copy(dataOf[int64](dst), dataOf[int64](src))
	default:
		return fmt.Errorf("dtype %v is not supported", src.Dtype())
	}
	return nil
}

// ---- reshape ----

// reshapeKernel copies its input into a new shape (the output shape is part
// of every op's hash). It copies rather than aliasing so that no two
// gorgonia values ever share memory.
type reshapeKernel struct{}

func (reshapeKernel) name() string         { return "reshape" }
func (reshapeKernel) overwrites() bool     { return true }
func (reshapeKernel) writeAttrs(io.Writer) {}
func (reshapeKernel) forward(_ *runContext, in []G.Value, out G.Value) error {
	return copyValue(in[0], out)
}
func (reshapeKernel) diffWRT(n int) []bool { return allTrue(n) }
func (k reshapeKernel) symDiff(ctx *runContext, inputs G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	dx, err := applyKernel(ctx, k, inputs[0].Dtype(), nodeShape(inputs[0]), grad)
	return G.Nodes{dx}, err
}

// ---- transpose ----

type transposeKernel struct {
	perm    []int
	inShape []int
}

func (k transposeKernel) name() string { return "transpose" }

// overwrites: the plan's rows cover every output element.
func (transposeKernel) overwrites() bool { return true }
func (k transposeKernel) writeAttrs(w io.Writer) {
	a := attrWriter{w}
	a.ints("perm", k.perm...)
	a.ints("in", k.inShape...)
}

func (k transposeKernel) outShape() []int {
	s := make([]int, len(k.perm))
	for i, p := range k.perm {
		s[i] = k.inShape[p]
	}
	return s
}

func (k transposeKernel) forward(_ *runContext, in []G.Value, out G.Value) error {
	switch out.Dtype() {
	case gt.Float32:
		transpose(k, dataOf[float32](in[0]), dataOf[float32](out))
	case gt.Float64:
		transpose(k, dataOf[float64](in[0]), dataOf[float64](out))
	case gt.Int32:
		transpose(k, dataOf[int32](in[0]), dataOf[int32](out))
	case gt.Int64:
		transpose(k, dataOf[int64](in[0]), dataOf[int64](out))
	default:
		return fmt.Errorf("dtype %v is not supported", out.Dtype())
	}
	return nil
}

func transpose[T number](k transposeKernel, x, y []T) {
	p := cachedPlan(planTranspose, func() plan {
		inStrides := stridesOf(k.inShape)
		sa := make([]int, len(k.perm))
		for i, p := range k.perm {
			sa[i] = inStrides[p]
		}
		return newPlan(k.outShape(), sa, make([]int, len(sa)))
	}, k.inShape, k.perm)
	p.rows(func(o, ia, _, n, inca, _ int) {
		if inca == 1 { // the innermost axis stays in place: a row copy
			copy(y[o:o+n], x[ia:ia+n])
			return
		}
		for j := range n {
			y[o+j] = x[ia+j*inca]
		}
	})
}

func (k transposeKernel) diffWRT(n int) []bool { return allTrue(n) }
func (k transposeKernel) symDiff(ctx *runContext, inputs G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	inv := make([]int, len(k.perm))
	for i, p := range k.perm {
		inv[p] = i
	}
	back := transposeKernel{perm: inv, inShape: k.outShape()}
	dx, err := applyKernel(ctx, back, inputs[0].Dtype(), nodeShape(inputs[0]), grad)
	return G.Nodes{dx}, err
}

// ---- concat and its gradient, slice ----

type concatKernel struct {
	axis   int
	shapes [][]int
}

func (k concatKernel) name() string { return "concat" }
func (k concatKernel) writeAttrs(w io.Writer) {
	a := attrWriter{w}
	a.ints("axis", k.axis)
	for _, s := range k.shapes {
		a.ints("in", s...)
	}
}

// blocks returns how many outer blocks there are and each input's block length.
func (k concatKernel) blocks() (outer int, lens []int) {
	outer = numElements(k.shapes[0][:k.axis])
	for _, s := range k.shapes {
		lens = append(lens, numElements(s[k.axis:]))
	}
	return outer, lens
}

func (k concatKernel) forward(_ *runContext, in []G.Value, out G.Value) error {
	switch out.Dtype() {
	case gt.Float32:
		var operands [4][]float32
		concat(k, operandsInto(operands[:0], in), dataOf[float32](out))
	case gt.Float64:
		var operands [4][]float64
		concat(k, operandsInto(operands[:0], in), dataOf[float64](out))
	case gt.Int32:
		var operands [4][]int32
		concat(k, operandsInto(operands[:0], in), dataOf[int32](out))
	case gt.Int64:
		var operands [4][]int64
		concat(k, operandsInto(operands[:0], in), dataOf[int64](out))
	default:
		return fmt.Errorf("dtype %v is not supported", out.Dtype())
	}
	return nil
}

func concat[T number](k concatKernel, in [][]T, y []T) {
	outer, lens := k.blocks()
	o := 0
	for b := range outer {
		for i, x := range in {
			o += copy(y[o:], x[b*lens[i]:(b+1)*lens[i]])
		}
	}
}

func (k concatKernel) diffWRT(n int) []bool { return allTrue(n) }
func (k concatKernel) symDiff(ctx *runContext, inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	grads := make(G.Nodes, len(inputs))
	start := 0
	for i, x := range inputs {
		sk := sliceKernel{axis: k.axis, start: start, inShape: nodeShape(output)}
		start += k.shapes[i][k.axis]
		g, err := applyKernel(ctx, sk, x.Dtype(), nodeShape(x), grad)
		if err != nil {
			return nil, err
		}
		grads[i] = g
	}
	return grads, nil
}

// sliceKernel takes out.shape[axis] entries starting at start along axis.
type sliceKernel struct {
	axis, start int
	inShape     []int
}

func (k sliceKernel) name() string { return "slice" }
func (k sliceKernel) writeAttrs(w io.Writer) {
	a := attrWriter{w}
	a.ints("axis", k.axis, k.start)
	a.ints("in", k.inShape...)
}

func (k sliceKernel) forward(_ *runContext, in []G.Value, out G.Value) error {
	switch out.Dtype() {
	case gt.Float32:
		slice(k, dataOf[float32](in[0]), dataOf[float32](out))
	case gt.Float64:
		slice(k, dataOf[float64](in[0]), dataOf[float64](out))
	default:
		return fmt.Errorf("dtype %v is not a float", out.Dtype())
	}
	return nil
}

func slice[T number](k sliceKernel, x, y []T) {
	outer := numElements(k.inShape[:k.axis])
	inner := numElements(k.inShape[k.axis+1:])
	inBlock := k.inShape[k.axis] * inner
	outBlock := len(y) / max(outer, 1)
	for b := range outer {
		copy(y[b*outBlock:(b+1)*outBlock], x[b*inBlock+k.start*inner:])
	}
}

func (k sliceKernel) diffWRT(n int) []bool { return make([]bool, n) }
func (k sliceKernel) symDiff(*runContext, G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, fmt.Errorf("second derivatives of concat are not supported")
}

// ---- gather (numpy.take) and its gradient, scatter-add ----

type gatherKernel struct {
	axis             int
	xShape, idxShape []int
	scatter          bool // false: (x, idx) -> y; true: (idx, dy) -> dx
}

func (k gatherKernel) name() string {
	if k.scatter {
		return "gather_grad"
	}
	return "gather"
}

// overwrites: gathering copies a block into every output position;
// scattering adds into dx and needs it zeroed.
func (k gatherKernel) overwrites() bool { return !k.scatter }

func (k gatherKernel) writeAttrs(w io.Writer) {
	a := attrWriter{w}
	a.ints("axis", k.axis)
	a.ints("x", k.xShape...)
	a.ints("idx", k.idxShape...)
}

func (k gatherKernel) forward(_ *runContext, in []G.Value, out G.Value) error {
	idxV, dataV := in[1], in[0]
	if k.scatter {
		idxV, dataV = in[0], in[1]
	}
	idx := dataOf[int64](idxV)
	switch out.Dtype() {
	case gt.Float32:
		return gather(k, dataOf[float32](dataV), idx, dataOf[float32](out))
	case gt.Float64:
		return gather(k, dataOf[float64](dataV), idx, dataOf[float64](out))
	case gt.Int32:
		return gather(k, dataOf[int32](dataV), idx, dataOf[int32](out))
	case gt.Int64:
		return gather(k, dataOf[int64](dataV), idx, dataOf[int64](out))
	}
	return fmt.Errorf("dtype %v is not supported", out.Dtype())
}

// gather copies (or, scattering, adds back) blocks of x selected by idx;
// negative indices count from the end, as in numpy.take.
func gather[T number](k gatherKernel, src []T, idx []int64, dst []T) error {
	outer := numElements(k.xShape[:k.axis])
	size := k.xShape[k.axis]
	inner := numElements(k.xShape[k.axis+1:])
	m := len(idx)
	for b := range outer {
		for j, i := range idx {
			if i < 0 {
				i += int64(size)
			}
			if i < 0 || i >= int64(size) {
				return fmt.Errorf("index %d is out of range for axis %d of size %d", idx[j], k.axis, size)
			}
			xOff := (b*size + int(i)) * inner
			yOff := (b*m + j) * inner
			if k.scatter {
				d := dst[xOff : xOff+inner]
				for t, v := range src[yOff : yOff+inner] {
					d[t] += v
				}
			} else {
				copy(dst[yOff:yOff+inner], src[xOff:xOff+inner])
			}
		}
	}
	return nil
}

func (k gatherKernel) diffWRT(n int) []bool {
	if k.scatter {
		return make([]bool, n)
	}
	return []bool{true, false}
}

func (k gatherKernel) symDiff(ctx *runContext, inputs G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	if k.scatter {
		return nil, fmt.Errorf("second derivatives of gather are not supported")
	}
	x, idx := inputs[0], inputs[1]
	back := gatherKernel{axis: k.axis, xShape: k.xShape, idxShape: k.idxShape, scatter: true}
	dx, err := applyKernel(ctx, back, x.Dtype(), nodeShape(x), idx, grad)
	return G.Nodes{dx, nil}, err
}

// ---- dropout ----

// dropoutKernel zeroes each element with probability rate and scales the
// rest by 1/(1-rate). The mask depends only on (seed, step, IR node id), so
// the backward pass (the same kernel applied to the gradient) sees the same
// mask, and a resumed run repeats it exactly.
type dropoutKernel struct {
	rate   float64
	nodeID int
}

func (k dropoutKernel) name() string { return "dropout" }
func (k dropoutKernel) writeAttrs(w io.Writer) {
	a := attrWriter{w}
	a.floats("rate", k.rate)
	a.ints("node", k.nodeID)
}

func (k dropoutKernel) forward(ctx *runContext, in []G.Value, out G.Value) error {
	switch out.Dtype() {
	case gt.Float32:
		dropout(ctx, k, dataOf[float32](in[0]), dataOf[float32](out))
	case gt.Float64:
		dropout(ctx, k, dataOf[float64](in[0]), dataOf[float64](out))
	default:
		return fmt.Errorf("dtype %v is not a float", out.Dtype())
	}
	return nil
}

func dropout[T float](ctx *runContext, k dropoutKernel, x, y []T) {
	step := uint64(*ctx.step)
	// The PCG source is used directly, a value on the stack, and its
	// draws turned into floats exactly as rand.Rand.Float64 does; a
	// rand.Rand around a new source cost two allocations per call.
	src := rand.NewPCG(ctx.seed^0x5851f42d4c957f2d, step*0x9e3779b97f4a7c15^uint64(k.nodeID))
	scale := T(1 / (1 - k.rate))
	for i, v := range x {
		if float64(src.Uint64()<<11>>11)/(1<<53) >= k.rate {
			y[i] = v * scale
		}
	}
}

func (k dropoutKernel) diffWRT(n int) []bool { return allTrue(n) }
func (k dropoutKernel) symDiff(ctx *runContext, inputs G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	dx, err := applyKernel(ctx, k, inputs[0].Dtype(), nodeShape(inputs[0]), grad)
	return G.Nodes{dx}, err
}
