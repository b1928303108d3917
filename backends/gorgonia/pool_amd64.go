//go:build amd64 && !purego && !openblas

package gorgonia

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// usePoolAVX2 says whether poolRowKeys3s2 runs the AVX2 loop; tests switch
// it off to compare with the scalar loop.
var usePoolAVX2 = cpu.X86.HasAVX2

//go:noescape
func poolRowKeys3s2AVX2(row *float32, keys, ats *int32, blocks, base int)

// poolRowKeys3s2 sets keys[j] and ats[j] to the largest poolKey32 of
// row[2j .. 2j+2] and base plus the column of its first occurrence, for
// the first len(keys) windows: eight windows per AVX2 step while the
// step's loads stay inside row, and returns how many windows it did.
func poolRowKeys3s2(row []float32, keys, ats []int32, base int) int {
	if !usePoolAVX2 {
		return 0
	}
	// A block of eight windows starting at window j reads row[2j .. 2j+17].
	blocks := min(len(keys)/8, (len(row)-2)/16)
	if blocks <= 0 {
		return 0
	}
	poolRowKeys3s2AVX2(unsafe.SliceData(row), unsafe.SliceData(keys), unsafe.SliceData(ats[:len(keys)]), blocks, base)
	return 8 * blocks
}
