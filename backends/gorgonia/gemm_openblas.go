//go:build openblas

package gorgonia

/*
#cgo LDFLAGS: -lopenblas
#include <cblas.h>
*/
import "C"

import "unsafe"

// blasName says which BLAS the float32 products use.
const blasName = "OpenBLAS (cgo, one thread per call)"

func init() {
	// Batch-level goroutines already use the cores; OpenBLAS threads on top
	// would oversubscribe them.
	C.openblas_set_num_threads(1)
}

func cblasTrans(t bool) C.enum_CBLAS_TRANSPOSE {
	if t {
		return C.CblasTrans
	}
	return C.CblasNoTrans
}

// sgemm is row-major C = op(A)·op(B) + beta·C.
func sgemm(tA, tB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		for i := range m {
			row := c[i*ldc : i*ldc+n]
			for j := range row {
				row[j] *= beta
			}
		}
		return
	}
	C.cblas_sgemm(C.CblasRowMajor, cblasTrans(tA), cblasTrans(tB), C.blasint(m), C.blasint(n), C.blasint(k),
		1, (*C.float)(unsafe.Pointer(&a[0])), C.blasint(lda), (*C.float)(unsafe.Pointer(&b[0])), C.blasint(ldb),
		C.float(beta), (*C.float)(unsafe.Pointer(&c[0])), C.blasint(ldc))
}

// packedLeft keeps a product's left operand for several products (see
// sharedLeft); OpenBLAS packs it inside each call.
type packedLeft struct {
	tA   bool
	m, k int
	a    []float32
	lda  int
}

func (l *packedLeft) pack(tA bool, m, k int, a []float32, lda int) {
	*l = packedLeft{tA: tA, m: m, k: k, a: a, lda: lda}
}

func (l *packedLeft) times(n int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	sgemm(l.tA, false, l.m, n, l.k, l.a, l.lda, b, ldb, beta, c, ldc)
}
