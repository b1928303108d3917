package gorgonia

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// im2colCases cover the geometries im2col and col2im must handle: odd
// sizes, padding wider than the stride, strides 2 and 3 (the phase-plane
// path), dilation, kernels whose last columns fall off the image, and
// kernel columns that read padding only.
var im2colCases = []convGeom{
	{c: 2, h: 5, w: 7, kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1, dh: 1, dw: 1},
	{c: 3, h: 13, w: 13, kh: 7, kw: 7, sh: 2, sw: 2, ph: 0, pw: 0, dh: 1, dw: 1}, // vggm-112 conv1, small
	{c: 2, h: 12, w: 11, kh: 5, kw: 5, sh: 2, sw: 2, ph: 1, pw: 1, dh: 1, dw: 1}, // vggm-112 conv2's kind
	{c: 1, h: 9, w: 10, kh: 3, kw: 4, sh: 3, sw: 3, ph: 2, pw: 3, dh: 1, dw: 1},  // padding past the stride
	{c: 2, h: 8, w: 9, kh: 3, kw: 3, sh: 1, sw: 2, ph: 2, pw: 2, dh: 2, dw: 2},   // dilated
	{c: 1, h: 4, w: 3, kh: 5, kw: 5, sh: 2, sw: 2, ph: 2, pw: 2, dh: 1, dw: 1},   // kernel wider than the image
	{c: 2, h: 6, w: 6, kh: 1, kw: 1, sh: 2, sw: 2, ph: 0, pw: 0, dh: 1, dw: 1},   // 1x1 stride 2
	{c: 1, h: 7, w: 16, kh: 2, kw: 3, sh: 1, sw: 4, ph: 0, pw: 1, dh: 1, dw: 3},  // stride 4, dilation 3
	// Kernel columns that read only padding (the padding outreaches a
	// dilated kernel): im2col used to slice the input at a negative index.
	{c: 1, h: 1, w: 1, kh: 1, kw: 3, sh: 1, sw: 1, ph: 0, pw: 4, dh: 1, dw: 3},
	{c: 1, h: 2, w: 2, kh: 1, kw: 3, sh: 2, sw: 2, ph: 0, pw: 5, dh: 1, dw: 3},
}

// withOutput fills in the output size of a geometry.
func withOutput(g convGeom) convGeom {
	g.n, g.o, g.groups = 1, 1, 1
	g.oh = (g.h+2*g.ph-g.dh*(g.kh-1)-1)/g.sh + 1
	g.ow = (g.w+2*g.pw-g.dw*(g.kw-1)-1)/g.sw + 1
	return g
}

// referenceInput returns the input index that im2col's element (row, j)
// reads, or -1 for padding.
func referenceInput(g convGeom, row, j int) int {
	c, ki, kj := row/(g.kh*g.kw), row/g.kw%g.kh, row%g.kw
	oy, ox := j/g.ow, j%g.ow
	iy, ix := oy*g.sh-g.ph+ki*g.dh, ox*g.sw-g.pw+kj*g.dw
	if iy < 0 || iy >= g.h || ix < 0 || ix >= g.w {
		return -1
	}
	return (c*g.h+iy)*g.w + ix
}

func TestIm2colMatchesReference(t *testing.T) {
	for _, geom := range im2colCases {
		g := withOutput(geom)
		t.Run(fmt.Sprintf("c%d_%dx%d_k%dx%d_s%dx%d_p%dx%d_d%dx%d", g.c, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, uint64(g.w)))
			x := randomImage(rng, g.c*g.h*g.w)
			rows, ohw := g.colRows(), g.oh*g.ow
			want := referenceCol(g, x)
			col := make([]float32, rows*ohw)
			for i := range col {
				col[i] = float32(i) + 0.5 // stale contents must be overwritten
			}
			phases := make([]float32, g.phaseLen(g.c))
			for i := range phases {
				phases[i] = -7
			}
			im2col(g, x, g.c, col, phases)
			if diff := cmp.Diff(want, col); diff != "" {
				t.Errorf("im2col (-want +got):\n%s", diff)
			}

			// col2im adds each element of a matrix into the input it was
			// read from, on top of what the image holds.
			dcol := make([]float32, rows*ohw)
			for i := range dcol {
				dcol[i] = float32(rng.IntN(17) - 8)
			}
			base := make([]float32, len(x))
			for i := range base {
				base[i] = float32(rng.IntN(5))
			}
			wantX := append([]float32(nil), base...)
			for r := range rows {
				for j := range ohw {
					if at := referenceInput(g, r, j); at >= 0 {
						wantX[at] += dcol[r*ohw+j]
					}
				}
			}
			for i := range phases {
				phases[i] = -7
			}
			gotX := append([]float32(nil), base...)
			col2im(g, dcol, g.c, gotX, phases)
			if diff := cmp.Diff(wantX, gotX); diff != "" {
				t.Errorf("col2im (-want +got):\n%s", diff)
			}
		})
	}
}

// TestConvGradInputMatchesReference checks the input gradient, by the
// transposed convolution where the geometry allows it and by col2im where
// not, against the sum written out, on random values at 1 and 2 threads.
func TestConvGradInputMatchesReference(t *testing.T) {
	cases := []struct {
		g            convGeom
		transposable bool
	}{
		{convGeom{n: 3, c: 5, h: 7, w: 6, o: 4, kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1, dh: 1, dw: 1, groups: 1}, true},
		{convGeom{n: 2, c: 3, h: 6, w: 9, o: 7, kh: 5, kw: 5, sh: 1, sw: 1, ph: 2, pw: 2, dh: 1, dw: 1, groups: 1}, true},
		{convGeom{n: 2, c: 4, h: 5, w: 5, o: 3, kh: 1, kw: 1, sh: 1, sw: 1, ph: 0, pw: 0, dh: 1, dw: 1, groups: 1}, true},
		{convGeom{n: 2, c: 3, h: 7, w: 7, o: 2, kh: 3, kw: 3, sh: 1, sw: 1, ph: 0, pw: 0, dh: 1, dw: 1, groups: 1}, false},
		{convGeom{n: 2, c: 3, h: 9, w: 8, o: 4, kh: 3, kw: 3, sh: 2, sw: 2, ph: 1, pw: 1, dh: 1, dw: 1, groups: 1}, false},
		{convGeom{n: 2, c: 4, h: 6, w: 6, o: 4, kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1, dh: 1, dw: 1, groups: 2}, false},
	}
	for _, tc := range cases {
		g := tc.g
		g.oh = (g.h+2*g.ph-g.dh*(g.kh-1)-1)/g.sh + 1
		g.ow = (g.w+2*g.pw-g.dw*(g.kw-1)-1)/g.sw + 1
		if got := g.transposable(); got != tc.transposable {
			t.Fatalf("%v: transposable() = %v, want %v", g.ints(), got, tc.transposable)
		}
		rng := rand.New(rand.NewPCG(11, uint64(g.c*g.kh)))
		w := make([]float32, g.o*g.c/g.groups*g.kh*g.kw)
		dy := make([]float32, g.n*g.o*g.oh*g.ow)
		for i := range w {
			w[i] = float32(rng.NormFloat64())
		}
		for i := range dy {
			dy[i] = float32(rng.NormFloat64())
		}
		cg, og := g.c/g.groups, g.o/g.groups
		want := make([]float64, g.n*g.c*g.h*g.w)
		for n := range g.n {
			for o := range g.o {
				gi := o / og
				for c := range cg {
					for ki := range g.kh {
						for kj := range g.kw {
							wv := float64(w[((o*cg+c)*g.kh+ki)*g.kw+kj])
							for oy := range g.oh {
								for ox := range g.ow {
									iy, ix := oy*g.sh-g.ph+ki*g.dh, ox*g.sw-g.pw+kj*g.dw
									if iy < 0 || iy >= g.h || ix < 0 || ix >= g.w {
										continue
									}
									want[((n*g.c+gi*cg+c)*g.h+iy)*g.w+ix] += wv * float64(dy[((n*g.o+o)*g.oh+oy)*g.ow+ox])
								}
							}
						}
					}
				}
			}
		}
		for _, threads := range []int{1, 2} {
			k := convKernel{role: convGradInput, g: g}
			dx := make([]float32, len(want))
			if k.overwrites() {
				// What the output held before must not matter.
				for i := range dx {
					dx[i] = float32(math.NaN())
				}
			}
			runConv(&runContext{threads: threads}, k, w, dy, dx)
			for i, v := range dx {
				if d := float64(v) - want[i]; d > 1e-4 || d < -1e-4 {
					t.Fatalf("%v, %d threads: dx[%d] = %v, want %v", g.ints(), threads, i, v, want[i])
				}
			}
		}
	}
}
