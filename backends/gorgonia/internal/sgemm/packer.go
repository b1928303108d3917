package sgemm

import "fmt"

// Callers that can lay out op(B) faster than they can write it as a matrix
// (a convolution builds its im2col matrix from the image, and copying it
// into panels afterwards reads and writes it a second time) pack it
// themselves with a BPacker.
//
// The packed layout of op(B) rows [pc, pc+kc) and columns [jc, jc+nc):
// panels of PanelCols columns, panel q (columns jc+q·PanelCols onwards) at
// dst[q·PanelCols·kc:], and within a panel the PanelCols values of row
// pc+p at [p·PanelCols, (p+1)·PanelCols). The last panel's columns past
// jc+nc are zeros.
const PanelCols = nr

// BPacker writes op(B) rows [pc, pc+kc) and columns [jc, jc+nc) into dst
// (kc·⌈nc/PanelCols⌉·PanelCols floats) in the packed layout. It must write
// every element of dst: dst holds whatever the previous block left.
type BPacker func(dst []float32, pc, kc, jc, nc int)

// SgemmPackedFunc is SgemmPacked with op(B) (k×n) packed by packB, ncStep
// columns at a time: a packer that builds its values cheaply can keep
// them in cache with a small ncStep. ncStep is rounded up to a multiple
// of PanelCols, and 0 means the default (4096). For the same op(B), the
// results are Sgemm's bit for bit whatever ncStep is: every element of C
// gets the same products, summed in the same order.
func SgemmPackedFunc(p *PackedA, n int, alpha float32, packB BPacker, ncStep int, beta float32, c []float32, ldc int) {
	m, k := p.m, p.k
	if n < 0 || ncStep < 0 {
		panic(fmt.Sprintf("sgemm: negative n=%d or ncStep=%d in SgemmPackedFunc", n, ncStep))
	}
	checkMatrix("C", "ldc", m, n, len(c), ldc)
	product(m, n, k, alpha, p, false, nil, 0, packB, columnStep(ncStep), beta, c, ldc)
}

// SgemmFunc is Sgemm with op(B) (k×n) packed by packB, ncStep columns at a
// time (as in SgemmPackedFunc).
func SgemmFunc(transA bool, m, n, k int, alpha float32, a []float32, lda int, packB BPacker, ncStep int, beta float32, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 || ncStep < 0 {
		panic(fmt.Sprintf("sgemm: negative dimension m=%d n=%d k=%d ncStep=%d in SgemmFunc", m, n, k, ncStep))
	}
	aRows, aCols := m, k
	if transA {
		aRows, aCols = k, m
	}
	checkMatrix("A", "lda", aRows, aCols, len(a), lda)
	checkMatrix("C", "ldc", m, n, len(c), ldc)
	product(m, n, k, alpha, nil, transA, a, lda, packB, columnStep(ncStep), beta, c, ldc)
}

// columnStep is the number of op(B) columns packed at a time for a
// requested ncStep: a multiple of nr, at most ncMax.
func columnStep(ncStep int) int {
	if ncStep == 0 {
		return ncMax
	}
	return min(roundUp(ncStep, nr), ncMax)
}

// PackB packs op(B) rows [pc, pc+kc) and columns [jc, jc+nc) of B (stored
// k×n, or n×k when transB, row stride ldb) into dst in the packed layout,
// as Sgemm does: a BPacker can hand the blocks it cannot build faster to
// it.
func PackB(dst []float32, transB bool, b []float32, ldb, pc, kc, jc, nc int) {
	packBBlock(dst, transB, b, ldb, pc, kc, jc, nc)
}

// DepthBlock is the depth of the blocks that a product of depth k is split
// into (the pc and kc a BPacker is called with): near-equal blocks of at
// most 256. A packer that sizes its column step by the packed block's
// floats needs it.
func DepthBlock(k int) int { return depthBlock(k) }
