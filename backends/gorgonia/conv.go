package gorgonia

import (
	"fmt"
	"io"
	"unsafe"

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
}

func (k convKernel) name() string {
	return [...]string{"conv2d", "conv2d_grad_input", "conv2d_grad_weight"}[k.role]
}

func (k convKernel) writeAttrs(w io.Writer) {
	attrWriter{w}.ints("geom", k.g.ints()...)
}

// overwrites: the forward pass and the transposed-convolution input
// gradient write every element with beta-0 GEMMs; col2im and the weight
// gradient add into a cleared output.
func (k convKernel) overwrites() bool {
	return k.role == convForward || (k.role == convGradInput && k.g.transposable())
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
	if k.role == convGradInput && g.transposable() {
		runGradInputAsConv(ctx, k, a, b, out)
		return
	}
	cg, og := g.c/g.groups, g.o/g.groups
	rows, ohw := g.colRows(), g.oh*g.ow
	st := k.st
	if st == nil {
		st = &scratch{}
	}
	l := keptLoop[convLoop[T]](st, loopConv)
	l.k, l.a, l.b, l.out = k, a, b, out
	l.parts = chunksInto(l.parts, g.n, convChunks)
	workers := min(ctx.threads, len(l.parts))
	l.cols, l.phases = resized(l.cols, workers), resized(l.phases, workers)
	// The forward pass's implicit products pack op(B) from the image: no
	// im2col matrix.
	l.implicit = k.role == convForward && implicitFloat32[T]()
	colLen, phaseLen := rows*ohw, g.phaseLen(cg)
	if l.implicit {
		colLen, phaseLen = 0, 0
		l.packers.prepare(g, cg, workers)
	}
	// A float32 weight gradient packs op(B) from the image (wgradpack.go)
	// and needs no im2col matrix.
	l.wgrad = nil
	if _, f32 := any(a).([]float32); f32 && k.role == convGradWeight && wgradUsable(g) {
		l.wgradKept = wgradPackers(l.wgradKept, g, workers)
		l.wgrad, colLen, phaseLen = l.wgradKept[:workers], 0, 0
	}
	for wk := range workers {
		buf := scratchFor[T](st, wk, colLen+phaseLen)
		l.cols[wk], l.phases[wk] = buf[:colLen], buf[colLen:]
	}
	l.partial = resized(l.partial, len(l.parts))
	clear(l.partial)
	if k.role == convGradWeight {
		// Chunk 0 accumulates into out; the others into their own buffer,
		// summed in chunk order afterwards.
		l.partial[0] = out
		for p := 1; p < len(l.parts); p++ {
			l.partial[p] = partialFor[T](st, p, len(out))
			clear(l.partial[p])
		}
	}
	// The weights are the left operand of every image's forward and
	// input-gradient product: packed once for all images.
	l.lefts = leftsFor(st, g.groups)
	for gi, slot := range l.lefts {
		switch k.role {
		case convForward:
			packLeft(slot, false, og, rows, b[gi*og*rows:], rows)
		case convGradInput:
			packLeft(slot, true, rows, og, a[gi*og*rows:], rows)
		}
	}
	if l.body == nil {
		l.body = l.run
	}
	parallelWorkers(workers, len(l.parts), l.body)
	if k.role == convGradWeight {
		// In chunk order, one add per element and chunk (eight floats at a
		// time for float32).
		for _, pw := range l.partial[1:] {
			addRows(1, len(out), pw, len(out), out, len(out))
		}
	}
	// Drop the call's operands: the kernel outlives them.
	l.a, l.b, l.out = nil, nil, nil
	clear(l.partial)
}

// convLoop is runConv's parallel loop over chunks of images, kept by the
// kernel (keptLoop): the call's operands, the chunks and the buffers.
type convLoop[T float] struct {
	k            convKernel
	a, b, out    []T
	parts        [][2]int
	cols, phases [][]T // per worker
	partial      [][]T // per chunk: the weight gradient it accumulates into
	lefts        []*packedLeft
	implicit     bool // forward products packed from the image (implicitProduct)
	packers      implicitPackers
	body         func(wk, p int)
	// wgrad are the workers' weight-gradient packers when this call uses
	// them (nil otherwise), wgradKept the packers kept across calls.
	wgrad, wgradKept []*wgradPacker
}

// run computes chunk p of the images as worker wk.
func (l *convLoop[T]) run(wk, p int) {
	g := l.k.g
	cg, og := g.c/g.groups, g.o/g.groups
	rows, ohw := g.colRows(), g.oh*g.ow
	xImg, yImg := g.c*g.h*g.w, g.o*ohw
	col, phase := l.cols[wk], l.phases[wk]
	dw := l.partial[p]
	for n := l.parts[p][0]; n < l.parts[p][1]; n++ {
		for gi := range g.groups {
			xOff := n*xImg + gi*cg*g.h*g.w
			yOff := n*yImg + gi*og*ohw
			wOff := gi * og * rows
			switch l.k.role {
			case convForward: // y_g = W_g · col(x_g)
				x, w := l.a, l.b
				if l.implicit {
					implicitProduct(&l.packers, wk, l.lefts[gi], x[xOff:], l.out[yOff:])
					continue
				}
				im2col(g, x[xOff:], cg, col, phase)
				leftTimes(l.lefts[gi], false, og, ohw, rows, w[wOff:], rows, col, ohw, 0, l.out[yOff:], ohw)
			case convGradInput: // dx_g += col2im(W_gᵀ · dy_g)
				w, dy := l.a, l.b
				leftTimes(l.lefts[gi], true, rows, ohw, og, w[wOff:], rows, dy[yOff:], ohw, 0, col, ohw)
				col2im(g, col, cg, l.out[xOff:], phase)
			case convGradWeight: // dW_g += dy_g · col(x_g)ᵀ
				x, dy := l.a, l.b
				if l.wgrad != nil {
					l.wgrad[wk].gradWeight(any(x[xOff:]).([]float32), any(dy[yOff:]).([]float32), any(dw[wOff:]).([]float32))
					continue
				}
				im2col(g, x[xOff:], cg, col, phase)
				gemm(false, true, og, rows, ohw, dy[yOff:], ohw, col, ohw, 1, dw[wOff:], rows)
			}
		}
	}
}

// transposable says whether the input gradient of g is itself a
// convolution that im2col builds with whole-plane copies: stride and
// dilation 1, one group, padding below the kernel size, and ow = w (then
// the transposed convolution has w = ow too). col2im's scatter adds short
// rows one element at a time; the transposed convolution copies.
func (g convGeom) transposable() bool {
	return g.sh == 1 && g.sw == 1 && g.dh == 1 && g.dw == 1 && g.groups == 1 &&
		g.ph < g.kh && g.pw < g.kw && g.ow == g.w
}

// transposed is the convolution whose forward pass is g's input gradient
// (g.transposable()): dy [N,O,OH,OW] convolved with the flipped,
// transposed weights [C,O,KH,KW] and padding k−1−p gives dx [N,C,H,W].
func (g convGeom) transposed() convGeom {
	return convGeom{n: g.n, c: g.o, h: g.oh, w: g.ow, o: g.c, kh: g.kh, kw: g.kw, oh: g.h, ow: g.w,
		sh: 1, sw: 1, ph: g.kh - 1 - g.ph, pw: g.kw - 1 - g.pw, dh: 1, dw: 1, groups: 1}
}

// runGradInputAsConv computes dx as the forward convolution of dy with the
// flipped, transposed weights: dx[c, iy, ix] = Σ_{o,ki,kj} w[o, c, ki, kj]
// · dy[o, iy + ph − ki, ix + pw − kj]. The products are col2im's, summed
// in another order (GEMM over o, ki, kj instead of a scatter).
func runGradInputAsConv[T float](ctx *runContext, k convKernel, w, dy, dx []T) {
	g := k.g
	t := g.transposed()
	st := k.st
	if st == nil {
		st = &scratch{}
	}
	rows, hw := t.colRows(), t.oh*t.ow
	// wt[c, o, kh−1−ki, kw−1−kj] = w[o, c, ki, kj], shared by the workers.
	wt := partialFor[T](st, 0, g.c*rows)
	for o := range g.o {
		for c := range g.c {
			src := w[(o*g.c+c)*g.kh*g.kw:][:g.kh*g.kw]
			dst := wt[(c*g.o+o)*g.kh*g.kw:][:g.kh*g.kw]
			for i, v := range src {
				dst[len(dst)-1-i] = v
			}
		}
	}
	l := keptLoop[gradInputLoop[T]](st, loopGradInputAsConv)
	workers := min(ctx.threads, g.n)
	l.cols = resized(l.cols, workers)
	// The implicit products pack op(B) from dy: no im2col matrix.
	l.implicit = implicitFloat32[T]()
	colLen := rows * hw
	if l.implicit {
		colLen = 0
		l.packers.prepare(t, t.c, workers)
	}
	for wk := range l.cols {
		l.cols[wk] = scratchFor[T](st, wk, colLen)
	}
	l.k, l.dy, l.dx, l.wt = k, dy, dx, wt
	l.left = leftsFor(st, 1)[0]
	packLeft(l.left, false, g.c, rows, wt, rows)
	if l.body == nil {
		l.body = l.run
	}
	parallelWorkers(workers, g.n, l.body)
	l.dy, l.dx = nil, nil // the kernel outlives the call's operands
}

// gradInputLoop is runGradInputAsConv's parallel loop over images, kept by
// the kernel (keptLoop).
type gradInputLoop[T float] struct {
	k          convKernel
	dy, dx, wt []T
	cols       [][]T // per worker
	left       *packedLeft
	implicit   bool // products packed from dy (implicitProduct)
	packers    implicitPackers
	body       func(wk, n int)
}

// run computes image n's dx as worker wk.
func (l *gradInputLoop[T]) run(wk, n int) {
	g := l.k.g
	t := g.transposed()
	rows, hw := t.colRows(), t.oh*t.ow
	yImg, xImg := g.o*g.oh*g.ow, g.c*hw
	if l.implicit {
		implicitProduct(&l.packers, wk, l.left, l.dy[n*yImg:], l.dx[n*xImg:])
		return
	}
	im2col(t, l.dy[n*yImg:], t.c, l.cols[wk], nil)
	leftTimes(l.left, false, g.c, hw, rows, l.wt, rows, l.cols[wk], hw, 0, l.dx[n*xImg:], hw)
}

// phaseLen is the length of the phase planes that im2col and col2im use for
// cg channels when the horizontal stride is above one (0 otherwise).
func (g convGeom) phaseLen(cg int) int {
	if g.sw == 1 {
		return 0
	}
	return cg * g.sw * g.h * g.phaseWidth()
}

// phaseWidth is the width of one phase plane: the input columns ≡ φ mod sw.
func (g convGeom) phaseWidth() int { return (g.w + g.sw - 1) / g.sw }

// phaseOf splits the input column offset off = kj·dw − pw of a kernel
// column into its phase φ = off mod sw (in [0, sw)) and the shift m0 such
// that the input column ox·sw + off is column ox + m0 of phase plane φ.
func (g convGeom) phaseOf(off int) (phase, shift int) {
	phase = ((off % g.sw) + g.sw) % g.sw
	return phase, (off - phase) / g.sw
}

// splitPhases deinterleaves cg channel planes of x by column phase: plane
// (c, φ) row iy holds x[c, iy, φ], x[c, iy, φ+sw], … With the planes, each
// row of a strided im2col is one contiguous copy instead of a gather that
// touches every sw-th input (conv1 of vggm-112: 7×7 stride 2, 147 im2col
// rows built from 3 input planes).
func splitPhases[T float](g convGeom, x []T, cg int, phases []T) {
	pwid := g.phaseWidth()
	if g.sw == 2 {
		splitPhases2(g, x, cg, phases)
		return
	}
	for c := range cg {
		plane := x[c*g.h*g.w:][:g.h*g.w]
		for ph := range g.sw {
			dst := phases[(c*g.sw+ph)*g.h*pwid:][:g.h*pwid]
			for iy := range g.h {
				src := plane[iy*g.w : (iy+1)*g.w]
				row := dst[iy*pwid : (iy+1)*pwid]
				m := 0
				for ix := ph; ix < g.w; ix += g.sw {
					row[m] = src[ix]
					m++
				}
				clear(row[m:])
			}
		}
	}
}

// splitPhases2 is splitPhases for stride 2 (vggm-112's conv1 and conv2):
// each input row is read once, in pairs, into both phase rows, instead of
// once per phase with a strided index.
func splitPhases2[T float](g convGeom, x []T, cg int, phases []T) {
	pwid := g.phaseWidth()
	pairs := g.w / 2
	for c := range cg {
		plane := x[c*g.h*g.w:][:g.h*g.w]
		even := phases[(2*c)*g.h*pwid:][:g.h*pwid]
		odd := phases[(2*c+1)*g.h*pwid:][:g.h*pwid]
		for iy := range g.h {
			src := plane[iy*g.w : (iy+1)*g.w]
			e := even[iy*pwid : (iy+1)*pwid]
			o := odd[iy*pwid : (iy+1)*pwid]
			for m, pair := range pairsOf(src[:2*pairs]) {
				e[m], o[m] = pair[0], pair[1]
			}
			// An odd width leaves one even column and no odd one.
			if g.w%2 == 1 {
				e[pairs] = src[g.w-1]
			}
			clear(e[(g.w+1)/2:])
			clear(o[pairs:])
		}
	}
}

// pairsOf views an even-length slice as consecutive pairs.
func pairsOf[T float](s []T) [][2]T {
	return unsafe.Slice((*[2]T)(unsafe.Pointer(unsafe.SliceData(s))), len(s)/2)
}

// mergePhases adds phase planes back into the cg channel planes of x; it
// undoes splitPhases for col2im.
func mergePhases[T float](g convGeom, phases []T, cg int, x []T) {
	pwid := g.phaseWidth()
	if g.sw == 2 {
		mergePhases2(g, phases, cg, x)
		return
	}
	for c := range cg {
		plane := x[c*g.h*g.w:][:g.h*g.w]
		for ph := range g.sw {
			src := phases[(c*g.sw+ph)*g.h*pwid:][:g.h*pwid]
			for iy := range g.h {
				dst := plane[iy*g.w : (iy+1)*g.w]
				row := src[iy*pwid : (iy+1)*pwid]
				m := 0
				for ix := ph; ix < g.w; ix += g.sw {
					dst[ix] += row[m]
					m++
				}
			}
		}
	}
}

// mergePhases2 is mergePhases for stride 2 (vggm-112's conv2): each
// image row is updated once, in pairs, from both phase rows.
func mergePhases2[T float](g convGeom, phases []T, cg int, x []T) {
	pwid := g.phaseWidth()
	pairs := g.w / 2
	for c := range cg {
		plane := x[c*g.h*g.w:][:g.h*g.w]
		even := phases[(2*c)*g.h*pwid:][:g.h*pwid]
		odd := phases[(2*c+1)*g.h*pwid:][:g.h*pwid]
		for iy := range g.h {
			dst := plane[iy*g.w : (iy+1)*g.w]
			mergePairs(even[iy*pwid:][:pairs], odd[iy*pwid:][:pairs], dst[:2*pairs])
			if g.w%2 == 1 {
				dst[g.w-1] += even[iy*pwid+pairs]
			}
		}
	}
}

// im2col lays out the receptive fields of cg channels of one image as a
// [cg·KH·KW, OH·OW] matrix, with zeros for padding. phases is scratch of
// g.phaseLen(cg) elements (unused when the horizontal stride is one).
func im2col[T float](g convGeom, x []T, cg int, col, phases []T) {
	ohw := g.oh * g.ow
	// Strided convolutions copy each row from the deinterleaved planes:
	// input row iy of phase plane φ, columns ox + m0.
	width := g.w
	if g.sw > 1 {
		splitPhases(g, x, cg, phases)
		x, width = phases, g.phaseWidth()
	}
	// When a step of one output row moves the input by exactly one output
	// row's worth of elements (sw = 1 and sh·w = ow: "same" 3×3 and 5×5
	// convolutions at stride 1), an im2col row is the input plane shifted
	// by a constant: one long copy, then zeros where the copy wrapped
	// across the input's row ends.
	planeShift := g.sw == 1 && g.sh*g.w == g.ow
	for c := range cg {
		for ki := range g.kh {
			for kj := range g.kw {
				row := col[((c*g.kh+ki)*g.kw+kj)*ohw:][:ohw]
				ix0 := kj*g.dw - g.pw
				lo, hi := validRange(g.ow, g.w, g.sw, ix0)
				phase, shift := 0, ix0
				if g.sw > 1 {
					phase, shift = g.phaseOf(ix0)
				}
				plane := x[(c*g.sw+phase)*g.h*width:][:g.h*width]
				if planeShift {
					copyShiftedPlane(g, row, plane, ki*g.dh-g.ph, ix0, lo, hi)
					continue
				}
				// With dilation 1, kernel row ki reads at output row oy the
				// input row that kernel row ki − sh read at oy + 1: all but
				// the last output row are one copy of that im2col row.
				oyFrom := 0
				if g.dh == 1 && ki >= g.sh && g.oh > 1 {
					above := col[((c*g.kh+ki-g.sh)*g.kw+kj)*ohw:][:ohw]
					copy(row[:(g.oh-1)*g.ow], above[g.ow:])
					oyFrom = g.oh - 1
				}
				for oy := oyFrom; oy < g.oh; oy++ {
					dst := row[oy*g.ow : (oy+1)*g.ow]
					iy := oy*g.sh - g.ph + ki*g.dh
					if iy < 0 || iy >= g.h {
						clear(dst)
						continue
					}
					clear(dst[:lo])
					// lo = hi when this kernel column reads only padding
					// (padding past a dilated kernel's reach); then
					// lo+shift may be negative.
					if lo < hi {
						src := plane[iy*width : (iy+1)*width]
						copy(dst[lo:hi], src[lo+shift:hi+shift])
					}
					clear(dst[hi:])
				}
			}
		}
	}
}

// copyShiftedPlane writes the im2col row of one (channel, ki, kj) when
// sw = 1 and sh·w = ow: output (oy, ox) reads input row oy·sh + iy0 and
// column ox + ix0, which is plane[oy·ow + ox + iy0·w + ix0], so all valid
// elements come in one copy. Output columns [lo, hi) are the valid ones.
func copyShiftedPlane[T float](g convGeom, row, plane []T, iy0, ix0, lo, hi int) {
	oy0, oy1 := validRange(g.oh, g.h, g.sh, iy0)
	if oy0 >= oy1 || lo >= hi {
		clear(row)
		return
	}
	ow := g.ow
	start, end := oy0*ow+lo, (oy1-1)*ow+hi
	from := (oy0*g.sh+iy0)*g.w + lo + ix0
	copy(row[start:end], plane[from:from+end-start])
	clear(row[:start])
	// The copy filled each row's invalid columns with the neighbouring
	// input row's ends; there are at most kw−1 of them per row.
	for oy := oy0; oy < oy1-1; oy++ {
		for i := oy*ow + hi; i < (oy+1)*ow+lo; i++ {
			row[i] = 0
		}
	}
	clear(row[end:])
}

// col2im adds an im2col-shaped matrix back into the image it came from.
// phases is scratch of g.phaseLen(cg) elements, as for im2col: strided
// convolutions add each row contiguously into a phase plane, and the
// planes are interleaved into x at the end.
func col2im[T float](g convGeom, col []T, cg int, x, phases []T) {
	ohw := g.oh * g.ow
	dstImg, width := x, g.w
	if g.sw > 1 {
		clear(phases)
		dstImg, width = phases, g.phaseWidth()
	}
	for c := range cg {
		for ki := range g.kh {
			for kj := range g.kw {
				row := col[((c*g.kh+ki)*g.kw+kj)*ohw:][:ohw]
				ix0 := kj*g.dw - g.pw
				lo, hi := validRange(g.ow, g.w, g.sw, ix0)
				phase, shift := 0, ix0
				if g.sw > 1 {
					phase, shift = g.phaseOf(ix0)
				}
				plane := dstImg[(c*g.sw+phase)*g.h*width:][:g.h*width]
				// The output rows whose input row lies in the image, each
				// added into its input row: rows oy and oy+1 are sh input
				// rows apart, so they never add into the same element.
				oy0, oy1 := validRange(g.oh, g.h, g.sh, ki*g.dh-g.ph)
				if oy0 < oy1 && lo < hi {
					iy0 := oy0*g.sh - g.ph + ki*g.dh
					addRows(oy1-oy0, hi-lo, row[oy0*g.ow+lo:], g.ow, plane[iy0*width+lo+shift:], g.sh*width)
				}
			}
		}
	}
	if g.sw > 1 {
		mergePhases(g, phases, cg, x)
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
