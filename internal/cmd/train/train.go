// Package train implements `icnnlab train`.
package train

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/internal/cmd/cmdutil"
	"github.com/icnnlab/icnnlab/internal/cmd/iostreams"
	"github.com/icnnlab/icnnlab/internal/pluginhost"
	"github.com/icnnlab/icnnlab/internal/runstore"
	trainpkg "github.com/icnnlab/icnnlab/internal/train"
	"github.com/icnnlab/icnnlab/internal/zoo"
)

// TrainOptions is everything `icnnlab train` needs.
type TrainOptions struct {
	IO         *iostreams.IOStreams
	Backend    func() (backends.Backend, error)
	NewBackend func(name string) (backends.Backend, error)
	// BackendFlag is the global --backend value ("" when not given).
	BackendFlag string

	Config      trainpkg.Config
	PluginFlags pluginhost.Flags
	ConfigFile  string
	Resume      string
	RunsDir     string
	Device      string
	Threads     int
	Force       bool
	JSON        bool
}

// NewCmdTrain builds the command; runF replaces the run step in tests.
func NewCmdTrain(f *cmdutil.Factory, runF func(*TrainOptions) error) *cobra.Command {
	opts := &TrainOptions{Config: trainpkg.Defaults()}
	cmd := &cobra.Command{
		Use:   "train [flags]",
		Short: "Train a model on the synthetic part world and evaluate it",
		Long: cmdutil.Dedent(`
			Train a zoo network (alexnet, alexnet-torchvision, vgg-m, vgg-s, vgg-16, small64) on a
			dataset task and evaluate its test accuracy. Settings come from the
			defaults, then --config (YAML or JSON, unknown fields are errors), then
			flags. An invalid setting fails before any work, naming the field and
			the allowed values.

			Every run lives in the run store (--runs, default $ICNNLAB_RUNS or
			./runs) under <name>-<key>, where the key hashes everything that
			decides the numbers (config, dataset, backend, device). Running the
			same configuration again reuses the finished run; --force retrains.
			An interrupted run resumes from its last checkpoint when started again
			with the same settings, or with --resume RUN_DIR.

			Tasks: single (the target category's objects, cropped by their box,
			are positives and the other categories negatives; logistic loss) and
			multi (all categories; logistic or softmax loss).

			--interpretable builds the paper's interpretable CNN: the mask plugin
			(--mask, default l1) is applied to the top conv-layer's filters and to
			a new 3x3 conv-layer inserted above it, and the filter-loss plugin
			(--filter-loss, default mi) is added on both with weight λ (--lambda,
			scheduled per --lambda-schedule). Plugins run out of process; their
			subgraphs are compiled into the model once, so training steps make
			no plugin calls. Their names, versions, binary checksums and the
			checksum of the subgraphs they returned are recorded in the run's
			manifest; the run key follows the subgraphs, so rebuilding icnnlab
			or a plugin without changing what it returns reuses finished runs.

			--init-weights starts the network from a weights file instead of a
			random initialisation: torchvision's ImageNet alexnet (use --arch
			alexnet-torchvision) or vgg16 (--arch vgg-16) saved by torch.save or as
			safetensors, or a file icnnlab export wrote. The class layer is left
			at its initialisation when its size differs; the file's SHA-256 is
			recorded in the manifest. See docs/weights.md.
		`),
		Example: cmdutil.Examples(`
			# a narrow VGG-M, single-category "bird", the defaults
			$ icnnlab train

			# multi-category with softmax, 10 epochs
			$ icnnlab train --task multi --loss softmax --epochs 10

			# from a config file, overriding the seed
			$ icnnlab train --config runs.yaml --seed 3

			# the interpretable CNN: the paper's L1 masks and exact -MI loss
			$ icnnlab train --interpretable

			# an ablation: Euclidean templates, the paper's gradient approximation
			$ icnnlab train --interpretable --mask euclidean --filter-loss mi-paper-grad --lambda 0.5

			# a mask plugin of your own (see docs/writing-plugins.md)
			$ icnnlab train --interpretable --mask cosine --mask-params '{"radius":0.5}' --plugin-dir ./myplugins

			# fine-tune: conv layers from a pretrained run, fresh head
			$ icnnlab train --arch vgg-m --task multi --world-seed 1001 --name pretrain
			$ icnnlab train --interpretable --init-from pretrain-1a2b3c4d5e6f

			# fine-tune torchvision's ImageNet VGG-16 (see docs/weights.md)
			$ icnnlab train --arch vgg-16 --width 1 --image-size 224 --init-weights vgg16.safetensors

			# continue a run that was killed
			$ icnnlab train --resume runs/vgg-m-single-1a2b3c4d5e6f
		`),
		Args: cmdutil.RequireNoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.IO = f.IOStreams
			opts.Backend = f.Backend
			opts.NewBackend = f.NewBackend
			opts.BackendFlag = f.BackendName
			if err := resolveConfig(cmd.Flags(), opts); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return trainRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	d := trainpkg.Defaults()
	fl.StringVar(&opts.ConfigFile, "config", "", "YAML or JSON config file (flags override it)")
	fl.StringVar(&opts.Resume, "resume", "", "resume the run in this directory (its config is used)")
	fl.StringVar(&opts.RunsDir, "runs", "", "run store directory (default $"+runstore.EnvVar+" or ./runs)")
	fl.StringVar(&opts.Device, "device", "", "backend device (default: the backend's)")
	fl.IntVar(&opts.Threads, "threads", 0, "compute threads (0: all)")
	fl.BoolVar(&opts.Force, "force", false, "retrain even if a finished run with these settings exists")
	fl.BoolVar(&opts.JSON, "json", false, "print the final metrics as JSON")

	fl.String("name", d.Name, "run name (default <arch>-<task>)")
	fl.String("arch", d.Model.Arch, "architecture: "+strings.Join(zoo.Names(), ", "))
	fl.Float64("width", d.Model.Width, "width multiplier of the channels")
	fl.Float64("dropout", d.Model.Dropout, "dropout rate of the fully connected layers")
	fl.String("loss", d.Model.Loss, "classification loss: logistic or softmax (multi only)")
	fl.String("data-source", d.Data.Source, "dataset: synth or fashion-mnist (see docs/datasets.md)")
	fl.String("task", d.Data.Task, "task: single or multi")
	fl.String("target", d.Data.Target, "target category of a single-category task")
	fl.Int("categories", d.Data.Categories, "number of categories of the synthetic world (2..6)")
	fl.Int("image-size", d.Data.ImageSize, "image side in pixels")
	fl.Uint64("world-seed", d.Data.Seed, "seed of the synthetic world (another seed draws another world)")
	fl.Int("min-top-map", d.Model.MinTopMap, "smallest side of the top conv map; pools are dropped until it is reached (0: the zoo's 6)")
	fl.String("init-from", d.InitFrom, "initialise the conv layers from this finished run (key, directory name in the run store, or directory): fine-tuning")
	fl.Float64("difficulty", d.Data.Difficulty, "synthetic world difficulty in [0,1]")
	fl.Int("train-samples", d.Data.Train, "world samples in the training range")
	fl.Int("test-samples", d.Data.Test, "world samples in the test range")
	fl.Int("epochs", d.Epochs, "training epochs (0: an untrained control that saves and evaluates its initial weights)")
	fl.Int("batch", d.Batch, "batch size")
	fl.String("optimizer", d.Optimizer.Kind, "optimizer: sgd or adam")
	fl.Float64("lr", d.Optimizer.LR, "initial learning rate")
	fl.Float64("final-lr", d.Optimizer.FinalLR, "final learning rate (schedules other than constant)")
	fl.String("schedule", d.Optimizer.Schedule, "learning-rate schedule: constant, linear, log, cosine")
	fl.Int("decay-epochs", d.Optimizer.DecayEpochs, "end the schedule's decay after this many epochs, then keep the final rate (0: decay over all epochs)")
	fl.Float64("top-lr-mult", d.Optimizer.TopLRMult, "learning-rate multiplier of the top conv-layer and the inserted conv (0: 1)")
	fl.Float64("momentum", d.Optimizer.Momentum, "SGD momentum")
	fl.Float64("weight-decay", d.Optimizer.WeightDecay, "weight decay")
	fl.Uint64("seed", d.Seed, "seed of initialisation, shuffling and dropout")
	fl.Int("checkpoint-every", d.CheckpointEvery, "steps between checkpoints (0: every epoch)")
	fl.String("init-weights", d.InitWeights, "start from a weights file: torch.save zip or safetensors with torchvision names (docs/weights.md)")
	fl.Bool("interpretable", d.Interpretable.Enabled, "train the interpretable CNN: masks and a filter loss on the top conv-layers")
	fl.String("mask", d.Interpretable.Mask, "mask plugin (see icnnlab plugins list)")
	fl.String("mask-params", "", "mask plugin parameters as JSON (see icnnlab plugins info mask/NAME)")
	fl.String("filter-loss", d.Interpretable.Loss, "filter-loss plugin (see icnnlab plugins list)")
	fl.String("filter-loss-params", "", "filter-loss plugin parameters as JSON")
	fl.Float64("lambda", d.Interpretable.Lambda, "base weight λ of the filter loss")
	fl.String("lambda-schedule", d.Interpretable.LambdaSchedule, "λ schedule: paper (λ·mean max activation / epoch) or constant")
	opts.PluginFlags.Register(fl)
	return cmd
}

// resolveConfig layers defaults, the config file and the flags that were set.
func resolveConfig(fl *pflag.FlagSet, opts *TrainOptions) error {
	if opts.Resume != "" {
		run, err := runstore.Load(opts.Resume)
		if err != nil {
			return cmdutil.FlagErrorf("--resume: %v", err)
		}
		var cfg trainpkg.Config
		if err := json.Unmarshal(run.Manifest.Config, &cfg); err != nil {
			return fmt.Errorf("--resume %s: manifest config: %w", opts.Resume, err)
		}
		cfg.Name = run.Manifest.Name
		opts.Config = cfg
		if opts.RunsDir == "" {
			opts.RunsDir = filepath.Dir(filepath.Clean(opts.Resume))
		}
		if opts.BackendFlag == "" {
			opts.BackendFlag = run.Manifest.Backend
			opts.Backend = func() (backends.Backend, error) { return opts.NewBackend(run.Manifest.Backend) }
		}
		if opts.Device == "" {
			opts.Device = run.Manifest.Device
		}
		return nil
	}
	if opts.ConfigFile != "" {
		cfg, err := trainpkg.LoadConfigFile(opts.ConfigFile, opts.Config)
		if err != nil {
			return err
		}
		opts.Config = cfg
	}
	c := &opts.Config
	var err error
	set := func(name string, apply func()) {
		if err == nil && fl.Changed(name) {
			apply()
		}
	}
	str := func(name string) string { v, e := fl.GetString(name); err = e; return v }
	num := func(name string) float64 { v, e := fl.GetFloat64(name); err = e; return v }
	integer := func(name string) int { v, e := fl.GetInt(name); err = e; return v }
	set("name", func() { c.Name = str("name") })
	set("arch", func() { c.Model.Arch = str("arch") })
	set("width", func() { c.Model.Width = num("width") })
	set("dropout", func() { c.Model.Dropout = num("dropout") })
	set("loss", func() { c.Model.Loss = str("loss") })
	set("data-source", func() { c.Data.Source = str("data-source") })
	set("task", func() { c.Data.Task = str("task") })
	set("target", func() { c.Data.Target = str("target") })
	set("categories", func() { c.Data.Categories = integer("categories") })
	set("image-size", func() { c.Data.ImageSize = integer("image-size") })
	set("world-seed", func() { v, e := fl.GetUint64("world-seed"); err = e; c.Data.Seed = v })
	set("min-top-map", func() { c.Model.MinTopMap = integer("min-top-map") })
	set("init-from", func() { c.InitFrom = str("init-from") })
	set("difficulty", func() { c.Data.Difficulty = num("difficulty") })
	set("train-samples", func() { c.Data.Train = integer("train-samples") })
	set("test-samples", func() { c.Data.Test = integer("test-samples") })
	set("epochs", func() { c.Epochs = integer("epochs") })
	set("batch", func() { c.Batch = integer("batch") })
	set("optimizer", func() { c.Optimizer.Kind = str("optimizer") })
	set("lr", func() { c.Optimizer.LR = num("lr") })
	set("final-lr", func() { c.Optimizer.FinalLR = num("final-lr") })
	set("schedule", func() { c.Optimizer.Schedule = str("schedule") })
	set("decay-epochs", func() { c.Optimizer.DecayEpochs = integer("decay-epochs") })
	set("top-lr-mult", func() { c.Optimizer.TopLRMult = num("top-lr-mult") })
	set("momentum", func() { c.Optimizer.Momentum = num("momentum") })
	set("weight-decay", func() { c.Optimizer.WeightDecay = num("weight-decay") })
	set("seed", func() { v, e := fl.GetUint64("seed"); err = e; c.Seed = v })
	set("checkpoint-every", func() { c.CheckpointEvery = integer("checkpoint-every") })
	set("init-weights", func() { c.InitWeights = str("init-weights") })
	set("interpretable", func() { v, e := fl.GetBool("interpretable"); err = e; c.Interpretable.Enabled = v })
	set("mask", func() { c.Interpretable.Mask = str("mask") })
	set("filter-loss", func() { c.Interpretable.Loss = str("filter-loss") })
	set("lambda", func() { c.Interpretable.Lambda = num("lambda") })
	set("lambda-schedule", func() { c.Interpretable.LambdaSchedule = str("lambda-schedule") })
	for _, p := range []struct {
		flag string
		dst  *json.RawMessage
	}{{"mask-params", &c.Interpretable.MaskParams}, {"filter-loss-params", &c.Interpretable.LossParams}} {
		set(p.flag, func() {
			raw := str(p.flag)
			if !json.Valid([]byte(raw)) {
				err = cmdutil.FlagErrorf("--%s: %q is not valid JSON", p.flag, raw)
				return
			}
			*p.dst = json.RawMessage(raw)
		})
	}
	if err != nil {
		return err
	}
	if err := checkInterpretableOptions(fl, c.Interpretable); err != nil {
		return err
	}
	// A multi-category task has no target; keep the identity free of it.
	if c.Data.Task == "multi" {
		c.Data.Target = ""
	}
	return nil
}

// checkInterpretableOptions refuses mask and filter-loss settings, from
// flags or the config file, on a network that is not interpretable: they
// would be ignored, and an ordinary network trained without a word.
func checkInterpretableOptions(fl *pflag.FlagSet, c trainpkg.InterpretableConfig) error {
	if c.Enabled {
		return nil
	}
	d := trainpkg.DefaultInterpretable()
	var given []string
	for _, o := range []struct {
		flag, field string
		set         bool
	}{
		{"mask", "mask", c.Mask != d.Mask},
		{"mask-params", "mask_params", len(c.MaskParams) > 0},
		{"filter-loss", "loss", c.Loss != d.Loss},
		{"filter-loss-params", "loss_params", len(c.LossParams) > 0},
		{"lambda", "lambda", c.Lambda != d.Lambda},
		{"lambda-schedule", "lambda_schedule", c.LambdaSchedule != d.LambdaSchedule},
	} {
		switch {
		case fl.Changed(o.flag):
			given = append(given, "--"+o.flag)
		case o.set:
			given = append(given, "interpretable."+o.field+" (config)")
		}
	}
	if len(given) == 0 {
		return nil
	}
	return cmdutil.FlagErrorf("%s configure the interpretable CNN's masks and filter loss, which this network does not have: "+
		"add --interpretable (or interpretable.enabled: true in the config), or drop them", strings.Join(given, ", "))
}

func trainRun(ctx context.Context, opts *TrainOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	b, err := opts.Backend()
	if err != nil {
		return err
	}
	store, err := runstore.Open(opts.RunsDir)
	if err != nil {
		return err
	}
	ro := trainpkg.Options{Backend: b, Device: opts.Device, Store: store, Force: opts.Force, Threads: opts.Threads, Log: opts.IO.ErrOut}
	if opts.Config.Interpretable.Enabled {
		host, err := opts.PluginFlags.NewHost(opts.IO.ErrOut)
		if err != nil {
			return err
		}
		defer host.Close()
		ro.Plugins = host
	}
	if opts.IO.IsStderrTTY() {
		ro.Progress = opts.IO.ErrOut
	}
	res, err := trainpkg.Run(ctx, opts.Config, ro)
	if err != nil {
		return err
	}
	if opts.JSON {
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Run     string           `json:"run"`
			Reused  bool             `json:"reused"`
			Resumed bool             `json:"resumed"`
			Metrics trainpkg.Metrics `json:"metrics"`
		}{res.Run.Dir, res.Reused, res.Resumed, res.Metrics})
	}
	m := res.Metrics
	how := "trained"
	switch {
	case res.Reused:
		how = "reused (finished earlier; --force retrains)"
	case res.Resumed:
		how = "resumed from its checkpoint and finished"
	}
	fmt.Fprintf(opts.IO.Out, "run       %s (%s)\n", res.Run.Dir, how)
	fmt.Fprintf(opts.IO.Out, "train     loss %.4f  accuracy %.3f  (%d steps, %d epochs)\n", m.TrainLoss, m.TrainAccuracy, m.Steps, m.Epochs)
	fmt.Fprintf(opts.IO.Out, "test      loss %.4f  accuracy %.3f  (%d images)\n", m.TestLoss, m.TestAccuracy, m.TestImages)
	if !res.Reused {
		fmt.Fprintf(opts.IO.Out, "time      %.1f s, %.0f training images/s\n", m.WallSeconds, m.ImagesPerSec)
	}
	return nil
}
