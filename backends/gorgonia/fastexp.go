package gorgonia

import (
	"math"
	"unsafe"
)

// exp32 is e^x in float32 arithmetic, within 2 ulp of the correctly rounded
// result where that is a normal number, and within 1 subnormal step
// below (checked against math.Exp in TestExp32). The
// loss kernels call it hundreds of thousands of times per step, where
// math.Exp's float64 evaluation (and the conversions around it) cost
// several times more than this. It follows the classic float32 scheme:
// x = n·ln2 + r with |r| ≤ ln2/2 (ln2 split in two so that n·ln2 is exact
// enough), a degree-6 polynomial for e^r, and 2^n put into the exponent
// bits. NaN stays NaN.
func exp32(x float32) float32 {
	const (
		hi       = 88.72283   // above: +Inf
		lo       = -103.97208 // below: 0 (e^lo is half the smallest subnormal float32)
		log2e    = 1.44269504088896341
		ln2Hi    = 0.693359375
		ln2Lo    = -2.12194440e-4
		p0       = 1.9875691500e-4
		p1       = 1.3981999507e-3
		p2       = 8.3334519073e-3
		p3       = 4.1665795894e-2
		p4       = 1.6666665459e-1
		p5       = 5.0000001201e-1
		expBias  = 127
		mantBits = 23
	)
	switch {
	case x > hi:
		return float32(math.Inf(1))
	case x < lo:
		return 0
	case x != x:
		return x
	}
	// n = round(x·log2 e), by adding and subtracting 1.5·2^23.
	const magic = 12582912
	n := float32(x*log2e+magic) - magic
	r := x - n*ln2Hi - n*ln2Lo
	r2 := r * r
	p := ((((p0*r+p1)*r+p2)*r+p3)*r+p4)*r + p5
	y := p*r2 + r + 1
	// n is in [-150, 128]; 2^n is applied as two normal factors, so that
	// n = 128 does not overflow the exponent field before y (< 2) scales
	// it back, and a subnormal result is rounded once, by the last product.
	ni := int32(n)
	h := ni >> 1
	return y * math.Float32frombits(uint32(h+expBias)<<mantBits) * math.Float32frombits(uint32(ni-h+expBias)<<mantBits)
}

// expOf is e^x for the float types: exp32 for float32, math.Exp for float64.
func expOf[T float](x T) T {
	if unsafe.Sizeof(x) == 4 {
		return T(exp32(float32(x)))
	}
	return T(math.Exp(float64(x)))
}
