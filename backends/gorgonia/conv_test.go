package gorgonia

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// im2colCases cover the geometries im2col and col2im must handle: odd
// sizes, padding wider than the stride, strides 2 and 3 (the phase-plane
// path), dilation, and kernels whose last columns fall off the image.
var im2colCases = []convGeom{
	{c: 2, h: 5, w: 7, kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1, dh: 1, dw: 1},
	{c: 3, h: 13, w: 13, kh: 7, kw: 7, sh: 2, sw: 2, ph: 0, pw: 0, dh: 1, dw: 1}, // vggm-112 conv1, small
	{c: 2, h: 12, w: 11, kh: 5, kw: 5, sh: 2, sw: 2, ph: 1, pw: 1, dh: 1, dw: 1}, // vggm-112 conv2's kind
	{c: 1, h: 9, w: 10, kh: 3, kw: 4, sh: 3, sw: 3, ph: 2, pw: 3, dh: 1, dw: 1},  // padding past the stride
	{c: 2, h: 8, w: 9, kh: 3, kw: 3, sh: 1, sw: 2, ph: 2, pw: 2, dh: 2, dw: 2},   // dilated
	{c: 1, h: 4, w: 3, kh: 5, kw: 5, sh: 2, sw: 2, ph: 2, pw: 2, dh: 1, dw: 1},   // kernel wider than the image
	{c: 2, h: 6, w: 6, kh: 1, kw: 1, sh: 2, sw: 2, ph: 0, pw: 0, dh: 1, dw: 1},   // 1x1 stride 2
	{c: 1, h: 7, w: 16, kh: 2, kw: 3, sh: 1, sw: 4, ph: 0, pw: 1, dh: 1, dw: 3},  // stride 4, dilation 3
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
			x := make([]float32, g.c*g.h*g.w)
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			rows, ohw := g.colRows(), g.oh*g.ow
			want := make([]float32, rows*ohw)
			for r := range rows {
				for j := range ohw {
					if at := referenceInput(g, r, j); at >= 0 {
						want[r*ohw+j] = x[at]
					}
				}
			}
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
