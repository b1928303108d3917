//go:build !amd64 || purego || openblas

package gorgonia

// implicitAVX512 is false: the assembly packer is not built here (nor
// with OpenBLAS, which keeps im2col + GEMM, and whose cgo does not mix
// with Go assembly).
var implicitAVX512 = false

func implicitPanelAVX512(panel *float32, rows int, rowBase *int, src *float32, runs *implicitRun, nRuns int) {
	panic("gorgonia: implicitPanelAVX512 without amd64 assembly")
}

func copyRowsAVX512(dst *float32, dstStride int, src *float32, srcStride int, rows, full int, tail uint64) {
	panic("gorgonia: copyRowsAVX512 without amd64 assembly")
}

func splitRowsAVX512(first, second *float32, dstStride int, src *float32, srcStride int, rows, full int, pairMask, srcMask uint64) {
	panic("gorgonia: splitRowsAVX512 without amd64 assembly")
}
