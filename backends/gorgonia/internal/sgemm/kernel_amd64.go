//go:build amd64 && !purego

package sgemm

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// hasAVX2FMA says whether the CPU and OS support the assembly kernel
// (x/sys/cpu already folds in whether the OS saves the YMM registers).
var hasAVX2FMA = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// hasAVX512 says whether the CPU and OS support the AVX-512 kernel
// (x/sys/cpu checks that the OS saves the ZMM state).
var hasAVX512 = hasAVX2FMA && cpu.X86.HasAVX512F

// useAssembly can be switched off by tests to exercise the Go kernel;
// useAVX512 (only read when useAssembly is set) to exercise the AVX2 one.
var (
	useAssembly = hasAVX2FMA
	useAVX512   = hasAVX512
)

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
func kernel12x32AVX512(kc int, a, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func kernel6x32AVX512(kc int, a, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func kernel12x16AVX512(kc int, a, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func kernel6x16AVX512(kc int, a, b, c *float32, ldc int, alpha, beta float32)

// avx512Kernels are the AVX-512 kernels by [A panels − 1][B panels − 1]:
// each computes a (mr·rp)×(nr·cp) tile from rp consecutive packed A panels
// and cp consecutive packed B panels (see macroKernelWide).
var avx512Kernels = [2][2]microKernel{
	{avx512Kernel(1, 1, kernel6x16AVX512), avx512Kernel(1, 2, kernel6x32AVX512)},
	{avx512Kernel(2, 1, kernel12x16AVX512), avx512Kernel(2, 2, kernel12x32AVX512)},
}

func avx512Kernel(rp, cp int, asm func(kc int, a, b, c *float32, ldc int, alpha, beta float32)) microKernel {
	return func(kc int, ap, bp []float32, c []float32, ldc int, alpha, beta float32) {
		_ = ap[kc*rp*mr-1]
		_ = bp[kc*cp*nr-1]
		_ = c[(rp*mr-1)*ldc+cp*nr-1]
		asm(kc, unsafe.SliceData(ap), unsafe.SliceData(bp), unsafe.SliceData(c), ldc, alpha, beta)
	}
}

// wideKernels are the AVX-512 kernels when the CPU has them, else nil.
func wideKernels() *[2][2]microKernel {
	if useAssembly && useAVX512 {
		return &avx512Kernels
	}
	return nil
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

//go:noescape
func packA6TransAVX(kc int, src *float32, lda int, dst *float32)

//go:noescape
func packA6AVX(blocks int, src *float32, lda int, dst *float32)

// packAFull is packAFullGo with register transposes for the k steps that
// fill whole blocks of eight.
func packAFull(panel, src []float32, lda, from, kc int) {
	if !useAssembly {
		packAFullGo(panel, src, lda, from, kc)
		return
	}
	_ = panel[kc*mr-1]
	_ = src[(mr-1)*lda+kc-1]
	if blocks := (kc - from) / 8; blocks > 0 {
		packA6AVX(blocks, &src[from], lda, &panel[from*mr])
		from += blocks * 8
	}
	if from < kc {
		packAFullGo(panel, src, lda, from, kc)
	}
}

// packATransFull is packATransFullGo with 24-byte vector copies.
func packATransFull(panel, src []float32, lda, kc int) {
	if !useAssembly {
		packATransFullGo(panel, src, lda, kc)
		return
	}
	_ = panel[kc*mr-1]
	_ = src[(kc-1)*lda+mr-1]
	packA6TransAVX(kc, unsafe.SliceData(src), lda, unsafe.SliceData(panel))
}

func activeKernel() microKernel {
	if useAssembly {
		return kernelAVX2
	}
	return kernelGo
}

// Implementation names the micro-kernel in use, for benchmark logs.
func Implementation() string {
	if useAssembly && useAVX512 {
		return "AVX-512 assembly 12x32"
	}
	if useAssembly {
		return "AVX2+FMA assembly 6x16"
	}
	return "pure Go 6x16"
}
