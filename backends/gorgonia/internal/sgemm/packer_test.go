package sgemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestSgemmFuncMatchesSgemm: products whose op(B) comes from a BPacker, at
// several column steps, equal Sgemm's bit for bit (NaN payloads aside),
// for every kernel mode, with op(A) packed per call (SgemmFunc) and once
// (SgemmPackedFunc). The packer here is PackB itself, so any difference is
// the blocking's; TestBPackerBlocks checks what the packer is asked for.
func TestSgemmFuncMatchesSgemm(t *testing.T) {
	for _, mode := range kernels() {
		t.Run(string(mode), func(t *testing.T) {
			withKernel(t, mode, func() {
				rng := rand.New(rand.NewPCG(3, 4))
				var p PackedA
				for _, shape := range packedShapes {
					for _, beta := range []float32{0, 1, 0.5} {
						for _, transB := range []bool{false, true} {
							c := shape
							c.beta, c.transB = beta, transB
							a, lda, b, ldb, cm, ldc := c.operands(rng)
							want := append([]float32(nil), cm...)
							Sgemm(c.transA, c.transB, c.m, c.n, c.k, c.alpha, a, lda, b, ldb, c.beta, want, ldc)
							packB := func(dst []float32, pc, kc, jc, nc int) {
								PackB(dst, c.transB, b, ldb, pc, kc, jc, nc)
							}
							p.Pack(c.transA, c.m, c.k, a, lda)
							for _, step := range []int{0, 1, nr, 3*nr + 5, 2 * ncMax} {
								got := append([]float32(nil), cm...)
								SgemmFunc(c.transA, c.m, c.n, c.k, c.alpha, a, lda, packB, step, c.beta, got, ldc)
								sameFloats(t, fmt.Sprintf("SgemmFunc %v step %d", c, step), got, want)
								got = append(got[:0], cm...)
								SgemmPackedFunc(&p, c.n, c.alpha, packB, step, c.beta, got, ldc)
								sameFloats(t, fmt.Sprintf("SgemmPackedFunc %v step %d", c, step), got, want)
							}
						}
					}
				}
			})
		})
	}
}

// sameFloats compares bit patterns, so that -0 and +0 differ; NaNs match
// any NaN (their payloads are not part of the promise).
func sameFloats(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(math.IsNaN(float64(got[i])) && math.IsNaN(float64(want[i]))) {
			t.Fatalf("%s: C[%d] = %v, Sgemm gives %v", what, i, got[i], want[i])
		}
	}
}

// TestBPackerBlocks: the packer is asked for blocks that tile op(B)
// exactly once per (depth, column) block, in
// column steps of the rounded ncStep, with dst of the documented length;
// and a packer that builds op(B) from a formula (no matrix at all) gives
// the product of that matrix.
func TestBPackerBlocks(t *testing.T) {
	const m, n, k = 20, 70, kcMax + 40
	rng := rand.New(rand.NewPCG(5, 6))
	a := randomMatrix(rng, m*k, 1, 1)
	value := func(p, j int) float32 { return float32((p*31+j*17)%23) - 11 }
	b := make([]float32, k*n)
	for p := range k {
		for j := range n {
			b[p*n+j] = value(p, j)
		}
	}
	want := make([]float32, m*n)
	Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, want, n)
	for _, tc := range []struct{ step, wantStep int }{{0, ncMax}, {20, 2 * nr}, {nr, nr}} {
		covered := make([]int, k*n)
		packB := func(dst []float32, pc, kc, jc, nc int) {
			if jc%tc.wantStep != 0 || nc > tc.wantStep {
				t.Errorf("step %d: block at column %d, %d wide", tc.step, jc, nc)
			}
			if want := kc * roundUp(nc, PanelCols); len(dst) != want {
				t.Errorf("step %d: dst has %d floats, want %d", tc.step, len(dst), want)
			}
			for q := 0; q*PanelCols < nc; q++ {
				panel := dst[q*PanelCols*kc:][:PanelCols*kc]
				for p := range kc {
					for c := range PanelCols {
						j := jc + q*PanelCols + c
						if j >= jc+nc {
							panel[p*PanelCols+c] = 0
							continue
						}
						panel[p*PanelCols+c] = value(pc+p, j)
						covered[(pc+p)*n+j]++
					}
				}
			}
		}
		got := make([]float32, m*n)
		SgemmFunc(false, m, n, k, 1, a, k, packB, tc.step, 0, got, n)
		sameFloats(t, fmt.Sprintf("formula packer, step %d", tc.step), got, want)
		for i, times := range covered {
			if times != 1 {
				t.Fatalf("step %d: op(B) element %d packed %d times", tc.step, i, times)
			}
		}
	}
}

// TestSgemmFuncAllocatesNothing: with a packer its caller keeps, products
// through SgemmPackedFunc and SgemmFunc allocate nothing in the steady
// state.
func TestSgemmFuncAllocatesNothing(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	c := gemmCase{m: 64, n: 144, k: 576, alpha: 1}
	a, lda, b, ldb, cm, ldc := c.operands(rng)
	packB := func(dst []float32, pc, kc, jc, nc int) { PackB(dst, false, b, ldb, pc, kc, jc, nc) }
	var p PackedA
	p.Pack(false, c.m, c.k, a, lda)
	SgemmPackedFunc(&p, c.n, 1, packB, 64, 0, cm, ldc)
	if n := testing.AllocsPerRun(10, func() {
		SgemmPackedFunc(&p, c.n, 1, packB, 64, 0, cm, ldc)
		SgemmFunc(false, c.m, c.n, c.k, 1, a, lda, packB, 0, 0, cm, ldc)
	}); n != 0 {
		t.Errorf("%v allocations per product", n)
	}
}

func TestSgemmFuncPanicsOnBadArguments(t *testing.T) {
	packB := func(dst []float32, pc, kc, jc, nc int) {}
	for name, call := range map[string]func(){
		"negative n":      func() { SgemmFunc(false, 2, -1, 2, 1, make([]float32, 4), 2, packB, 0, 0, make([]float32, 4), 2) },
		"negative ncStep": func() { SgemmFunc(false, 2, 2, 2, 1, make([]float32, 4), 2, packB, -1, 0, make([]float32, 4), 2) },
		"short A":         func() { SgemmFunc(false, 2, 2, 2, 1, make([]float32, 3), 2, packB, 0, 0, make([]float32, 4), 2) },
		"short C":         func() { SgemmFunc(false, 2, 2, 2, 1, make([]float32, 4), 2, packB, 0, 0, make([]float32, 3), 2) },
		"packed short C": func() {
			var p PackedA
			p.Pack(false, 2, 2, make([]float32, 4), 2)
			SgemmPackedFunc(&p, 2, 1, packB, 0, 0, make([]float32, 3), 2)
		},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			call()
		})
	}
}
