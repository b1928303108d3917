//go:build amd64 && !purego && !openblas

package gorgonia

import "golang.org/x/sys/cpu"

// implicitAVX512 says whether the implicit packer assembles its panel
// rows with AVX-512 masked loads (one 16-lane register per row). Without
// it the implicit path is not taken (implicitFloat32): the Go packer
// copies run by run and is slower than im2col with sgemm's own packing.
var implicitAVX512 = cpu.X86.HasAVX512F

//go:noescape
func implicitPanelAVX512(panel *float32, rows int, rowBase *int, src *float32, runs *implicitRun, nRuns int)

// copyRowsAVX512 copies rows rows from src to dst, row strides in
// floats: full floats (a multiple of 16), then the lanes of mask tail;
// nothing else in dst is written.
//
//go:noescape
func copyRowsAVX512(dst *float32, dstStride int, src *float32, srcStride int, rows, full int, tail uint64)

// splitRowsAVX512 deinterleaves rows rows: first[i] = src[2i], second[i]
// = src[2i+1] for full pairs (a multiple of 16), then for the pairs of
// mask pairMask from the source floats of mask srcMask; row strides in
// floats; nothing else in first and second is written.
//
//go:noescape
func splitRowsAVX512(first, second *float32, dstStride int, src *float32, srcStride int, rows, full int, pairMask, srcMask uint64)
