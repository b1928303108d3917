package gorgonia

import (
	"fmt"
	"io"

	G "gorgonia.org/gorgonia"
	gt "gorgonia.org/tensor"
)

// Convolutions run as im2col + GEMM per image and group, with images spread
// over goroutines. Three kernels share one geometry: the forward pass, the
// gradient with respect to the input (which is also ConvTranspose2D's
// forward pass) and the gradient with respect to the weights.

// convGeom describes a convolution of x [N,C,H,W] with w [O,C/groups,KH,KW].
type convGeom struct {
	n, c, h, w     int
	o, kh, kw      int
	oh, ow         int
	sh, sw, ph, pw int
	dh, dw, groups int
}

func (g convGeom) ints() []int {
	return []int{g.n, g.c, g.h, g.w, g.o, g.kh, g.kw, g.oh, g.ow, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw, g.groups}
}

func (g convGeom) xShape() []int { return []int{g.n, g.c, g.h, g.w} }
func (g convGeom) wShape() []int { return []int{g.o, g.c / g.groups, g.kh, g.kw} }
func (g convGeom) yShape() []int { return []int{g.n, g.o, g.oh, g.ow} }

// colRows is the number of rows of one group's im2col matrix.
func (g convGeom) colRows() int { return g.c / g.groups * g.kh * g.kw }

// convChunks is how many partial weight gradients are summed. It is fixed
// so that results do not depend on the thread count.
const convChunks = 8

type convRole uint8

const (
	convForward    convRole = iota // (x, w) -> y
	convGradInput                  // (w, dy) -> dx
	convGradWeight                 // (x, dy) -> dw
)

type convKernel struct {
	role convRole
	g    convGeom
	st   *scratch // im2col buffers and partial weight gradients; nil: allocate per run
	// cols, on a weight gradient, are the im2col matrices its block's
	// forward pass saved (for the same x, earlier in the same run); nil:
	// rebuilt here.
	cols *savedCols
}

func (k convKernel) name() string {
	return [...]string{"conv2d", "conv2d_grad_input", "conv2d_grad_weight"}[k.role]
}

func (k convKernel) writeAttrs(w io.Writer) {
	attrWriter{w}.ints("geom", k.g.ints()...)
}

func (k convKernel) forward(ctx *runContext, in []G.Value, out G.Value) error {
	switch out.Dtype() {
	case gt.Float32:
		runConv(ctx, k, dataOf[float32](in[0]), dataOf[float32](in[1]), dataOf[float32](out))
	case gt.Float64:
		runConv(ctx, k, dataOf[float64](in[0]), dataOf[float64](in[1]), dataOf[float64](out))
	default:
		return fmt.Errorf("dtype %v is not a float", out.Dtype())
	}
	return nil
}

func runConv[T float](ctx *runContext, k convKernel, a, b, out []T) {
	g := k.g
	cg, og := g.c/g.groups, g.o/g.groups
	rows, ohw := g.colRows(), g.oh*g.ow
	xImg, yImg := g.c*g.h*g.w, g.o*ohw
	parts := chunks(g.n, convChunks)
	st := k.st
	if st == nil {
		st = &scratch{}
	}
	workers := min(ctx.threads, len(parts))
	cols := make([][]T, workers)
	for wk := range cols {
		cols[wk] = scratchFor[T](st, wk, rows*ohw)
	}
	var saved []T
	if k.role == convGradWeight && k.cols != nil {
		if b, ok := k.cols.buf.([]T); ok && len(b) == g.n*g.groups*rows*ohw {
			saved = b
		}
	}
	partial := make([][]T, len(parts))
	if k.role == convGradWeight {
		// Chunk 0 accumulates into out; the others into their own buffer,
		// summed in chunk order afterwards.
		partial[0] = out
		for p := 1; p < len(parts); p++ {
			partial[p] = partialFor[T](st, p, len(out))
			clear(partial[p])
		}
	}
	parallelWorkers(workers, len(parts), func(wk, p int) {
		col := cols[wk]
		dw := partial[p]
		for n := parts[p][0]; n < parts[p][1]; n++ {
			for gi := range g.groups {
				xOff := n*xImg + gi*cg*g.h*g.w
				yOff := n*yImg + gi*og*ohw
				wOff := gi * og * rows
				switch k.role {
				case convForward: // y_g = W_g · col(x_g)
					x, w := a, b
					im2col(g, x[xOff:], cg, col)
					gemm(false, false, og, ohw, rows, w[wOff:], rows, col, ohw, 0, out[yOff:], ohw)
				case convGradInput: // dx_g += col2im(W_gᵀ · dy_g)
					w, dy := a, b
					gemm(true, false, rows, ohw, og, w[wOff:], rows, dy[yOff:], ohw, 0, col, ohw)
					col2im(g, col, cg, out[xOff:])
				case convGradWeight: // dW_g += dy_g · col(x_g)ᵀ
					x, dy := a, b
					if saved != nil {
						col = saved[(n*g.groups+gi)*rows*ohw:][:rows*ohw]
					} else {
						im2col(g, x[xOff:], cg, col)
					}
					gemm(false, true, og, rows, ohw, dy[yOff:], ohw, col, ohw, 1, dw[wOff:], rows)
				}
			}
		}
	})
	if k.role == convGradWeight {
		for _, pw := range partial[1:] {
			for i, v := range pw {
				out[i] += v
			}
		}
	}
}

// im2col lays out the receptive fields of cg channels of one image as a
// [cg·KH·KW, OH·OW] matrix, with zeros for padding.
func im2col[T float](g convGeom, x []T, cg int, col []T) {
	ohw := g.oh * g.ow
	for c := range cg {
		plane := x[c*g.h*g.w : (c+1)*g.h*g.w]
		for ki := range g.kh {
			for kj := range g.kw {
				row := col[((c*g.kh+ki)*g.kw+kj)*ohw:][:ohw]
				ix0 := kj*g.dw - g.pw
				lo, hi := validRange(g.ow, g.w, g.sw, ix0)
				for oy := range g.oh {
					dst := row[oy*g.ow : (oy+1)*g.ow]
					iy := oy*g.sh - g.ph + ki*g.dh
					if iy < 0 || iy >= g.h {
						clear(dst)
						continue
					}
					src := plane[iy*g.w : (iy+1)*g.w]
					clear(dst[:lo])
					switch {
					case g.sw == 1:
						copy(dst[lo:hi], src[lo+ix0:hi+ix0])
					case g.sw == 2 && hi > lo:
						// Resliced so that the loop carries one bounds check.
						gatherEven(dst[lo:hi], src[2*lo+ix0:2*(hi-1)+ix0+1])
					default:
						for ox := lo; ox < hi; ox++ {
							dst[ox] = src[ox*g.sw+ix0]
						}
					}
					clear(dst[hi:])
				}
			}
		}
	}
}

// gatherEven sets d[j] = s[2j]; len(s) must be at least 2·len(d) − 1.
// Four elements per iteration with the bounds checked once per block: the
// one-at-a-time loop it replaces checked every load and ran about 3.5×
// slower (BenchmarkIm2colStride2, conv1 of vggm-112).
func gatherEven[T float](d, s []T) {
	n := len(d)
	if n == 0 {
		return
	}
	s = s[:2*n-1]
	j := 0
	for ; j+4 <= n; j += 4 {
		q := s[2*j : 2*j+7]
		dd := d[j : j+4]
		dd[0], dd[1], dd[2], dd[3] = q[0], q[2], q[4], q[6]
	}
	for ; j < n; j++ {
		d[j] = s[2*j]
	}
}

// col2im adds an im2col-shaped matrix back into the image it came from.
func col2im[T float](g convGeom, col []T, cg int, x []T) {
	ohw := g.oh * g.ow
	for c := range cg {
		plane := x[c*g.h*g.w : (c+1)*g.h*g.w]
		for ki := range g.kh {
			for kj := range g.kw {
				row := col[((c*g.kh+ki)*g.kw+kj)*ohw:][:ohw]
				ix0 := kj*g.dw - g.pw
				lo, hi := validRange(g.ow, g.w, g.sw, ix0)
				for oy := range g.oh {
					iy := oy*g.sh - g.ph + ki*g.dh
					if iy < 0 || iy >= g.h {
						continue
					}
					src := row[oy*g.ow : (oy+1)*g.ow]
					dst := plane[iy*g.w : (iy+1)*g.w]
					if g.sw == 1 {
						d := dst[lo+ix0 : hi+ix0]
						for j, v := range src[lo:hi] {
							d[j] += v
						}
					} else {
						for ox := lo; ox < hi; ox++ {
							dst[ox*g.sw+ix0] += src[ox]
						}
					}
				}
			}
		}
	}
}

// validRange returns the output columns [lo, hi) whose input column
// ox·stride + off lies inside [0, width).
func validRange(outW, width, stride, off int) (lo, hi int) {
	lo = 0
	if off < 0 {
		lo = (-off + stride - 1) / stride
	}
	hi = outW
	if last := width - 1 - off; last < 0 {
		hi = 0
	} else {
		hi = min(outW, last/stride+1)
	}
	if hi < lo {
		hi = lo
	}
	lo = min(lo, outW)
	hi = min(max(hi, lo), outW)
	return lo, hi
}

func (k convKernel) diffWRT(n int) []bool { return allTrue(n) }

// symDiff uses the bilinearity of all three kernels: with G the incoming
// gradient, forward(x,w) differentiates into gradInput(w,G) and
// gradWeight(x,G); gradInput(w,dy) into gradWeight(G,dy) and forward(G,w);
// gradWeight(x,dy) into gradInput(G,dy) and forward(x,G).
func (k convKernel) symDiff(ctx *runContext, inputs G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	a, b := inputs[0], inputs[1]
	mk := func(role convRole, shape []int, dt gt.Dtype, x, y *G.Node) (*G.Node, error) {
		return applyKernel(ctx, convKernel{role: role, g: k.g, st: &scratch{}}, dt, shape, x, y)
	}
	var da, db *G.Node
	var err error
	switch k.role {
	case convForward: // a = x, b = w
		if da, err = mk(convGradInput, k.g.xShape(), a.Dtype(), b, grad); err == nil {
			db, err = mk(convGradWeight, k.g.wShape(), b.Dtype(), a, grad)
		}
	case convGradInput: // a = w, b = dy
		if da, err = mk(convGradWeight, k.g.wShape(), a.Dtype(), grad, b); err == nil {
			db, err = mk(convForward, k.g.yShape(), b.Dtype(), grad, a)
		}
	case convGradWeight: // a = x, b = dy
		if da, err = mk(convGradInput, k.g.xShape(), a.Dtype(), grad, b); err == nil {
			db, err = mk(convForward, k.g.yShape(), b.Dtype(), a, grad)
		}
	}
	if err != nil {
		return nil, err
	}
	return G.Nodes{da, db}, nil
}
