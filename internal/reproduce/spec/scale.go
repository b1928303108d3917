package spec

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
	// WorldSeed selects the evaluation world (0: 1, the training default);
	// --world-seed overrides it.
	WorldSeed uint64 `yaml:"world_seed,omitempty"`
	// MinTopMap is the smallest side of the top conv map (0: the zoo's 6).
	MinTopMap int `yaml:"min_top_map,omitempty"`
	// Pretrain, when set, trains one ordinary network per architecture on
	// a disjoint multi-category world first; every table run then starts
	// from its conv layers (the authors fine-tune ImageNet networks).
	Pretrain *Pretrain `yaml:"pretrain,omitempty"`
	// FineTune is the optimiser of the table runs when they start from a
	// pretrained network.
	FineTune *FineTune `yaml:"fine_tune,omitempty"`
	// Region is the rule that turns a filter's top units into an image
	// region for part interpretability (zero: the metric's default,
	// up-sampled maps); RegionAlternatives are measured beside it for the
	// sensitivity table.
	Region             RegionRule   `yaml:"region,omitempty"`
	RegionAlternatives []RegionRule `yaml:"region_alternatives,omitempty"`
	// FilterLoss sets λ and the parameters of the −MI family of losses
	// (mi, spatial-entropy, inter-category) for every variant that uses one.
	FilterLoss *FilterLoss `yaml:"filter_loss,omitempty"`
}

// RegionRule is a part-interpretability region: the metric's region
// (upsample, box, round), the box side or disc diameter in pixels (0: the
// receptive field's size) and the top fraction (0: the scale's).
type RegionRule struct {
	Rule        string  `yaml:"rule" json:"rule"`
	Size        int     `yaml:"size,omitempty" json:"size,omitempty"`
	TopFraction float64 `yaml:"top_fraction,omitempty" json:"top_fraction,omitempty"`
}

// Name labels the rule in reports, e.g. "round 36 px".
func (r RegionRule) Name() string {
	rule := r.Rule
	if rule == "" {
		rule = "upsample"
	}
	switch {
	case rule == "upsample":
	case r.Size > 0:
		rule += fmt.Sprintf(" %d px", r.Size)
	default:
		rule += " (receptive field)"
	}
	if r.TopFraction > 0 {
		rule += fmt.Sprintf(", top %g", r.TopFraction)
	}
	return rule
}

// params are the metric plugin's parameters under the rule for an h×w map.
func (s Scale) RegionParams(r RegionRule, h, w int) map[string]any {
	top := r.TopFraction
	if top == 0 {
		top = s.TopFractionFor(h, w)
	}
	p := map[string]any{"top_fraction": top}
	if r.Rule != "" {
		p["region"] = r.Rule
	}
	if r.Size > 0 {
		p["region_size"] = r.Size
	}
	return p
}

// FilterLoss is a scale's setting of the −MI losses.
type FilterLoss struct {
	// Lambda is the base weight of the paper's λ schedule (0: 1).
	Lambda float64 `yaml:"lambda"`
	// MIParams are the loss plugin's parameters, e.g. normalize: batch-max.
	MIParams map[string]any `yaml:"mi_params"`
}

// MIFamily lists the losses that take MIParams.
var MIFamily = []string{"mi", "spatial-entropy", "inter-category"}

// Pretrain is the stand-in for ImageNet pretraining.
type Pretrain struct {
	// WorldSeed draws the pretraining world; it must differ from every
	// evaluation world's seed.
	WorldSeed  uint64 `yaml:"world_seed"`
	Categories int    `yaml:"categories"`
	Train      int    `yaml:"train"`
	Test       int    `yaml:"test"`
	Epochs     int    `yaml:"epochs"`
	// Optimizer is sgd (default) or adam.
	Optimizer string  `yaml:"optimizer,omitempty"`
	LR        float64 `yaml:"lr"`
	FinalLR   float64 `yaml:"final_lr"`
	Dropout   float64 `yaml:"dropout"`
	// Seed initialises the pretrained network; one pretrained network
	// serves every seed of the table runs, as one ImageNet network served
	// all of the paper's runs.
	Seed int `yaml:"seed"`
}

// FineTune is the authors' fine-tuning schedule: a log decay from LR to
// FinalLR over DecayEpochs, then flat, with TopLRMult on the top conv-layer
// and the inserted conv.
type FineTune struct {
	// Dropout is the fine-tuned networks' dropout rate after the hidden FC
	// layers (at 1/8 width, 0.5 keeps them near chance for epochs).
	Dropout     float64 `yaml:"dropout"`
	LR          float64 `yaml:"lr"`
	FinalLR     float64 `yaml:"final_lr"`
	DecayEpochs int     `yaml:"decay_epochs"`
	TopLRMult   float64 `yaml:"top_lr_mult"`
}

// EvalWorldSeed is the evaluation world's seed.
func (s Scale) EvalWorldSeed() uint64 {
	if s.WorldSeed == 0 {
		return 1
	}
	return s.WorldSeed
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
	case s.MinTopMap < 0:
		return fmt.Errorf("min_top_map: %d, want >= 0 (0: the zoo's)", s.MinTopMap)
	}
	if p := s.Pretrain; p != nil {
		switch {
		case p.WorldSeed == s.EvalWorldSeed():
			return fmt.Errorf("pretrain.world_seed: %d is the evaluation world's seed; pretraining must use a disjoint world", p.WorldSeed)
		case p.Categories < 2 || p.Categories > 6:
			return fmt.Errorf("pretrain.categories: %d, want 2..6", p.Categories)
		case p.Train < 1 || p.Test < 1 || p.Epochs < 1:
			return fmt.Errorf("pretrain.train, test, epochs: want >= 1, got %d, %d, %d", p.Train, p.Test, p.Epochs)
		case !(p.LR > 0) || !(p.FinalLR > 0):
			return fmt.Errorf("pretrain.lr, final_lr: want > 0, got %g, %g", p.LR, p.FinalLR)
		case p.Optimizer != "" && p.Optimizer != "sgd" && p.Optimizer != "adam":
			return fmt.Errorf("pretrain.optimizer: %q, want sgd or adam", p.Optimizer)
		case p.Dropout < 0 || p.Dropout >= 1:
			return fmt.Errorf("pretrain.dropout: %g, want in [0,1)", p.Dropout)
		case p.Seed < 1:
			return fmt.Errorf("pretrain.seed: %d, want >= 1", p.Seed)
		}
	}
	if f := s.FineTune; f != nil {
		switch {
		case s.Pretrain == nil:
			return fmt.Errorf("fine_tune: needs pretrain")
		case !(f.LR > 0) || !(f.FinalLR > 0):
			return fmt.Errorf("fine_tune.lr, final_lr: want > 0, got %g, %g", f.LR, f.FinalLR)
		case f.Dropout < 0 || f.Dropout >= 1:
			return fmt.Errorf("fine_tune.dropout: %g, want in [0,1)", f.Dropout)
		case f.DecayEpochs < 0 || f.TopLRMult < 0:
			return fmt.Errorf("fine_tune.decay_epochs, top_lr_mult: want >= 0, got %d, %g", f.DecayEpochs, f.TopLRMult)
		}
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
