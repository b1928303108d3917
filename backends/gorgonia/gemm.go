package gorgonia

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

var gonumDouble gonum.Implementation

// gemm is row-major C = op(A)·op(B) + beta·C for either float type.
// float32 goes through sgemm (gonum, or OpenBLAS with the openblas build
// tag); float64 always uses gonum.
func gemm[T float](tA, tB bool, m, n, k int, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	switch av := any(a).(type) {
	case []float32:
		sgemm(tA, tB, m, n, k, av, lda, any(b).([]float32), ldb, float32(beta), any(c).([]float32), ldc)
	case []float64:
		gonumDouble.Dgemm(transFlag(tA), transFlag(tB), m, n, k, 1, av, lda, any(b).([]float64), ldb, float64(beta), any(c).([]float64), ldc)
	}
}

func transFlag(t bool) blas.Transpose {
	if t {
		return blas.Trans
	}
	return blas.NoTrans
}

// packLeft prepares op(A) (m×k; A stored k×m when tA) in slot for
// several products leftTimes(slot, …): a convolution's weights times each
// image's matrix. float32 packs it once here instead of once per product;
// float64 products read A as it is. It must run before the products start.
func packLeft[T float](slot *packedLeft, tA bool, m, k int, a []T, lda int) {
	if a32, ok := any(a).([]float32); ok {
		slot.pack(tA, m, k, a32, lda)
	}
}

// leftTimes is gemm(tA, false, m, n, k, a, lda, b, ldb, beta, c, ldc)
// with op(A) as packLeft left it in slot: the same floats.
func leftTimes[T float](slot *packedLeft, tA bool, m, n, k int, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if b32, ok := any(b).([]float32); ok {
		slot.times(n, b32, ldb, float32(beta), any(c).([]float32), ldc)
		return
	}
	gemm(tA, false, m, n, k, a, lda, b, ldb, beta, c, ldc)
}
