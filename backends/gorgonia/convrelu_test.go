package gorgonia

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// reluTestValues are random values of both signs with the cases that a
// mask must get right mixed in: zeros of both signs, infinities, NaNs of
// both signs, the smallest subnormal and values that round to zero or
// change sign when the bias is added.
func reluTestValues(rng *rand.Rand, n int) []float32 {
	special := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)),
		float32(math.NaN()), math.Float32frombits(0xffc00001), math.Float32frombits(1), -math.Float32frombits(1),
		0.25, -0.25, 1e-30, -1e-30}
	x := make([]float32, n)
	for i := range x {
		if rng.IntN(3) == 0 {
			x[i] = special[rng.IntN(len(special))]
		} else {
			x[i] = float32(rng.NormFloat64())
		}
	}
	return x
}

// TestBiasReluMatchesScalar compares biasRelu's float32 path (AVX2 where
// the CPU has it) with the written-out rule, bit for bit, on every length
// up to a few vectors and a bias of zero, of each sign and a large one.
func TestBiasReluMatchesScalar(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	for _, b := range []float32{0, 0.25, -0.25, 3} {
		for hw := 1; hw <= 37; hw++ {
			const planes = 3
			y := reluTestValues(rng, planes*hw)
			bias := []float32{b, -b, b}
			want := make([]float32, len(y))
			for i, v := range y {
				if s := v + bias[i/hw]; s > 0 {
					want[i] = s
				}
			}
			for _, withBias := range []bool{true, false} {
				got := append([]float32(nil), y...)
				w := want
				if withBias {
					biasRelu(got, bias, hw, true)
				} else {
					biasRelu(got, nil, hw, true)
					w = make([]float32, len(y))
					for i, v := range y {
						if v > 0 {
							w[i] = v
						}
					}
				}
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(w[i]) {
						t.Fatalf("b=%v hw=%d bias=%v: element %d of %v is %v (bits %#x), want %v (bits %#x)",
							b, hw, withBias, i, y[i], got[i], math.Float32bits(got[i]), w[i], math.Float32bits(w[i]))
					}
				}
			}
		}
	}
}

// TestBlockReluGradMatchesScalar runs the ReLU-only block gradient (dz =
// dy where y > 0, else +0) at 1 and 2 threads against the rule, bit for
// bit, with plane sizes that leave tails after the eight-lane loop.
func TestBlockReluGradMatchesScalar(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	for _, hw := range []int{1, 7, 8, 9, 25, 144} {
		for _, threads := range []int{1, 2} {
			t.Run(fmt.Sprintf("hw%d_threads%d", hw, threads), func(t *testing.T) {
				g := convGeom{n: 3, o: 2, oh: 1, ow: hw}
				n := g.n * g.o * hw
				y, dy := reluTestValues(rng, n), reluTestValues(rng, n)
				dz := make([]float32, n)
				for i := range dz {
					dz[i] = float32(math.NaN()) // stale contents must be overwritten
				}
				k := convBlockGradKernel{g: g, ops: blockOps{relu: true}}
				blockGrad(&runContext{threads: threads}, k, y, dy, dz)
				for i := range dz {
					var want float32
					if y[i] > 0 {
						want = dy[i]
					}
					if math.Float32bits(dz[i]) != math.Float32bits(want) {
						t.Fatalf("element %d (y %v, dy %v): %v, want %v", i, y[i], dy[i], dz[i], want)
					}
				}
			})
		}
	}
}
