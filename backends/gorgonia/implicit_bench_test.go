package gorgonia

import (
	"fmt"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	gt "gorgonia.org/tensor"
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
