// Package sgemm is a single-precision general matrix product for row-major
// matrices, written in Go with AVX-512 and AVX2+FMA micro-kernels on amd64
// (chosen at run time by what the CPU supports).
//
// It follows the Goto/BLIS layout: op(B) is copied in KC×NC blocks into
// panels NR columns wide, op(A) in MC×KC blocks into panels MR rows tall,
// and a register-blocked micro-kernel multiplies one A panel by one B panel
// into an MR×NR tile of C (the AVX-512 kernel two of each into a 2MR×2NR
// tile). Packing makes every kernel load contiguous
// whatever the transposition and leading dimensions, and the block sizes
// keep a B panel in L1 and the A block in L2 while the kernel runs.
//
// Calls are single-threaded; callers that want parallelism split the work
// themselves (the gorgonia backend already spreads images over goroutines).
package sgemm

import (
	"fmt"
	"sync"
)

//go:generate go run gen_kernel_amd64.go

const (
	mr = 6  // rows of a C tile (micro-kernel)
	nr = 16 // columns of a C tile (two 8-wide vectors)

	// Upper bounds of the cache blocks. kcMax·nr floats of B (16 KiB) sit
	// in L1 next to an A panel; mcMax·kcMax floats of A (144 KiB) in L2;
	// kcMax·ncMax floats of B (4 MiB) in L3.
	kcMax = 256
	mcMax = 144 // multiple of mr
	ncMax = 4096
)

// Sgemm computes C = alpha·op(A)·op(B) + beta·C, where op(X) is X or Xᵀ,
// op(A) is m×k, op(B) is k×n and C is m×n, all row-major with leading
// dimensions (row strides) lda, ldb, ldc. With transA, A is stored k×m;
// with transB, B is stored n×k. When beta is zero C is only written, so it
// may hold anything (NaNs included) beforehand.
//
// It panics, like the BLAS, when a dimension is negative, a leading
// dimension is smaller than its row or a slice is too short.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkArgs(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	product(m, n, k, alpha, nil, transA, a, lda, func(dst []float32, pc, kc, jc, nc int) {
		packBBlock(dst, transB, b, ldb, pc, kc, jc, nc)
	}, ncMax, beta, c, ldc)
}

// product is what every entry point does once its arguments are checked:
// nothing for an empty C, C scaled for an empty sum, else the blocked loop
// with pooled packing buffers. op(A) comes from packed, or (packed nil)
// is packed block by block from a.
func product(m, n, k int, alpha float32, packed *PackedA, transA bool, a []float32, lda int, packB BPacker, ncStep int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scale(m, n, beta, c, ldc)
		return
	}
	bufs := packPool.Get().(*packBuffers)
	defer packPool.Put(bufs)
	if packed != nil {
		multiply(m, n, k, alpha, packed.block, packB, ncStep, beta, c, ldc, bufs)
		return
	}
	multiply(m, n, k, alpha, func(ic, mc, pc, kc int) []float32 {
		return packedABlock(bufs, transA, a, lda, ic, mc, pc, kc)
	}, packB, ncStep, beta, c, ldc, bufs)
}

// packedABlock packs op(A) rows [ic, ic+mc) and columns [pc, pc+kc) into
// bufs.a.
func packedABlock(bufs *packBuffers, transA bool, a []float32, lda, ic, mc, pc, kc int) []float32 {
	ap := bufs.a.take(kc * roundUp(mc, mr))
	if transA {
		packATrans(ap, a, lda, ic, mc, pc, kc)
	} else {
		packA(ap, a, lda, ic, mc, pc, kc)
	}
	return ap
}

// packBBlock packs op(B) rows [pc, pc+kc) and columns [jc, jc+nc) into dst.
func packBBlock(dst []float32, transB bool, b []float32, ldb, pc, kc, jc, nc int) {
	if transB {
		packBTrans(dst, b, ldb, pc, kc, jc, nc)
	} else {
		packB(dst, b, ldb, pc, kc, jc, nc)
	}
}

// multiply is Sgemm's blocked loop (m, n, k ≥ 1); aBlock returns op(A)
// rows [ic, ic+mc) and columns [pc, pc+kc), packed; bBlock packs op(B)
// rows [pc, pc+kc) and columns [jc, jc+nc) into its dst. op(B) is taken
// ncStep columns at a time (a multiple of nr, so that the tiles, and the
// edge tiles among them, are the same for every ncStep).
func multiply(m, n, k int, alpha float32, aBlock func(ic, mc, pc, kc int) []float32, bBlock BPacker, ncStep int, beta float32, c []float32, ldc int, bufs *packBuffers) {
	kernel, wide := activeKernel(), wideKernels()
	kcStep, mcStep := depthBlock(k), rowBlock(m)
	for jc := 0; jc < n; jc += ncStep {
		nc := min(ncStep, n-jc)
		for pc := 0; pc < k; pc += kcStep {
			kc := min(kcStep, k-pc)
			// Only the first k block applies beta; later ones add to it.
			blockBeta := beta
			if pc > 0 {
				blockBeta = 1
			}
			bp := bufs.b.take(kc * roundUp(nc, nr))
			bBlock(bp, pc, kc, jc, nc)
			for ic := 0; ic < m; ic += mcStep {
				mc := min(mcStep, m-ic)
				ap := aBlock(ic, mc, pc, kc)
				if wide != nil {
					macroKernelWide(wide, mc, nc, kc, alpha, ap, bp, blockBeta, c[ic*ldc+jc:], ldc, &bufs.wideEdge)
				} else {
					macroKernel(kernel, mc, nc, kc, alpha, ap, bp, blockBeta, c[ic*ldc+jc:], ldc, &bufs.edge)
				}
			}
		}
	}
}

// depthBlock is the length of the blocks that a product of depth k is
// split into: near-equal blocks of at most kcMax, so that a k just above
// kcMax does not leave a tiny last block whose tiles pay the full cost of
// touching C.
func depthBlock(k int) int {
	kBlocks := (k + kcMax - 1) / kcMax
	return (k + kBlocks - 1) / kBlocks
}

// rowBlock is the height of the blocks that op(A)'s m rows are split
// into: near-equal multiples of mr, at most mcMax.
func rowBlock(m int) int {
	mBlocks := (m + mcMax - 1) / mcMax
	return roundUp((m+mBlocks-1)/mBlocks, mr)
}

// microKernel computes the full tile C[0:mr, 0:nr] = alpha·Ap·Bp + beta·C
// from packed panels of kc steps (kc ≥ 1). c is the tile's first element
// and ldc the row stride of C. When beta is zero C is not read.
type microKernel func(kc int, ap, bp []float32, c []float32, ldc int, alpha, beta float32)

// macroKernel multiplies a packed mc×kc block of A by a packed kc×nc block
// of B into C (the block's top-left element first). Tiles that stick out of
// C are computed into a scratch tile and copied in.
//
// edge receives the partial tiles at the borders; it comes from the pooled
// buffers because a local array would escape (kernel is a func value) and
// cost an allocation per call.
func macroKernel(kernel microKernel, mc, nc, kc int, alpha float32, ap, bp []float32, beta float32, c []float32, ldc int, edge *[mr * nr]float32) {
	for jr := 0; jr < nc; jr += nr {
		cols := min(nr, nc-jr)
		bPanel := bp[jr*kc : (jr+nr)*kc]
		for ir := 0; ir < mc; ir += mr {
			rows := min(mr, mc-ir)
			aPanel := ap[ir*kc : (ir+mr)*kc]
			if rows == mr && cols == nr {
				kernel(kc, aPanel, bPanel, c[ir*ldc+jr:], ldc, alpha, beta)
				continue
			}
			kernel(kc, aPanel, bPanel, edge[:], nr, alpha, 0)
			copyEdge(edge[:], nr, rows, cols, beta, c[ir*ldc+jr:], ldc)
		}
	}
}

// macroKernelWide is macroKernel for the AVX-512 kernels, which compute
// tiles of one or two A panels by one or two B panels: two of each where
// the block has them, one where only one is left. The tiles are the
// 6×16 tiles that macroKernel would use, grouped, so the tiles that stick
// out of C (computed into edge and copied) are the same, and the results
// are macroKernel's bit for bit.
func macroKernelWide(kernels *[2][2]microKernel, mc, nc, kc int, alpha float32, ap, bp []float32, beta float32, c []float32, ldc int, edge *[4 * mr * nr]float32) {
	for jr := 0; jr < nc; {
		cp := 1
		if nc-jr >= 2*nr {
			cp = 2
		}
		cols := min(cp*nr, nc-jr)
		bPanels := bp[jr*kc : (jr+cp*nr)*kc]
		for ir := 0; ir < mc; {
			rp := 1
			if mc-ir >= 2*mr {
				rp = 2
			}
			rows := min(rp*mr, mc-ir)
			kernel := kernels[rp-1][cp-1]
			aPanels := ap[ir*kc : (ir+rp*mr)*kc]
			if rows == rp*mr && cols == cp*nr {
				kernel(kc, aPanels, bPanels, c[ir*ldc+jr:], ldc, alpha, beta)
			} else {
				kernel(kc, aPanels, bPanels, edge[:], 2*nr, alpha, 0)
				copyEdge(edge[:], 2*nr, rows, cols, beta, c[ir*ldc+jr:], ldc)
			}
			ir += rp * mr
		}
		jr += cp * nr
	}
}

// copyEdge writes the rows×cols tile held in edge (row stride lde) into C
// as tile + beta·C, not reading C when beta is zero.
func copyEdge(edge []float32, lde, rows, cols int, beta float32, c []float32, ldc int) {
	for i := range rows {
		dst := c[i*ldc:][:cols]
		src := edge[i*lde:][:cols]
		if beta == 0 {
			copy(dst, src)
			continue
		}
		for j, v := range src {
			dst[j] = v + beta*dst[j]
		}
	}
}

// scale sets C = beta·C, writing zeros (not beta·NaN) when beta is zero.
func scale(m, n int, beta float32, c []float32, ldc int) {
	if beta == 1 {
		return
	}
	for i := range m {
		row := c[i*ldc:][:n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

func roundUp(x, multiple int) int { return (x + multiple - 1) / multiple * multiple }

// growBuffer is a reusable packing buffer.
type growBuffer []float32

// take returns a slice of n floats, growing the buffer when needed. The
// contents are whatever the last user left; packing overwrites all of it.
func (g *growBuffer) take(n int) []float32 {
	if cap(*g) < n {
		*g = make([]float32, n)
	}
	return (*g)[:n]
}

type packBuffers struct {
	a, b     growBuffer
	edge     [mr * nr]float32
	wideEdge [4 * mr * nr]float32 // the AVX-512 kernels' largest tile
}

// packPool keeps packing buffers across calls: the backend calls Sgemm
// many times per step with the same shapes, and allocating a few MiB each
// time would dominate small products.
var packPool = sync.Pool{New: func() any { return new(packBuffers) }}

func checkArgs(transA, transB bool, m, n, k, lenA, lda, lenB, ldb, lenC, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("sgemm: negative dimension m=%d n=%d k=%d", m, n, k))
	}
	aRows, aCols := m, k
	if transA {
		aRows, aCols = k, m
	}
	bRows, bCols := k, n
	if transB {
		bRows, bCols = n, k
	}
	checkMatrix("A", "lda", aRows, aCols, lenA, lda)
	checkMatrix("B", "ldb", bRows, bCols, lenB, ldb)
	checkMatrix("C", "ldc", m, n, lenC, ldc)
}

func checkMatrix(name, ldName string, rows, cols, length, ld int) {
	if ld < max(1, cols) {
		panic(fmt.Sprintf("sgemm: %s=%d is smaller than the %d columns of %s", ldName, ld, cols, name))
	}
	if rows == 0 || cols == 0 {
		return
	}
	if need := (rows-1)*ld + cols; length < need {
		panic(fmt.Sprintf("sgemm: %s (%d×%d, ld %d) needs %d elements, has %d", name, rows, cols, ld, need, length))
	}
}
