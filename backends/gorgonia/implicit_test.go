package gorgonia

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	gt "gorgonia.org/tensor"

	sgemmimpl "github.com/icnnlab/icnnlab/backends/gorgonia/internal/sgemm"
)

// implicitCases are geometries for the implicit packer: im2col's cases,
// vggm-112's layers (small channel counts), the transposed convolution of
// a stride-1 layer, output rows narrower than a panel, and groups.
func implicitCases() []convGeom {
	var cases []convGeom
	for _, g := range im2colCases {
		cases = append(cases, withOutput(g))
	}
	more := []convGeom{
		{c: 3, h: 112, w: 112, kh: 7, kw: 7, sh: 2, sw: 2, dh: 1, dw: 1},             // vggm-112 conv1
		{c: 4, h: 26, w: 26, kh: 5, kw: 5, sh: 2, sw: 2, ph: 1, pw: 1, dh: 1, dw: 1}, // conv2
		{c: 5, h: 12, w: 12, kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1, dh: 1, dw: 1}, // conv3-5 and their transposes
		{c: 3, h: 5, w: 3, kh: 3, kw: 2, sh: 1, sw: 1, ph: 2, pw: 1, dh: 1, dw: 1},   // rows of 4 pixels
		{c: 2, h: 9, w: 1, kh: 3, kw: 1, sh: 1, sw: 1, ph: 1, pw: 0, dh: 1, dw: 1},   // one pixel per row
		{c: 2, h: 11, w: 13, kh: 3, kw: 5, sh: 3, sw: 2, ph: 1, pw: 3, dh: 2, dw: 1}, // odd padding, mixed strides
		{c: 1, h: 6, w: 17, kh: 2, kw: 3, sh: 2, sw: 3, ph: 0, pw: 2, dh: 1, dw: 2},  // stride 3 with dilation
		{c: 2, h: 5, w: 37, kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1, dh: 1, dw: 1},  // rows of two 16-float chunks and a tail
		{c: 2, h: 4, w: 5, kh: 2, kw: 2, sh: 1, sw: 1, dh: 1, dw: 1},                 // no padding: the planes end with an image row
		{c: 2, h: 6, w: 45, kh: 3, kw: 5, sh: 2, sw: 2, ph: 1, pw: 2, dh: 1, dw: 1},  // 22 pairs and an odd column, pw even
		{c: 1, h: 4, w: 64, kh: 2, kw: 3, sh: 2, sw: 2, ph: 0, pw: 1, dh: 1, dw: 1},  // exactly two chunks of 16 pairs, pw odd
		// A last panel of 2 or 3 pixels over two one-pixel output rows:
		// its two-run load must zero the lanes past them (the panel
		// before left values there).
		{c: 2, h: 18, w: 1, kh: 1, kw: 1, sh: 1, sw: 1, dh: 1, dw: 1},
		{c: 2, h: 34, w: 1, kh: 3, kw: 1, sh: 1, sw: 1, ph: 1, dh: 1, dw: 1},
	}
	for _, g := range more {
		cases = append(cases, withOutput(g))
	}
	g := withOutput(convGeom{c: 4, h: 7, w: 9, kh: 3, kw: 3, sh: 1, sw: 2, ph: 1, pw: 1, dh: 1, dw: 1})
	g.groups = 2
	return append(cases, g)
}

func geomName(g convGeom) string {
	return fmt.Sprintf("c%d_%dx%d_k%dx%d_s%dx%d_p%dx%d_d%dx%d_g%d", g.c, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw, g.groups)
}

// TestImplicitPackerMatchesPackB: every block the packer writes is
// sgemm.PackB's block of the im2col matrix, bit for bit (zeros of the
// padding and past the last column included), for blocks of several
// depths and column steps, each group of the image, and blocks that do
// not start on a panel boundary.
func TestImplicitPackerMatchesPackB(t *testing.T) {
	defer func(was bool) { implicitAVX512 = was }(implicitAVX512)
	packers := []bool{false}
	if implicitAVX512 {
		packers = append(packers, true)
	}
	for _, asm := range packers {
		implicitAVX512 = asm
		for _, g := range implicitCases() {
			t.Run(fmt.Sprintf("avx512=%v/%s", asm, geomName(g)), func(t *testing.T) { checkImplicitPacker(t, g) })
		}
	}
}

func checkImplicitPacker(t *testing.T, g convGeom) {
	rng := rand.New(rand.NewPCG(7, uint64(g.h*g.w)))
	x := make([]float32, g.c*g.h*g.w)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	cg := g.c / g.groups
	rows, ohw := g.colRows(), g.oh*g.ow
	layout := newImplicitLayout(g, cg)
	var pk implicitPacker
	// Floats past the planes must never be written: the buffer gets room
	// after them, holding a marker.
	const marker = 12345
	n := layout.planesLen()
	pk.planes = make([]float32, n, n+2*implicitPanel)
	after := pk.planes[n:cap(pk.planes)]
	for i := range after {
		after[i] = marker
	}
	defer func() {
		for i, v := range after {
			if v != marker {
				t.Errorf("float %d past the planes was written: %v", i, v)
			}
		}
	}()
	// An image of NaNs first: the planes are reused, and what one image
	// wrote must not show in the next one's blocks.
	stale := make([]float32, len(x))
	for i := range stale {
		stale[i] = float32(math.NaN())
	}
	pk.load(layout, stale)
	for gi := range g.groups {
		xg := x[gi*cg*g.h*g.w:]
		col := make([]float32, rows*ohw)
		im2col(g, xg, cg, col, make([]float32, g.phaseLen(cg)))
		pk.load(layout, xg)
		for _, kcStep := range []int{rows, 5, 7} {
			for _, ncStep := range []int{16, 48, 160, 4096} {
				for pc := 0; pc < rows; pc += kcStep {
					kc := min(kcStep, rows-pc)
					for jc := 0; jc < ohw; jc += ncStep {
						nc := min(ncStep, ohw-jc)
						comparePackedBlock(t, &pk, col, ohw, pc, kc, jc, nc)
					}
				}
			}
		}
		// Blocks starting inside a panel or ending inside one before the
		// last column (sgemm asks for neither, but a BPacker may be).
		for _, jc := range []int{0, 1, 3, 17} {
			if jc < ohw {
				comparePackedBlock(t, &pk, col, ohw, 0, rows, jc, min(21, ohw-jc))
			}
		}
	}
}

// comparePackedBlock packs one block with the packer, over stale
// contents, and compares it with PackB of the im2col matrix.
func comparePackedBlock(t *testing.T, pk *implicitPacker, col []float32, ohw, pc, kc, jc, nc int) {
	t.Helper()
	size := kc * ((nc + implicitPanel - 1) / implicitPanel * implicitPanel)
	want := make([]float32, size)
	sgemmimpl.PackB(want, false, col, ohw, pc, kc, jc, nc)
	got := make([]float32, size)
	for i := range got {
		got[i] = float32(math.NaN()) // what the previous block left
	}
	pk.fn(got, pc, kc, jc, nc)
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("block rows [%d,%d) columns [%d,%d): element %d (panel %d, row %d, lane %d) = %v, PackB gives %v",
				pc, pc+kc, jc, jc+nc, i, i/(implicitPanel*kc), i%(implicitPanel*kc)/implicitPanel, i%implicitPanel, got[i], want[i])
		}
	}
}

// kernelCases are whole convolutions for the kernel-level comparison:
// with several images, output channels and groups.
func implicitKernelCases() []convGeom {
	var cases []convGeom
	for i, g := range implicitCases() {
		g.n, g.o = 3, 4+i%3
		if g.groups > 1 {
			g.o = 6
		}
		if g.c*g.h*g.w > 5000 {
			g.n = 2 // vggm-112 conv1: two images are enough
		}
		cases = append(cases, g)
	}
	return cases
}

// runBothWays runs f once with the implicit products and once with
// im2col + GEMM.
func runBothWays(t *testing.T, f func()) {
	t.Helper()
	defer func(was bool) { useImplicit = was }(useImplicit)
	useImplicit = true
	f()
	useImplicit = false
	f()
}

// sameBits fails unless got and want hold the same float32 bits.
func sameBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: element %d = %v, im2col + GEMM gives %v", what, i, got[i], want[i])
		}
	}
}

// TestImplicitKernelsMatchIm2col: the forward convolution, the fused
// convolution block and the stride-1 input gradient give the same floats,
// bit for bit, with the implicit products as with im2col + GEMM, at 1 and
// 2 threads, over outputs holding stale values.
func TestImplicitKernelsMatchIm2col(t *testing.T) {
	if !implicitProducts {
		t.Skip("no implicit products in this build")
	}
	for _, g := range implicitKernelCases() {
		for _, threads := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/threads=%d", geomName(g), threads), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(9, uint64(g.c*g.w+threads)))
				ctx := &runContext{threads: threads}
				x, w := randomValue(rng, g.xShape()...), randomValue(rng, g.wShape()...)
				bias := randomValue(rng, g.o)
				var results [][]float32
				runBothWays(t, func() {
					// Kernels are made afresh on each side so that neither
					// inherits the other's kept state.
					fwd := convKernel{role: convForward, g: g, st: &scratch{}}
					y := staleValue(g.yShape())
					if err := fwd.forward(ctx, []G.Value{x, w}, y); err != nil {
						t.Fatal(err)
					}
					// Twice: the second run reuses the kept packers.
					if err := fwd.forward(ctx, []G.Value{x, w}, y); err != nil {
						t.Fatal(err)
					}
					block := convBlockKernel{g: g, ops: blockOps{bias: true, relu: true}, st: &blockState{}}
					z := staleValue(block.outShape())
					if err := block.forward(ctx, []G.Value{x, w, bias}, z); err != nil {
						t.Fatal(err)
					}
					results = append(results, dataOf[float32](y), dataOf[float32](z))
					if g.oh%2 == 0 && g.ow%2 == 0 {
						pooled := convBlockKernel{g: g, ops: blockOps{bias: true, relu: true, pool: true}, st: &blockState{}}
						p := staleValue(pooled.outShape())
						if err := pooled.forward(ctx, []G.Value{x, w, bias}, p); err != nil {
							t.Fatal(err)
						}
						results = append(results, dataOf[float32](p))
					}
					if g.transposable() {
						gi := convKernel{role: convGradInput, g: g, st: &scratch{}}
						dy := randomValue(rand.New(rand.NewPCG(4, 4)), g.yShape()...)
						dx := staleValue(g.xShape())
						if err := gi.forward(ctx, []G.Value{w, dy}, dx); err != nil {
							t.Fatal(err)
						}
						results = append(results, dataOf[float32](dx))
					}
				})
				half := len(results) / 2
				for i := range half {
					sameBits(t, fmt.Sprintf("result %d", i), results[i], results[half+i])
				}
			})
		}
	}
}

// staleValue is a float32 tensor of shape filled with NaN, as a reused
// output buffer might be.
func staleValue(shape []int) G.Value {
	v := newValue(gt.Float32, shape)
	data := dataOf[float32](v)
	for i := range data {
		data[i] = float32(math.NaN())
	}
	return v
}

// TestImplicitProductsAllocateNothing: once a kernel has run, its implicit
// products allocate nothing (the packers and their method values are
// kept), at one thread, where the parallel loops run inline.
func TestImplicitProductsAllocateNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	g := convGeom{n: 2, c: 4, h: 12, w: 12, o: 8, kh: 3, kw: 3, oh: 12, ow: 12, sh: 1, sw: 1, ph: 1, pw: 1, dh: 1, dw: 1, groups: 1}
	rng := rand.New(rand.NewPCG(1, 1))
	ctx := &runContext{threads: 1}
	x, w, dy := randomValue(rng, g.xShape()...), randomValue(rng, g.wShape()...), randomValue(rng, g.yShape()...)
	block := convBlockKernel{g: g, ops: blockOps{bias: true, relu: true}, st: &blockState{}}
	in := []G.Value{x, w, randomValue(rng, g.o)}
	z := newValue(gt.Float32, block.outShape())
	gi := convKernel{role: convGradInput, g: g, st: &scratch{}}
	dx := newValue(gt.Float32, g.xShape())
	run := func() {
		if err := block.forward(ctx, in, z); err != nil {
			t.Fatal(err)
		}
		if err := gi.forward(ctx, []G.Value{w, dy}, dx); err != nil {
			t.Fatal(err)
		}
	}
	run()
	if n := testing.AllocsPerRun(10, run); n != 0 {
		t.Errorf("%v allocations per run", n)
	}
}
