package sgemm

// kernelGo is the portable micro-kernel: the same contract as the assembly
// one, used on other architectures, on CPUs without AVX2/FMA, with the
// purego build tag, and by the tests as a second implementation.
//
// Scalar Go cannot hold a 6×16 tile in registers, so the tile is computed
// in 2×4 blocks whose eight sums stay in registers (eight accumulators plus
// six operands fit the 16 floating-point registers of amd64); each block
// streams its slice of the packed panels, which are in L1.
func kernelGo(kc int, ap, bp []float32, c []float32, ldc int, alpha, beta float32) {
	ap = ap[:kc*mr]
	bp = bp[:kc*nr]
	for r := 0; r < mr; r += 2 {
		for j := 0; j < nr; j += 4 {
			var c00, c01, c02, c03, c10, c11, c12, c13 float32
			for ai, bi := r, j; ai < len(ap); ai, bi = ai+mr, bi+nr {
				a := (*[2]float32)(ap[ai:])
				b := (*[4]float32)(bp[bi:])
				a0, a1 := a[0], a[1]
				b0 := b[0]
				c00 += a0 * b0
				c10 += a1 * b0
				b1 := b[1]
				c01 += a0 * b1
				c11 += a1 * b1
				b2 := b[2]
				c02 += a0 * b2
				c12 += a1 * b2
				b3 := b[3]
				c03 += a0 * b3
				c13 += a1 * b3
			}
			store4(c[r*ldc+j:], alpha, beta, c00, c01, c02, c03)
			store4(c[(r+1)*ldc+j:], alpha, beta, c10, c11, c12, c13)
		}
	}
}

// store4 writes alpha·sums + beta·dst into dst[0:4], not reading dst when
// beta is zero.
func store4(dst []float32, alpha, beta float32, s0, s1, s2, s3 float32) {
	d := (*[4]float32)(dst)
	if beta == 0 {
		d[0], d[1], d[2], d[3] = alpha*s0, alpha*s1, alpha*s2, alpha*s3
		return
	}
	d[0] = alpha*s0 + beta*d[0]
	d[1] = alpha*s1 + beta*d[1]
	d[2] = alpha*s2 + beta*d[2]
	d[3] = alpha*s3 + beta*d[3]
}
