// Package metricstest builds small synthetic metric inputs with exact
// ground truth for the tests of internal/metricsrun and `icnnlab metrics
// eval`: box-cropped objects of the synthetic part world, their
// annotations, and activations of filters that detect a part or a
// landmark perfectly (oracles) next to filters that do not.
package metricstest

import (
	"math"
	"math/rand/v2"

	"github.com/icnnlab/icnnlab/internal/data/synth"
	"github.com/icnnlab/icnnlab/sdk/parts"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// ImageSize is the side of the input images.
const ImageSize = 64

// Geometries of small64 at 64 px (internal/zoo): conv2 (32×32 map) for
// part interpretability, conv_interp (8×8) for location instability.
var (
	Conv2      = parts.Geometry{Size: 8, Jump: 2, Start: 1, ImageWidth: ImageSize, ImageHeight: ImageSize}
	ConvInterp = parts.Geometry{Size: 54, Jump: 8, Start: 4, ImageWidth: ImageSize, ImageHeight: ImageSize}
)

// World returns n box-cropped objects of the default synthetic world
// (6 categories, seed 7) and their annotations.
func World(n int) ([]*synth.Sample, *parts.Set) {
	cfg := synth.NewConfig(ImageSize, 6, 0.5, 7)
	ss := make([]*synth.Sample, n)
	for i := range ss {
		ss[i] = synth.CropToBox(synth.Generate(cfg, i), ImageSize)
	}
	return ss, synth.Annotations(ss)
}

// PartActivations are [N, 3, 32, 32] activations at Conv2: filter 0 is the
// share of head pixels of each unit's 2×2 cell, filter 1 that of torso
// pixels, filter 2 uniform noise.
func PartActivations(ss []*synth.Sample, set *parts.Set) *tensor.Tensor {
	const side = ImageSize / 2
	head, torso := uint8(set.GroupID("head")), uint8(set.GroupID("torso"))
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]float32, 0, len(ss)*3*side*side)
	for _, s := range ss {
		for _, part := range []uint8{head, torso} {
			m := make([]float32, side*side)
			for y := range ImageSize {
				for x := range ImageSize {
					if s.Groups[y*ImageSize+x] == part {
						m[(y/2)*side+x/2] += 0.25
					}
				}
			}
			data = append(data, m...)
		}
		for range side * side {
			data = append(data, rng.Float32())
		}
	}
	return tensor.MustFloat32(tensor.Shape{len(ss), 3, side, side}, data)
}

// LandmarkActivations are [N, 2, 8, 8] activations at ConvInterp: filter 0
// is a bump on the head landmark (peak at the unit nearest it), filter 1
// a single peak at a random unit.
func LandmarkActivations(ss []*synth.Sample) *tensor.Tensor {
	const side = 8
	rng := rand.New(rand.NewPCG(3, 4))
	data := make([]float32, 0, len(ss)*2*side*side)
	for _, s := range ss {
		l := s.Landmarks[synth.LandmarkHead]
		for i := range side {
			for j := range side {
				x, y := ConvInterp.Center(i, j)
				d2 := (x-l.X)*(x-l.X) + (y-l.Y)*(y-l.Y)
				data = append(data, float32(math.Exp(-d2/(2*8*8))))
			}
		}
		m := make([]float32, side*side)
		m[rng.IntN(side*side)] = 1 + rng.Float32()
		data = append(data, m...)
	}
	return tensor.MustFloat32(tensor.Shape{len(ss), 2, side, side}, data)
}
