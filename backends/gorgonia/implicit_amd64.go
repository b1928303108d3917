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
