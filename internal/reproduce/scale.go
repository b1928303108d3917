package reproduce

import (
	"bytes"
	"fmt"
	"io/fs"

	"go.yaml.in/yaml/v3"
)

// ScalesFile holds the scale presets beside the specs.
const ScalesFile = "scales.yaml"

// Scale is what every run of one preset shares: network width, image size,
// data and epochs, and the metric settings that depend on the map size.
type Scale struct {
	Name        string  `yaml:"-"`
	Description string  `yaml:"description"`
	Width       float64 `yaml:"width"`
	ImageSize   int     `yaml:"image_size"`
	Difficulty  float64 `yaml:"difficulty"`
	// SingleCategories is the size of the world single-category tasks draw
	// negatives from; MultiCategories the classes of the multi-category task.
	SingleCategories int `yaml:"single_categories"`
	MultiCategories  int `yaml:"multi_categories"`
	// SingleTrain/MultiTrain count world samples of the training range
	// (single-category keeps the target's plus as many negatives: ~2/k).
	SingleTrain int `yaml:"single_train"`
	MultiTrain  int `yaml:"multi_train"`
	Test        int `yaml:"test"`
	Epochs      int `yaml:"epochs"`
	Batch       int `yaml:"batch"`
	// TopFraction is part interpretability's share of on-units; 0 means
	// auto: 0.005·196/(H·W) for an H×W map. The paper's 0.005 keeps ~1 unit
	// per image on VGG-16's 14×14 map; at 64 px the maps are far smaller and
	// 0.005 leaves most images with no on-unit (docs/metrics.md).
	TopFraction float64 `yaml:"top_fraction"`
	// Budget is the expected wall time, in words, for the help and reports.
	Budget string `yaml:"budget"`
}

// LoadScales reads scales.yaml.
func LoadScales(fsys fs.FS) (map[string]Scale, error) {
	data, err := fs.ReadFile(fsys, ScalesFile)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var scales map[string]Scale
	if err := dec.Decode(&scales); err != nil {
		return nil, fmt.Errorf("%s: %w", ScalesFile, err)
	}
	for _, name := range sortedKeys(scales) {
		s := scales[name]
		s.Name = name
		if err := s.Validate(); err != nil {
			return nil, fmt.Errorf("%s: %s.%w", ScalesFile, name, err)
		}
		scales[name] = s
	}
	return scales, nil
}

// Validate checks the preset; errors name the field.
func (s Scale) Validate() error {
	switch {
	case s.Width <= 0:
		return fmt.Errorf("width: %g, want > 0", s.Width)
	case s.ImageSize < 32:
		return fmt.Errorf("image_size: %d, want >= 32", s.ImageSize)
	case s.Difficulty < 0 || s.Difficulty > 1:
		return fmt.Errorf("difficulty: %g, want in [0,1]", s.Difficulty)
	case s.SingleCategories < 2 || s.SingleCategories > 6:
		return fmt.Errorf("single_categories: %d, want 2..6", s.SingleCategories)
	case s.MultiCategories < 2 || s.MultiCategories > 6:
		return fmt.Errorf("multi_categories: %d, want 2..6", s.MultiCategories)
	case s.SingleTrain < 1:
		return fmt.Errorf("single_train: %d, want >= 1", s.SingleTrain)
	case s.MultiTrain < 1:
		return fmt.Errorf("multi_train: %d, want >= 1", s.MultiTrain)
	case s.Test < 1:
		return fmt.Errorf("test: %d, want >= 1", s.Test)
	case s.Epochs < 1:
		return fmt.Errorf("epochs: %d, want >= 1", s.Epochs)
	case s.Batch < 1:
		return fmt.Errorf("batch: %d, want >= 1", s.Batch)
	case s.TopFraction < 0 || s.TopFraction > 1:
		return fmt.Errorf("top_fraction: %g, want in [0,1] (0: auto)", s.TopFraction)
	}
	return nil
}

// PaperTopFraction is the paper's share of on-units, and PaperMapUnits the
// map size (VGG-16 conv5_3 at 224 px, 14×14) it was chosen for.
const (
	PaperTopFraction = 0.005
	PaperMapUnits    = 14 * 14
)

// TopFractionFor is the on-unit share used for an h×w map.
func (s Scale) TopFractionFor(h, w int) float64 {
	if s.TopFraction > 0 {
		return s.TopFraction
	}
	return min(1, PaperTopFraction*PaperMapUnits/float64(h*w))
}
