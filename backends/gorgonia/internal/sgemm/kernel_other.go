//go:build !amd64 || purego

package sgemm

// hasAVX2FMA is false here: the assembly kernel is not built.
const hasAVX2FMA = false

// useAssembly exists so the tests compile on every platform; it is never
// set here.
var useAssembly = false

func activeKernel() microKernel { return kernelGo }

// hasAVX512 is false here, and useAVX512 is never set.
const hasAVX512 = false

var useAVX512 = false

func wideKernels() *[2][2]microKernel { return nil }

// Implementation names the micro-kernel in use, for benchmark logs.
func Implementation() string { return "pure Go 6x16" }

func packBFull(panel, src []float32, ldb, kc int) { packBFullGo(panel, src, ldb, kc) }

func packBTransFull(panel, src []float32, ldb, from, kc int) {
	packBTransFullGo(panel, src, ldb, from, kc)
}

func packAFull(panel, src []float32, lda, from, kc int) { packAFullGo(panel, src, lda, from, kc) }

func packATransFull(panel, src []float32, lda, kc int) { packATransFullGo(panel, src, lda, kc) }
