package gorgonia

import (
	"math"
	"testing"
)

// ulpDistance counts the float32 values between a and b.
func ulpDistance(a, b float32) int64 {
	ia, ib := int64(math.Float32bits(a)), int64(math.Float32bits(b))
	if ia < 0x80000000 != (ib < 0x80000000) {
		return math.MaxInt64
	}
	if d := ia - ib; d < 0 {
		return -d
	} else {
		return d
	}
}

func TestExp32(t *testing.T) {
	// Every 97th float32 in the range where the result is a normal number
	// or an overflow, plus the edges.
	worst, worstAt := int64(0), float32(0)
	check := func(x float32) {
		got := exp32(x)
		want := float32(math.Exp(float64(x)))
		if want < math.SmallestNonzeroFloat32*(1<<23) {
			// Subnormal results: within one step of the subnormal grid.
			if d := ulpDistance(got, want); d > 1 {
				t.Fatalf("exp32(%v) = %v, want %v", x, got, want)
			}
			return
		}
		if math.IsInf(float64(want), 1) {
			if !math.IsInf(float64(got), 1) {
				t.Fatalf("exp32(%v) = %v, want +Inf", x, got)
			}
			return
		}
		if d := ulpDistance(got, want); d > worst {
			worst, worstAt = d, x
		}
	}
	for bits := uint32(0); bits < 0x42d00000; bits += 97 { // 0 … 104
		check(math.Float32frombits(bits))
		check(-math.Float32frombits(bits))
	}
	for _, x := range []float32{0, 1, -1, 88.72, 88.7228, 88.72284, -87.33, -87.3366, -87.34, -103, -103.97, -103.98, -104, 100, -1000, 0.5, -0.5, 1e-8} {
		check(x)
	}
	if worst > 2 {
		t.Errorf("exp32 is %d ulp from math.Exp at %v, want at most 2", worst, worstAt)
	}
	if got := exp32(float32(math.NaN())); got == got {
		t.Errorf("exp32(NaN) = %v", got)
	}
	if got := exp32(float32(math.Inf(-1))); got != 0 {
		t.Errorf("exp32(-Inf) = %v", got)
	}
	if got := exp32(float32(math.Inf(1))); !math.IsInf(float64(got), 1) {
		t.Errorf("exp32(+Inf) = %v", got)
	}
	t.Logf("worst: %d ulp at %v", worst, worstAt)
}

func BenchmarkExp(b *testing.B) {
	xs := make([]float32, 4096)
	for i := range xs {
		xs[i] = float32(i%200-150) * 0.37
	}
	ys := make([]float32, len(xs))
	b.Run("exp32", func(b *testing.B) {
		for b.Loop() {
			for i, x := range xs {
				ys[i] = exp32(x)
			}
		}
		b.SetBytes(int64(4 * len(xs)))
	})
	b.Run("math.Exp", func(b *testing.B) {
		for b.Loop() {
			for i, x := range xs {
				ys[i] = float32(math.Exp(float64(x)))
			}
		}
		b.SetBytes(int64(4 * len(xs)))
	})
}

// TestExpSlice checks the vector loop against exp32 (within 1 ulp: it
// fuses the multiply-adds) on the same inputs as TestExp32's sweep, edge
// values, NaN and infinities included, at every length of the tail.
func TestExpSlice(t *testing.T) {
	var xs []float32
	for bits := uint32(0); bits < 0x42d00000; bits += 997 {
		xs = append(xs, math.Float32frombits(bits), -math.Float32frombits(bits))
	}
	xs = append(xs, 0, 1, -1, 88.72, 88.7228, 88.72284, 89, -87.33, -103.97, -103.98, -104, 100, -1000, float32(math.NaN()),
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.Copysign(0, -1)))
	for _, n := range []int{len(xs), len(xs) - 1, len(xs) - 7, 8, 7, 0} {
		src := xs[len(xs)-n:]
		dst := make([]float32, n)
		expSlice(dst, src)
		for i, x := range src {
			want := exp32(x)
			if got := dst[i]; got != want && ulpDistance(got, want) > 1 && !(got != got && want != want) {
				t.Fatalf("n=%d: expSlice(%v) = %v, exp32 %v", n, x, got, want)
			}
		}
	}
	// In place.
	in := []float32{0, 1, 2, 3, 4, 5, 6, 7, 8}
	expSlice(in, in)
	for i, v := range in {
		if want := exp32(float32(i)); ulpDistance(v, want) > 1 {
			t.Fatalf("in place: e^%d = %v, want %v", i, v, want)
		}
	}
}

func BenchmarkExpSlice(b *testing.B) {
	xs := make([]float32, 4096)
	for i := range xs {
		xs[i] = float32(i%200-150) * 0.37
	}
	ys := make([]float32, len(xs))
	b.SetBytes(int64(4 * len(xs)))
	for b.Loop() {
		expSlice(ys, xs)
	}
}
