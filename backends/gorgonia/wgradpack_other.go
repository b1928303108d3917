//go:build !amd64 || purego || openblas

package gorgonia

// useTransposeAVX2 is false: the assembly is not built here (nor with
// OpenBLAS, which keeps im2col + GEMM for the weight gradient, and whose
// cgo does not mix with Go assembly).
var useTransposeAVX2 = false

// transposeRunAVX2 is never called here (useTransposeAVX2 is false).
func transposeRunAVX2(n int, src *float32, offs *[wgradPanel]int, dst *float32) {
	panic("gorgonia: transposeRunAVX2 without the assembly")
}
