package train

import (
	"fmt"

	"github.com/icnnlab/icnnlab/internal/data"
	"github.com/icnnlab/icnnlab/internal/data/synth"
)

// Datasets builds the training and test sets a config describes. Train and
// Test count world samples; the single-category task keeps every positive
// in the range plus as many negatives, so it holds about 2/k of them.
// Objects are cropped by their box, as in the paper's protocol.
func Datasets(c DataConfig, loss string) (trainSet, testSet *synth.Task, err error) {
	switch c.Source {
	case "synth":
	default:
		return nil, nil, &FieldError{"data.source", fmt.Sprintf("%q is not allowed (allowed: synth)", c.Source)}
	}
	world := synth.NewConfig(c.ImageSize, c.Categories, c.Difficulty, c.Seed)
	if err := world.Validate(); err != nil {
		return nil, nil, fmt.Errorf("data: %w", err)
	}
	split := synth.Splits(c.Train, 0, c.Test)
	build := func(r synth.IndexRange) (*synth.Task, error) {
		if c.Task == "single" {
			return synth.SingleCategoryTask(world, c.Target, r, true)
		}
		return synth.MultiCategoryTask(world, r, true)
	}
	if trainSet, err = build(split.Train); err != nil {
		return nil, nil, fmt.Errorf("training set: %w", err)
	}
	if testSet, err = build(split.Test); err != nil {
		return nil, nil, fmt.Errorf("test set: %w", err)
	}
	return trainSet, testSet, nil
}

var _ data.Dataset = (*synth.Task)(nil)
