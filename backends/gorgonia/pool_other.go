//go:build !amd64 || purego || openblas

package gorgonia

// usePoolAVX2 is false: the assembly loop is not built here.
var usePoolAVX2 = false

// poolRowKeys3s2 does no windows here; the caller's scalar loop does them all.
func poolRowKeys3s2(row []float32, keys, ats []int32, base int) int { return 0 }
