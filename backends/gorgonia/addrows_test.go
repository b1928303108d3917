package gorgonia

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestAddRowsMatchesLoop: the assembly adds every element of the block
// once, bit for bit as the loop does, and touches nothing else, for
// widths around the 8- and 4-float steps and strides past the width.
func TestAddRowsMatchesLoop(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, cols := range []int{1, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 31, 53} {
		for _, rows := range []int{1, 2, 5} {
			srcStride, dstStride := cols+rng.IntN(5), cols+rng.IntN(7)
			src := make([]float32, (rows-1)*srcStride+cols)
			dst := make([]float32, (rows-1)*dstStride+cols+3) // elements past the block stay
			for i := range src {
				src[i] = float32(rng.NormFloat64())
			}
			for i := range dst {
				dst[i] = float32(rng.NormFloat64())
			}
			want := append([]float32(nil), dst...)
			for r := range rows {
				for j := range cols {
					want[r*dstStride+j] += src[r*srcStride+j]
				}
			}
			packerModes(t, func(t *testing.T) {
				got := append([]float32(nil), dst...)
				addRows(rows, cols, src, srcStride, got, dstStride)
				for i := range want {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("rows %d cols %d: dst[%d] = %v, want %v", rows, cols, i, got[i], want[i])
					}
				}
			})
		}
	}
}

// TestCol2imSameWithAndWithoutAssembly: col2im on random floats gives the
// same bits with the assembly row adds as with the loop (the sums are
// taken in the same order), for every geometry of the packer's tests.
func TestCol2imSameWithAndWithoutAssembly(t *testing.T) {
	saved := useConvAVX2
	defer func() { useConvAVX2 = saved }()
	for _, geom := range wgradCases {
		g := withOutput(geom)
		t.Run(wgradCaseName(g), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(13, uint64(g.h*g.w)))
			col := make([]float32, g.colRows()*g.oh*g.ow)
			base := make([]float32, g.c*g.h*g.w)
			for i := range col {
				col[i] = float32(rng.NormFloat64())
			}
			for i := range base {
				base[i] = float32(rng.NormFloat64())
			}
			var results [][]float32
			for _, avx := range []bool{false, saved} {
				useConvAVX2 = avx
				x := append([]float32(nil), base...)
				col2im(g, col, g.c, x, make([]float32, g.phaseLen(g.c)))
				results = append(results, x)
			}
			for i := range base {
				if math.Float32bits(results[0][i]) != math.Float32bits(results[1][i]) {
					t.Fatalf("%s: x[%d] = %v with the assembly, %v without", fmt.Sprint(g.ints()), i, results[1][i], results[0][i])
				}
			}
		})
	}
}

// TestMergePairsMatchesLoop: the assembly adds each phase element into its
// image element once, bit for bit as the loop does, for lengths around
// the 8- and 4-pair steps, and leaves the rest of the row alone.
func TestMergePairsMatchesLoop(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 1))
	for _, n := range []int{1, 3, 4, 5, 7, 8, 9, 12, 13, 16, 21, 56} {
		even, odd := make([]float32, n), make([]float32, n)
		dst := make([]float32, 2*n+1)
		for _, s := range [][]float32{even, odd, dst} {
			for i := range s {
				s[i] = float32(rng.NormFloat64())
			}
		}
		want := append([]float32(nil), dst...)
		for m := range n {
			want[2*m] += even[m]
			want[2*m+1] += odd[m]
		}
		packerModes(t, func(t *testing.T) {
			got := append([]float32(nil), dst...)
			mergePairs(even, odd, got[:2*n])
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("n %d: dst[%d] = %v, want %v", n, i, got[i], want[i])
				}
			}
		})
	}
}
