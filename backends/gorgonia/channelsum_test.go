package gorgonia

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	gt "gorgonia.org/tensor"
)

// TestChannelSumMatchesRowOrder checks the bias gradient bit for bit
// against its definition's order (each image's row summed in float64 from
// the left, the row sums added image by image), with batches that leave
// 0–3 images after the groups of four, at 1 and 2 threads.
func TestChannelSumMatchesRowOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for _, n := range []int{1, 3, 4, 5, 8, 11} {
		for _, threads := range []int{1, 2} {
			t.Run(fmt.Sprintf("n%d_threads%d", n, threads), func(t *testing.T) {
				k := channelSumKernel{n: n, c: 3, hw: 37}
				x := randomValue(rng, n, k.c, k.hw)
				xs := dataOf[float32](x)
				// Every fourth image's rows are 2^40 times larger and the next
				// but one image's are their negations: the small rows between
				// them keep their low bits only when the sums run in order.
				plane := k.c * k.hw
				for img := range n {
					rows := xs[img*plane:][:plane]
					switch img % 4 {
					case 0:
						for i := range rows {
							rows[i] *= 0x1p40
						}
					case 2:
						for i := range rows {
							rows[i] = -xs[(img-2)*plane+i]
						}
					}
				}
				out := newValue(gt.Float32, []int{k.c})
				if err := k.forward(&runContext{threads: threads}, []G.Value{x}, out); err != nil {
					t.Fatal(err)
				}
				for c := range k.c {
					s := 0.0
					for img := range n {
						r := 0.0
						for _, v := range xs[(img*k.c+c)*k.hw:][:k.hw] {
							r += float64(v)
						}
						s += r
					}
					if got := dataOf[float32](out)[c]; math.Float32bits(got) != math.Float32bits(float32(s)) {
						t.Fatalf("channel %d: %v, want %v", c, got, float32(s))
					}
				}
			})
		}
	}
}
