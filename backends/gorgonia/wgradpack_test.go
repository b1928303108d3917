package gorgonia

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	sgemmimpl "github.com/icnnlab/icnnlab/backends/gorgonia/internal/sgemm"
)

// wgradCases are the geometries the weight-gradient packer must handle:
// im2colCases (odd sizes, padding past the stride, strides 2–4, dilation,
// kernels wider than the image) and shapes whose output rows are long
// enough for the register transposes, with and without a tail of fewer
// than eight pixels, and kernels with fewer im2col rows than a panel.
var wgradCases = append(append([]convGeom(nil), im2colCases...),
	convGeom{c: 3, h: 40, w: 41, kh: 7, kw: 7, sh: 2, sw: 2, dh: 1, dw: 1},               // conv1's kind: 17×18 outputs
	convGeom{c: 4, h: 26, w: 26, kh: 5, kw: 5, sh: 2, sw: 2, ph: 1, pw: 1, dh: 1, dw: 1}, // vggm-112 conv2, fewer channels
	convGeom{c: 5, h: 12, w: 12, kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1, dh: 1, dw: 1}, // conv3/conv4's kind
	convGeom{c: 2, h: 19, w: 23, kh: 5, kw: 4, sh: 1, sw: 1, ph: 2, pw: 3, dh: 1, dw: 1}, // wide padding, odd kernel
	convGeom{c: 2, h: 30, w: 31, kh: 3, kw: 3, sh: 3, sw: 3, ph: 1, pw: 2, dh: 2, dw: 2}, // stride 3, dilation 2
	convGeom{c: 1, h: 9, w: 64, kh: 2, kw: 3, sh: 2, sw: 1, ph: 0, pw: 1, dh: 1, dw: 1},  // one long output row per plane row
	convGeom{c: 3, h: 16, w: 16, kh: 1, kw: 1, sh: 1, sw: 1, ph: 0, pw: 0, dh: 1, dw: 1}, // 1×1: fewer im2col rows than a panel
	convGeom{c: 4, h: 18, w: 17, kh: 3, kw: 3, sh: 2, sw: 2, ph: 1, pw: 0, dh: 1, dw: 1}, // padding on top only
)

func wgradCaseName(g convGeom) string {
	return fmt.Sprintf("c%d_%dx%d_k%dx%d_s%dx%d_p%dx%d_d%dx%d", g.c, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw)
}

// packerModes runs f with the register transposes on (where the CPU has
// them) and off.
func packerModes(t *testing.T, f func(t *testing.T)) {
	modes := []bool{false}
	if useConvAVX2 {
		modes = append(modes, true)
	}
	saved := useConvAVX2
	defer func() { useConvAVX2 = saved }()
	for _, avx := range modes {
		useConvAVX2 = avx
		t.Run(fmt.Sprintf("avx2=%v", avx), f)
	}
}

// TestWgradPackerMatchesPackB: every block the packer writes equals, bit
// for bit and zeros included, what sgemm's own packing of the transposed
// im2col matrix writes, for the blocks sgemm asks for at several column
// steps and for random blocks.
func TestWgradPackerMatchesPackB(t *testing.T) {
	packerModes(t, func(t *testing.T) {
		var shared []*wgradPacker
		for _, geom := range wgradCases {
			g := withOutput(geom)
			t.Run(wgradCaseName(g), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(5, uint64(g.w*g.h)))
				x := make([]float32, g.c*g.h*g.w)
				for i := range x {
					x[i] = float32(rng.NormFloat64())
				}
				rows, ohw := g.colRows(), g.oh*g.ow
				col := make([]float32, rows*ohw)
				im2col(g, x, g.c, col, make([]float32, g.phaseLen(g.c)))

				// The packer is reused across geometries, and loads another
				// image first: neither may show through.
				shared = wgradPackers(shared, g, 1)
				p := shared[0]
				other := make([]float32, len(x))
				for i := range other {
					other[i] = float32(math.NaN())
				}
				p.load(other)
				p.load(x)
				check := func(pc, kc, jc, nc int) {
					t.Helper()
					size := kc * roundUpTo(nc, wgradPanel)
					want := make([]float32, size)
					got := make([]float32, size)
					for i := range got {
						want[i], got[i] = float32(math.NaN()), float32(math.Inf(-1))
					}
					sgemmimpl.PackB(want, true, col, ohw, pc, kc, jc, nc)
					p.pack(got, pc, kc, jc, nc)
					for i := range want {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("block pc=%d kc=%d jc=%d nc=%d: element %d (pixel %d, column %d) = %v, want %v",
								pc, kc, jc, nc, i, pc+i/wgradPanel%kc, jc+i/(wgradPanel*kc)*wgradPanel+i%wgradPanel, got[i], want[i])
						}
					}
				}
				// The blocks sgemm asks for: depth blocks of at most 256
				// (here also shorter ones), column steps of whole panels.
				for _, kStep := range []int{ohw, 256, 37, 8, 1} {
					for _, nStep := range []int{rows, 16, 48} {
						nStep = roundUpTo(nStep, wgradPanel)
						for jc := 0; jc < rows; jc += nStep {
							for pc := 0; pc < ohw; pc += kStep {
								check(pc, min(kStep, ohw-pc), jc, min(nStep, rows-jc))
							}
						}
					}
				}
				for range 50 {
					pc := rng.IntN(ohw)
					kc := 1 + rng.IntN(ohw-pc)
					jc := wgradPanel * rng.IntN((rows+wgradPanel-1)/wgradPanel)
					nc := 1 + rng.IntN(rows-jc)
					check(pc, kc, jc, nc)
				}
			})
		}
	})
}

// TestConvGradWeightPackerMatchesIm2col: the weight gradient through the
// packer equals the im2col + GEMM path bit for bit, at 1 and 2 threads
// and with groups, on top of what the output held; and both are close to
// the sum written out in float64.
func TestConvGradWeightPackerMatchesIm2col(t *testing.T) {
	cases := []convGeom{
		{n: 3, c: 3, h: 40, w: 41, o: 12, kh: 7, kw: 7, sh: 2, sw: 2, dh: 1, dw: 1, groups: 1},
		{n: 9, c: 4, h: 26, w: 26, o: 8, kh: 5, kw: 5, sh: 2, sw: 2, ph: 1, pw: 1, dh: 1, dw: 1, groups: 1},
		{n: 2, c: 6, h: 12, w: 12, o: 4, kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1, dh: 1, dw: 1, groups: 2},
		{n: 2, c: 2, h: 30, w: 31, o: 3, kh: 3, kw: 3, sh: 3, sw: 3, ph: 1, pw: 2, dh: 2, dw: 2, groups: 1},
		{n: 2, c: 17, h: 9, w: 10, o: 5, kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1, dh: 1, dw: 1, groups: 1},
		{n: 1, c: 2, h: 70, w: 70, o: 3, kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1, dh: 1, dw: 1, groups: 1}, // depth 4900: several depth blocks
	}
	saved := useWgradPacker
	defer func() { useWgradPacker = saved }()
	packerModes(t, func(t *testing.T) {
		for _, g := range cases {
			g.oh = (g.h+2*g.ph-g.dh*(g.kh-1)-1)/g.sh + 1
			g.ow = (g.w+2*g.pw-g.dw*(g.kw-1)-1)/g.sw + 1
			t.Run(wgradCaseName(g), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(7, uint64(g.c*g.w)))
				x := make([]float32, g.n*g.c*g.h*g.w)
				dy := make([]float32, g.n*g.o*g.oh*g.ow)
				start := make([]float32, g.o*g.colRows())
				for _, s := range [][]float32{x, dy, start} {
					for i := range s {
						s[i] = float32(rng.NormFloat64())
					}
				}
				want := reference64GradWeight(g, x, dy, start)
				run := func(packer bool, threads int) []float32 {
					useWgradPacker = packer
					dw := append([]float32(nil), start...)
					k := convKernel{role: convGradWeight, g: g, st: &scratch{}}
					runConv(&runContext{threads: threads}, k, x, dy, dw)
					runConv(&runContext{threads: threads}, k, x, dy, dw) // kept state reused
					return dw
				}
				base := run(false, 1)
				for i, v := range base {
					if d := float64(v) - want[i]; math.Abs(d) > 1e-3*(1+math.Abs(want[i])) {
						t.Fatalf("im2col path: dw[%d] = %v, want %v", i, v, want[i])
					}
				}
				for _, threads := range []int{1, 2} {
					got := run(true, threads)
					for i := range base {
						if math.Float32bits(got[i]) != math.Float32bits(base[i]) {
							t.Fatalf("%d threads: dw[%d] = %v, im2col path %v", threads, i, got[i], base[i])
						}
					}
				}
			})
		}
	})
}

// reference64GradWeight is start + 2·Σ_n dy_n · col(x_n)ᵀ written out in
// float64 (the test runs the kernel twice).
func reference64GradWeight(g convGeom, x, dy, start []float32) []float64 {
	cg, og := g.c/g.groups, g.o/g.groups
	want := make([]float64, len(start))
	for i, v := range start {
		want[i] = float64(v)
	}
	for n := range g.n {
		for o := range g.o {
			gi := o / og
			for c := range cg {
				for ki := range g.kh {
					for kj := range g.kw {
						var sum float64
						for oy := range g.oh {
							for ox := range g.ow {
								iy, ix := oy*g.sh-g.ph+ki*g.dh, ox*g.sw-g.pw+kj*g.dw
								if iy < 0 || iy >= g.h || ix < 0 || ix >= g.w {
									continue
								}
								sum += float64(dy[((n*g.o+o)*g.oh+oy)*g.ow+ox]) * float64(x[((n*g.c+gi*cg+c)*g.h+iy)*g.w+ix])
							}
						}
						want[((o*cg+c)*g.kh+ki)*g.kw+kj] += 2 * sum
					}
				}
			}
		}
	}
	return want
}
