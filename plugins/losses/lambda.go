package losses

import (
	"fmt"

	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// LambdaSchedule is the paper's online weight of the filter loss,
// λ ∝ (1/t)·mean_{x∈X} max_ij x_ij in epoch t (1-based): base·meanMax/t.
// The host recomputes meanMax (MeanMaxActivation over the interpretable
// layer's maps) once per epoch and multiplies the loss output by λ. The
// authors'-code variant carries its own 1/epoch scaling: use λ = 1 with it.
func LambdaSchedule(base float64, epoch int, meanMax float64) (float64, error) {
	if epoch < 1 {
		return 0, fmt.Errorf("lambda schedule: epoch %d must be at least 1", epoch)
	}
	if base < 0 || meanMax < 0 {
		return 0, fmt.Errorf("lambda schedule: base %g and mean max activation %g must not be negative", base, meanMax)
	}
	return base * meanMax / float64(epoch), nil
}

// MeanMaxActivation is mean over maps of max_ij x_ij for features
// [B,C,H,W] (any float dtype): every (image, filter) map counts once.
func MeanMaxActivation(features *tensor.Tensor) (float64, error) {
	s := features.Shape()
	if len(s) != 4 || !features.DType().IsFloat() || s.NumElements() == 0 {
		return 0, fmt.Errorf("mean max activation: want non-empty float features [B,C,H,W], got %v%v", features.DType(), s)
	}
	maps, size := s[0]*s[1], s[2]*s[3]
	total := 0.0
	for m := range maps {
		best := features.Float64At(m * size)
		for q := 1; q < size; q++ {
			best = max(best, features.Float64At(m*size+q))
		}
		total += best
	}
	return total / float64(maps), nil
}
