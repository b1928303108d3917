package gorgonia

import (
	"math/bits"
	"unsafe"

	sgemmimpl "github.com/icnnlab/icnnlab/backends/gorgonia/internal/sgemm"
)

// Implicit-GEMM forward products. The forward convolution (and the
// input gradient computed as a transposed convolution) used to write each
// image's whole im2col matrix and let sgemm read it again to copy it into
// its 16-column panels: conv1 of vggm-112 wrote 1.6 MB per image that way,
// beyond L2. Here sgemm asks an implicitPacker for each block of op(B)
// and the packer writes the im2col values straight into the panels, a
// block of a few hundred columns at a time, so the packed block stays in
// cache and the matrix is never built.
//
// The packer reads from padded phase planes of the image: the input with
// its zero padding written out and, for a horizontal stride sw > 1, its
// columns deinterleaved by phase (column ≡ φ mod sw), as splitPhases
// does. In those planes every im2col row is, within one output row, a
// contiguous run with no padding test: output pixel (oy, ox) of kernel
// position (c, ki, kj) is plane (c, φ) at row oy·sh + ki·dh and column
// ox + ⌊kj·dw/sw⌋, where φ = kj·dw mod sw. The zeros come from the planes,
// so the packed values are exactly what im2col + PackB would give, and
// the products stay bit for bit the same.

// implicitPanel is the number of columns of a packed B panel
// (sgemm.PanelCols; the layout tables below are built for it).
const implicitPanel = 16

// implicitLayout is where the packer finds each im2col value of one group
// of one image in the padded phase planes. It depends on the geometry
// only, so a kernel computes it once.
type implicitLayout struct {
	g      convGeom
	cg     int // channels of one group
	pwidth int // width of a padded phase plane
	prows  int // height of a padded phase plane
	// rowBase[r] is the plane offset of output pixel (0, 0) in im2col row
	// r = (c·kh + ki)·kw + kj.
	rowBase []int
	// Panel q (output pixels 16q onwards) is made of runs, one per output
	// row it touches: runs[runFirst[q]:runFirst[q+1]].
	runFirst []int
	runs     []implicitRun
	// maxRead is the largest plane index that any panel row reads (the
	// last kernel position at the last pixel). The assembly trusts the
	// layout; pack checks this one index against the planes per block.
	maxRead int
}

// implicitRun is a run of a panel's lanes that im2col row r fills with
// consecutive plane elements: lane l in mask holds the plane element at
// rowBase[r] + off + l. Lanes in no run's mask (past the last pixel) are
// zero.
type implicitRun struct {
	off  int
	mask uint64 // lanes 0..15 (the assembly reads the low 16 bits, through go_asm.h's offsets)
}

// newImplicitLayout lays out im2col of g over cg channels (one group).
func newImplicitLayout(g convGeom, cg int) *implicitLayout {
	l := &implicitLayout{g: g, cg: cg}
	// The planes cover every input row and column that an output pixel
	// reads, padding included; rows and columns past the image are zeros,
	// as im2col writes them.
	prows := max(g.h+2*g.ph, (g.oh-1)*g.sh+(g.kh-1)*g.dh+1)
	pcols := max(g.w+2*g.pw, (g.ow-1)*g.sw+(g.kw-1)*g.dw+1)
	l.prows, l.pwidth = prows, (pcols+g.sw-1)/g.sw
	planeLen := l.prows * l.pwidth
	l.rowBase = make([]int, 0, g.colRows())
	for c := range cg {
		for ki := range g.kh {
			for kj := range g.kw {
				phase, shift := kj*g.dw%g.sw, kj*g.dw/g.sw
				l.rowBase = append(l.rowBase, (c*g.sw+phase)*planeLen+ki*g.dh*l.pwidth+shift)
			}
		}
	}
	ohw := g.oh * g.ow
	for j0 := 0; j0 < ohw; j0 += implicitPanel {
		l.runFirst = append(l.runFirst, len(l.runs))
		end := min(j0+implicitPanel, ohw)
		for j := j0; j < end; {
			oy, ox := j/g.ow, j%g.ow
			next := min(end, j+g.ow-ox) // the next output row's first pixel
			lane, lanes := j-j0, next-j
			l.runs = append(l.runs, implicitRun{
				off:  oy*g.sh*l.pwidth + ox - lane,
				mask: (1<<lanes - 1) << lane,
			})
			j = next
		}
	}
	l.runFirst = append(l.runFirst, len(l.runs))
	lastRun, lastBase := 0, 0
	for _, run := range l.runs {
		lastRun = max(lastRun, run.off+63-bits.LeadingZeros64(run.mask))
	}
	for _, base := range l.rowBase {
		lastBase = max(lastBase, base)
	}
	l.maxRead = lastRun + lastBase
	return l
}

// planesLen is the number of floats the padded phase planes of one group
// take.
func (l *implicitLayout) planesLen() int {
	return l.cg * l.g.sw * l.prows * l.pwidth
}

// fillPlanes writes the image columns of the padded phase planes of the
// cg channels of x (one group of one image, channel planes of h·w) into
// planes (l.planesLen() floats). The padding is not written: it is the
// same zeros for every image, cleared once when the buffer is made
// (implicitPacker.load). Clearing it per image was a call per plane row,
// costlier than the packing itself on vggm-112's 12×12 layers.
func (l *implicitLayout) fillPlanes(x, planes []float32) {
	g := l.g
	sw, width := g.sw, l.pwidth
	planeLen := l.prows * width
	for c := range l.cg {
		img := x[c*g.h*g.w:][:g.h*g.w]
		if implicitAVX512 && l.fillChannelAVX512(img, planes[c*sw*planeLen:]) {
			continue
		}
		for iy := range g.h {
			src := img[iy*g.w:][:g.w]
			at := (c*sw*l.prows + g.ph + iy) * width // row iy of plane (c, 0)
			switch sw {
			case 1:
				copy(planes[at+g.pw:][:g.w], src)
			case 2:
				fillRowStride2(planes[at:][:width], planes[at+planeLen:][:width], src, g.pw)
			default:
				for phase := range sw {
					lo, hi := l.phaseColumns(phase)
					row := planes[at+phase*planeLen:][:width]
					ix := phase + lo*sw - g.pw
					for m := lo; m < hi; m++ {
						row[m] = src[ix]
						ix += sw
					}
				}
			}
		}
	}
}

// fillChannelAVX512 writes one channel's image columns into its planes
// (from plane (c, 0) on) with the AVX-512 row copies, for strides 1 and
// 2; it reports false, writing nothing, for other strides. A call per
// plane row (memmove, or fillRowStride2's pair loop) cost about as much
// as packing the 12-wide layers.
func (l *implicitLayout) fillChannelAVX512(img, planes []float32) bool {
	g := l.g
	width := l.pwidth
	rowStart := g.ph * width
	switch {
	case g.w == 0 || g.h == 0:
		return true
	case g.sw == 1:
		dst := planes[rowStart+g.pw:][:(g.h-1)*width+g.w]
		full, tail := chunks16(g.w)
		copyRowsAVX512(&dst[0], width, &img[0], g.w, g.h, full, tail)
		return true
	case g.sw == 2 && g.w >= 2:
		planeLen := l.prows * width
		// As in fillRowStride2: with pw even, image columns 2i and 2i+1
		// go to the even and odd planes at pw/2 + i; with pw odd, to the
		// odd plane at (pw−1)/2 + i and the even one at (pw+1)/2 + i.
		first, second := rowStart+g.pw/2, planeLen+rowStart+g.pw/2
		if g.pw%2 == 1 {
			first, second = planeLen+rowStart+(g.pw-1)/2, rowStart+(g.pw+1)/2
		}
		pairs := g.w / 2
		span := (g.h-1)*width + pairs
		_, _ = planes[first:][:span], planes[second:][:span]
		full, pairMask := chunks16(pairs)
		srcMask := uint64(1)<<(2*(pairs-full)) - 1
		splitRowsAVX512(&planes[first], &planes[second], width, &img[0], g.w, g.h, full, pairMask, srcMask)
		if g.w%2 == 1 {
			// The last image column goes where an even column goes.
			last := rowStart + g.pw/2 + pairs
			if g.pw%2 == 1 {
				last = planeLen + rowStart + (g.pw-1)/2 + pairs
			}
			for iy := range g.h {
				planes[last+iy*width] = img[iy*g.w+g.w-1]
			}
		}
		return true
	}
	return false
}

// chunks16 splits n ≥ 1 into full, a multiple of 16, and a last chunk of
// 1–16 given as the mask of its lanes.
func chunks16(n int) (full int, tail uint64) {
	last := (n-1)%16 + 1
	return n - last, 1<<last - 1
}

// phaseColumns returns the columns [lo, hi) of phase plane phase that
// hold image columns: plane column m is padded column phase + m·sw, image
// column phase + m·sw − pw.
func (l *implicitLayout) phaseColumns(phase int) (lo, hi int) {
	g := l.g
	lo = min((g.pw-phase+g.sw-1)/g.sw, l.pwidth)
	hi = min(max(lo, (g.pw+g.w-phase+g.sw-1)/g.sw), l.pwidth)
	return lo, hi
}

// fillRowStride2 deinterleaves one image row into its even and odd padded
// phase rows, two columns at a time (as splitPhases2 does): image column
// ix is padded column ix + pw.
func fillRowStride2(even, odd, src []float32, pw int) {
	pairs := len(src) / 2
	// With pw even, image columns 2i and 2i+1 land in even and odd at
	// pw/2 + i; with pw odd, in odd at (pw−1)/2 + i and even at (pw+1)/2 + i.
	first, second := even[pw/2:], odd[pw/2:]
	if pw%2 == 1 {
		first, second = odd[(pw-1)/2:], even[(pw+1)/2:]
	}
	first, second = first[:pairs], second[:pairs]
	for i, pair := range pairsOf(src[:2*pairs]) {
		first[i], second[i] = pair[0], pair[1]
	}
	if len(src)%2 == 1 {
		// The last image column, 2·pairs, goes where an even column goes.
		if pw%2 == 0 {
			even[pw/2+pairs] = src[len(src)-1]
		} else {
			odd[(pw-1)/2+pairs] = src[len(src)-1]
		}
	}
}

// implicitPacker is one worker's packer: sgemm calls pack (through the
// method value in fn, made once) for each block of op(B) = im2col(x).
type implicitPacker struct {
	layout *implicitLayout
	planes []float32 // the current image's padded phase planes
	fn     func(dst []float32, pc, kc, jc, nc int)
}

// load makes the packer build op(B) from the cg channels of x (one group
// of one image).
func (p *implicitPacker) load(layout *implicitLayout, x []float32) {
	if p.fn == nil {
		p.fn = p.pack
	}
	if p.layout != layout {
		// A new layout (the packer's first, or another geometry): its
		// padding is cleared here, once, and fillPlanes writes only the
		// image columns.
		p.layout = layout
		if n := layout.planesLen(); cap(p.planes) < n {
			p.planes = make([]float32, n)
		} else {
			p.planes = p.planes[:n]
			clear(p.planes)
		}
	}
	layout.fillPlanes(x, p.planes)
}

// pack writes im2col rows [pc, pc+kc) and columns [jc, jc+nc) into dst in
// sgemm's packed layout (panels of 16 columns, row-major within a panel,
// zeros past nc).
func (p *implicitPacker) pack(dst []float32, pc, kc, jc, nc int) {
	l := p.layout
	ohw := l.g.oh * l.g.ow
	if jc%implicitPanel != 0 || (jc+nc < ohw && nc%implicitPanel != 0) {
		// sgemm's blocks start on panel boundaries and end on one or at
		// the last column; other blocks take the element-by-element path.
		p.packAnyStart(dst, pc, kc, jc, nc)
		return
	}
	rows := l.rowBase[pc : pc+kc]
	_ = p.planes[l.maxRead] // see maxRead
	q0 := jc / implicitPanel
	for q := 0; q*implicitPanel < nc; q++ {
		panel := dst[q*implicitPanel*kc:][:implicitPanel*kc]
		runs := l.runs[l.runFirst[q0+q]:l.runFirst[q0+q+1]]
		if implicitAVX512 {
			implicitPanelAVX512(&panel[0], kc, &rows[0], &p.planes[0], &runs[0], len(runs))
			continue
		}
		for r, base := range rows {
			out := panel[r*implicitPanel:][:implicitPanel]
			clear(out)
			for _, run := range runs {
				lane, end := bits.TrailingZeros64(run.mask), 64-bits.LeadingZeros64(run.mask)
				copy(out[lane:end], p.planes[base+run.off+lane:])
			}
		}
	}
}

// packAnyStart is pack for a block whose first column is not on a panel
// boundary: each value is looked up on its own.
func (p *implicitPacker) packAnyStart(dst []float32, pc, kc, jc, nc int) {
	l := p.layout
	g := l.g
	for q := 0; q*implicitPanel < nc; q++ {
		panel := dst[q*implicitPanel*kc:][:implicitPanel*kc]
		for r := range kc {
			base := l.rowBase[pc+r]
			out := panel[r*implicitPanel:][:implicitPanel]
			for lane := range out {
				j := jc + q*implicitPanel + lane
				if j >= jc+nc {
					out[lane] = 0
					continue
				}
				oy, ox := j/g.ow, j%g.ow
				out[lane] = p.planes[base+oy*g.sh*l.pwidth+ox]
			}
		}
	}
}

// implicitPackers is a kernel's per-worker packers and its layout, kept
// in its loop state.
type implicitPackers struct {
	layout  *implicitLayout
	ncStep  int // columns of op(B) packed at a time
	workers []*implicitPacker
}

// implicitBlockFloats is the size the packed blocks of op(B) aim at: a
// block is written by the packer and then read by the micro-kernels once
// per row block of the weights, so it should stay in L2. On vggm-112's
// conv1 (BenchmarkImplicitBlockSize, one thread) blocks of 64–256 KiB
// ran alike, 128 KiB a little ahead, and 4 MiB (sgemm's default) about
// 5 % slower.
var implicitBlockFloats = 32 << 10

// prepare readies packers for workers workers of geometry g over cg
// channels: the layout is computed on the first call (a kernel's geometry
// never changes) and the packers are made once.
func (ps *implicitPackers) prepare(g convGeom, cg, workers int) {
	if ps.layout == nil || ps.layout.g != g || ps.layout.cg != cg {
		ps.layout = newImplicitLayout(g, cg)
	}
	ps.ncStep = implicitColumnStep(g.colRows(), g.oh*g.ow)
	for len(ps.workers) < workers {
		ps.workers = append(ps.workers, &implicitPacker{})
	}
}

// implicitColumnStep is the number of columns of op(B) (rows × n) to pack
// at a time: blocks of about implicitBlockFloats, as equal as panels
// allow; a block is as deep as sgemm's depth blocks.
func implicitColumnStep(rows, n int) int {
	depth := sgemmimpl.DepthBlock(rows)
	want := max(implicitPanel, implicitBlockFloats/depth)
	blocks := (n + want - 1) / want
	perBlock := (n + blocks - 1) / blocks
	return (perBlock + implicitPanel - 1) / implicitPanel * implicitPanel
}

// implicitProduct is c = op(A)·im2col(x) (beta 0, c with row stride
// oh·ow) as worker wk, for the layout's group of channels of x: the
// floats of im2col followed by leftTimes. Only for float32
// (implicitFloat32).
func implicitProduct[T float](ps *implicitPackers, wk int, left *packedLeft, x, c []T) {
	pk := ps.workers[wk]
	pk.load(ps.layout, any(x).([]float32))
	ohw := ps.layout.g.oh * ps.layout.g.ow
	left.timesImplicit(ohw, pk, ps.ncStep, 0, any(c).([]float32), ohw)
}

// useImplicit says whether float32 convolutions take the implicit path:
// where the packer has its AVX-512 assembly. Tests set it to compare the
// implicit products with im2col + GEMM.
var useImplicit = implicitAVX512

// implicitFloat32 says whether a kernel on T takes the implicit path:
// float32 with sgemm's packers (not the openblas build).
func implicitFloat32[T float]() bool {
	var zero T
	return implicitProducts && useImplicit && unsafe.Sizeof(zero) == 4
}
