//go:build !openblas

package gorgonia

import sgemmimpl "github.com/icnnlab/icnnlab/backends/gorgonia/internal/sgemm"

// implicitProducts says whether sgemm can take op(B) from an
// implicitPacker (internal/sgemm's BPacker).
const implicitProducts = true

// The packer's panels are sgemm's.
var _ [implicitPanel - sgemmimpl.PanelCols]struct{}
var _ [sgemmimpl.PanelCols - implicitPanel]struct{}

// timesImplicit is C = op(A)·im2col + beta·C with op(A) as packed and
// the im2col matrix (n columns) packed by pk, ncStep columns at a time:
// the floats of times(n, im2col, …).
func (l *packedLeft) timesImplicit(n int, pk *implicitPacker, ncStep int, beta float32, c []float32, ldc int) {
	sgemmimpl.SgemmPackedFunc(&l.p, n, 1, pk.fn, ncStep, beta, c, ldc)
}
