// Package data defines what the training loop needs from a dataset: images
// as float32 CHW arrays and integer labels, plus part annotations for the
// metrics. The synthetic part world (data/synth) and the real-format
// loaders implement it.
package data

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"

	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// Example is one image with its label.
type Example struct {
	Image []float32 // 3×S×S, channel-major, roughly zero mean and unit scale
	Label int       // single-category: 1 positive, 0 negative; multi-category: class index
}

// Dataset is a finite, indexable, deterministic collection of examples.
type Dataset interface {
	// Len is the number of examples.
	Len() int
	// ImageSize is S for S×S images.
	ImageSize() int
	// Classes is 1 for single-category (binary) tasks, else the number of categories.
	Classes() int
	// ClassNames names the classes (for binary tasks: the target category).
	ClassNames() []string
	// Example returns example i; it must be safe for concurrent calls.
	Example(i int) (Example, error)
	// Spec describes the dataset for run manifests; equal specs mean equal data.
	Spec() json.RawMessage
}

// Batch gathers examples idx into an image tensor [B,3,S,S] and a target
// tensor [B,Classes] (binary: 0/1; multi-category: one-hot).
func Batch(ds Dataset, idx []int) (images, targets *tensor.Tensor, labels []int, err error) {
	s := ds.ImageSize()
	c := ds.Classes()
	per := 3 * s * s
	images = tensor.Zeros(tensor.Float32, len(idx), 3, s, s)
	targets = tensor.Zeros(tensor.Float32, len(idx), c)
	labels = make([]int, len(idx))
	img, tgt := images.Float32s(), targets.Float32s()
	for b, i := range idx {
		ex, err := ds.Example(i)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("example %d: %w", i, err)
		}
		if len(ex.Image) != per {
			return nil, nil, nil, fmt.Errorf("example %d: image has %d values, want 3×%d×%d = %d", i, len(ex.Image), s, s, per)
		}
		copy(img[b*per:], ex.Image)
		labels[b] = ex.Label
		switch {
		case c == 1:
			if ex.Label != 0 && ex.Label != 1 {
				return nil, nil, nil, fmt.Errorf("example %d: binary label %d is not 0 or 1", i, ex.Label)
			}
			tgt[b] = float32(ex.Label)
		case ex.Label < 0 || ex.Label >= c:
			return nil, nil, nil, fmt.Errorf("example %d: label %d out of range [0,%d)", i, ex.Label, c)
		default:
			tgt[b*c+ex.Label] = 1
		}
	}
	return images, targets, labels, nil
}

// EpochOrder is the shuffled example order of one epoch. It depends only on
// (seed, epoch), so a resumed run sees exactly the batches it would have.
func EpochOrder(n int, seed uint64, epoch int) []int {
	rng := rand.New(rand.NewPCG(seed, 0x5eed0000+uint64(epoch)))
	return rng.Perm(n)
}
