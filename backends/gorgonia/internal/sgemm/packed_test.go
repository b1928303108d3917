package sgemm

import (
	"math"
	"math/rand/v2"
	"testing"
)

// packedShapes are the products that the packed entry points are checked
// on against Sgemm: vggm-112's per-image shapes, several row and depth
// blocks with edge tiles and padded leading dimensions, both
// transpositions, and the smallest product.
var packedShapes = []gemmCase{
	{m: 64, n: 144, k: 576, alpha: 1},
	{m: 12, n: 2809, k: 147, alpha: 1},
	{m: 300, n: 37, k: 32, alpha: 1, transA: true},
	{m: mcMax + 5, n: 2*nr + 3, k: kcMax + 7, alpha: -0.5, padA: 2, padB: 1, padC: 3},
	{m: 1, n: 1, k: 1, alpha: 2.25},
	{m: 7, n: 5, k: 3, alpha: 1, transA: true, transB: true},
}

// TestSgemmPackedMatchesSgemm packs op(A) once and multiplies it by
// several B, comparing with Sgemm bit for bit (NaN payloads aside: C
// must be equal element by element), for every kernel mode, on shapes
// with several row blocks (m > mcMax), several depth blocks (k > kcMax),
// edge tiles, both transpositions and betas that ignore, keep or scale C.
// The same PackedA is reused for products of other shapes in between.
func TestSgemmPackedMatchesSgemm(t *testing.T) {
	for _, mode := range kernels() {
		t.Run(string(mode), func(t *testing.T) {
			withKernel(t, mode, func() {
				rng := rand.New(rand.NewPCG(9, 9))
				var p PackedA
				for _, shape := range packedShapes {
					for _, beta := range []float32{0, 1, 0.5} {
						for _, transB := range []bool{false, true} {
							c := shape
							c.beta, c.transB = beta, transB
							a, lda, b, ldb, cm, ldc := c.operands(rng)
							want := append([]float32(nil), cm...)
							Sgemm(c.transA, c.transB, c.m, c.n, c.k, c.alpha, a, lda, b, ldb, c.beta, want, ldc)
							p.Pack(c.transA, c.m, c.k, a, lda)
							for range 2 { // a second product from the same packing
								got := append([]float32(nil), cm...)
								SgemmPacked(&p, c.transB, c.n, c.alpha, b, ldb, c.beta, got, ldc)
								for i := range want {
									if got[i] != want[i] && !(math.IsNaN(float64(got[i])) && math.IsNaN(float64(want[i]))) {
										t.Fatalf("%v: C[%d] = %v packed, %v by Sgemm", c, i, got[i], want[i])
									}
								}
							}
						}
					}
				}
			})
		})
	}
}

// TestSgemmPackedAllocatesNothing: a PackedA reused at its size, and the
// products from it, allocate nothing in the steady state.
func TestSgemmPackedAllocatesNothing(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	c := gemmCase{m: 64, n: 144, k: 576, alpha: 1}
	a, lda, b, ldb, cm, ldc := c.operands(rng)
	var p PackedA
	p.Pack(false, c.m, c.k, a, lda)
	SgemmPacked(&p, false, c.n, 1, b, ldb, 0, cm, ldc)
	if n := testing.AllocsPerRun(10, func() {
		p.Pack(false, c.m, c.k, a, lda)
		SgemmPacked(&p, false, c.n, 1, b, ldb, 0, cm, ldc)
	}); n != 0 {
		t.Errorf("%v allocations per pack and product", n)
	}
}

// BenchmarkPackedA times vggm-112's per-image products whose left operand
// is the weights (forward and input gradient) with op(A) packed in every
// call (Sgemm) and packed once outside the loop (SgemmPacked), in GFLOP/s.
func BenchmarkPackedA(b *testing.B) {
	for _, s := range vggm112Shapes {
		if s.transB {
			continue
		}
		rng := rand.New(rand.NewPCG(1, 1))
		a := randomMatrix(rng, s.m*s.k, 1, 1)
		bm := randomMatrix(rng, s.k*s.n, 1, 1)
		c := randomMatrix(rng, s.m*s.n, 1, 1)
		lda := s.k
		if s.transA {
			lda = s.m
		}
		flops := 2 * float64(s.m*s.n*s.k)
		b.Run(s.name+"/sgemm", func(b *testing.B) {
			for b.Loop() {
				Sgemm(s.transA, false, s.m, s.n, s.k, 1, a, lda, bm, s.n, s.beta, c, s.n)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
		b.Run(s.name+"/packed", func(b *testing.B) {
			var p PackedA
			p.Pack(s.transA, s.m, s.k, a, lda)
			for b.Loop() {
				SgemmPacked(&p, false, s.n, 1, bm, s.n, s.beta, c, s.n)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
