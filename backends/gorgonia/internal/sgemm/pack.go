package sgemm

// The packed layouts the micro-kernels read:
//
//   - A block (mc×kc): panels of mr rows; panel i holds, for each k step p,
//     the mr values op(A)[i·mr+r, p] at ap[i·mr·kc + p·mr + r]. Rows past mc
//     are zero.
//   - B block (kc×nc): panels of nr columns; panel j holds, for each k step
//     p, the nr values op(B)[p, j·nr+c] at bp[j·nr·kc + p·nr + c]. Columns
//     past nc are zero.
//
// Zero padding keeps stale buffer contents (possibly NaN or denormal) out
// of the kernel's arithmetic; the macro-kernel drops the padded rows and
// columns of edge tiles.
//
// Packing is on the critical path for the small, deep products of a CNN
// (a 128×1152 weight matrix is packed for only 64 output columns), so the
// full panels gather several source rows per k step with fixed-size array
// writes that the compiler can check once per step.

// packA packs op(A) = A (stored m×k) rows [i0, i0+mc), columns [p0, p0+kc).
func packA(dst, a []float32, lda, i0, mc, p0, kc int) {
	for ir := 0; ir < mc; ir += mr {
		panel := dst[ir*kc : (ir+mr)*kc]
		rows := min(mr, mc-ir)
		if rows == mr {
			packAFull(panel, a[(i0+ir)*lda+p0:], lda, 0, kc)
			continue
		}
		clear(panel)
		for r := range rows {
			for p, v := range a[(i0+ir+r)*lda+p0:][:kc] {
				panel[p*mr+r] = v
			}
		}
	}
}

// packATrans packs op(A) = Aᵀ (A stored k×m): row i of op(A) is column i of
// A, so each k step's mr values are contiguous in A.
func packATrans(dst, a []float32, lda, i0, mc, p0, kc int) {
	for ir := 0; ir < mc; ir += mr {
		panel := dst[ir*kc : (ir+mr)*kc]
		rows := min(mr, mc-ir)
		if rows == mr {
			packATransFull(panel, a[p0*lda+i0+ir:], lda, kc)
			continue
		}
		for p := range kc {
			out := panel[p*mr : (p+1)*mr]
			n := copy(out, a[(p0+p)*lda+i0+ir:][:rows])
			clear(out[n:])
		}
	}
}

// packB packs op(B) = B (stored k×n) rows [p0, p0+kc), columns [j0, j0+nc):
// each k step of a panel is a contiguous run of B's row.
func packB(dst, b []float32, ldb, p0, kc, j0, nc int) {
	for jr := 0; jr < nc; jr += nr {
		panel := dst[jr*kc : (jr+nr)*kc]
		cols := min(nr, nc-jr)
		if cols == nr {
			packBFull(panel, b[p0*ldb+j0+jr:], ldb, kc)
			continue
		}
		for p := range kc {
			out := panel[p*nr : (p+1)*nr]
			n := copy(out, b[(p0+p)*ldb+j0+jr:][:cols])
			clear(out[n:])
		}
	}
}

// packBTrans packs op(B) = Bᵀ (B stored n×k): column j of op(B) is row j of
// B. Full panels interleave eight rows of B at a time into half a panel
// row; eight source streams leave registers for the loop.
func packBTrans(dst, b []float32, ldb, p0, kc, j0, nc int) {
	for jr := 0; jr < nc; jr += nr {
		panel := dst[jr*kc : (jr+nr)*kc]
		cols := min(nr, nc-jr)
		if cols == nr {
			packBTransFull(panel, b[(j0+jr)*ldb+p0:], ldb, 0, kc)
			continue
		}
		clear(panel)
		for c := range cols {
			for p, v := range b[(j0+jr+c)*ldb+p0:][:kc] {
				panel[p*nr+c] = v
			}
		}
	}
}

// packBFullGo packs one full B panel: kc rows of nr floats from src (row
// stride ldb) into panel.
func packBFullGo(panel, src []float32, ldb, kc int) {
	for p := range kc {
		*(*[nr]float32)(panel[p*nr:]) = [nr]float32(src[p*ldb:])
	}
}

// packBTransFullGo packs k steps [from, kc) of one full transposed B panel:
// src holds nr rows of B (stride ldb) starting at the block's first k step.
func packBTransFullGo(panel, src []float32, ldb, from, kc int) {
	for half := 0; half < nr; half += 8 {
		row := func(c int) []float32 { return src[(half+c)*ldb+from:][:kc-from] }
		r0, r1, r2, r3, r4, r5, r6, r7 := row(0), row(1), row(2), row(3), row(4), row(5), row(6), row(7)
		out := panel[from*nr:]
		for p := range r0 {
			o := (*[8]float32)(out[p*nr+half:])
			o[0], o[1], o[2], o[3] = r0[p], r1[p], r2[p], r3[p]
			o[4], o[5], o[6], o[7] = r4[p], r5[p], r6[p], r7[p]
		}
	}
}

// packAFullGo packs k steps [from, kc) of one full A panel: src holds mr
// rows of A (stride lda) starting at the block's first k step.
func packAFullGo(panel, src []float32, lda, from, kc int) {
	row := func(r int) []float32 { return src[r*lda+from:][:kc-from] }
	r0, r1, r2, r3, r4, r5 := row(0), row(1), row(2), row(3), row(4), row(5)
	out := panel[from*mr:]
	for p := range r0 {
		o := (*[mr]float32)(out[p*mr:])
		o[0], o[1], o[2], o[3], o[4], o[5] = r0[p], r1[p], r2[p], r3[p], r4[p], r5[p]
	}
}

// packATransFullGo packs one full transposed A panel: kc runs of mr floats
// from src (stride lda).
func packATransFullGo(panel, src []float32, lda, kc int) {
	for p := range kc {
		*(*[mr]float32)(panel[p*mr:]) = [mr]float32(src[p*lda:])
	}
}
