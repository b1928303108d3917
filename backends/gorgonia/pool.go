package gorgonia

import (
	"fmt"
	"io"

	G "gorgonia.org/gorgonia"
	gt "gorgonia.org/tensor"
)

// poolGeom describes pooling of x [N,C,H,W] into [N,C,OH,OW].
type poolGeom struct {
	n, c, h, w     int
	kh, kw, sh, sw int
	ph, pw, oh, ow int
}

func (g poolGeom) ints() []int {
	return []int{g.n, g.c, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.oh, g.ow}
}

// window returns the in-bounds rows [y0,y1) and columns [x0,x1) of output (oy, ox).
func (g poolGeom) window(oy, ox int) (y0, y1, x0, x1 int) {
	y0, x0 = oy*g.sh-g.ph, ox*g.sw-g.pw
	y1, x1 = min(y0+g.kh, g.h), min(x0+g.kw, g.w)
	return max(y0, 0), y1, max(x0, 0), x1
}

type poolRole uint8

const (
	maxPoolForward  poolRole = iota // (x) -> y
	maxPoolBackward                 // (x, dy) -> dx
	avgPoolForward                  // (x) -> y
	avgPoolBackward                 // (dy) -> dx
)

type poolKernel struct {
	role poolRole
	g    poolGeom
	// arg, on max pooling, is shared by the forward kernel and its
	// gradient: the forward pass records each window's winner there so
	// that the backward pass scatters without rescanning the windows.
	// Never part of a hash.
	arg *poolArgmax
	// st keeps the kernel's parallel loop across runs; nil: made per run.
	st *scratch
}

// poolArgmax holds, per pooled element, the index of its window's first
// maximum within its channel plane, written by a max-pool forward pass for
// the gradient of the same run. keep is set when the pool is differentiated.
type poolArgmax struct {
	keep bool
	idx  []int32
	// rows is each worker's scratch for maxPoolPlane32's row pass, kept
	// across steps.
	rows [][]int32
}

func (k poolKernel) name() string {
	return [...]string{"max_pool2d", "max_pool2d_grad", "avg_pool2d", "avg_pool2d_grad"}[k.role]
}

func (k poolKernel) writeAttrs(w io.Writer) { attrWriter{w}.ints("geom", k.g.ints()...) }

func (k poolKernel) forward(ctx *runContext, in []G.Value, out G.Value) error {
	switch out.Dtype() {
	case gt.Float32:
		runPool[float32](ctx, k, in, dataOf[float32](out))
	case gt.Float64:
		runPool[float64](ctx, k, in, dataOf[float64](out))
	default:
		return fmt.Errorf("dtype %v is not a float", out.Dtype())
	}
	return nil
}

func runPool[T float](ctx *runContext, k poolKernel, values []G.Value, out []T) {
	g := k.g
	ohw := g.oh * g.ow
	st := k.st
	if st == nil {
		st = &scratch{}
	}
	l := keptLoop[poolLoop[T]](st, loopPool)
	l.k, l.out = k, out
	l.in = resized(l.in, len(values))
	for i, v := range values {
		l.in[i] = dataOf[T](v)
	}
	in := l.in
	// Column bounds of every window, computed once.
	l.x0s, l.x1s = resized(l.x0s, g.ow), resized(l.x1s, g.ow)
	for ox := range g.ow {
		_, _, l.x0s[ox], l.x1s[ox] = g.window(0, ox)
	}
	// The argmax of the forward pass, when it keeps one for its gradient
	// (allocated before the workers start).
	l.arg = nil
	if k.arg != nil && k.arg.keep {
		switch k.role {
		case maxPoolForward:
			if len(k.arg.idx) != g.n*g.c*ohw {
				k.arg.idx = make([]int32, g.n*g.c*ohw)
			}
			l.arg = k.arg.idx
		case maxPoolBackward:
			if len(k.arg.idx) == g.n*g.c*ohw && len(in) == 3 {
				l.arg = k.arg.idx
			}
		}
	}
	// float32 max-pooling forward runs maxPoolPlane32 with per-worker
	// scratch (allocated before the workers start).
	out32, fast := any(out).([]float32)
	l.out32, l.fast = out32, fast && k.role == maxPoolForward && k.arg != nil
	workers := min(ctx.threads, g.n)
	if l.fast {
		if len(k.arg.rows) < workers {
			k.arg.rows = append(k.arg.rows, make([][]int32, workers-len(k.arg.rows))...)
		}
		for w := range workers {
			if len(k.arg.rows[w]) != 2*poolRowScratch(g) {
				k.arg.rows[w] = make([]int32, 2*poolRowScratch(g))
			}
		}
	}
	if l.body == nil {
		l.body = l.run
	}
	parallelWorkers(workers, g.n, l.body)
	// Drop the call's operands: the kernel outlives them.
	clear(l.in)
	l.out, l.out32, l.arg = nil, nil, nil
}

// poolLoop is runPool's parallel loop over images, kept by the kernel
// (keptLoop).
type poolLoop[T float] struct {
	k        poolKernel
	in       [][]T
	out      []T
	out32    []float32 // out, when T is float32
	fast     bool      // float32 max-pooling forward: maxPoolPlane32
	x0s, x1s []int     // column bounds of every window
	arg      []int32   // the forward pass's argmax, when kept
	body     func(worker, n int)
}

// run pools (or routes the gradient of) image n's planes as worker.
func (l *poolLoop[T]) run(worker, n int) {
	k, g := l.k, l.k.g
	hw, ohw := g.h*g.w, g.oh*g.ow
	in, out, out32, fast, arg, x0s, x1s := l.in, l.out, l.out32, l.fast, l.arg, l.x0s, l.x1s
	for c := range g.c {
		plane := n*g.c + c
		switch k.role {
		case maxPoolForward:
			var at []int32
			if arg != nil {
				at = arg[plane*ohw : (plane+1)*ohw]
			}
			if fast {
				src := any(in[0]).([]float32)[plane*hw : (plane+1)*hw]
				rows := k.arg.rows[worker]
				half := poolRowScratch(g)
				maxPoolPlane32(g, x0s, x1s, src, out32[plane*ohw:(plane+1)*ohw], at, rows[:half], rows[half:])
				continue
			}
			src := in[0][plane*hw : (plane+1)*hw]
			maxPoolPlane(g, x0s, x1s, src, out[plane*ohw:(plane+1)*ohw], nil, nil, at)
		case maxPoolBackward:
			dy := in[len(in)-1][plane*ohw : (plane+1)*ohw]
			dx := out[plane*hw : (plane+1)*hw]
			clear(dx) // here rather than before the kernel: one pass, in cache
			if arg != nil {
				for o, at := range arg[plane*ohw : (plane+1)*ohw] {
					dx[at] += dy[o]
				}
				continue
			}
			src := in[0][plane*hw : (plane+1)*hw]
			maxPoolPlane(g, x0s, x1s, src, nil, dy, dx, nil)
		case avgPoolForward:
			src := in[0][plane*hw : (plane+1)*hw]
			avgPoolPlane(g, x0s, x1s, src, out[plane*ohw:(plane+1)*ohw])
		case avgPoolBackward:
			dy := in[0][plane*ohw : (plane+1)*ohw]
			clear(out[plane*hw : (plane+1)*hw])
			avgPoolGradPlane(g, x0s, x1s, dy, out[plane*hw:(plane+1)*hw])
		}
	}
}

// maxPoolPlane pools one plane into y or, when y is nil, routes dy to the
// first maximum of each window in dx (as PyTorch does). Padding never wins.
// When pooling, arg (if not nil) receives each window's winner.
func maxPoolPlane[T float](g poolGeom, x0s, x1s []int, x, y, dy, dx []T, arg []int32) {
	if g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2 && g.ph == 0 && g.pw == 0 {
		maxPool2x2Plane(g, x, y, dy, dx, arg)
		return
	}
	for oy := range g.oh {
		y0, y1, _, _ := g.window(oy, 0)
		for ox := range g.ow {
			x0, x1 := x0s[ox], x1s[ox]
			at := y0*g.w + x0
			best := x[at]
		scan:
			for iy := y0; iy < y1; iy++ {
				row := x[iy*g.w : iy*g.w+x1]
				for ix := x0; ix < x1; ix++ {
					if v := row[ix]; v > best || v != v {
						best, at = v, iy*g.w+ix
						if v != v {
							break scan // NaN wins
						}
					}
				}
			}
			if y != nil {
				y[oy*g.ow+ox] = best
				if arg != nil {
					arg[oy*g.ow+ox] = int32(at)
				}
			} else {
				dx[at] += dy[oy*g.ow+ox]
			}
		}
	}
}

// maxPool2x2Plane is maxPoolPlane for the common 2x2, stride 2, unpadded
// case, with the same first-maximum and NaN rules.
func maxPool2x2Plane[T float](g poolGeom, x, y, dy, dx []T, arg []int32) {
	for oy := range g.oh {
		r0 := x[2*oy*g.w : (2*oy+1)*g.w]
		r1 := x[(2*oy+1)*g.w : (2*oy+2)*g.w]
		for ox := range g.ow {
			c := 2 * ox
			best, at := r0[c], 0
			for k, v := range [3]T{r0[c+1], r1[c], r1[c+1]} {
				if v > best || (v != v && best == best) {
					best, at = v, k+1
				}
			}
			row := 2*oy + at/2
			if y != nil {
				y[oy*g.ow+ox] = best
				if arg != nil {
					arg[oy*g.ow+ox] = int32(row*g.w + c + at%2)
				}
				continue
			}
			dx[row*g.w+c+at%2] += dy[oy*g.ow+ox]
		}
	}
}

// avgPoolPlane averages each window; padding counts as zeros.
func avgPoolPlane[T float](g poolGeom, x0s, x1s []int, x, y []T) {
	area := T(g.kh * g.kw)
	for oy := range g.oh {
		y0, y1, _, _ := g.window(oy, 0)
		for ox := range g.ow {
			var s T
			for iy := y0; iy < y1; iy++ {
				for _, v := range x[iy*g.w+x0s[ox] : iy*g.w+x1s[ox]] {
					s += v
				}
			}
			y[oy*g.ow+ox] = s / area
		}
	}
}

func avgPoolGradPlane[T float](g poolGeom, x0s, x1s []int, dy, dx []T) {
	area := T(g.kh * g.kw)
	for oy := range g.oh {
		y0, y1, _, _ := g.window(oy, 0)
		for ox := range g.ow {
			d := dy[oy*g.ow+ox] / area
			for iy := y0; iy < y1; iy++ {
				row := dx[iy*g.w+x0s[ox] : iy*g.w+x1s[ox]]
				for j := range row {
					row[j] += d
				}
			}
		}
	}
}

// overwrites is true for every role: the forward passes write every
// output, and the gradients clear each plane just before they scatter into
// it, while it is in cache, instead of a separate pass over the whole
// output before the kernel.
func (k poolKernel) overwrites() bool { return true }

func (k poolKernel) diffWRT(n int) []bool {
	if k.role == maxPoolForward || k.role == avgPoolForward {
		return allTrue(n)
	}
	return make([]bool, n)
}

func (k poolKernel) symDiff(ctx *runContext, inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	x := inputs[0]
	var dx *G.Node
	var err error
	switch k.role {
	case maxPoolForward:
		if k.arg == nil {
			dx, err = applyKernel(ctx, poolKernel{role: maxPoolBackward, g: k.g, st: &scratch{}}, x.Dtype(), nodeShape(x), x, grad)
			break
		}
		// Reading the forward output orders this kernel after the forward
		// pass, which leaves the argmax it scatters through.
		k.arg.keep = true
		dx, err = applyKernel(ctx, poolKernel{role: maxPoolBackward, g: k.g, arg: k.arg, st: &scratch{}}, x.Dtype(), nodeShape(x), x, output, grad)
	case avgPoolForward:
		dx, err = applyKernel(ctx, poolKernel{role: avgPoolBackward, g: k.g, st: &scratch{}}, x.Dtype(), nodeShape(x), grad)
	default:
		return nil, fmt.Errorf("second derivatives of pooling are not supported")
	}
	return G.Nodes{dx}, err
}
