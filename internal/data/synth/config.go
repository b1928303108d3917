package synth

import (
	"fmt"
	"math"
)

// Config fixes a synthetic world. Geometry is defined in normalised image
// coordinates, so the same (Seed, index) gives the same scene at any Size.
type Config struct {
	// Size is the side of the square images in pixels (64 for CPU work, 224 for GPU).
	Size int `json:"size"`
	// Categories is how many of CategoryNames are used (the first k), 2..6.
	Categories int `json:"categories"`
	// Difficulty in [0,1] widens the pose range: rotation, scale, articulation
	// of legs/neck/tail and colour jitter.
	Difficulty float64 `json:"difficulty"`
	// Clutter in [0,1] sets background texture contrast and the number of
	// distractor shapes.
	Clutter float64 `json:"clutter"`
	// Occlusion in [0,1] is the chance of an occluder in front of the object
	// and scales its size.
	Occlusion float64 `json:"occlusion"`
	// Seed selects the world; samples are derived from (Seed, index).
	Seed uint64 `json:"seed"`
}

// NewConfig is a config whose clutter and occlusion follow the difficulty,
// the single knob the training configs expose.
func NewConfig(size, categories int, difficulty float64, seed uint64) Config {
	return Config{Size: size, Categories: categories, Difficulty: difficulty, Clutter: difficulty, Occlusion: difficulty, Seed: seed}
}

// DefaultConfig is the 64-px, six-category, medium-difficulty world.
func DefaultConfig() Config { return NewConfig(64, len(CategoryNames), 0.5, 1) }

// MinSize and MaxSize bound Config.Size: below 32 px thin parts vanish.
const (
	MinSize = 32
	MaxSize = 1024
)

// Validate reports the first bad field by name.
func (c Config) Validate() error {
	unit := func(field string, v float64) error {
		if math.IsNaN(v) || v < 0 || v > 1 {
			return fmt.Errorf("synth config: %s = %g is not in [0, 1]", field, v)
		}
		return nil
	}
	switch {
	case c.Size < MinSize || c.Size > MaxSize:
		return fmt.Errorf("synth config: size = %d is not in [%d, %d]", c.Size, MinSize, MaxSize)
	case c.Categories < 2 || c.Categories > len(CategoryNames):
		return fmt.Errorf("synth config: categories = %d is not in [2, %d]", c.Categories, len(CategoryNames))
	}
	for _, err := range []error{unit("difficulty", c.Difficulty), unit("clutter", c.Clutter), unit("occlusion", c.Occlusion)} {
		if err != nil {
			return err
		}
	}
	return nil
}

// CategoryIndex finds a category by name among the config's categories.
func (c Config) CategoryIndex(name string) (int, error) {
	for i := 0; i < c.Categories && i < len(CategoryNames); i++ {
		if CategoryNames[i] == name {
			return i, nil
		}
	}
	return -1, fmt.Errorf("category %q is not one of the %d categories %v", name, c.Categories, CategoryNames[:min(max(c.Categories, 0), len(CategoryNames))])
}
