package gorgonia

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// blockCase is a convolution chain and whether lowering should fuse it.
type blockCase struct {
	name              string
	dt                tensor.DType
	c, o, h, w, k     int
	conv              graph.ConvOptions
	bias, relu, pool  bool
	biasRank3         bool // bias reshaped to [O,1,1] instead of [1,O,1,1]
	extraReader       bool // the conv output is also read elsewhere: no fusion
	nan               bool // a NaN in the input image
	wantFused         bool
	wantPooledInBlock bool
}

// build returns the chain with a loss that weights every output element
// differently, so each one's gradient is distinct.
func (bc blockCase) build(batch int) *graph.Graph {
	g := graph.New(bc.name)
	x := g.Input("x", bc.dt, batch, bc.c, bc.h, bc.w)
	groups := max(bc.conv.Groups, 1)
	// Parameters are float32; float64 cases feed weights and bias as inputs.
	param := func(name string, shape ...int) *graph.Node {
		if bc.dt == tensor.Float64 {
			return g.Input(name, bc.dt, shape...)
		}
		return g.Param(name, graph.HeNormal(), shape)
	}
	w := param("w", bc.o, bc.c/groups, bc.k, bc.k)
	conv := g.Conv2D(x, w, bc.conv)
	h := conv
	if bc.bias {
		b := param("b", bc.o)
		if bc.biasRank3 {
			h = g.Add(h, g.Reshape(b, bc.o, 1, 1))
		} else {
			h = g.Add(h, g.Reshape(b, 1, bc.o, 1, 1))
		}
	}
	if bc.relu {
		h = g.Relu(h)
	}
	if bc.pool {
		h = g.MaxPool2D(h, graph.PoolOptions{Kernel: [2]int{2, 2}})
	}
	weights := randomTensor(bc.dt, rand.New(rand.NewPCG(7, 7)), h.Shape()...)
	loss := g.Sum(g.Mul(h, g.Const(weights)))
	if bc.extraReader {
		loss = g.Add(loss, g.Sum(g.Mul(conv, conv)))
	}
	g.SetOutput("y", h)
	g.SetLoss(loss)
	return g
}

func TestConvBlockFusionMatchesUnfusedOps(t *testing.T) {
	pad1 := graph.ConvOptions{Padding: [2]int{1, 1}}
	cases := []blockCase{
		{name: "bias relu pool", dt: tensor.Float32, c: 3, o: 5, h: 8, w: 10, k: 3, conv: pad1, bias: true, relu: true, pool: true, wantFused: true, wantPooledInBlock: true},
		{name: "float64", dt: tensor.Float64, c: 3, o: 4, h: 6, w: 6, k: 3, conv: pad1, bias: true, relu: true, pool: true, wantFused: true, wantPooledInBlock: true},
		{name: "grouped", dt: tensor.Float32, c: 4, o: 6, h: 6, w: 8, k: 3, conv: graph.ConvOptions{Padding: [2]int{1, 1}, Groups: 2}, bias: true, relu: true, pool: true, wantFused: true, wantPooledInBlock: true},
		{name: "strided dilated no pool", dt: tensor.Float32, c: 2, o: 3, h: 11, w: 9, k: 3, conv: graph.ConvOptions{Stride: [2]int{2, 2}, Padding: [2]int{2, 2}, Dilation: [2]int{2, 2}}, bias: true, relu: true, wantFused: true},
		{name: "bias only", dt: tensor.Float32, c: 2, o: 3, h: 5, w: 5, k: 3, conv: pad1, bias: true, wantFused: true},
		{name: "bias as [O,1,1]", dt: tensor.Float32, c: 2, o: 3, h: 6, w: 6, k: 3, conv: pad1, bias: true, biasRank3: true, relu: true, pool: true, wantFused: true, wantPooledInBlock: true},
		{name: "pool without relu, NaN input", dt: tensor.Float32, c: 2, o: 3, h: 6, w: 6, k: 3, conv: pad1, pool: true, nan: true, wantFused: true, wantPooledInBlock: true},
		{name: "relu NaN input", dt: tensor.Float32, c: 2, o: 3, h: 6, w: 6, k: 3, conv: pad1, bias: true, relu: true, pool: true, nan: true, wantFused: true, wantPooledInBlock: true},
		{name: "odd map: pool stays apart", dt: tensor.Float32, c: 2, o: 3, h: 7, w: 7, k: 3, conv: pad1, bias: true, relu: true, pool: true, wantFused: true},
		{name: "conv output read twice", dt: tensor.Float32, c: 2, o: 3, h: 6, w: 6, k: 3, conv: pad1, bias: true, relu: true, pool: true, extraReader: true},
	}
	for _, bc := range cases {
		t.Run(bc.name, func(t *testing.T) {
			const batch = 3
			x := randomTensor(bc.dt, rand.New(rand.NewPCG(3, 3)), batch, bc.c, bc.h, bc.w)
			if bc.nan {
				at := bc.h*bc.w + 2*bc.w + 3
				if bc.dt == tensor.Float64 {
					x.Float64s()[at] = math.NaN()
				} else {
					x.Float32s()[at] = float32(math.NaN())
				}
			}
			feeds := map[string]*tensor.Tensor{"x": x}
			if bc.dt == tensor.Float64 {
				feeds["w"] = randomTensor(bc.dt, rand.New(rand.NewPCG(4, 4)), bc.o, bc.c/max(bc.conv.Groups, 1), bc.k, bc.k)
				feeds["b"] = randomTensor(bc.dt, rand.New(rand.NewPCG(5, 5)), bc.o)
			}
			wrt := []string{"x", "w"}
			if bc.bias {
				wrt = append(wrt, "b")
			}
			fused, fusedKernels := blockGradients(t, bc, feeds, wrt, true)
			plain, _ := blockGradients(t, bc, feeds, wrt, false)
			if got := fusedKernels["conv2d_block"] > 0; got != bc.wantFused {
				t.Fatalf("fused: %v, want %v (kernels %v)", got, bc.wantFused, fusedKernels)
			}
			if got := fusedKernels["max_pool2d"] == 0; bc.pool && bc.wantFused && got != bc.wantPooledInBlock {
				t.Errorf("pooling inside the block: %v, want %v (kernels %v)", got, bc.wantPooledInBlock, fusedKernels)
			}
			for name, want := range plain {
				got := fused[name]
				// Bit for bit: training with fusion gives the numbers recorded without it.
				for i := range want.Len() {
					a, b := got.Float64At(i), want.Float64At(i)
					if a != b && !(math.IsNaN(a) && math.IsNaN(b)) {
						t.Fatalf("%s[%d]: fused %v, unfused %v", name, i, a, b)
					}
				}
			}
		})
	}
}

// randomTensor is standard-normal noise of a float dtype.
func randomTensor(dt tensor.DType, rng *rand.Rand, shape ...int) *tensor.Tensor {
	t := tensor.Zeros(dt, shape...)
	if dt == tensor.Float64 {
		for i := range t.Float64s() {
			t.Float64s()[i] = rng.NormFloat64()
		}
		return t
	}
	for i := range t.Float32s() {
		t.Float32s()[i] = float32(rng.NormFloat64())
	}
	return t
}

// blockGradients runs the case's forward output and gradients with or
// without fusion, and counts the program's kernels by name.
func blockGradients(t *testing.T, bc blockCase, feeds map[string]*tensor.Tensor, wrt []string, fuse bool) (map[string]*tensor.Tensor, map[string]int) {
	t.Helper()
	defer func(old bool) { fuseConvBlocks = old }(fuseConvBlocks)
	fuseConvBlocks = fuse
	exe := compileOrFatal(t, bc.build(3), backends.CompileOptions{Seed: 11, Threads: 2})
	grads, err := exe.Gradients(backends.Train, feeds, wrt...)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exe.Run(feeds, "y")
	if err != nil {
		t.Fatal(err)
	}
	grads["forward y"] = out["y"]
	kernels := map[string]int{}
	for key, p := range exe.(*executable).programs {
		if !strings.HasPrefix(key, "grad|") {
			continue // the forward-only program may fuse more: the loss's extra reader is not in it
		}
		for _, n := range p.eg.AllNodes() {
			kernels[fmt.Sprint(n.Op())]++
		}
	}
	return grads, kernels
}

// TestConvBlockRunsAreRepeatable checks that reused buffers and scratch
// carry nothing from one step to the next: two executables fed the same
// batches give identical parameters after several steps, whatever the
// thread count.
func TestConvBlockRunsAreRepeatable(t *testing.T) {
	var runs [][]*tensor.Tensor
	for _, threads := range []int{1, 3} {
		exe := compileOrFatal(t, squaresGraph(6, 0), backends.CompileOptions{Seed: 2, Threads: threads,
			Optimizer: backends.Optimizer{Kind: backends.SGD, LearningRate: 0.05, Momentum: 0.9}})
		rng := rand.New(rand.NewPCG(9, 9))
		for range 4 {
			if _, err := exe.TrainStep(squaresBatch(rng, 6)); err != nil {
				t.Fatal(err)
			}
		}
		var params []*tensor.Tensor
		for _, name := range []string{"c1/w", "c1/b", "c2/w", "c2/b", "fc/w"} {
			p, err := exe.Read(name)
			if err != nil {
				t.Fatal(err)
			}
			params = append(params, p)
		}
		runs = append(runs, params)
	}
	requireIdentical(t, "parameters at 1 and 3 threads", runs[0], runs[1])
}
