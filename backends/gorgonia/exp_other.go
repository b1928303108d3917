//go:build !amd64 || purego || openblas

package gorgonia

// useExpAVX2 is false: the assembly loop is not built here.
var useExpAVX2 = false

// expSlice sets dst[i] = e^src[i] (len(dst) ≥ len(src); they may be the
// same slice).
func expSlice(dst, src []float32) {
	dst = dst[:len(src)]
	for i, x := range src {
		dst[i] = exp32(x)
	}
}
