package sgemm

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// small64Shapes are the per-image products of the small64 benchmark network
// (see backends/gorgonia/bench_test.go): each conv layer's forward pass
// (W·col), input gradient (Wᵀ·dy) and weight gradient (dy·colᵀ, beta 1),
// and the first linear layer with its two gradients at batch 32.
var small64Shapes = []benchShape{
	{"conv1_fwd", false, false, 32, 4096, 27, 0},
	{"conv1_dx", true, false, 27, 4096, 32, 0},
	{"conv1_dw", false, true, 32, 27, 4096, 1},
	{"conv2_fwd", false, false, 64, 1024, 288, 0},
	{"conv2_dx", true, false, 288, 1024, 64, 0},
	{"conv2_dw", false, true, 64, 288, 1024, 1},
	{"conv3_fwd", false, false, 128, 256, 576, 0},
	{"conv3_dx", true, false, 576, 256, 128, 0},
	{"conv3_dw", false, true, 128, 576, 256, 1},
	{"conv4_fwd", false, false, 128, 64, 1152, 0},
	{"conv4_dx", true, false, 1152, 64, 128, 0},
	{"conv4_dw", false, true, 128, 1152, 64, 1},
	{"fc1_fwd", false, false, 32, 256, 8192, 0},
	{"fc1_dx", false, true, 32, 8192, 256, 0},
	{"fc1_dw", true, false, 8192, 256, 32, 0},
	{"square512", false, false, 512, 512, 512, 0},
}

// vggm112Shapes are the per-image products of the vggm-112 benchmark
// network's convolutions (the default reproduction's network; one image's
// im2col matrix per product): conv1 (7×7 stride 2 on 3 channels, no input
// gradient), conv2 (5×5 stride 2, 12→32), conv3 (3×3, 32→64) and conv4,
// conv5 and the inserted conv (3×3, 64→64), all on 12×12 maps but conv1.
var vggm112Shapes = []benchShape{
	{"conv1_fwd", false, false, 12, 2809, 147, 0},
	{"conv1_dw", false, true, 12, 147, 2809, 1},
	{"conv2_fwd", false, false, 32, 144, 300, 0},
	{"conv2_dx", true, false, 300, 144, 32, 0},
	{"conv2_dw", false, true, 32, 300, 144, 1},
	{"conv3_fwd", false, false, 64, 144, 288, 0},
	{"conv3_dx", true, false, 288, 144, 64, 0},
	{"conv3_dw", false, true, 64, 288, 144, 1},
	{"conv4_fwd", false, false, 64, 144, 576, 0},
	{"conv4_dx", true, false, 576, 144, 64, 0},
	{"conv4_dw", false, true, 64, 576, 144, 1},
}

// benchShape is one product of a benchmark table.
type benchShape struct {
	name           string
	transA, transB bool
	m, n, k        int
	beta           float32
}

type sgemmFunc func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)

// implementations are the products compared; the openblas build tag adds
// OpenBLAS (bench_openblas_test.go).
var implementations = []struct {
	name string
	f    sgemmFunc
}{
	{"sgemm", Sgemm},
	{"sgemm_go", func(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
		saved := useAssembly
		useAssembly = false
		Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		useAssembly = saved
	}},
	{"sgemm_avx2", func(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
		saved := useAVX512
		useAVX512 = false
		Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		useAVX512 = saved
	}},
	{"gonum", gonumSgemm},
}

func gonumSgemm(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	flag := func(t bool) blas.Transpose {
		if t {
			return blas.Trans
		}
		return blas.NoTrans
	}
	gonum.Implementation{}.Sgemm(flag(tA), flag(tB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// BenchmarkSmall64Shapes reports GFLOP/s (2·m·n·k per product) for every
// implementation on every shape.
func BenchmarkSmall64Shapes(b *testing.B) { benchmarkShapes(b, small64Shapes) }

// BenchmarkVGGM112Shapes is BenchmarkSmall64Shapes on vggm-112's products.
func BenchmarkVGGM112Shapes(b *testing.B) { benchmarkShapes(b, vggm112Shapes) }

func benchmarkShapes(b *testing.B, shapes []benchShape) {
	b.Logf("sgemm kernel: %s", Implementation())
	for _, s := range shapes {
		rng := rand.New(rand.NewPCG(1, 1))
		a := randomMatrix(rng, s.m*s.k, 1, 1)
		bm := randomMatrix(rng, s.k*s.n, 1, 1)
		c := randomMatrix(rng, s.m*s.n, 1, 1)
		lda, ldb := s.k, s.n
		if s.transA {
			lda = s.m
		}
		if s.transB {
			ldb = s.k
		}
		for _, impl := range implementations {
			b.Run(fmt.Sprintf("%s/%s", s.name, impl.name), func(b *testing.B) {
				for b.Loop() {
					impl.f(s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, bm, ldb, s.beta, c, s.n)
				}
				flops := 2 * float64(s.m) * float64(s.n) * float64(s.k) * float64(b.N)
				b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// BenchmarkSmall64ShapesBestOf is for shared, noisy machines: per shape it
// alternates the implementations in short rounds (about 10 ms each) and
// reports each one's best round in GFLOP/s, so that load from other
// processes hits all of them alike and the best rounds approach the
// undisturbed speed. b.N counts rounds.
func BenchmarkSmall64ShapesBestOf(b *testing.B) { benchmarkShapesBestOf(b, small64Shapes) }

// BenchmarkVGGM112ShapesBestOf is BenchmarkSmall64ShapesBestOf on vggm-112's
// products.
func BenchmarkVGGM112ShapesBestOf(b *testing.B) { benchmarkShapesBestOf(b, vggm112Shapes) }

func benchmarkShapesBestOf(b *testing.B, shapes []benchShape) {
	b.Logf("sgemm kernel: %s", Implementation())
	for _, s := range shapes {
		b.Run(s.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 1))
			a := randomMatrix(rng, s.m*s.k, 1, 1)
			bm := randomMatrix(rng, s.k*s.n, 1, 1)
			c := randomMatrix(rng, s.m*s.n, 1, 1)
			lda, ldb := s.k, s.n
			if s.transA {
				lda = s.m
			}
			if s.transB {
				ldb = s.k
			}
			flop := 2 * float64(s.m) * float64(s.n) * float64(s.k)
			calls := max(1, int(10e6/flop*50)) // ~10 ms at 50 GFLOP/s
			best := make([]float64, len(implementations))
			for b.Loop() {
				for i, impl := range implementations {
					if impl.name == "sgemm_go" {
						continue
					}
					start := time.Now()
					for range calls {
						impl.f(s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, bm, ldb, s.beta, c, s.n)
					}
					best[i] = max(best[i], flop*float64(calls)/time.Since(start).Seconds()/1e9)
				}
			}
			for i, impl := range implementations {
				if impl.name != "sgemm_go" {
					b.ReportMetric(best[i], impl.name+"-GFLOP/s")
				}
			}
		})
	}
}
