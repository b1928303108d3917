//go:build amd64 && !purego && !openblas

package gorgonia

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// useExpAVX2 says whether expSlice runs the AVX2+FMA loop; tests switch it
// off to compare with exp32.
var useExpAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func expAVX2(dst, src *float32, n int)

// expSlice sets dst[i] = e^src[i] (len(dst) ≥ len(src); they may be the
// same slice): exp32's steps, eight lanes at a time where the CPU has
// AVX2 and FMA, exp32 itself for the rest. The fused multiply-adds round
// once where exp32 rounds twice, so the two may differ by an ulp.
func expSlice(dst, src []float32) {
	n := len(src)
	dst = dst[:n]
	body := 0
	if useExpAVX2 {
		body = n &^ 7
		if body > 0 {
			expAVX2(unsafe.SliceData(dst), unsafe.SliceData(src), body)
		}
	}
	for i := body; i < n; i++ {
		dst[i] = exp32(src[i])
	}
}
