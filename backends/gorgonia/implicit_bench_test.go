package gorgonia

import (
	"fmt"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	gt "gorgonia.org/tensor"

	sgemmimpl "github.com/icnnlab/icnnlab/backends/gorgonia/internal/sgemm"
)

// BenchmarkImplicitBlockSize runs vggm-112's conv1 and conv4 forward
// blocks (one thread, batch 32) with the implicit products' packed
// blocks aimed at several sizes (implicitBlockFloats), to choose it.
func BenchmarkImplicitBlockSize(b *testing.B) {
	defer func(was int) { implicitBlockFloats = was }(implicitBlockFloats)
	for _, c := range []int{0, 3} {
		conv := vggm112Convs[c]
		rng := rand.New(rand.NewPCG(1, 1))
		g := conv.g
		in := []G.Value{randomValue(rng, g.xShape()...), randomValue(rng, g.wShape()...), randomValue(rng, g.o)}
		ctx := &runContext{threads: 1}
		for _, floats := range []int{8 << 10, 16 << 10, 32 << 10, 64 << 10, 128 << 10, 1 << 20} {
			b.Run(fmt.Sprintf("%s/%dKiB", conv.name, floats*4>>10), func(b *testing.B) {
				implicitBlockFloats = floats
				k := convBlockKernel{g: g, ops: blockOps{bias: true, relu: true}, st: &blockState{}}
				benchKernel(b, ctx, k, in, newValue(gt.Float32, k.outShape()), false)
			})
		}
	}
}

// BenchmarkImplicitPack packs one image's op(B) for vggm-112's conv1
// (strided, rows of 53 pixels) and conv4 (rows of 12 pixels) in the
// blocks the products use, without the products.
func BenchmarkImplicitPack(b *testing.B) {
	for _, c := range []int{0, 3} {
		conv := vggm112Convs[c]
		g := conv.g
		rng := rand.New(rand.NewPCG(1, 1))
		x := dataOf[float32](randomValue(rng, g.c, g.h, g.w))
		rows, ohw := g.colRows(), g.oh*g.ow
		layout := newImplicitLayout(g, g.c)
		ncStep := implicitColumnStep(rows, ohw)
		kcStep := sgemmimpl.DepthBlock(rows)
		dst := make([]float32, kcStep*ncStep)
		var pk implicitPacker
		b.Run(conv.name, func(b *testing.B) {
			b.SetBytes(int64(4 * rows * ohw))
			b.ReportAllocs()
			for b.Loop() {
				pk.load(layout, x)
				for jc := 0; jc < ohw; jc += ncStep {
					nc := min(ncStep, ohw-jc)
					for pc := 0; pc < rows; pc += kcStep {
						kc := min(kcStep, rows-pc)
						pk.fn(dst[:kc*((nc+15)/16*16)], pc, kc, jc, nc)
					}
				}
			}
		})
		b.Run(conv.name+"/planes", func(b *testing.B) {
			for b.Loop() {
				pk.load(layout, x)
			}
		})
	}
}
