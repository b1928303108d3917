package gorgonia

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	sgemmimpl "github.com/icnnlab/icnnlab/backends/gorgonia/internal/sgemm"
)

// The packers and col2im are checked on hand-picked geometries elsewhere;
// these tests draw a few hundred more at random (strides 1–4, dilation
// 1–3, padding 0–6, which often outreaches the kernel, images down to
// 1×1) and compare with sums built from referenceInput alone, which
// shares no code with im2col. A code review found the im2col panic on
// padding-only kernel columns and a missing two-run test this way.

// randomConvGeom draws a valid one-group geometry with at least one output.
func randomConvGeom(rng *rand.Rand) convGeom {
	for {
		g := withOutput(convGeom{
			c: 1 + rng.IntN(3), h: 1 + rng.IntN(40), w: 1 + rng.IntN(70),
			kh: 1 + rng.IntN(5), kw: 1 + rng.IntN(5),
			sh: 1 + rng.IntN(4), sw: 1 + rng.IntN(4),
			ph: rng.IntN(7), pw: rng.IntN(7),
			dh: 1 + rng.IntN(3), dw: 1 + rng.IntN(3),
		})
		if g.h+2*g.ph >= g.dh*(g.kh-1)+1 && g.w+2*g.pw >= g.dw*(g.kw-1)+1 {
			return g
		}
	}
}

// referenceCol is the im2col matrix of x by referenceInput.
func referenceCol(g convGeom, x []float32) []float32 {
	rows, ohw := g.colRows(), g.oh*g.ow
	col := make([]float32, rows*ohw)
	for r := range rows {
		for j := range ohw {
			if i := referenceInput(g, r, j); i >= 0 {
				col[r*ohw+j] = x[i]
			}
		}
	}
	return col
}

func randomImage(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

func nanImage(n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(math.NaN())
	}
	return x
}

// TestPackersMatchReferenceOnRandomGeometries: both packers write what
// sgemm.PackB of the reference im2col matrix writes, bit for bit, for the
// Go code and the assembly, after an image of NaNs was packed first (so
// that nothing of an earlier image survives), over whole blocks and
// blocks of 7 rows and one or ten panels.
func TestPackersMatchReferenceOnRandomGeometries(t *testing.T) {
	defer func(implicitWas, convWas bool) { implicitAVX512, useConvAVX2 = implicitWas, convWas }(implicitAVX512, useConvAVX2)
	implicitModes, convModes := []bool{false}, []bool{false}
	if implicitAVX512 {
		implicitModes = append(implicitModes, true)
	}
	if useConvAVX2 {
		convModes = append(convModes, true)
	}
	rng := rand.New(rand.NewPCG(42, 3))
	var wgrad []*wgradPacker
	for range 400 {
		g := randomConvGeom(rng)
		x := randomImage(rng, g.c*g.h*g.w)
		col := referenceCol(g, x)
		rows, ohw := g.colRows(), g.oh*g.ow
		for _, asm := range implicitModes {
			implicitAVX512 = asm
			var pk implicitPacker
			layout := newImplicitLayout(g, g.c)
			pk.load(layout, nanImage(len(x)))
			pk.load(layout, x)
			t.Run(fmt.Sprintf("implicit/avx512=%v/%s", asm, geomName(g)), func(t *testing.T) {
				for _, step := range [][2]int{{rows, ohw}, {7, implicitPanel}, {7, 10 * implicitPanel}} {
					for pc := 0; pc < rows; pc += step[0] {
						for jc := 0; jc < ohw; jc += step[1] {
							comparePackedBlock(t, &pk, col, ohw, pc, min(step[0], rows-pc), jc, min(step[1], ohw-jc))
						}
					}
				}
			})
		}
		for _, avx := range convModes {
			useConvAVX2 = avx
			wgrad = wgradPackers(wgrad, g, 1)
			p := wgrad[0]
			p.load(nanImage(len(x)))
			p.load(x)
			t.Run(fmt.Sprintf("wgrad/avx2=%v/%s", avx, geomName(g)), func(t *testing.T) {
				for _, step := range [][2]int{{ohw, rows}, {7, wgradPanel}} {
					for pc := 0; pc < ohw; pc += step[0] {
						for jc := 0; jc < rows; jc += step[1] {
							kc, nc := min(step[0], ohw-pc), min(step[1], rows-jc)
							size := kc * roundUpTo(nc, wgradPanel)
							want, got := make([]float32, size), nanImage(size)
							sgemmimpl.PackB(want, true, col, ohw, pc, kc, jc, nc)
							p.pack(got, pc, kc, jc, nc)
							for i := range want {
								if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
									t.Fatalf("block pixels [%d,%d) rows [%d,%d): element %d = %v, PackB gives %v", pc, pc+kc, jc, jc+nc, i, got[i], want[i])
								}
							}
						}
					}
				}
			})
		}
	}
}

// TestCol2imMatchesReferenceOnRandomGeometries: col2im adds each im2col
// value into the input element referenceInput names, with the AVX2 row
// adds and without (compared with a float64 sum: the order of the adds
// is col2im's own, checked bit for bit against its loop elsewhere).
func TestCol2imMatchesReferenceOnRandomGeometries(t *testing.T) {
	defer func(was bool) { useConvAVX2 = was }(useConvAVX2)
	modes := []bool{false}
	if useConvAVX2 {
		modes = append(modes, true)
	}
	rng := rand.New(rand.NewPCG(77, 1))
	for range 400 {
		g := randomConvGeom(rng)
		rows, ohw := g.colRows(), g.oh*g.ow
		col := randomImage(rng, rows*ohw)
		base := make([]float32, g.c*g.h*g.w)
		want := make([]float64, len(base))
		for i := range base {
			base[i] = float32(rng.IntN(5))
			want[i] = float64(base[i])
		}
		for r := range rows {
			for j := range ohw {
				if i := referenceInput(g, r, j); i >= 0 {
					want[i] += float64(col[r*ohw+j])
				}
			}
		}
		for _, avx := range modes {
			useConvAVX2 = avx
			t.Run(fmt.Sprintf("avx2=%v/%s", avx, geomName(g)), func(t *testing.T) {
				x := append([]float32(nil), base...)
				col2im(g, col, g.c, x, make([]float32, g.phaseLen(g.c)))
				for i := range x {
					if math.Abs(float64(x[i])-want[i]) > 1e-5*(1+math.Abs(want[i])) {
						t.Fatalf("x[%d] = %v, want %v", i, x[i], want[i])
					}
				}
			})
		}
	}
}

// TestImplicitPackerChangesLayout: one packer moved from geometry to
// geometry (a kernel's packers see one layout, but nothing stops reuse)
// clears the padding of each new layout instead of keeping the last
// image's values there.
func TestImplicitPackerChangesLayout(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	var pk implicitPacker
	for range 200 {
		g := randomConvGeom(rng)
		x := randomImage(rng, g.c*g.h*g.w)
		for i := range x {
			x[i] += 3 // no zeros in the image: a padding zero is the planes'
		}
		pk.load(newImplicitLayout(g, g.c), x)
		rows, ohw := g.colRows(), g.oh*g.ow
		comparePackedBlock(t, &pk, referenceCol(g, x), ohw, 0, rows, 0, ohw)
	}
}
