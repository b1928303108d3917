//go:build !amd64 || purego || openblas

package gorgonia

// useConvAVX2 is false: the assembly is not built here (nor with
// OpenBLAS, which keeps im2col + GEMM for the weight gradient, and whose
// cgo does not mix with Go assembly).
var useConvAVX2 = false

// transposeRunAVX2 is never called here (useConvAVX2 is false).
func transposeRunAVX2(n int, src *float32, offs *[wgradPanel]int, dst *float32) {
	panic("gorgonia: transposeRunAVX2 without the assembly")
}

// addRowsAVX2 is never called here (useConvAVX2 is false).
func addRowsAVX2(rows, cols int, src *float32, srcStride int, dst *float32, dstStride int) {
	panic("gorgonia: addRowsAVX2 without the assembly")
}

// splitPairsAVX2 is never called here (useConvAVX2 is false).
func splitPairsAVX2(n int, src *float32, first, second *float32) {
	panic("gorgonia: splitPairsAVX2 without the assembly")
}

// mergePairsAVX2 is never called here (useConvAVX2 is false).
func mergePairsAVX2(n int, even, odd, dst *float32) {
	panic("gorgonia: mergePairsAVX2 without the assembly")
}
