package gorgonia

import (
	"fmt"
	"io"
	"math"

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
}

func (k poolKernel) name() string {
	return [...]string{"max_pool2d", "max_pool2d_grad", "avg_pool2d", "avg_pool2d_grad"}[k.role]
}

func (k poolKernel) writeAttrs(w io.Writer) { attrWriter{w}.ints("geom", k.g.ints()...) }

func (k poolKernel) forward(ctx *runContext, in []G.Value, out G.Value) error {
	switch out.Dtype() {
	case gt.Float32:
		runPool(ctx, k, valuesOf[float32](in), dataOf[float32](out))
	case gt.Float64:
		runPool(ctx, k, valuesOf[float64](in), dataOf[float64](out))
	default:
		return fmt.Errorf("dtype %v is not a float", out.Dtype())
	}
	return nil
}

func runPool[T float](ctx *runContext, k poolKernel, in [][]T, out []T) {
	g := k.g
	hw, ohw := g.h*g.w, g.oh*g.ow
	area := T(g.kh * g.kw) // padding counts in the average
	parallelFor(ctx.threads, g.n, func(n int) {
		for c := range g.c {
			plane := (n*g.c + c)
			for oy := range g.oh {
				for ox := range g.ow {
					y0, y1, x0, x1 := g.window(oy, ox)
					o := plane*ohw + oy*g.ow + ox
					switch k.role {
					case maxPoolForward, maxPoolBackward:
						x := in[0][plane*hw : (plane+1)*hw]
						best, at := T(math.Inf(-1)), -1
						for iy := y0; iy < y1; iy++ {
							for ix := x0; ix < x1; ix++ {
								if v := x[iy*g.w+ix]; at < 0 || v > best || v != v {
									best, at = v, iy*g.w+ix
									if v != v {
										iy, ix = y1, x1 // NaN wins; stop scanning
									}
								}
							}
						}
						if k.role == maxPoolForward {
							out[o] = best
						} else if at >= 0 {
							out[plane*hw+at] += in[1][o]
						}
					case avgPoolForward:
						x := in[0][plane*hw : (plane+1)*hw]
						var s T
						for iy := y0; iy < y1; iy++ {
							for _, v := range x[iy*g.w+x0 : iy*g.w+x1] {
								s += v
							}
						}
						out[o] = s / area
					case avgPoolBackward:
						d := in[0][o] / area
						dx := out[plane*hw : (plane+1)*hw]
						for iy := y0; iy < y1; iy++ {
							row := dx[iy*g.w+x0 : iy*g.w+x1]
							for j := range row {
								row[j] += d
							}
						}
					}
				}
			}
		}
	})
}

func (k poolKernel) diffWRT(n int) []bool {
	if k.role == maxPoolForward || k.role == avgPoolForward {
		return allTrue(n)
	}
	return make([]bool, n)
}

func (k poolKernel) symDiff(ctx *runContext, inputs G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	x := inputs[0]
	var dx *G.Node
	var err error
	switch k.role {
	case maxPoolForward:
		dx, err = applyKernel(ctx, poolKernel{role: maxPoolBackward, g: k.g}, x.Dtype(), nodeShape(x), x, grad)
	case avgPoolForward:
		dx, err = applyKernel(ctx, poolKernel{role: avgPoolBackward, g: k.g}, x.Dtype(), nodeShape(x), grad)
	default:
		return nil, fmt.Errorf("second derivatives of pooling are not supported")
	}
	return G.Nodes{dx}, err
}
