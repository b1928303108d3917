package sgemm

// kernelGo is the portable micro-kernel: the same contract as the assembly
// one, used on other architectures, on CPUs without AVX2/FMA, with the
// purego build tag, and by the tests as a second implementation.
func kernelGo(kc int, ap, bp []float32, c []float32, ldc int, alpha, beta float32) {
	var acc [mr][nr]float32
	ap = ap[:kc*mr]
	bp = bp[:kc*nr]
	for p := range kc {
		bRow := (*[nr]float32)(bp[p*nr:])
		aCol := (*[mr]float32)(ap[p*mr:])
		for r := range mr {
			av := aCol[r]
			row := &acc[r]
			for j := range nr {
				row[j] += av * bRow[j]
			}
		}
	}
	for r := range mr {
		dst := (*[nr]float32)(c[r*ldc:])
		if beta == 0 {
			for j := range nr {
				dst[j] = alpha * acc[r][j]
			}
			continue
		}
		for j := range nr {
			dst[j] = alpha*acc[r][j] + beta*dst[j]
		}
	}
}
