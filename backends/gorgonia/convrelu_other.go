//go:build !amd64 || purego || openblas

package gorgonia

// useReluAVX2 is false: the assembly loops are not built here.
var useReluAVX2 = false

// biasReluVector does nothing here; the caller's scalar loop does it all.
func biasReluVector(row []float32, b float32) int { return 0 }

// reluGradVector does nothing here; the caller's scalar loop does it all.
func reluGradVector(y, dy, dz []float32) int { return 0 }
