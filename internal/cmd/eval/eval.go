// Package eval implements `icnnlab eval`.
package eval

import (
	"cmp"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/internal/cmd/cmdutil"
	"github.com/icnnlab/icnnlab/internal/cmd/iostreams"
	"github.com/icnnlab/icnnlab/internal/pluginhost"
	"github.com/icnnlab/icnnlab/internal/runstore"
	trainpkg "github.com/icnnlab/icnnlab/internal/train"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// EvalOptions is everything `icnnlab eval` needs.
type EvalOptions struct {
	IO         *iostreams.IOStreams
	NewBackend func(name string) (backends.Backend, error)
	// BackendFlag is the global --backend value ("" means the run's own backend).
	BackendFlag string

	PluginFlags pluginhost.Flags
	RunDir      string
	Layer       string
	PreMask     bool
	Out         string
	Split       string
	Limit       int
	Device      string
	JSON        bool
}

// NewCmdEval builds the command; runF replaces the run step in tests.
func NewCmdEval(f *cmdutil.Factory, runF func(*EvalOptions) error) *cobra.Command {
	opts := &EvalOptions{}
	cmd := &cobra.Command{
		Use:   "eval RUN_DIR [flags]",
		Short: "Evaluate a trained run, or extract a layer's activations",
		Long: cmdutil.Dedent(`
			Load a run's checkpoint and evaluate its test accuracy and loss in
			evaluation mode (no dropout), on the run's own backend unless
			--backend says otherwise.

			With --layer and --out, also run the chosen split through the
			network and save that layer's activations, [N,C,H,W] float32, as a
			.npy file (the top and interpretable layers after their masks), with
			the labels beside it as <out>.labels.npy. The metric and visualizer
			plugins read these files.

			--pre-mask saves an interpretable layer's maps before its mask
			instead: after the ReLU, the "features" a filter-loss plugin is fed
			in training (docs/writing-plugins.md), for 'icnnlab plugins eval
			loss ...'.
		`),
		Example: cmdutil.Examples(`
			$ icnnlab eval runs/vgg-m-single-1a2b3c4d5e6f
			$ icnnlab eval runs/vgg-m-single-1a2b3c4d5e6f --layer conv5 --out conv5.npy --limit 256

			# what the filter loss of an interpretable run sees on conv5
			$ icnnlab eval runs/vgg-m-single-icnn-1a2b3c4d5e6f --layer conv5 --pre-mask --out conv5-premask.npy --limit 64
		`),
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return cmdutil.FlagErrorf("eval takes one run directory, got %d arguments", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.IO = f.IOStreams
			opts.NewBackend = f.NewBackend
			opts.BackendFlag = f.BackendName
			opts.RunDir = args[0]
			if (opts.Layer == "") != (opts.Out == "") {
				return cmdutil.FlagErrorf("--layer and --out go together")
			}
			if opts.PreMask && opts.Layer == "" {
				return cmdutil.FlagErrorf("--pre-mask needs --layer and --out")
			}
			if opts.Split != "train" && opts.Split != "test" {
				return cmdutil.FlagErrorf("--split: %q is not one of train, test", opts.Split)
			}
			if runF != nil {
				return runF(opts)
			}
			return evalRun(opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Layer, "layer", "", "layer whose activations to save (with --out)")
	fl.StringVar(&opts.Out, "out", "", ".npy file for the activations (with --layer)")
	fl.BoolVar(&opts.PreMask, "pre-mask", false, "save the layer's maps before its mask, as the filter loss sees them (interpretable layers)")
	fl.StringVar(&opts.Split, "split", "test", "split to extract from: train or test")
	fl.IntVar(&opts.Limit, "limit", 0, "extract at most this many examples (0: all)")
	fl.StringVar(&opts.Device, "device", "", "backend device (default: the run's)")
	fl.BoolVar(&opts.JSON, "json", false, "print the metrics as JSON")
	opts.PluginFlags.Register(fl)
	return cmd
}

func evalRun(opts *EvalOptions) error {
	run, err := runstore.Load(opts.RunDir)
	if err != nil {
		return err
	}
	cfg, err := trainpkg.RunConfig(run)
	if err != nil {
		return err
	}
	b, err := opts.NewBackend(cmp.Or(opts.BackendFlag, run.Manifest.Backend))
	if err != nil {
		return err
	}
	to := trainpkg.Options{Backend: b, Device: opts.Device, Activations: opts.Layer != ""}
	if cfg.Interpretable.Enabled {
		host, err := opts.PluginFlags.NewHost(opts.IO.ErrOut)
		if err != nil {
			return err
		}
		defer host.Close()
		to.Plugins = host
	}
	sess, err := trainpkg.Reopen(run, cfg, to)
	if err != nil {
		return err
	}
	defer sess.Close()
	m, err := sess.Evaluate()
	if err != nil {
		return err
	}
	if opts.Layer != "" {
		ds := sess.Test
		if opts.Split == "train" {
			ds = sess.Train
		}
		extract, what := sess.Extract, "activations"
		if opts.PreMask {
			extract, what = sess.ExtractPreMask, "pre-mask maps"
		}
		acts, labels, err := extract(opts.Layer, ds, opts.Limit)
		if err != nil {
			return err
		}
		if err := tensor.SaveNPY(opts.Out, acts); err != nil {
			return err
		}
		lab := make([]int64, len(labels))
		for i, l := range labels {
			lab[i] = int64(l)
		}
		lt, _ := tensor.FromInt64(tensor.Shape{len(lab)}, lab)
		if err := tensor.SaveNPY(opts.Out+".labels.npy", lt); err != nil {
			return err
		}
		fmt.Fprintf(opts.IO.ErrOut, "saved %s %s %v to %s (labels: %s.labels.npy)\n", opts.Layer, what, acts.Shape(), opts.Out, opts.Out)
	}
	if opts.JSON {
		return cmdutil.WriteJSON(opts.IO.Out, m)
	}
	fmt.Fprintf(opts.IO.Out, "run   %s (step %d)\n", run.Dir, sess.Exec.Step())
	fmt.Fprintf(opts.IO.Out, "test  loss %.4f  accuracy %.3f  (%d images)\n", m.TestLoss, m.TestAccuracy, m.TestImages)
	return nil
}
