//go:build !openblas

package gorgonia

import sgemmimpl "github.com/icnnlab/icnnlab/backends/gorgonia/internal/sgemm"

// blasName says which GEMM the float32 and float64 products use.
var blasName = sgemmimpl.Implementation() + " float32 GEMM (internal/sgemm), gonum float64"

// sgemm is row-major C = op(A)·op(B) + beta·C.
func sgemm(tA, tB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	sgemmimpl.Sgemm(tA, tB, m, n, k, 1, a, lda, b, ldb, beta, c, ldc)
}

// packedLeft is a product's left operand packed once for several products
// (see sharedLeft).
type packedLeft struct{ p sgemmimpl.PackedA }

func (l *packedLeft) pack(tA bool, m, k int, a []float32, lda int) { l.p.Pack(tA, m, k, a, lda) }

// times is C = op(A)·B + beta·C with op(A) as packed: sgemm's floats.
func (l *packedLeft) times(n int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	sgemmimpl.SgemmPacked(&l.p, false, n, 1, b, ldb, beta, c, ldc)
}
