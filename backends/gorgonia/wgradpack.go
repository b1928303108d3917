package gorgonia

// The weight gradient of a float32 convolution, dW_g += dy_g · col(x_g)ᵀ,
// used to build each image's whole im2col matrix (rows × OH·OW: 1.6 MB
// for vggm-112's conv1) and have sgemm read it back to pack its
// transpose. wgradPacker packs op(B) = col(x_g)ᵀ for sgemm straight from
// the image instead, one depth block at a time, so the matrix is never
// written: a block is pixels [pc, pc+kc) (op(B)'s rows) by im2col rows
// [jc, jc+nc) (its columns), and a packed panel row holds, for one pixel,
// the values of 16 consecutive im2col rows.
//
// The image is first copied into zero-padded planes split by column phase
// (as splitPhases does for im2col), laid out so that every im2col row is
// the same grid of pixels read from its own start: the value of im2col row
// r at output pixel (oy, ox) is img[rowOffs[r] + oy·sh·planeW + ox]. So a
// run of pixels along one output row is a contiguous run of every im2col
// row, and 16 such runs transposed are the panel's rows for those pixels.
// Padding is zeros in the planes, and the panel columns past the last
// im2col row read a region of zeros after them: the packer writes exactly
// the floats that packing the im2col matrix writes.

// useWgradPacker can be switched off by tests to compare with the im2col
// path.
var useWgradPacker = true

// wgradPanel is the width of sgemm's packed B panels (sgemm.PanelCols).
const wgradPanel = 16

// wgradPacker packs op(B) blocks of the weight gradient for one worker.
type wgradPacker struct {
	g              convGeom
	planeH, planeW int // one padded phase plane
	pixRow         int // offset between the same column of two output rows: sh·planeW
	planes         int // length of the planes in img; zeros follow
	// img holds the current image's padded phase planes, then zeros.
	img []float32
	// rowOffs is where each im2col row's first pixel lies in img, for the
	// im2col rows rounded up to whole panels: the rows past the last one
	// read zeros.
	rowOffs []int
	maxOff  int // the largest rowOffs
	// pack is the method value of packBlock, made once: a new method value
	// per product would be an allocation.
	pack func(dst []float32, pc, kc, jc, nc int)
}

// wgradPackers returns one packer per worker for geometry g, reusing ps.
func wgradPackers(ps []*wgradPacker, g convGeom, workers int) []*wgradPacker {
	for len(ps) < workers {
		p := &wgradPacker{}
		p.pack = p.packBlock
		ps = append(ps, p)
	}
	for _, p := range ps[:workers] {
		p.setup(g)
	}
	return ps[:workers]
}

// setup sizes the planes for g and lays out the im2col rows' offsets.
func (p *wgradPacker) setup(g convGeom) {
	cg := g.c / g.groups
	p.g = g
	// The padded rows and phase columns that the outputs read: output
	// (oy, ox) of kernel tap (ki, kj) reads padded row oy·sh + ki·dh and
	// padded column ox·sw + kj·dw, which is column ox + kj·dw/sw of phase
	// kj·dw mod sw.
	p.planeH = (g.oh-1)*g.sh + (g.kh-1)*g.dh + 1
	p.planeW = g.ow + (g.kw-1)*g.dw/g.sw
	p.pixRow = g.sh * p.planeW
	p.planes = cg * g.sw * p.planeH * p.planeW
	zeros := (g.oh-1)*p.pixRow + g.ow
	p.img = resized(p.img, p.planes+zeros)
	clear(p.img[p.planes:])
	rows := g.colRows()
	p.rowOffs = resized(p.rowOffs, roundUpTo(rows, wgradPanel))
	p.maxOff = 0
	for c := range cg {
		for ki := range g.kh {
			for kj := range g.kw {
				phase, shift := (kj*g.dw)%g.sw, (kj*g.dw)/g.sw
				off := ((c*g.sw+phase)*p.planeH+ki*g.dh)*p.planeW + shift
				p.rowOffs[(c*g.kh+ki)*g.kw+kj] = off
				p.maxOff = max(p.maxOff, off)
			}
		}
	}
	for r := rows; r < len(p.rowOffs); r++ {
		p.rowOffs[r] = p.planes
	}
	p.maxOff = max(p.maxOff, p.planes)
}

func roundUpTo(x, multiple int) int { return (x + multiple - 1) / multiple * multiple }

// wgradUsable says whether the packer handles g: it needs outputs (an
// empty product never packs) and a float32 product through internal/sgemm.
func wgradUsable(g convGeom) bool {
	return useWgradPacker && wgradAvailable && g.oh > 0 && g.ow > 0
}

// load copies the cg channel planes of one image (h×w each) into the
// padded phase planes: plane (c, φ) row r column m holds padded input
// (c, r, m·sw + φ), which is x[c, r − ph, m·sw + φ − pw] or zero.
func (p *wgradPacker) load(x []float32) {
	g := p.g
	cg := g.c / g.groups
	hw, size := g.h*g.w, p.planeH*p.planeW
	for c := range cg {
		src := x[c*hw:][:hw]
		for r := range p.planeH {
			iy := r - g.ph
			if iy < 0 || iy >= g.h {
				for phase := range g.sw {
					clear(p.img[(c*g.sw+phase)*size+r*p.planeW:][:p.planeW])
				}
				continue
			}
			row := src[iy*g.w:][:g.w]
			if g.sw == 2 {
				even := p.img[(2*c)*size+r*p.planeW:][:p.planeW]
				odd := p.img[(2*c+1)*size+r*p.planeW:][:p.planeW]
				splitRow2(row, g.pw, even, odd)
				continue
			}
			for phase := range g.sw {
				dst := p.img[(c*g.sw+phase)*size+r*p.planeW:][:p.planeW]
				off := phase - g.pw
				lo, hi := validRange(p.planeW, g.w, g.sw, off)
				clear(dst[:lo])
				if g.sw == 1 {
					copy(dst[lo:hi], row[lo+off:hi+off])
				} else {
					for m := lo; m < hi; m++ {
						dst[m] = row[m*g.sw+off]
					}
				}
				clear(dst[hi:])
			}
		}
	}
}

// splitRow2 writes one input row into its even and odd padded phase rows
// for stride 2 and left padding pw: padded column s = ix + pw goes to
// phase s mod 2, column s/2. Input pairs (2j, 2j+1) land in one column of
// each phase row, so the row is read once, in pairs.
func splitRow2(row []float32, pw int, even, odd []float32) {
	w := len(row)
	// Input column 2j (padded 2j + pw) goes to phase pw mod 2, column
	// j + pw/2; input column 2j+1 to the other phase, column j + (pw+1)/2.
	first, second := even, odd
	if pw%2 == 1 {
		first, second = odd, even
	}
	lo0, hi0 := clampRange(pw/2, pw/2+(w+1)/2, len(first))
	lo1, hi1 := clampRange((pw+1)/2, (pw+1)/2+w/2, len(second))
	clear(first[:lo0])
	clear(second[:lo1])
	pairs := min(hi0-lo0, hi1-lo1)
	f, s := first[lo0:][:pairs], second[lo1:][:pairs]
	for j, pair := range pairsOf(row[:2*pairs]) {
		f[j], s[j] = pair[0], pair[1]
	}
	for j := pairs; lo0+j < hi0; j++ {
		first[lo0+j] = row[2*j]
	}
	for j := pairs; lo1+j < hi1; j++ {
		second[lo1+j] = row[2*j+1]
	}
	clear(first[hi0:])
	clear(second[hi1:])
}

// clampRange clips [lo, hi) to [0, n), empty ranges to [lo, lo).
func clampRange(lo, hi, n int) (int, int) {
	lo = min(lo, n)
	return lo, max(lo, min(hi, n))
}

// packBlock is a BPacker (see internal/sgemm): it writes op(B) rows
// [pc, pc+kc) (pixels) and columns [jc, jc+nc) (im2col rows) of the
// current image into dst, panel by panel and, within a panel, one run of
// pixels along an output row at a time.
func (p *wgradPacker) packBlock(dst []float32, pc, kc, jc, nc int) {
	ow := p.g.ow
	for q := 0; q*wgradPanel < nc; q++ {
		panel := dst[q*wgradPanel*kc:][:wgradPanel*kc]
		var offs [wgradPanel]int
		copy(offs[:], p.rowOffs[jc+q*wgradPanel:])
		// Columns past nc are zeros even where the im2col matrix goes on
		// (a caller's column step that ends inside a panel).
		for i := nc - q*wgradPanel; i < wgradPanel; i++ {
			offs[i] = p.planes
		}
		for px := pc; px < pc+kc; {
			oy := px / ow
			ox := px - oy*ow
			n := min(ow-ox, pc+kc-px)
			transposeRun(panel[(px-pc)*wgradPanel:][:n*wgradPanel], p.img, oy*p.pixRow+ox, &offs, p.maxOff, n)
			px += n
		}
	}
}

// transposeRun writes out[i·16 + r] = img[base + offs[r] + i] for the n
// pixels i of a run and the 16 rows r of a panel. maxOff bounds offs.
func transposeRun(out, img []float32, base int, offs *[wgradPanel]int, maxOff, n int) {
	if n >= 8 && useTransposeAVX2 {
		// The assembly trusts its pointers: these checks keep a layout bug
		// from reading or writing out of bounds.
		_ = out[n*wgradPanel-1]
		_ = img[base+maxOff+n-1]
		transposeRunAVX2(n, &img[base], offs, &out[0])
		return
	}
	for i := range n {
		o := (*[wgradPanel]float32)(out[i*wgradPanel:])
		for r, off := range offs {
			o[r] = img[base+off+i]
		}
	}
}
