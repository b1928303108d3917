// Package train runs training and evaluation of zoo models on a dataset,
// recording everything in the run store so runs are reproducible,
// reusable and resumable.
package train

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/icnnlab/icnnlab/internal/data/catalog"
)

// Config is a complete description of a training run. Every field has a
// default (Defaults), and Validate names the field and the allowed values
// of anything wrong, before any work starts.
type Config struct {
	Name      string          `json:"name" yaml:"name"`
	Model     ModelConfig     `json:"model" yaml:"model"`
	Data      DataConfig      `json:"data" yaml:"data"`
	Optimizer OptimizerConfig `json:"optimizer" yaml:"optimizer"`
	// Epochs is the number of training epochs; 0 makes an untrained
	// control: the run saves its initial weights (pretrained layers copied
	// by InitFrom, fresh ones from the seed) as its checkpoint and
	// evaluates them, without an optimisation step.
	Epochs int    `json:"epochs" yaml:"epochs"`
	Batch  int    `json:"batch" yaml:"batch"`
	Seed   uint64 `json:"seed" yaml:"seed"`
	// CheckpointEvery is the number of steps between checkpoints (0: each epoch only).
	CheckpointEvery int `json:"checkpoint_every" yaml:"checkpoint_every"`
	// Interpretable adds the paper's masks and filter loss (plugins).
	Interpretable InterpretableConfig `json:"interpretable" yaml:"interpretable"`
	// InitFrom names a finished icnnlab run (its key, its directory name in
	// the run store, or its directory) whose conv layers initialise this
	// network; the fully connected head and any inserted conv start fresh.
	// This is the authors' protocol: fine-tune a pretrained network. The
	// resolved run key is what the run's identity records.
	InitFrom string `json:"init_from,omitempty" yaml:"init_from,omitempty"`
	// InitWeights is a weights file (torch.save zip or safetensors, with
	// torchvision names: see docs/weights.md) the network starts from.
	InitWeights string `json:"init_weights,omitempty" yaml:"init_weights,omitempty"`
}

// ModelConfig picks a zoo architecture.
type ModelConfig struct {
	Arch    string  `json:"arch" yaml:"arch"`
	Width   float64 `json:"width" yaml:"width"`
	Dropout float64 `json:"dropout" yaml:"dropout"`
	// Loss is the classification loss: logistic (single- and multi-category) or softmax (multi only).
	Loss string `json:"loss" yaml:"loss"`
	// MinTopMap is the smallest side of the top conv map: pools are dropped
	// until the map is at least this wide (0: the zoo's default, 6).
	MinTopMap int `json:"min_top_map,omitempty" yaml:"min_top_map,omitempty"`
}

// DataConfig picks a dataset and task. The dataset registry defines it,
// so that datasets are built without this package.
type DataConfig = catalog.Config

// OptimizerConfig configures SGD (or Adam) and the learning-rate schedule.
type OptimizerConfig struct {
	Kind        string  `json:"kind" yaml:"kind"`
	LR          float64 `json:"lr" yaml:"lr"`
	FinalLR     float64 `json:"final_lr" yaml:"final_lr"`
	Schedule    string  `json:"schedule" yaml:"schedule"` // constant, linear, log, cosine
	Momentum    float64 `json:"momentum" yaml:"momentum"`
	WeightDecay float64 `json:"weight_decay" yaml:"weight_decay"`
	// DecayEpochs, when positive, ends the schedule's decay after that many
	// epochs; the rate then stays at FinalLR (the authors' fine-tuning:
	// log decay, then flat).
	DecayEpochs int `json:"decay_epochs,omitempty" yaml:"decay_epochs,omitempty"`
	// TopLRMult, when positive, multiplies the learning rate of the top
	// conv-layer and of the inserted interpretable conv (the authors train
	// the layers they add or mask faster than the pretrained ones below).
	TopLRMult float64 `json:"top_lr_mult,omitempty" yaml:"top_lr_mult,omitempty"`
}

// Defaults is a narrow VGG-M (width 1/8) on the 64-px synthetic world,
// single-category "bird": about 1,360 cropped training images, 12 epochs,
// a run of about two minutes on two CPU cores. (With half the data and
// epochs it stays near chance: measured 0.52 test accuracy.)
func Defaults() Config {
	return Config{
		Name:          "",
		Model:         ModelConfig{Arch: "vgg-m", Width: 0.125, Dropout: 0.5, Loss: "logistic"},
		Data:          DataConfig{Source: catalog.Synth, Task: "single", Target: "bird", Categories: 6, ImageSize: 64, Difficulty: 0.5, Train: 4096, Test: 1024, Seed: 1},
		Optimizer:     OptimizerConfig{Kind: "sgd", LR: 0.01, FinalLR: 0.001, Schedule: "log", Momentum: 0.9, WeightDecay: 5e-4},
		Epochs:        12,
		Batch:         32,
		Seed:          1,
		Interpretable: DefaultInterpretable(),
	}
}

var (
	allowedTasks     = []string{"single", "multi"}
	allowedLosses    = []string{"logistic", "softmax"}
	allowedOpt       = []string{"sgd", "adam"}
	allowedSchedules = []string{"constant", "linear", "log", "cosine"}
)

// FieldError names the invalid field.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return fmt.Sprintf("config field %s: %s", e.Field, e.Reason) }

// checkSource checks that data.source names src.
func checkSource(name string, src DataSource) error {
	switch {
	case src == nil:
		return oneOf("data.source", name, catalog.BuiltinNames)
	case name != src.Name():
		return &FieldError{"data.source", fmt.Sprintf("%q, but the datasets come from %s", name, src.Name())}
	}
	return nil
}

func oneOf(field, v string, allowed []string) error {
	if !slices.Contains(allowed, v) {
		return &FieldError{field, fmt.Sprintf("%q is not allowed (allowed: %s)", v, strings.Join(allowed, ", "))}
	}
	return nil
}

// Validate checks every field against the allowed values; archNames come
// from the zoo and the categories from src, the source that builds the
// datasets (nil when data.source names none: then data.source is the
// error).
func (c Config) Validate(archNames []string, src DataSource) error {
	checks := []error{
		oneOf("model.arch", c.Model.Arch, archNames),
		oneOf("model.loss", c.Model.Loss, allowedLosses),
		checkSource(c.Data.Source, src),
		oneOf("data.task", c.Data.Task, allowedTasks),
		oneOf("optimizer.kind", c.Optimizer.Kind, allowedOpt),
		oneOf("optimizer.schedule", c.Optimizer.Schedule, allowedSchedules),
	}
	for _, err := range checks {
		if err != nil {
			return err
		}
	}
	categoryNames := src.Categories()
	if c.Data.Categories < 2 || c.Data.Categories > len(categoryNames) {
		return &FieldError{"data.categories", fmt.Sprintf("%d is not in [2, %d]", c.Data.Categories, len(categoryNames))}
	}
	used := categoryNames[:c.Data.Categories]
	if c.Data.Task == "single" {
		if err := oneOf("data.target", c.Data.Target, used); err != nil {
			return err
		}
	}
	switch {
	case c.Model.Width <= 0 || c.Model.Width > 4:
		return &FieldError{"model.width", fmt.Sprintf("%g is not in (0, 4]", c.Model.Width)}
	case c.Model.Dropout < 0 || c.Model.Dropout >= 1:
		return &FieldError{"model.dropout", fmt.Sprintf("%g is not in [0, 1)", c.Model.Dropout)}
	case c.Data.Task == "single" && c.Model.Loss != "logistic":
		return &FieldError{"model.loss", "single-category tasks use the logistic loss"}
	case c.Data.ImageSize < 32 || c.Data.ImageSize > 512:
		return &FieldError{"data.image_size", fmt.Sprintf("%d is not in [32, 512]", c.Data.ImageSize)}
	case c.Data.Difficulty < 0 || c.Data.Difficulty > 1:
		return &FieldError{"data.difficulty", fmt.Sprintf("%g is not in [0, 1]", c.Data.Difficulty)}
	case c.Data.Train < c.Batch:
		return &FieldError{"data.train", fmt.Sprintf("%d training images is fewer than one batch of %d", c.Data.Train, c.Batch)}
	case c.Data.Test < 1:
		return &FieldError{"data.test", fmt.Sprintf("%d must be at least 1", c.Data.Test)}
	case c.Epochs < 0:
		return &FieldError{"epochs", fmt.Sprintf("%d is negative (0: an untrained control, its initial weights)", c.Epochs)}
	case c.Batch < 1:
		return &FieldError{"batch", fmt.Sprintf("%d must be at least 1", c.Batch)}
	case c.Optimizer.LR <= 0:
		return &FieldError{"optimizer.lr", fmt.Sprintf("%g must be positive", c.Optimizer.LR)}
	case c.Optimizer.Schedule != "constant" && c.Optimizer.FinalLR <= 0:
		return &FieldError{"optimizer.final_lr", fmt.Sprintf("%g must be positive for schedule %q", c.Optimizer.FinalLR, c.Optimizer.Schedule)}
	case c.Optimizer.Momentum < 0 || c.Optimizer.Momentum >= 1:
		return &FieldError{"optimizer.momentum", fmt.Sprintf("%g is not in [0, 1)", c.Optimizer.Momentum)}
	case c.Optimizer.WeightDecay < 0:
		return &FieldError{"optimizer.weight_decay", fmt.Sprintf("%g is negative", c.Optimizer.WeightDecay)}
	case c.Optimizer.DecayEpochs < 0:
		return &FieldError{"optimizer.decay_epochs", fmt.Sprintf("%d is negative", c.Optimizer.DecayEpochs)}
	case c.Optimizer.TopLRMult < 0:
		return &FieldError{"optimizer.top_lr_mult", fmt.Sprintf("%g is negative", c.Optimizer.TopLRMult)}
	case c.Model.MinTopMap < 0:
		return &FieldError{"model.min_top_map", fmt.Sprintf("%d is negative", c.Model.MinTopMap)}
	case c.CheckpointEvery < 0:
		return &FieldError{"checkpoint_every", fmt.Sprintf("%d is negative", c.CheckpointEvery)}
	}
	return c.Interpretable.validate()
}

// LoadConfigFile reads a YAML or JSON config (by extension) on top of the
// defaults. Unknown fields are errors, so a typo cannot silently do nothing.
func LoadConfigFile(path string, base Config) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return base, fmt.Errorf("config %s: %w", path, err)
	}
	cfg := base
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&cfg); err != nil {
			return base, fmt.Errorf("config %s: %w", path, err)
		}
	case ".yaml", ".yml":
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil {
			return base, fmt.Errorf("config %s: %w", path, err)
		}
	default:
		return base, fmt.Errorf("config %s: unknown extension %q (use .yaml, .yml or .json)", path, filepath.Ext(path))
	}
	return cfg, nil
}
