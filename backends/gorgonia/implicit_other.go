//go:build !amd64 || purego || openblas

package gorgonia

// implicitAVX512 is false: the assembly packer is not built here (nor
// with OpenBLAS, which keeps im2col + GEMM, and whose cgo does not mix
// with Go assembly).
var implicitAVX512 = false

func implicitPanelAVX512(panel *float32, rows int, rowBase *int, src *float32, runs *implicitRun, nRuns int) {
	panic("gorgonia: implicitPanelAVX512 without amd64 assembly")
}
