//go:build openblas

package gorgonia

// implicitProducts says whether the GEMM can take op(B) from an
// implicitPacker: OpenBLAS packs its operands itself, so the openblas
// build keeps im2col + GEMM.
const implicitProducts = false

// timesImplicit is not available with OpenBLAS; callers check
// implicitProducts first.
func (l *packedLeft) timesImplicit(n int, pk *implicitPacker, ncStep int, beta float32, c []float32, ldc int) {
	panic("gorgonia: implicit-GEMM products are not available with the openblas build")
}
