package gorgonia

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/icnnlab/icnnlab/sdk/graph"
)

// TestUnaryKernelsSplitEvenly checks every unary op's forward and backward
// pass, split over 2 and 3 threads, against one serial pass bit for bit,
// on lengths below, at and above the parallel grain (odd ones included),
// with zeros, negatives and a NaN among the inputs.
func TestUnaryKernelsSplitEvenly(t *testing.T) {
	ops := []unaryKernel{
		{op: graph.OpNeg}, {op: graph.OpAbs}, {op: graph.OpExp}, {op: graph.OpLog}, {op: graph.OpSqrt},
		{op: graph.OpRelu}, {op: graph.OpSigmoid}, {op: graph.OpTanh}, {op: graph.OpLeakyRelu, alpha: 0.1},
		{op: graph.OpClamp, lo: -0.5, hi: 0.75}, {op: graph.OpRound}, {op: graph.OpStopGradient},
	}
	rng := rand.New(rand.NewPCG(13, 14))
	for _, n := range []int{5, elementGrain, 2*elementGrain + 1, 3*elementGrain + 7} {
		x, dy := make([]float32, n), make([]float32, n)
		for i := range x {
			x[i], dy[i] = float32(rng.NormFloat64()*2), float32(rng.NormFloat64())
		}
		x[0], x[n/2] = 0, float32(math.NaN())
		for _, k := range ops {
			want := make([]float32, n)
			if err := unaryForward(k, x, want); err != nil {
				t.Fatalf("%v: %v", k.op, err)
			}
			wantGrad := make([]float32, n)
			gradErr := unaryBackward(unaryGradKernel(k), x, want, dy, wantGrad)
			for _, threads := range []int{1, 2, 3} {
				ctx := &runContext{threads: threads}
				y := make([]float32, n)
				if err := unaryForwardParallel(ctx, k, x, y); err != nil {
					t.Fatalf("%v: %v", k.op, err)
				}
				if !slices.Equal(bitsOf(y), bitsOf(want)) {
					t.Errorf("%v forward, n=%d, %d threads: differs from the serial pass", k.op, n, threads)
				}
				dx := make([]float32, n)
				err := unaryBackwardParallel(ctx, unaryGradKernel(k), x, want, dy, dx)
				if (err != nil) != (gradErr != nil) {
					t.Fatalf("%v backward: error %v, serial pass's %v", k.op, err, gradErr)
				}
				if err == nil && !slices.Equal(bitsOf(dx), bitsOf(wantGrad)) {
					t.Errorf("%v backward, n=%d, %d threads: differs from the serial pass", k.op, n, threads)
				}
			}
		}
	}
}

func bitsOf(xs []float32) []uint32 {
	out := make([]uint32, len(xs))
	for i, v := range xs {
		out[i] = math.Float32bits(v)
	}
	return out
}

// TestArgMaxSplitsEvenly checks the parallel argmax against the serial one
// along each axis of a tensor above the parallel grain, with ties (values
// rounded to a coarse grid) and NaNs, at 2 and 3 threads.
func TestArgMaxSplitsEvenly(t *testing.T) {
	shape := []int{7, 3*elementGrain/(7*5) + 1, 5}
	rng := rand.New(rand.NewPCG(15, 16))
	x := make([]float32, numElements(shape))
	for i := range x {
		x[i] = float32(math.Round(rng.NormFloat64() * 2))
	}
	x[3], x[len(x)/2] = float32(math.NaN()), float32(math.NaN())
	for axis := range shape {
		k := argMaxKernel{axis: axis, inShape: shape}
		n := len(x) / shape[axis]
		want := make([]int64, n)
		argMax(k, x, want)
		for _, threads := range []int{2, 3} {
			got := make([]int64, n)
			for i := range got {
				got[i] = -1
			}
			argMaxParallel(&runContext{threads: threads}, k, x, got)
			if !slices.Equal(got, want) {
				t.Errorf("axis %d, %d threads: differs from the serial argmax", axis, threads)
			}
		}
	}
}

// TestBinaryForwardSplitsEvenly checks the parallel broadcast binary ops
// against the serial walk bit for bit: operands of one shape (one long
// row), a per-channel operand, a row vector and a column broadcast, each
// op, above the parallel grain, at 2 and 3 threads.
func TestBinaryForwardSplitsEvenly(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	random := func(shape ...int) []float32 {
		x := make([]float32, numElements(shape))
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		return x
	}
	out := []int{3, 5, 47, 161} // about 3.5 grains: 2 and 3 parts
	for _, shapes := range [][2][]int{
		{out, out},
		{out, {1, 5, 1, 1}},
		{{161}, out},
		{{3, 5, 47, 1}, out},
	} {
		a, b := random(shapes[0]...), random(shapes[1]...)
		for _, op := range []graph.Op{graph.OpAdd, graph.OpSub, graph.OpMul, graph.OpDiv} {
			k := binaryKernel{op: op, aShape: shapes[0], bShape: shapes[1], outShape: out}
			want := make([]float32, numElements(out))
			binaryForward(k, a, b, want)
			for _, threads := range []int{2, 3} {
				got := make([]float32, len(want))
				binaryForwardParallel(&runContext{threads: threads}, k, a, b, got)
				if !slices.Equal(bitsOf(got), bitsOf(want)) {
					t.Errorf("%v %v %v, %d threads: differs from the serial walk", shapes[0], op, shapes[1], threads)
				}
			}
		}
	}
}
