package sgemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// kernelMode selects the micro-kernels: the portable Go one, the AVX2
// one, or the AVX-512 one with AVX2 at the edges.
type kernelMode string

const (
	modeGo     kernelMode = "go"
	modeAVX2   kernelMode = "avx2"
	modeAVX512 kernelMode = "avx512"
)

// kernels lists the micro-kernel modes this build and CPU can run; every
// correctness test runs once per entry.
func kernels() []kernelMode {
	modes := []kernelMode{modeGo}
	if hasAVX2FMA {
		modes = append(modes, modeAVX2)
	}
	if hasAVX512 {
		modes = append(modes, modeAVX512)
	}
	return modes
}

// withKernel runs f with the given kernels and restores the defaults.
func withKernel(t testing.TB, mode kernelMode, f func()) {
	t.Helper()
	savedAsm, saved512 := useAssembly, useAVX512
	useAssembly, useAVX512 = mode != modeGo, mode == modeAVX512
	defer func() { useAssembly, useAVX512 = savedAsm, saved512 }()
	f()
}

// gemmCase is one product; padA/padB/padC widen the leading dimensions
// beyond the stored widths.
type gemmCase struct {
	transA, transB   bool
	m, n, k          int
	alpha, beta      float32
	padA, padB, padC int
}

func (c gemmCase) String() string {
	return fmt.Sprintf("tA=%v_tB=%v_m%d_n%d_k%d_alpha%g_beta%g_pad%d.%d.%d",
		c.transA, c.transB, c.m, c.n, c.k, c.alpha, c.beta, c.padA, c.padB, c.padC)
}

// operands builds random A, B and C with their leading dimensions. Padding
// elements are set to a sentinel so that reading or writing them shows up.
func (c gemmCase) operands(rng *rand.Rand) (a []float32, lda int, b []float32, ldb int, cm []float32, ldc int) {
	aRows, aCols := c.m, c.k
	if c.transA {
		aRows, aCols = c.k, c.m
	}
	bRows, bCols := c.k, c.n
	if c.transB {
		bRows, bCols = c.n, c.k
	}
	lda, ldb, ldc = max(1, aCols+c.padA), max(1, bCols+c.padB), max(1, c.n+c.padC)
	a = randomMatrix(rng, aRows, aCols, lda)
	b = randomMatrix(rng, bRows, bCols, ldb)
	cm = randomMatrix(rng, c.m, c.n, ldc)
	if c.beta == 0 {
		// beta = 0 must ignore C entirely, NaNs included.
		for i := range c.m {
			for j := range c.n {
				cm[i*ldc+j] = float32(math.NaN())
			}
		}
	}
	return a, lda, b, ldb, cm, ldc
}

const sentinel = 1e30

func randomMatrix(rng *rand.Rand, rows, cols, ld int) []float32 {
	x := make([]float32, rows*ld)
	for i := range x {
		if i%ld < cols {
			x[i] = float32(rng.NormFloat64())
		} else {
			x[i] = sentinel
		}
	}
	return x
}

// reference computes the product in float64 with a triple loop, and the
// magnitude sum Σ|alpha·a·b| + |beta·c| per element that bounds the
// float32 rounding error.
func reference(c gemmCase, a []float32, lda int, b []float32, ldb int, cm []float32, ldc int) (want, magnitude []float64) {
	at := func(i, p int) float64 {
		if c.transA {
			return float64(a[p*lda+i])
		}
		return float64(a[i*lda+p])
	}
	bt := func(p, j int) float64 {
		if c.transB {
			return float64(b[j*ldb+p])
		}
		return float64(b[p*ldb+j])
	}
	want = make([]float64, len(cm))
	magnitude = make([]float64, len(cm))
	for i := range cm {
		want[i] = float64(cm[i])
	}
	for i := range c.m {
		for j := range c.n {
			var sum, abs float64
			for p := range c.k {
				sum += at(i, p) * bt(p, j)
				abs += math.Abs(at(i, p) * bt(p, j))
			}
			alpha, beta := float64(c.alpha), float64(c.beta)
			v := alpha * sum
			mag := math.Abs(alpha) * abs
			if c.beta != 0 {
				old := float64(cm[i*ldc+j])
				v += beta * old
				mag += math.Abs(beta * old)
			}
			want[i*ldc+j] = v
			magnitude[i*ldc+j] = mag
		}
	}
	return want, magnitude
}

// check runs one case and reports elements off by more than the float32
// rounding bound, and any change to A, B or to C outside its m×n part.
func check(t *testing.T, c gemmCase, rng *rand.Rand) {
	t.Helper()
	a, lda, b, ldb, cm, ldc := c.operands(rng)
	aBefore, bBefore := slices.Clone(a), slices.Clone(b)
	want, magnitude := reference(c, a, lda, b, ldb, cm, ldc)

	Sgemm(c.transA, c.transB, c.m, c.n, c.k, c.alpha, a, lda, b, ldb, c.beta, cm, ldc)

	// slices.Equal first: cmp.Diff is slow on large equal slices.
	if !slices.Equal(aBefore, a) {
		t.Fatalf("%v: A changed (-before +after):\n%s", c, cmp.Diff(aBefore, a))
	}
	if !slices.Equal(bBefore, b) {
		t.Fatalf("%v: B changed (-before +after):\n%s", c, cmp.Diff(bBefore, b))
	}
	// 2·(k+2)·eps32 relative to the magnitude sum bounds the rounding of
	// k products and sums plus the alpha and beta steps; a wrong or missing
	// term of size ~magnitude/k is far above it.
	const eps32 = 0x1p-23
	tol := 2 * float64(c.k+2) * eps32
	var bad []string
	for i, got := range cm {
		g := float64(got)
		if math.Abs(g-want[i]) <= tol*magnitude[i]+1e-30 && !math.IsNaN(g) {
			continue
		}
		bad = append(bad, fmt.Sprintf("C[%d,%d]=%g want %g", i/ldc, i%ldc, g, want[i]))
		if len(bad) == 5 {
			break
		}
	}
	if len(bad) > 0 {
		t.Fatalf("%v: wrong elements (first %d):\n%s", c, len(bad), strings.Join(bad, "\n"))
	}
}

func TestSgemmShapes(t *testing.T) {
	shapes := []struct{ m, n, k int }{
		{1, 1, 1},
		{7, 13, 5},
		{mr, nr, 1},
		{mr - 1, nr - 1, 3},
		{mr + 1, nr + 1, 4},
		{2 * mr, 2 * nr, 7},
		{4*mr + 1, 4*nr + 3, 13}, // wide tiles with both edges
		{4 * mr, 4 * nr, kcMax + 9},
		{3 * mr, 3 * nr, 9}, // every AVX-512 tile size, all full
		{13, 33, kcMax},
		{12, 17, kcMax + 1},
		{5, 20, 2*kcMax + 3},
		{mcMax + 1, 19, 3},
		{2*mcMax + 7, 5, 2},
		{3, ncMax + 5, 2},
		{1, 40, 9},
		{40, 1, 9},
	}
	flags := []struct{ transA, transB bool }{{false, false}, {false, true}, {true, false}, {true, true}}
	scalars := []struct{ alpha, beta float32 }{{1, 0}, {1, 1}, {-0.5, 0.3}, {0, 2}}
	for _, mode := range kernels() {
		t.Run(string(mode), func(t *testing.T) {
			withKernel(t, mode, func() {
				rng := rand.New(rand.NewPCG(1, 2))
				for _, s := range shapes {
					for _, f := range flags {
						for _, sc := range scalars {
							for _, pad := range []int{0, 3} {
								check(t, gemmCase{transA: f.transA, transB: f.transB, m: s.m, n: s.n, k: s.k,
									alpha: sc.alpha, beta: sc.beta, padA: pad, padB: 2 * pad, padC: pad}, rng)
							}
						}
					}
				}
			})
		})
	}
}

// TestSgemmEmpty covers zero-sized products: nothing to do for m or n = 0,
// and C = beta·C for k = 0.
func TestSgemmEmpty(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, c := range []gemmCase{
		{m: 0, n: 5, k: 3, alpha: 1, beta: 0},
		{m: 4, n: 0, k: 3, alpha: 1, beta: 0},
		{m: 4, n: 5, k: 0, alpha: 1, beta: 0},
		{m: 4, n: 5, k: 0, alpha: 1, beta: 0.5, padC: 2},
		{m: 4, n: 5, k: 0, alpha: 1, beta: 1, transA: true, transB: true},
	} {
		check(t, c, rng)
	}
}

// TestSgemmRandom draws many small products with random flags, scalars
// and leading dimensions.
func TestSgemmRandom(t *testing.T) {
	for _, mode := range kernels() {
		t.Run(string(mode), func(t *testing.T) {
			withKernel(t, mode, func() {
				rng := rand.New(rand.NewPCG(5, 6))
				for range 400 {
					check(t, randomCase(rng), rng)
				}
			})
		})
	}
}

func randomCase(rng *rand.Rand) gemmCase {
	scalars := []float32{0, 1, -1, 0.5, 2.25}
	return gemmCase{
		transA: rng.IntN(2) == 1, transB: rng.IntN(2) == 1,
		m: 1 + rng.IntN(3*mr), n: 1 + rng.IntN(3*nr), k: 1 + rng.IntN(40),
		alpha: scalars[1+rng.IntN(len(scalars)-1)], beta: scalars[rng.IntN(len(scalars))],
		padA: rng.IntN(4), padB: rng.IntN(4), padC: rng.IntN(4),
	}
}

// FuzzSgemm checks random products derived from the fuzzer's seed; the
// seed corpus runs with plain go test.
func FuzzSgemm(f *testing.F) {
	for _, seed := range []uint64{1, 2, 3, 42} {
		f.Add(seed, false)
		f.Add(seed, true)
	}
	f.Fuzz(func(t *testing.T, seed uint64, asm bool) {
		if asm && !hasAVX2FMA {
			t.Skip("no AVX2/FMA kernel in this build")
		}
		mode := modeGo
		if asm {
			mode = kernels()[len(kernels())-1]
		}
		withKernel(t, mode, func() {
			rng := rand.New(rand.NewPCG(seed, 7))
			check(t, randomCase(rng), rng)
		})
	})
}

// TestKernelsAgree compares the micro-kernels on one large product: the
// Go kernel rounds differently from the assembly ones (FMA versus separate
// multiply and add), so they agree to rounding, not bit for bit; the AVX2
// and AVX-512 kernels run the same FMAs in the same order and agree exactly.
func TestKernelsAgree(t *testing.T) {
	if !hasAVX2FMA {
		t.Skip("no AVX2/FMA kernel in this build")
	}
	rng := rand.New(rand.NewPCG(8, 9))
	for _, c := range []gemmCase{
		{m: 50, n: 70, k: 300, alpha: 1, beta: 1},
		{m: 4*mr + 1, n: 4*nr + 3, k: 40, alpha: -0.5, beta: 0.3, transA: true, padC: 5},
		{m: 3 * mr, n: 3 * nr, k: 17, alpha: 2, beta: 0.7, transB: true},
	} {
		a, lda, b, ldb, cm, ldc := c.operands(rng)
		run := func(mode kernelMode) []float32 {
			out := append([]float32(nil), cm...)
			withKernel(t, mode, func() {
				Sgemm(c.transA, c.transB, c.m, c.n, c.k, c.alpha, a, lda, b, ldb, c.beta, out, ldc)
			})
			return out
		}
		goOut, avx2Out := run(modeGo), run(modeAVX2)
		for i := range goOut {
			if d := math.Abs(float64(goOut[i] - avx2Out[i])); d > 1e-3 {
				t.Fatalf("%v: C[%d]: go kernel %g, asm kernel %g", c, i, goOut[i], avx2Out[i])
			}
		}
		if hasAVX512 {
			if diff := cmp.Diff(avx2Out, run(modeAVX512)); diff != "" {
				t.Errorf("%v: AVX-512 kernels differ from the AVX2 one (-avx2 +avx512):\n%s", c, diff)
			}
		}
	}
}

func TestSgemmPanicsOnBadArguments(t *testing.T) {
	for _, tc := range []struct {
		name, wantMsg string
		call          func()
	}{
		{"negative m", "negative dimension", func() { Sgemm(false, false, -1, 1, 1, 1, nil, 1, nil, 1, 0, nil, 1) }},
		{"lda too small", "lda=2", func() {
			Sgemm(false, false, 2, 2, 3, 1, make([]float32, 6), 2, make([]float32, 6), 2, 0, make([]float32, 4), 2)
		}},
		{"short B", "B (3×2, ld 2) needs 6", func() {
			Sgemm(false, false, 2, 2, 3, 1, make([]float32, 6), 3, make([]float32, 5), 2, 0, make([]float32, 4), 2)
		}},
		{"short C transposed", "C (2×2, ld 2) needs 4", func() {
			Sgemm(true, true, 2, 2, 3, 1, make([]float32, 6), 2, make([]float32, 6), 3, 0, make([]float32, 3), 2)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				msg := fmt.Sprint(recover())
				if !strings.Contains(msg, tc.wantMsg) {
					t.Fatalf("panic %q, want one containing %q", msg, tc.wantMsg)
				}
			}()
			tc.call()
		})
	}
}
