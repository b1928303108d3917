//go:build amd64 && !purego && !openblas

package gorgonia

import "golang.org/x/sys/cpu"

// useConvAVX2 says whether the weight-gradient packer transposes runs of
// eight pixels in registers and col2im adds its rows eight floats at a
// time; tests switch it off to compare with the scalar loops.
var useConvAVX2 = cpu.X86.HasAVX2

// transposeRunAVX2 writes dst[i·16 + r] = src[offs[r] + i] for i in
// [0, n) and r in [0, 16), n ≥ 8: eight pixels at a time as two 8×8
// register transposes, and the last n mod 8 pixels as one more block
// that overlaps the previous one (it writes the same values again).
//
//go:noescape
func transposeRunAVX2(n int, src *float32, offs *[wgradPanel]int, dst *float32)

// addRowsAVX2 is dst[r·dstStride + j] += src[r·srcStride + j] for r in
// [0, rows) and j in [0, cols), eight columns at a time.
//
//go:noescape
func addRowsAVX2(rows, cols int, src *float32, srcStride int, dst *float32, dstStride int)

// splitPairsAVX2 is first[j] = src[2j], second[j] = src[2j+1] for j in
// [0, n), n ≥ 8.
//
//go:noescape
func splitPairsAVX2(n int, src *float32, first, second *float32)

// mergePairsAVX2 is dst[2m] += even[m], dst[2m+1] += odd[m] for m in
// [0, n).
//
//go:noescape
func mergePairsAVX2(n int, even, odd, dst *float32)
