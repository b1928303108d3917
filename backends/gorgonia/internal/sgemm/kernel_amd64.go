//go:build amd64 && !purego

package sgemm

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// hasAVX2FMA says whether the CPU and OS support the assembly kernel
// (x/sys/cpu already folds in whether the OS saves the YMM registers).
var hasAVX2FMA = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// useAssembly can be switched off by tests to exercise the Go kernel.
var useAssembly = hasAVX2FMA

//go:noescape
func kernel6x16AVX2(kc int, a, b, c *float32, ldc int, alpha, beta float32)

func kernelAVX2(kc int, ap, bp []float32, c []float32, ldc int, alpha, beta float32) {
	// The assembly trusts its pointers; these checks keep a packing or
	// tiling bug from turning into memory corruption.
	_ = ap[kc*mr-1]
	_ = bp[kc*nr-1]
	_ = c[(mr-1)*ldc+nr-1]
	kernel6x16AVX2(kc, unsafe.SliceData(ap), unsafe.SliceData(bp), unsafe.SliceData(c), ldc, alpha, beta)
}

//go:noescape
func packB16AVX(kc int, src *float32, ldb int, dst *float32)

//go:noescape
func transpose8x8Panel(blocks int, src *float32, ldb int, dst *float32)

// packBFull is packBFullGo with a vector copy loop.
func packBFull(panel, src []float32, ldb, kc int) {
	if !useAssembly {
		packBFullGo(panel, src, ldb, kc)
		return
	}
	_ = panel[kc*nr-1]
	_ = src[(kc-1)*ldb+nr-1]
	packB16AVX(kc, unsafe.SliceData(src), ldb, unsafe.SliceData(panel))
}

// packBTransFull is packBTransFullGo with 8×8 register transposes for the
// k steps that fill whole blocks of eight.
func packBTransFull(panel, src []float32, ldb, from, kc int) {
	if !useAssembly {
		packBTransFullGo(panel, src, ldb, from, kc)
		return
	}
	_ = panel[kc*nr-1]
	_ = src[(nr-1)*ldb+kc-1]
	if blocks := (kc - from) / 8; blocks > 0 {
		for half := 0; half < nr; half += 8 {
			transpose8x8Panel(blocks, &src[half*ldb+from], ldb, &panel[from*nr+half])
		}
		from += blocks * 8
	}
	if from < kc {
		packBTransFullGo(panel, src, ldb, from, kc)
	}
}

func activeKernel() microKernel {
	if useAssembly {
		return kernelAVX2
	}
	return kernelGo
}

// Implementation names the micro-kernel in use, for benchmark logs.
func Implementation() string {
	if useAssembly {
		return "AVX2+FMA assembly 6x16"
	}
	return "pure Go 6x16"
}
