//go:build amd64 && !purego && !openblas

package gorgonia

import "golang.org/x/sys/cpu"

// useTransposeAVX2 says whether the weight-gradient packer transposes
// runs of eight pixels in registers; tests switch it off to compare with
// the scalar loop.
var useTransposeAVX2 = cpu.X86.HasAVX2

// transposeRunAVX2 writes dst[i·16 + r] = src[offs[r] + i] for i in
// [0, n) and r in [0, 16), n ≥ 8: eight pixels at a time as two 8×8
// register transposes, and the last n mod 8 pixels as one more block
// that overlaps the previous one (it writes the same values again).
//
//go:noescape
func transposeRunAVX2(n int, src *float32, offs *[wgradPanel]int, dst *float32)
