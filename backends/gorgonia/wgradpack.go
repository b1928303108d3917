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
	rowLo, rowHi   int // the padded rows that hold input rows
	colHi          int // the input columns [0, colHi) that land in the planes
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

// wgradPackers makes ps hold at least workers packers and sets up the
// first workers of them for geometry g. It returns all of them, so that a
// call with fewer workers does not drop (and a later one remake) the rest.
func wgradPackers(ps []*wgradPacker, g convGeom, workers int) []*wgradPacker {
	for len(ps) < workers {
		p := &wgradPacker{}
		p.pack = p.packBlock
		ps = append(ps, p)
	}
	for _, p := range ps[:workers] {
		p.setup(g)
	}
	return ps
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
	clear(p.img)
	// The input rows and columns that land in the planes (see load): padded
	// row r is input row r − ph, and padded column s, input column s − pw,
	// lies in phase s mod sw, column s/sw < planeW.
	p.rowLo = min(g.ph, p.planeH)
	p.rowHi = max(p.rowLo, min(p.planeH, g.ph+g.h))
	p.colHi = max(0, min(g.w, g.sw*p.planeW-g.pw))
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
// (c, r, m·sw + φ), which is x[c, r − ph, m·sw + φ − pw] or zero. The
// padding is the same for every image, so setup clears the planes once
// and load writes only the elements that come from x: input rows
// [rowLo − ph, rowHi − ph), columns [0, colHi) of each.
func (p *wgradPacker) load(x []float32) {
	g := p.g
	cg := g.c / g.groups
	hw, size, n := g.h*g.w, p.planeH*p.planeW, p.colHi
	for c := range cg {
		src := x[c*hw:][:hw]
		for r := p.rowLo; r < p.rowHi; r++ {
			row := src[(r-g.ph)*g.w:][:n]
			at := c*g.sw*size + r*p.planeW
			switch g.sw {
			case 1:
				copy(p.img[at+g.pw:][:n], row)
			case 2:
				// Input columns 2j and 2j+1 are padded columns 2j + pw and
				// 2j + 1 + pw: one column of each phase row, so the row is
				// read once, in pairs.
				first, second := p.img[at:][:p.planeW], p.img[at+size:][:p.planeW]
				if g.pw%2 == 1 {
					first, second = second, first
				}
				f, s := first[g.pw/2:], second[(g.pw+1)/2:]
				pairs := pairsOf(row[:n&^1])
				f, s = f[:len(pairs)], s[:len(pairs)]
				if len(pairs) >= 8 && useConvAVX2 {
					splitPairsAVX2(len(pairs), &row[0], &f[0], &s[0])
				} else {
					for j, pair := range pairs {
						f[j], s[j] = pair[0], pair[1]
					}
				}
				if n%2 == 1 {
					first[(n-1+g.pw)/2] = row[n-1]
				}
			default:
				for ix, v := range row {
					padded := ix + g.pw
					p.img[at+padded%g.sw*size+padded/g.sw] = v
				}
			}
		}
	}
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
	if n >= 8 && useConvAVX2 {
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
