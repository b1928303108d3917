package gorgonia

import (
	"fmt"
	"io"
	"math"
	"slices"

	G "gorgonia.org/gorgonia"
	gt "gorgonia.org/tensor"

	"github.com/icnnlab/icnnlab/sdk/graph"
)

// reduceKernel is sum, mean, max and logsumexp over sorted axes.
type reduceKernel struct {
	op      graph.Op
	axes    []int
	keep    bool
	inShape []int
	// st keeps the float64 sums and logsumexp's maxima across steps.
	st *scratch
}

// keptShape is the input shape with reduced axes set to 1; the output has
// this element layout whether or not the axes are kept.
func keptShape(in, axes []int) []int {
	s := slices.Clone(in)
	for _, a := range axes {
		s[a] = 1
	}
	return s
}

func (k reduceKernel) name() string { return k.op.String() }
func (k reduceKernel) writeAttrs(w io.Writer) {
	a := attrWriter{w}
	a.ints("axes", k.axes...)
	keep := 0
	if k.keep {
		keep = 1
	}
	a.ints("keep", keep)
	a.ints("in", k.inShape...)
}

func (k reduceKernel) forward(_ *runContext, in []G.Value, out G.Value) error {
	switch out.Dtype() {
	case gt.Float32:
		reduceForward(k, dataOf[float32](in[0]), dataOf[float32](out))
	case gt.Float64:
		reduceForward(k, dataOf[float64](in[0]), dataOf[float64](out))
	default:
		return fmt.Errorf("dtype %v is not a float", out.Dtype())
	}
	return nil
}

// reducePlan walks the input contiguously with the output as the first secondary.
func reducePlan(inShape, axes []int) plan {
	return cachedPlan(planReduce, func() plan {
		return newPlan(inShape, broadcastStrides(keptShape(inShape, axes), inShape), make([]int, len(inShape)))
	}, inShape, axes)
}

func reduceForward[T float](k reduceKernel, x, y []T) {
	p := reducePlan(k.inShape, k.axes)
	count := len(x) / max(len(y), 1)
	switch k.op {
	case graph.OpSum, graph.OpMean:
		acc := scratchOrNew[float64](k.st, 0, len(y))
		clear(acc)
		accumulate(p, x, acc, func(v T) float64 { return float64(v) })
		scale := 1.0
		if k.op == graph.OpMean {
			scale = 1 / float64(count)
		}
		for i, s := range acc {
			y[i] = T(s * scale)
		}
	case graph.OpMax:
		maxInto(p, x, y)
	case graph.OpLogSumExp:
		m := scratchOrNew[T](k.st, 1, len(y))
		maxInto(p, x, m)
		acc := scratchOrNew[float64](k.st, 0, len(y))
		clear(acc)
		p.rows(func(o, iy, _, n, inc, _ int) {
			for j, v := range x[o : o+n] {
				mv := m[iy+j*inc]
				if !math.IsInf(float64(mv), 0) {
					acc[iy+j*inc] += float64(expOf(v - mv))
				}
			}
		})
		for i, s := range acc {
			if math.IsInf(float64(m[i]), 0) {
				y[i] = m[i]
				continue
			}
			y[i] = T(float64(m[i]) + math.Log(s))
		}
	}
}

func accumulate[T float](p plan, x []T, acc []float64, f func(T) float64) {
	p.rows(func(o, iy, _, n, inc, _ int) {
		if inc == 0 {
			s := 0.0
			for _, v := range x[o : o+n] {
				s += f(v)
			}
			acc[iy] += s
			return
		}
		for j, v := range x[o : o+n] {
			acc[iy+j*inc] += f(v)
		}
	})
}

func maxInto[T float](p plan, x, y []T) {
	for i := range y {
		y[i] = T(math.Inf(-1))
	}
	p.rows(func(o, iy, _, n, inc, _ int) {
		for j, v := range x[o : o+n] {
			if v > y[iy+j*inc] || v != v { // NaN propagates
				y[iy+j*inc] = v
			}
		}
	})
}

func (k reduceKernel) diffWRT(n int) []bool { return allTrue(n) }

func (k reduceKernel) symDiff(ctx *runContext, inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	x := inputs[0]
	gk := reduceGradKernel{op: k.op, axes: k.axes, inShape: k.inShape}
	children := G.Nodes{grad}
	if k.op == graph.OpMax || k.op == graph.OpLogSumExp {
		children = G.Nodes{x, output, grad}
	}
	dx, err := applyKernel(ctx, gk, x.Dtype(), nodeShape(x), children...)
	return G.Nodes{dx}, err
}

// reduceGradKernel spreads the output gradient back over the reduced axes.
// Inputs: (dy) for sum and mean, (x, y, dy) for max and logsumexp. Max
// shares the gradient equally between tied maxima, as torch.amax does.
type reduceGradKernel struct {
	op      graph.Op
	axes    []int
	inShape []int
}

func (k reduceGradKernel) name() string { return k.op.String() + "_grad" }
func (k reduceGradKernel) writeAttrs(w io.Writer) {
	a := attrWriter{w}
	a.ints("axes", k.axes...)
	a.ints("in", k.inShape...)
}

func (k reduceGradKernel) forward(_ *runContext, in []G.Value, out G.Value) error {
	switch out.Dtype() {
	case gt.Float32:
		var operands [3][]float32
		reduceBackward(k, operandsInto(operands[:0], in), dataOf[float32](out))
	case gt.Float64:
		var operands [3][]float64
		reduceBackward(k, operandsInto(operands[:0], in), dataOf[float64](out))
	default:
		return fmt.Errorf("dtype %v is not a float", out.Dtype())
	}
	return nil
}

func reduceBackward[T float](k reduceGradKernel, in [][]T, dx []T) {
	p := reducePlan(k.inShape, k.axes)
	dy := in[len(in)-1]
	switch k.op {
	case graph.OpSum, graph.OpMean:
		scale := T(1)
		if k.op == graph.OpMean {
			scale = T(float64(len(dy)) / float64(len(dx)))
		}
		p.rows(func(o, iy, _, n, inc, _ int) {
			for j := range n {
				dx[o+j] = dy[iy+j*inc] * scale
			}
		})
	case graph.OpMax:
		x, y := in[0], in[1]
		ties := make([]int, len(y))
		p.rows(func(o, iy, _, n, inc, _ int) {
			for j, v := range x[o : o+n] {
				if v == y[iy+j*inc] {
					ties[iy+j*inc]++
				}
			}
		})
		p.rows(func(o, iy, _, n, inc, _ int) {
			for j, v := range x[o : o+n] {
				if r := iy + j*inc; v == y[r] {
					dx[o+j] = dy[r] / T(ties[r])
				}
			}
		})
	case graph.OpLogSumExp:
		x, y := in[0], in[1]
		p.rows(func(o, iy, _, n, inc, _ int) {
			for j, v := range x[o : o+n] {
				r := iy + j*inc
				dx[o+j] = dy[r] * expOf(v-y[r])
			}
		})
	}
}

func (k reduceGradKernel) diffWRT(n int) []bool { return make([]bool, n) }
func (k reduceGradKernel) symDiff(_ *runContext, _ G.Nodes, _, _ *G.Node) (G.Nodes, error) {
	return nil, fmt.Errorf("second derivatives of %s are not supported", k.op)
}

// ---- argmax ----

type argMaxKernel struct {
	noGradient
	axis    int
	inShape []int
}

func (k argMaxKernel) name() string { return "argmax" }
func (k argMaxKernel) writeAttrs(w io.Writer) {
	a := attrWriter{w}
	a.ints("axis", k.axis)
	a.ints("in", k.inShape...)
}

// overwrites: every output gets an index.
func (argMaxKernel) overwrites() bool { return true }

func (k argMaxKernel) forward(ctx *runContext, in []G.Value, out G.Value) error {
	switch in[0].Dtype() {
	case gt.Float32:
		argMaxParallel(ctx, k, dataOf[float32](in[0]), dataOf[int64](out))
	case gt.Float64:
		argMax(k, dataOf[float64](in[0]), dataOf[int64](out))
	case gt.Int32:
		argMax(k, dataOf[int32](in[0]), dataOf[int64](out))
	case gt.Int64:
		argMax(k, dataOf[int64](in[0]), dataOf[int64](out))
	default:
		return fmt.Errorf("dtype %v is not supported", in[0].Dtype())
	}
	return nil
}

// argMax picks the first maximum along the axis.
func argMax[T number](k argMaxKernel, x []T, idx []int64) {
	argMaxOuter(k, x, idx, 0, numElements(k.inShape[:k.axis]))
}

// argMaxOuter is argMax for the outer indices [oLo, oHi): each output
// depends on its own row only, so ranges can run in parallel.
func argMaxOuter[T number](k argMaxKernel, x []T, idx []int64, oLo, oHi int) {
	size := k.inShape[k.axis]
	inner := numElements(k.inShape[k.axis+1:])
	if inner == 1 {
		// The axis is the innermost: each output scans one contiguous row
		// (no index arithmetic or bounds check per element).
		for o := oLo; o < oHi; o++ {
			row := x[o*size : (o+1)*size]
			best, bestAt := row[0], 0
			for a, v := range row {
				if v > best {
					best, bestAt = v, a
				}
			}
			idx[o] = int64(bestAt)
		}
		return
	}
	for o := oLo; o < oHi; o++ {
		for i := range inner {
			base := o*size*inner + i
			best, bestAt := x[base], 0
			for a := 1; a < size; a++ {
				if v := x[base+a*inner]; v > best {
					best, bestAt = v, a
				}
			}
			idx[o*inner+i] = int64(bestAt)
		}
	}
}
