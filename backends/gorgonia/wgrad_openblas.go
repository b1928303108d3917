//go:build openblas

package gorgonia

// wgradAvailable: OpenBLAS packs its operands itself, so the weight
// gradient keeps im2col + GEMM.
const wgradAvailable = false

// gradWeight is never called with OpenBLAS (wgradAvailable is false).
func (p *wgradPacker) gradWeight(x, dy, dw []float32) {
	panic("gorgonia: the weight-gradient packer is not available with OpenBLAS")
}
