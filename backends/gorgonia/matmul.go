package gorgonia

import (
	"fmt"
	"io"

	G "gorgonia.org/gorgonia"
	gt "gorgonia.org/tensor"
)

// matMulKernel is op(A)·op(B) for row-major matrices; the transposed forms
// serve the gradients without materialising transposes.
type matMulKernel struct {
	transA, transB bool
	m, k, n        int
}

func (k matMulKernel) name() string { return "matmul" }

// overwrites: the GEMM runs with beta 0, which writes C without reading it.
func (matMulKernel) overwrites() bool { return true }
func (k matMulKernel) writeAttrs(w io.Writer) {
	ta, tb := 0, 0
	if k.transA {
		ta = 1
	}
	if k.transB {
		tb = 1
	}
	attrWriter{w}.ints("tmkn", ta, tb, k.m, k.k, k.n)
}

func (k matMulKernel) forward(_ *runContext, in []G.Value, out G.Value) error {
	switch out.Dtype() {
	case gt.Float32:
		matMul(k, dataOf[float32](in[0]), dataOf[float32](in[1]), dataOf[float32](out))
	case gt.Float64:
		matMul(k, dataOf[float64](in[0]), dataOf[float64](in[1]), dataOf[float64](out))
	default:
		return fmt.Errorf("dtype %v is not a float", out.Dtype())
	}
	return nil
}

func matMul[T float](k matMulKernel, a, b, c []T) {
	lda, ldb := k.k, k.n
	if k.transA {
		lda = k.m
	}
	if k.transB {
		ldb = k.k
	}
	gemm(k.transA, k.transB, k.m, k.n, k.k, a, lda, b, ldb, 0, c, k.n)
}

func (k matMulKernel) diffWRT(n int) []bool {
	if k.transA || k.transB {
		return make([]bool, n)
	}
	return allTrue(n)
}

func (k matMulKernel) symDiff(ctx *runContext, inputs G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	if k.transA || k.transB {
		return nil, fmt.Errorf("second derivatives of matmul are not supported")
	}
	a, b := inputs[0], inputs[1]
	// dA = dY·Bᵀ, dB = Aᵀ·dY.
	da, err := applyKernel(ctx, matMulKernel{transB: true, m: k.m, k: k.n, n: k.k}, a.Dtype(), nodeShape(a), grad, b)
	if err != nil {
		return nil, err
	}
	db, err := applyKernel(ctx, matMulKernel{transA: true, m: k.k, k: k.m, n: k.n}, b.Dtype(), nodeShape(b), a, grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{da, db}, nil
}
