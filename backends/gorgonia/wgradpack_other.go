//go:build !amd64 || purego

package gorgonia

// useTransposeAVX2 is false: the assembly is not built here.
var useTransposeAVX2 = false

// transposeRunAVX2 is never called here (useTransposeAVX2 is false).
func transposeRunAVX2(n int, src *float32, offs *[wgradPanel]int, dst *float32) {
	panic("gorgonia: transposeRunAVX2 without the assembly")
}
