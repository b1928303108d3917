package gorgonia

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
	G "gorgonia.org/gorgonia"
	gt "gorgonia.org/tensor"
)

// referenceMaxPool pools one plane by scanning each window in row-major
// order: the first maximum wins, and the first NaN wins over everything.
// It returns the pooled values' bits (so NaNs compare) and each window's
// winner as an index into the plane.
func referenceMaxPool(g poolGeom, x []float32) (bits []uint32, at []int32) {
	for oy := range g.oh {
		for ox := range g.ow {
			best, bestAt := float32(0), -1
			for iy := oy*g.sh - g.ph; iy < oy*g.sh-g.ph+g.kh; iy++ {
				for ix := ox*g.sw - g.pw; ix < ox*g.sw-g.pw+g.kw; ix++ {
					if iy < 0 || iy >= g.h || ix < 0 || ix >= g.w {
						continue // padding never wins
					}
					v := x[iy*g.w+ix]
					bestNaN := bestAt >= 0 && math.IsNaN(float64(best))
					if bestAt < 0 || (!bestNaN && (math.IsNaN(float64(v)) || v > best)) {
						best, bestAt = v, iy*g.w+ix
					}
				}
			}
			bits = append(bits, math.Float32bits(best))
			at = append(at, int32(bestAt))
		}
	}
	return bits, at
}

func poolGeomOf(n, c, h, w, k, s, p int) poolGeom {
	return poolGeom{n: n, c: c, h: h, w: w, kh: k, kw: k, sh: s, sw: s, ph: p, pw: p,
		oh: (h+2*p-k)/s + 1, ow: (w+2*p-k)/s + 1}
}

// TestMaxPoolMatchesReference checks the float32 max-pooling forward pass
// (values and recorded winners) and its gradient against referenceMaxPool
// on odd sizes, padding, ties, signed zeros, infinities and NaNs, at one
// and two threads.
func TestMaxPoolMatchesReference(t *testing.T) {
	geoms := []poolGeom{
		poolGeomOf(2, 3, 53, 53, 3, 2, 0), // vggm-112's pool1 shape, smaller batch
		poolGeomOf(3, 2, 12, 12, 3, 2, 0), // pool5
		poolGeomOf(2, 2, 17, 34, 3, 2, 0), // even width: the plane as one long row
		poolGeomOf(1, 2, 9, 40, 3, 2, 1),
		poolGeomOf(2, 2, 7, 9, 3, 2, 1),
		poolGeomOf(2, 1, 8, 8, 2, 2, 0),
		poolGeomOf(1, 2, 5, 7, 2, 1, 1),
		poolGeomOf(1, 1, 1, 1, 1, 1, 0),
		poolGeomOf(1, 2, 6, 5, 3, 3, 1),
		poolGeomOf(2, 1, 9, 4, 4, 1, 2),
	}
	// Values drawn from a small set so that windows tie, with signed zeros,
	// infinities and (one of each sign) NaNs mixed in.
	pool := []float32{-1, 0, float32(math.Copysign(0, -1)), 1, 2, -2, float32(math.Inf(1)), float32(math.Inf(-1)), -3.5}
	negNaN := math.Float32frombits(0xffc00001)
	posNaN := math.Float32frombits(0x7fc00002)
	for _, g := range geoms {
		for _, nan := range []bool{false, true} {
			for _, threads := range []int{1, 2} {
				t.Run(fmt.Sprintf("%v/nan=%v/threads=%d", g.ints(), nan, threads), func(t *testing.T) {
					rng := rand.New(rand.NewPCG(uint64(g.h), uint64(g.w)))
					x := newValue(gt.Float32, []int{g.n, g.c, g.h, g.w})
					xs := dataOf[float32](x)
					for i := range xs {
						xs[i] = pool[rng.IntN(len(pool))]
						if nan && rng.IntN(10) == 0 {
							xs[i] = []float32{negNaN, posNaN}[rng.IntN(2)]
						}
					}
					ctx := &runContext{threads: threads}
					fwd := poolKernel{role: maxPoolForward, g: g, arg: &poolArgmax{keep: true}}
					y := newValue(gt.Float32, []int{g.n, g.c, g.oh, g.ow})
					// Stale values in the reused buffers must not leak into the result.
					for i := range dataOf[float32](y) {
						dataOf[float32](y)[i] = 7
					}
					if err := fwd.forward(ctx, []G.Value{x}, y); err != nil {
						t.Fatal(err)
					}
					dy := randomValue(rng, g.n, g.c, g.oh, g.ow)
					dx := newValue(gt.Float32, []int{g.n, g.c, g.h, g.w})
					for i := range dataOf[float32](dx) {
						dataOf[float32](dx)[i] = 7
					}
					bwd := poolKernel{role: maxPoolBackward, g: g, arg: fwd.arg}
					if err := bwd.forward(ctx, []G.Value{x, y, dy}, dx); err != nil {
						t.Fatal(err)
					}
					hw, ohw := g.h*g.w, g.oh*g.ow
					var wantBits, gotBits []uint32
					var wantAt []int32
					wantDx := make([]float32, len(xs))
					for plane := range g.n * g.c {
						bits, at := referenceMaxPool(g, xs[plane*hw:(plane+1)*hw])
						wantBits = append(wantBits, bits...)
						wantAt = append(wantAt, at...)
						for o, a := range at {
							wantDx[plane*hw+int(a)] += dataOf[float32](dy)[plane*ohw+o]
						}
					}
					for _, v := range dataOf[float32](y) {
						gotBits = append(gotBits, math.Float32bits(v))
					}
					if diff := cmp.Diff(wantBits, gotBits); diff != "" {
						t.Errorf("pooled bits (-want +got):\n%s", diff)
					}
					if diff := cmp.Diff(wantAt, fwd.arg.idx); diff != "" {
						t.Errorf("winners (-want +got):\n%s", diff)
					}
					if diff := cmp.Diff(wantDx, dataOf[float32](dx)); diff != "" {
						t.Errorf("gradient (-want +got):\n%s", diff)
					}
				})
			}
		}
	}
}

// vggm112Pools are vggm-112's two max-pools (3x3 stride 2) at batch 32.
var vggm112Pools = []struct {
	name string
	g    poolGeom
}{
	{"pool1", poolGeomOf(32, 12, 53, 53, 3, 2, 0)},
	{"pool5", poolGeomOf(32, 64, 12, 12, 3, 2, 0)},
}

func BenchmarkMaxPool(b *testing.B) {
	for _, p := range vggm112Pools {
		g := p.g
		rng := rand.New(rand.NewPCG(1, 1))
		x := randomValue(rng, g.n, g.c, g.h, g.w)
		y := newValue(gt.Float32, []int{g.n, g.c, g.oh, g.ow})
		dy := randomValue(rng, g.n, g.c, g.oh, g.ow)
		dx := newValue(gt.Float32, []int{g.n, g.c, g.h, g.w})
		fwd := poolKernel{role: maxPoolForward, g: g, arg: &poolArgmax{keep: true}}
		bwd := poolKernel{role: maxPoolBackward, g: g, arg: fwd.arg}
		for _, threads := range []int{1, 2} {
			ctx := &runContext{threads: threads}
			b.Run(fmt.Sprintf("%s/forward/threads=%d", p.name, threads), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if err := fwd.forward(ctx, []G.Value{x}, y); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(fmt.Sprintf("%s/backward/threads=%d", p.name, threads), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if err := bwd.forward(ctx, []G.Value{x, y, dy}, dx); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
