package gorgonia

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
	G "gorgonia.org/gorgonia"
	gt "gorgonia.org/tensor"

	"github.com/icnnlab/icnnlab/sdk/graph"
)

// TestOverwritingKernelsIgnoreStaleOutput runs each kernel that says it
// overwrites its output (so kernelOp.Do skips clearing the buffer kept
// from the previous step) once into a zeroed buffer and once into one
// full of NaNs: the results must have the same bits.
func TestOverwritingKernelsIgnoreStaleOutput(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	// x has zeros, NaNs and values outside the clamp range, where the
	// gradients of abs and clamp are zero.
	x := randomValue(rng, 3, 4, 5)
	for i, v := range []float32{0, float32(math.NaN()), 3, -3} {
		dataOf[float32](x)[7*i] = v
	}
	y, dy := randomValue(rng, 3, 4, 5), randomValue(rng, 3, 4, 5)
	idx := newValue(gt.Int64, []int{4})
	copy(dataOf[int64](idx), []int64{2, 0, -1, 2})
	a, b := randomValue(rng, 6, 7), randomValue(rng, 7, 5)
	cases := []struct {
		name  string
		k     kernel
		in    []G.Value
		dtype gt.Dtype
		shape []int
	}{
		{"abs_grad", unaryGradKernel{op: graph.OpAbs}, []G.Value{x, y, dy}, gt.Float32, []int{3, 4, 5}},
		{"clamp_grad", unaryGradKernel{op: graph.OpClamp, lo: -1, hi: 1}, []G.Value{x, y, dy}, gt.Float32, []int{3, 4, 5}},
		{"relu_grad", unaryGradKernel{op: graph.OpRelu}, []G.Value{x, y, dy}, gt.Float32, []int{3, 4, 5}},
		{"leaky_relu_grad", unaryGradKernel{op: graph.OpLeakyRelu, alpha: 0.1}, []G.Value{x, y, dy}, gt.Float32, []int{3, 4, 5}},
		{"transpose", transposeKernel{perm: []int{2, 0, 1}, inShape: []int{3, 4, 5}}, []G.Value{x}, gt.Float32, []int{5, 3, 4}},
		{"reshape", reshapeKernel{}, []G.Value{x}, gt.Float32, []int{12, 5}},
		{"gather", gatherKernel{axis: 1, xShape: []int{3, 4, 5}, idxShape: []int{4}}, []G.Value{x, idx}, gt.Float32, []int{3, 4, 5}},
		{"argmax", argMaxKernel{axis: 1, inShape: []int{3, 4, 5}}, []G.Value{x}, gt.Int64, []int{3, 5}},
		{"cast", castKernel{to: gt.Float64}, []G.Value{x}, gt.Float64, []int{3, 4, 5}},
		{"matmul", matMulKernel{m: 6, k: 7, n: 5}, []G.Value{a, b}, gt.Float32, []int{6, 5}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !overwrites(c.k) {
				t.Fatalf("%s does not say it overwrites its output", c.name)
			}
			ctx := &runContext{threads: 1}
			fresh, stale := newValue(c.dtype, c.shape), newValue(c.dtype, c.shape)
			fillNaN(stale)
			if err := c.k.forward(ctx, c.in, fresh); err != nil {
				t.Fatal(err)
			}
			if err := c.k.forward(ctx, c.in, stale); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(valueBits(fresh), valueBits(stale)); diff != "" {
				t.Errorf("output over NaNs differs from output over zeros (-zeros +NaNs):\n%s", diff)
			}
		})
	}
}

// fillNaN sets every element of a float value to NaN, and of an integer
// value to -1.
func fillNaN(v G.Value) {
	switch v.Dtype() {
	case gt.Float32:
		for i := range dataOf[float32](v) {
			dataOf[float32](v)[i] = float32(math.NaN())
		}
	case gt.Float64:
		for i := range dataOf[float64](v) {
			dataOf[float64](v)[i] = math.NaN()
		}
	case gt.Int64:
		for i := range dataOf[int64](v) {
			dataOf[int64](v)[i] = -1
		}
	}
}

// valueBits is a value's elements as bit patterns, so NaNs compare.
func valueBits(v G.Value) []uint64 {
	var out []uint64
	switch v.Dtype() {
	case gt.Float32:
		for _, f := range dataOf[float32](v) {
			out = append(out, uint64(math.Float32bits(f)))
		}
	case gt.Float64:
		for _, f := range dataOf[float64](v) {
			out = append(out, math.Float64bits(f))
		}
	case gt.Int64:
		for _, i := range dataOf[int64](v) {
			out = append(out, uint64(i))
		}
	}
	return out
}

// TestConvBlockPoolGradientIgnoresStaleOutput is the same check for the
// fused block's pooled gradient, which scatters through the forward pass's
// argmax into each plane it clears first.
func TestConvBlockPoolGradientIgnoresStaleOutput(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	g := convGeomSame(2, 3, 6, 4)
	st := &blockState{}
	ops := blockOps{bias: true, relu: true, pool: true}
	fwd := convBlockKernel{g: g, ops: ops, st: st}
	in := []G.Value{randomValue(rng, g.xShape()...), randomValue(rng, g.wShape()...), randomValue(rng, g.o)}
	ctx := &runContext{threads: 2}
	y := newValue(gt.Float32, fwd.outShape())
	if err := fwd.forward(ctx, in, y); err != nil {
		t.Fatal(err)
	}
	dy := randomValue(rng, fwd.outShape()...)
	k := convBlockGradKernel{g: g, ops: ops, st: st}
	if !overwrites(k) {
		t.Fatal("the pooled block gradient does not say it overwrites its output")
	}
	fresh, stale := newValue(gt.Float32, g.yShape()), newValue(gt.Float32, g.yShape())
	fillNaN(stale)
	for _, out := range []G.Value{fresh, stale} {
		if err := k.forward(ctx, []G.Value{y, dy}, out); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff(valueBits(fresh), valueBits(stale)); diff != "" {
		t.Errorf("output over NaNs differs from output over zeros (-zeros +NaNs):\n%s", diff)
	}
}

// TestTransposeMatchesIndexFormula checks transpose against the index
// formula y[i_perm...] = x[i...], for permutations that move the innermost
// axis and ones that keep it (which copy whole rows).
func TestTransposeMatchesIndexFormula(t *testing.T) {
	shape := []int{2, 3, 4, 5}
	rng := rand.New(rand.NewPCG(9, 10))
	x := randomValue(rng, shape...)
	xs := dataOf[float32](x)
	for _, perm := range [][]int{{1, 0, 2, 3}, {0, 2, 1, 3}, {3, 2, 1, 0}, {2, 0, 3, 1}, {0, 1, 2, 3}, {1, 2, 0, 3}} {
		k := transposeKernel{perm: perm, inShape: shape}
		out := newValue(gt.Float32, k.outShape())
		if err := k.forward(&runContext{threads: 1}, []G.Value{x}, out); err != nil {
			t.Fatal(err)
		}
		want := make([]float32, len(xs))
		outStrides := stridesOf(k.outShape())
		for i := range xs {
			// The multi-index of element i of x, then its place in y.
			idx, rest := make([]int, len(shape)), i
			for d := len(shape) - 1; d >= 0; d-- {
				idx[d], rest = rest%shape[d], rest/shape[d]
			}
			o := 0
			for d, p := range perm {
				o += idx[p] * outStrides[d]
			}
			want[o] = xs[i]
		}
		if diff := cmp.Diff(want, dataOf[float32](out)); diff != "" {
			t.Errorf("perm %v (-want +got):\n%s", perm, diff)
		}
	}
}

// BenchmarkTranspose swaps the batch and filter axes of a [B,C,K] score
// tensor of vggm-112's −MI loss shape (32 images, 64 filters, 145 templates).
func BenchmarkTranspose(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	k := transposeKernel{perm: []int{1, 0, 2}, inShape: []int{32, 64, 145}}
	x := randomValue(rng, 32, 64, 145)
	out := newValue(gt.Float32, k.outShape())
	ctx := &runContext{threads: 1}
	b.ReportAllocs()
	for b.Loop() {
		if err := k.forward(ctx, []G.Value{x}, out); err != nil {
			b.Fatal(err)
		}
	}
}

// TestArgMaxFirstMaximum checks argmax along the innermost and an outer
// axis on ties (the first maximum wins) and NaNs (a NaN never beats the
// running maximum, as the comparison v > best says; a leading NaN stays).
func TestArgMaxFirstMaximum(t *testing.T) {
	nan := float32(math.NaN())
	x := newValue(gt.Float32, []int{2, 2, 4})
	copy(dataOf[float32](x), []float32{
		1, 3, 3, 2, // row ties: first 3
		nan, 5, 1, 0, // leading NaN stays
		-1, -1, -1, -1,
		0, nan, 2, 2,
	})
	for _, c := range []struct {
		axis  int
		shape []int
		want  []int64
	}{
		{2, []int{2, 2}, []int64{1, 0, 0, 2}},
		{1, []int{2, 4}, []int64{0, 1, 0, 0, 1, 0, 1, 1}},
	} {
		k := argMaxKernel{axis: c.axis, inShape: []int{2, 2, 4}}
		out := newValue(gt.Int64, c.shape)
		if err := k.forward(&runContext{threads: 1}, []G.Value{x}, out); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(c.want, dataOf[int64](out)); diff != "" {
			t.Errorf("axis %d (-want +got):\n%s", c.axis, diff)
		}
	}
}

// BenchmarkArgMax is argmax over the 144 positions of a 12x12 map for
// each of 32 images and 64 filters (vggm-112's masked layers).
func BenchmarkArgMax(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	k := argMaxKernel{axis: 2, inShape: []int{32, 64, 144}}
	x := randomValue(rng, 32, 64, 144)
	out := newValue(gt.Int64, []int{32, 64})
	b.ReportAllocs()
	for b.Loop() {
		if err := k.forward(&runContext{threads: 1}, []G.Value{x}, out); err != nil {
			b.Fatal(err)
		}
	}
}
