//go:build !openblas

package gorgonia

import sgemmimpl "github.com/icnnlab/icnnlab/backends/gorgonia/internal/sgemm"

// wgradAvailable: internal/sgemm takes op(B) from the weight-gradient
// packer.
const wgradAvailable = true

// The packer writes sgemm's panels, so it must use their width.
const _ = uint(sgemmimpl.PanelCols-wgradPanel) + uint(wgradPanel-sgemmimpl.PanelCols)

// wgradColumnStep is how many im2col rows (op(B) columns) the packer
// writes per depth block before sgemm multiplies them: 0 for sgemm's
// default, all of them. Steps of 32, 64 and 96 columns (a block that
// stays in L1 between packing and the micro-kernels) measured slower on
// vggm-112's layers: op(A) is then packed once per step.
const wgradColumnStep = 0

// gradWeight adds dy · col(x)ᵀ into dw for one image and group: dy is
// og×OH·OW (row stride OH·OW), dw og×rows (row stride rows), and x the
// group's cg input channels. The products and sums are those of
// gemm(false, true, …) on the im2col matrix, bit for bit.
func (p *wgradPacker) gradWeight(x, dy, dw []float32) {
	g := p.g
	og, ohw := g.o/g.groups, g.oh*g.ow
	p.load(x)
	sgemmimpl.SgemmFunc(false, og, g.colRows(), ohw, 1, dy, ohw, p.pack, wgradColumnStep, 1, dw, g.colRows())
}
