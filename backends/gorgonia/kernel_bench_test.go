package gorgonia

import (
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	gt "gorgonia.org/tensor"
)

// Per-kernel benchmarks on small64's layer shapes at batch 32, one thread
// unless the name says otherwise. Run with -benchmem: the steady state
// allocates nothing per call.

// small64Convs are small64's three pooled convolution blocks and its
// unpooled 8x8 one.
var small64Convs = []struct {
	name string
	g    convGeom
	pool bool
}{
	{"conv1", convGeomSame(32, 3, 64, 32), true},
	{"conv2", convGeomSame(32, 32, 32, 64), true},
	{"conv3", convGeomSame(32, 64, 16, 128), true},
	{"conv4", convGeomSame(32, 128, 8, 128), false},
}

// convGeomSame is a 3x3, stride 1, pad 1 convolution of n images c x hw x hw into o channels.
func convGeomSame(n, c, hw, o int) convGeom {
	return convGeom{n: n, c: c, h: hw, w: hw, o: o, kh: 3, kw: 3, oh: hw, ow: hw, sh: 1, sw: 1, ph: 1, pw: 1, dh: 1, dw: 1, groups: 1}
}

func randomValue(rng *rand.Rand, shape ...int) G.Value {
	v := newValue(gt.Float32, shape)
	data := dataOf[float32](v)
	for i := range data {
		data[i] = float32(rng.NormFloat64())
	}
	return v
}

func BenchmarkConvBlockForward(b *testing.B) {
	for _, c := range small64Convs {
		b.Run(c.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 1))
			k := convBlockKernel{g: c.g, ops: blockOps{bias: true, relu: true, pool: c.pool}, st: &blockState{}}
			in := []G.Value{randomValue(rng, c.g.xShape()...), randomValue(rng, c.g.wShape()...), randomValue(rng, c.g.o)}
			out := newValue(gt.Float32, k.outShape())
			ctx := &runContext{threads: 1}
			b.ReportAllocs()
			for b.Loop() {
				if err := k.forward(ctx, in, out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkConvBlockGrad(b *testing.B) {
	for _, c := range small64Convs {
		b.Run(c.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 1))
			fwd := convBlockKernel{g: c.g, ops: blockOps{bias: true, relu: true, pool: c.pool}, st: &blockState{}}
			in := []G.Value{randomValue(rng, c.g.xShape()...), randomValue(rng, c.g.wShape()...), randomValue(rng, c.g.o)}
			y := newValue(gt.Float32, fwd.outShape())
			ctx := &runContext{threads: 1}
			if err := fwd.forward(ctx, in, y); err != nil {
				b.Fatal(err)
			}
			k := convBlockGradKernel{g: c.g, ops: fwd.ops, st: fwd.st}
			dy := randomValue(rng, fwd.outShape()...)
			dz := newValue(gt.Float32, c.g.yShape())
			b.ReportAllocs()
			for b.Loop() {
				clearValue(dz)
				if err := k.forward(ctx, []G.Value{y, dy}, dz); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkConvGradients(b *testing.B) {
	for _, c := range small64Convs {
		for _, role := range []convRole{convGradInput, convGradWeight} {
			k := convKernel{role: role, g: c.g}
			b.Run(c.name+"/"+k.name(), func(b *testing.B) {
				rng := rand.New(rand.NewPCG(1, 1))
				var in []G.Value
				out := newValue(gt.Float32, c.g.wShape())
				if role == convGradInput {
					in = []G.Value{randomValue(rng, c.g.wShape()...), randomValue(rng, c.g.yShape()...)}
					out = newValue(gt.Float32, c.g.xShape())
				} else {
					in = []G.Value{randomValue(rng, c.g.xShape()...), randomValue(rng, c.g.yShape()...)}
				}
				ctx := &runContext{threads: 1}
				b.ReportAllocs()
				for b.Loop() {
					clearValue(out)
					if err := k.forward(ctx, in, out); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkChannelSum(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	k := channelSumKernel{n: 32, c: 32, hw: 64 * 64}
	x, out := randomValue(rng, 32, 32, 64*64), newValue(gt.Float32, []int{32})
	ctx := &runContext{threads: 1}
	b.ReportAllocs()
	for b.Loop() {
		if err := k.forward(ctx, []G.Value{x}, out); err != nil {
			b.Fatal(err)
		}
	}
}

// vggm112Conv1 is vggm-112's first convolution: 3 -> 12 channels, 7x7
// stride 2 on 112x112, no padding.
var vggm112Conv1 = convGeom{n: 32, c: 3, h: 112, w: 112, o: 12, kh: 7, kw: 7, oh: 53, ow: 53, sh: 2, sw: 2, dh: 1, dw: 1, groups: 1}

// BenchmarkIm2colStride2 builds one image's receptive fields for vggm-112's conv1.
func BenchmarkIm2colStride2(b *testing.B) {
	g := vggm112Conv1
	rng := rand.New(rand.NewPCG(1, 1))
	x := dataOf[float32](randomValue(rng, g.c, g.h, g.w))
	col := make([]float32, g.c*g.kh*g.kw*g.oh*g.ow)
	phases := make([]float32, g.phaseLen(g.c))
	b.SetBytes(int64(4 * len(col)))
	b.ReportAllocs()
	for b.Loop() {
		im2col(g, x, g.c, col, phases)
	}
}

// BenchmarkMICore runs the fused −MI kernel (batch Z) and its scores
// gradient on one of vggm-112's interpreted layers: 64 filters, batch 32,
// 12x12 maps (145 templates).
func BenchmarkMICore(b *testing.B) {
	const c, n, k = 64, 32, 145
	rng := rand.New(rand.NewPCG(1, 1))
	s := randomValue(rng, c, n, k)
	prior := randomValue(rng, k)
	shift := G.NewF32(-3.4657)
	fwd := miCoreKernel{c: c, b: n, k: k, batchZ: true, st: &miState{}}
	y := newValue(gt.Float32, nil)
	ctx := &runContext{threads: 1}
	b.Run("forward", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := fwd.forward(ctx, []G.Value{s, shift, prior}, y); err != nil {
				b.Fatal(err)
			}
		}
	})
	grad := fwd
	grad.role = miGradScores
	ds := newValue(gt.Float32, []int{c, n, k})
	b.Run("grad", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := grad.forward(ctx, []G.Value{y, G.NewF32(1)}, ds); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// vggm112Convs are vggm-112's convolution blocks (none pooled in the
// block: pool1 is 3x3 stride 2, and pool2 is dropped), at batch 32.
var vggm112Convs = []struct {
	name string
	g    convGeom
	pool bool
}{
	{"conv1", vggm112Conv1, false},
	{"conv2", convGeom{n: 32, c: 12, h: 26, w: 26, o: 32, kh: 5, kw: 5, oh: 12, ow: 12, sh: 2, sw: 2, ph: 1, pw: 1, dh: 1, dw: 1, groups: 1}, false},
	{"conv3", convGeomSame(32, 32, 12, 64), false},
	{"conv4", convGeomSame(32, 64, 12, 64), false},
}

// BenchmarkVGGM112Conv runs each vggm-112 convolution block's forward pass
// and its input and weight gradients, one thread.
func BenchmarkVGGM112Conv(b *testing.B) {
	for _, c := range vggm112Convs {
		rng := rand.New(rand.NewPCG(1, 1))
		fwd := convBlockKernel{g: c.g, ops: blockOps{bias: true, relu: true, pool: c.pool, xGrad: true}, st: &blockState{}}
		x, w := randomValue(rng, c.g.xShape()...), randomValue(rng, c.g.wShape()...)
		in := []G.Value{x, w, randomValue(rng, c.g.o)}
		y := newValue(gt.Float32, fwd.outShape())
		dy := randomValue(rng, c.g.yShape()...)
		ctx := &runContext{threads: 1}
		b.Run(c.name+"/forward", func(b *testing.B) { benchKernel(b, ctx, fwd, in, y, false) })
		b.Run(c.name+"/grad_input", func(b *testing.B) {
			k := convKernel{role: convGradInput, g: c.g, st: &scratch{}}
			benchKernel(b, ctx, k, []G.Value{w, dy}, newValue(gt.Float32, c.g.xShape()), true)
		})
		b.Run(c.name+"/grad_weight", func(b *testing.B) {
			k := convKernel{role: convGradWeight, g: c.g, st: &scratch{}}
			benchKernel(b, ctx, k, []G.Value{x, dy}, newValue(gt.Float32, c.g.wShape()), true)
		})
	}
}

// benchKernel times k.forward on in into out; clearFirst zeroes out before
// each call, as the executor does for a gradient that accumulates.
func benchKernel(b *testing.B, ctx *runContext, k interface {
	forward(*runContext, []G.Value, G.Value) error
}, in []G.Value, out G.Value, clearFirst bool) {
	b.ReportAllocs()
	for b.Loop() {
		if clearFirst {
			clearValue(out)
		}
		if err := k.forward(ctx, in, out); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIm2colSame builds one image's receptive fields for vggm-112's
// conv4 (3x3, stride 1, pad 1, 64 channels of 12x12): whole-plane copies.
func BenchmarkIm2colSame(b *testing.B) {
	g := vggm112Convs[3].g
	rng := rand.New(rand.NewPCG(1, 1))
	x := dataOf[float32](randomValue(rng, g.c, g.h, g.w))
	col := make([]float32, g.colRows()*g.oh*g.ow)
	b.SetBytes(int64(4 * len(col)))
	b.ReportAllocs()
	for b.Loop() {
		im2col(g, x, g.c, col, nil)
	}
}

// BenchmarkCol2imStride2 adds one image's im2col-shaped gradient back into
// vggm-112's conv2 input (5x5 stride 2, 12 channels of 26x26).
func BenchmarkCol2imStride2(b *testing.B) {
	g := vggm112Convs[1].g
	rng := rand.New(rand.NewPCG(1, 1))
	col := dataOf[float32](randomValue(rng, g.colRows(), g.oh*g.ow))
	x := make([]float32, g.c*g.h*g.w)
	phases := make([]float32, g.phaseLen(g.c))
	b.ReportAllocs()
	for b.Loop() {
		col2im(g, col, g.c, x, phases)
	}
}
