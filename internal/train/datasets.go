package train

import (
	"fmt"

	"github.com/icnnlab/icnnlab/internal/data"
	"github.com/icnnlab/icnnlab/internal/data/fashionmnist"
	"github.com/icnnlab/icnnlab/internal/data/synth"
)

// Datasets builds the training and test sets a config describes.
//
// synth: Train and Test count world samples; the single-category task
// keeps every positive in the range plus as many negatives, so it holds
// about 2/k of them. Objects are cropped by their box, as in the paper's
// protocol.
//
// fashion-mnist (files from $ICNNLAB_FASHION_MNIST or Debian's
// /usr/share/datasets/fashion-mnist): Train and Test count the images used,
// a subset of each split drawn by data.seed; the first data.categories
// classes take part; single is the target class against the others,
// balanced.
func Datasets(c DataConfig, loss string) (trainSet, testSet data.Dataset, err error) {
	switch c.Source {
	case "synth":
	case "fashion-mnist":
		return fashionDatasets(c)
	default:
		return nil, nil, &FieldError{"data.source", fmt.Sprintf("%q is not allowed (allowed: synth, fashion-mnist)", c.Source)}
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

func fashionDatasets(c DataConfig) (trainSet, testSet data.Dataset, err error) {
	build := func(split string, n int) (data.Dataset, error) {
		s, err := fashionmnist.LoadSplitCached(fashionmnist.Dir(), split)
		if err != nil {
			return nil, err
		}
		if c.Task == "single" {
			return fashionmnist.SingleCategory(s, c.Target, c.Categories, n, c.Seed, c.ImageSize)
		}
		return fashionmnist.MultiCategory(s, c.Categories, n, c.Seed, c.ImageSize)
	}
	if trainSet, err = build("train", c.Train); err != nil {
		return nil, nil, fmt.Errorf("training set: %w", err)
	}
	if testSet, err = build("test", c.Test); err != nil {
		return nil, nil, fmt.Errorf("test set: %w", err)
	}
	return trainSet, testSet, nil
}

// sourceCategoryNames is the category names that data.categories and
// data.target refer to: the synthetic world's (given by the caller) or the
// real dataset's.
func sourceCategoryNames(source string, synthNames []string) []string {
	if source == "fashion-mnist" {
		return fashionmnist.ClassNames
	}
	return synthNames
}

var _ data.Dataset = (*synth.Task)(nil)
