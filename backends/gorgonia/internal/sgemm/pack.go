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
// Zero padding lets edge tiles run the full kernel; the macro-kernel then
// drops the padded rows and columns.

// packA packs op(A) = A (stored m×k) rows [i0, i0+mc), columns [p0, p0+kc).
func packA(dst, a []float32, lda, i0, mc, p0, kc int) {
	for ir := 0; ir < mc; ir += mr {
		panel := dst[ir*kc : (ir+mr)*kc]
		rows := min(mr, mc-ir)
		for r := range rows {
			src := a[(i0+ir+r)*lda+p0:][:kc]
			for p, v := range src {
				panel[p*mr+r] = v
			}
		}
		for r := rows; r < mr; r++ {
			for p := range kc {
				panel[p*mr+r] = 0
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
			for p := range kc {
				*(*[mr]float32)(panel[p*mr:]) = [mr]float32(a[(p0+p)*lda+i0+ir:])
			}
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
			for p := range kc {
				*(*[nr]float32)(panel[p*nr:]) = [nr]float32(b[(p0+p)*ldb+j0+jr:])
			}
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
// B, read contiguously and scattered with stride nr.
func packBTrans(dst, b []float32, ldb, p0, kc, j0, nc int) {
	for jr := 0; jr < nc; jr += nr {
		panel := dst[jr*kc : (jr+nr)*kc]
		cols := min(nr, nc-jr)
		for c := range cols {
			src := b[(j0+jr+c)*ldb+p0:][:kc]
			for p, v := range src {
				panel[p*nr+c] = v
			}
		}
		for c := cols; c < nr; c++ {
			for p := range kc {
				panel[p*nr+c] = 0
			}
		}
	}
}
