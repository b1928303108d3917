package train

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	trainpkg "github.com/icnnlab/icnnlab/internal/train"
	"github.com/icnnlab/icnnlab/internal/zoo"
)

// configFlag is a flag that sets one field of the run's config: field points
// into a config, at a string, float64, int, uint64 or bool. One row serves
// both ends, so a flag cannot be registered with one field's default and
// written into another.
type configFlag struct {
	name, usage string
	field       func(*trainpkg.Config) any
}

// configFlags are the flags of `icnnlab train` that override the defaults and
// the config file field by field, in the order --help lists them.
var configFlags = []configFlag{
	{"name", "run name (default <arch>-<task>)", func(c *trainpkg.Config) any { return &c.Name }},
	{"arch", "architecture: " + strings.Join(zoo.Names(), ", "), func(c *trainpkg.Config) any { return &c.Model.Arch }},
	{"width", "width multiplier of the channels", func(c *trainpkg.Config) any { return &c.Model.Width }},
	{"dropout", "dropout rate of the fully connected layers", func(c *trainpkg.Config) any { return &c.Model.Dropout }},
	{"loss", "classification loss: logistic or softmax (multi only)", func(c *trainpkg.Config) any { return &c.Model.Loss }},
	{"data-source", "dataset: synth or fashion-mnist (see docs/datasets.md)", func(c *trainpkg.Config) any { return &c.Data.Source }},
	{"task", "task: single or multi", func(c *trainpkg.Config) any { return &c.Data.Task }},
	{"target", "target category of a single-category task", func(c *trainpkg.Config) any { return &c.Data.Target }},
	{"categories", "number of categories of the synthetic world (2..6)", func(c *trainpkg.Config) any { return &c.Data.Categories }},
	{"image-size", "image side in pixels", func(c *trainpkg.Config) any { return &c.Data.ImageSize }},
	{"world-seed", "seed of the synthetic world (another seed draws another world)", func(c *trainpkg.Config) any { return &c.Data.Seed }},
	{"min-top-map", "smallest side of the top conv map; pools are dropped until it is reached (0: the zoo's 6)", func(c *trainpkg.Config) any { return &c.Model.MinTopMap }},
	{"init-from", "initialise the conv layers from this finished run (key, directory name in the run store, or directory): fine-tuning", func(c *trainpkg.Config) any { return &c.InitFrom }},
	{"difficulty", "synthetic world difficulty in [0,1]", func(c *trainpkg.Config) any { return &c.Data.Difficulty }},
	{"train-samples", "world samples in the training range", func(c *trainpkg.Config) any { return &c.Data.Train }},
	{"test-samples", "world samples in the test range", func(c *trainpkg.Config) any { return &c.Data.Test }},
	{"epochs", "training epochs", func(c *trainpkg.Config) any { return &c.Epochs }},
	{"batch", "batch size", func(c *trainpkg.Config) any { return &c.Batch }},
	{"optimizer", "optimizer: sgd or adam", func(c *trainpkg.Config) any { return &c.Optimizer.Kind }},
	{"lr", "initial learning rate", func(c *trainpkg.Config) any { return &c.Optimizer.LR }},
	{"final-lr", "final learning rate (schedules other than constant)", func(c *trainpkg.Config) any { return &c.Optimizer.FinalLR }},
	{"schedule", "learning-rate schedule: constant, linear, log, cosine", func(c *trainpkg.Config) any { return &c.Optimizer.Schedule }},
	{"decay-epochs", "end the schedule's decay after this many epochs, then keep the final rate (0: decay over all epochs)", func(c *trainpkg.Config) any { return &c.Optimizer.DecayEpochs }},
	{"top-lr-mult", "learning-rate multiplier of the top conv-layer and the inserted conv (0: 1)", func(c *trainpkg.Config) any { return &c.Optimizer.TopLRMult }},
	{"momentum", "SGD momentum", func(c *trainpkg.Config) any { return &c.Optimizer.Momentum }},
	{"weight-decay", "weight decay", func(c *trainpkg.Config) any { return &c.Optimizer.WeightDecay }},
	{"seed", "seed of initialisation, shuffling and dropout", func(c *trainpkg.Config) any { return &c.Seed }},
	{"checkpoint-every", "steps between checkpoints (0: every epoch)", func(c *trainpkg.Config) any { return &c.CheckpointEvery }},
	{"init-weights", "start from a weights file: torch.save zip or safetensors with torchvision names (docs/weights.md)", func(c *trainpkg.Config) any { return &c.InitWeights }},
	{"interpretable", "train the interpretable CNN: masks and a filter loss on the top conv-layers", func(c *trainpkg.Config) any { return &c.Interpretable.Enabled }},
	{"mask", "mask plugin (see icnnlab plugins list)", func(c *trainpkg.Config) any { return &c.Interpretable.Mask }},
	{"filter-loss", "filter-loss plugin (see icnnlab plugins list)", func(c *trainpkg.Config) any { return &c.Interpretable.Loss }},
	{"lambda", "base weight λ of the filter loss", func(c *trainpkg.Config) any { return &c.Interpretable.Lambda }},
	{"lambda-schedule", "λ schedule: paper (λ·mean max activation / epoch) or constant", func(c *trainpkg.Config) any { return &c.Interpretable.LambdaSchedule }},
}

// register adds the flag to fl with the field's value in defaults as its
// default.
func (f configFlag) register(fl *pflag.FlagSet, defaults trainpkg.Config) {
	switch v := f.field(&defaults).(type) {
	case *string:
		fl.String(f.name, *v, f.usage)
	case *float64:
		fl.Float64(f.name, *v, f.usage)
	case *int:
		fl.Int(f.name, *v, f.usage)
	case *uint64:
		fl.Uint64(f.name, *v, f.usage)
	case *bool:
		fl.Bool(f.name, *v, f.usage)
	default:
		panic(fmt.Sprintf("train flag --%s: config field of type %T has no flag type", f.name, v))
	}
}

// apply writes the flag's value into its field of c if the flag was given on
// the command line; a flag left out keeps what the defaults and the config
// file put there.
func (f configFlag) apply(fl *pflag.FlagSet, c *trainpkg.Config) error {
	if !fl.Changed(f.name) {
		return nil
	}
	var err error
	switch v := f.field(c).(type) {
	case *string:
		*v, err = fl.GetString(f.name)
	case *float64:
		*v, err = fl.GetFloat64(f.name)
	case *int:
		*v, err = fl.GetInt(f.name)
	case *uint64:
		*v, err = fl.GetUint64(f.name)
	case *bool:
		*v, err = fl.GetBool(f.name)
	default:
		err = fmt.Errorf("config field of type %T has no flag type", v)
	}
	if err != nil {
		return fmt.Errorf("--%s: %w", f.name, err)
	}
	return nil
}
