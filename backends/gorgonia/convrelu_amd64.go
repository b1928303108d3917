//go:build amd64 && !purego && !openblas

package gorgonia

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// useReluAVX2 says whether the bias+ReLU and ReLU-gradient loops of the
// convolution blocks run eight lanes at a time; tests switch it off to
// compare with the scalar loops. The Go compiler does not vectorise them,
// and on vggm-112 they were about a tenth of a training step.
var useReluAVX2 = cpu.X86.HasAVX2

//go:noescape
func biasReluAVX2(row *float32, n int, b float32)

//go:noescape
func reluGradAVX2(y, dy, dz *float32, n int)

// biasReluVector sets row[i] = rectify(row[i] + b) for a prefix of row in
// AVX2 and returns its length (a multiple of 8; 0 without AVX2).
func biasReluVector(row []float32, b float32) int {
	n := len(row) &^ 7
	if !useReluAVX2 || n == 0 {
		return 0
	}
	biasReluAVX2(unsafe.SliceData(row), n, b)
	return n
}

// reluGradVector sets dz[i] = keepIf(dy[i], y[i] > 0) for a prefix of the
// three equally long slices in AVX2 and returns its length (a multiple of
// 8; 0 without AVX2).
func reluGradVector(y, dy, dz []float32) int {
	n := len(y) &^ 7
	if !useReluAVX2 || n == 0 {
		return 0
	}
	_, _ = dy[n-1], dz[n-1]
	reluGradAVX2(unsafe.SliceData(y), unsafe.SliceData(dy), unsafe.SliceData(dz), n)
	return n
}
