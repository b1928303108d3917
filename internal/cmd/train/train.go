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

	for _, cf := range configFlags {
		cf.register(fl, d)
	}
	fl.String("mask-params", "", "mask plugin parameters as JSON (see icnnlab plugins info mask/NAME)")
	fl.String("filter-loss-params", "", "filter-loss plugin parameters as JSON")
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
		cfg, err := trainpkg.RunConfig(run)
		if err != nil {
			return fmt.Errorf("--resume: %w", err)
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
	for _, cf := range configFlags {
		if err := cf.apply(fl, c); err != nil {
			return err
		}
	}
	for _, p := range []struct {
		flag string
		dst  *json.RawMessage
	}{{"mask-params", &c.Interpretable.MaskParams}, {"filter-loss-params", &c.Interpretable.LossParams}} {
		if !fl.Changed(p.flag) {
			continue
		}
		raw, err := fl.GetString(p.flag)
		if err != nil {
			return fmt.Errorf("--%s: %w", p.flag, err)
		}
		if !json.Valid([]byte(raw)) {
			return cmdutil.FlagErrorf("--%s: %q is not valid JSON", p.flag, raw)
		}
		*p.dst = json.RawMessage(raw)
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
		return cmdutil.WriteJSON(opts.IO.Out, struct {
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
