package sgemm

// PackedA is op(A) packed once for several products with the same left
// operand: a convolution multiplies its weights by one matrix per image,
// and Sgemm would pack the weights again for each.
type PackedA struct {
	m, k int
	data []float32 // k·roundUp(m, mr) floats: block (ic, pc) at pc·roundUp(m, mr) + ic·kc
}

// Pack packs op(A), m×k (A stored k×m when transA), into p, reusing p's
// buffer. It panics on bad arguments, like Sgemm.
func (p *PackedA) Pack(transA bool, m, k int, a []float32, lda int) {
	if m < 0 || k < 0 {
		panic("sgemm: negative dimension in Pack")
	}
	rows, cols := m, k
	if transA {
		rows, cols = k, m
	}
	checkMatrix("A", "lda", rows, cols, len(a), lda)
	p.m, p.k = m, k
	if m == 0 || k == 0 {
		return
	}
	mp := roundUp(m, mr)
	if cap(p.data) < k*mp {
		p.data = make([]float32, k*mp)
	}
	p.data = p.data[:k*mp]
	kcStep, mcStep := depthBlock(k), rowBlock(m)
	for pc := 0; pc < k; pc += kcStep {
		kc := min(kcStep, k-pc)
		for ic := 0; ic < m; ic += mcStep {
			mc := min(mcStep, m-ic)
			ap := p.block(ic, mc, pc, kc)
			if transA {
				packATrans(ap, a, lda, ic, mc, pc, kc)
			} else {
				packA(ap, a, lda, ic, mc, pc, kc)
			}
		}
	}
}

// block is the packed block of rows [ic, ic+mc) and columns [pc, pc+kc):
// the blocks of one k block are consecutive, and every block before row
// ic is mcStep rows (a multiple of mr) tall.
func (p *PackedA) block(ic, mc, pc, kc int) []float32 {
	return p.data[pc*roundUp(p.m, mr)+ic*kc:][:kc*roundUp(mc, mr)]
}

// SgemmPacked is Sgemm with op(A) from p (m×k as packed): C =
// alpha·op(A)·op(B) + beta·C, op(B) k×n. It packs op(B) and runs the
// micro-kernels exactly as Sgemm does, so the results are Sgemm's bit for
// bit.
func SgemmPacked(p *PackedA, transB bool, n int, alpha float32, b []float32, ldb int, beta float32, c []float32, ldc int) {
	m, k := p.m, p.k
	if n < 0 {
		panic("sgemm: negative dimension in SgemmPacked")
	}
	bRows, bCols := k, n
	if transB {
		bRows, bCols = n, k
	}
	checkMatrix("B", "ldb", bRows, bCols, len(b), ldb)
	checkMatrix("C", "ldc", m, n, len(c), ldc)
	product(m, n, k, alpha, p, false, nil, 0, func(dst []float32, pc, kc, jc, nc int) {
		packBBlock(dst, transB, b, ldb, pc, kc, jc, nc)
	}, ncMax, beta, c, ldc)
}
