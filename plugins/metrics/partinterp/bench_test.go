package partinterp

import (
	"math/rand/v2"
	"testing"

	"github.com/icnnlab/icnnlab/plugins/metrics/featmap"
	"github.com/icnnlab/icnnlab/sdk/parts"
)

// BenchmarkVGG16Conv5 evaluates 64 filters of a VGG-16-sized top layer
// (14×14 maps, 224-px images) on 100 images with random part masks and
// activations; multiply by 8 for all 512 filters.
func BenchmarkVGG16Conv5(b *testing.B) {
	const n, c, side, size = 100, 64, 14, 224
	rng := rand.New(rand.NewPCG(1, 1))
	data := make([]float32, n*c*side*side)
	for i := range data {
		data[i] = max(0, rng.Float32()*2-1)
	}
	m, err := featmap.New(n, c, side, side, data)
	if err != nil {
		b.Fatal(err)
	}
	set := &parts.Set{Categories: []string{"bird"}, Groups: []string{"background", "head", "torso", "legs", "tail"}}
	for range n {
		mask := make([]uint8, size*size)
		for i := range mask {
			mask[i] = uint8((i / size / 45) % 5)
		}
		set.Images = append(set.Images, parts.Image{Width: size, Height: size, GroupMask: mask})
	}
	g := parts.Geometry{Size: 196, Jump: 16, Start: 8, ImageWidth: size, ImageHeight: size}
	for _, region := range []string{RegionUpsample, RegionBox, RegionRound} {
		b.Run(region, func(b *testing.B) {
			for b.Loop() {
				if _, err := Evaluate(m, g, set, Options{Region: region}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
