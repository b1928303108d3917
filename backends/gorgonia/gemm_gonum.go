//go:build !openblas

package gorgonia

import "gonum.org/v1/gonum/blas/gonum"

// blasName says which BLAS the float32 and float64 products use.
const blasName = "gonum (pure Go)"

var gonumBLAS gonum.Implementation

// sgemm is row-major C = op(A)·op(B) + beta·C.
func sgemm(tA, tB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	gonumBLAS.Sgemm(transFlag(tA), transFlag(tB), m, n, k, 1, a, lda, b, ldb, beta, c, ldc)
}
