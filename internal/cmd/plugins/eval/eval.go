// Package eval implements `icnnlab plugins eval`: run one mask or loss
// plugin on feature maps from a .npy file and write what it computes.
package eval

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/internal/cmd/cmdutil"
	"github.com/icnnlab/icnnlab/internal/cmd/iostreams"
	"github.com/icnnlab/icnnlab/internal/pluginhost"
	"github.com/icnnlab/icnnlab/sdk/plugin"
)

// Host is the part of *pluginhost.Host that eval needs.
type Host interface {
	Describe(ctx context.Context, ref plugin.Ref) (pluginhost.Described, error)
	Mask(ctx context.Context, ref plugin.Ref) (plugin.Mask, error)
	Loss(ctx context.Context, ref plugin.Ref) (plugin.Loss, error)
	Close()
}

// EvalOptions is everything `icnnlab plugins eval` needs.
type EvalOptions struct {
	IO      *iostreams.IOStreams
	NewHost func() (Host, error)
	Backend func() (backends.Backend, error)

	Ref      plugin.Ref
	Features string // .npy [B, C, H, W]
	Labels   string // .npy [B, Classes]; losses only
	Mask     string // .npy [B, C, H, W]; losses that take the mask input
	Classes  int    // > 0: [B] labels are class indices, one-hot to [B, Classes]
	Epoch    int    // fed to losses that take the epoch input
	Params   json.RawMessage
	Layer    string
	OutDir   string

	// CheckGrad compares a loss's gradient with finite differences.
	CheckGrad     bool
	GradSamples   int
	GradTolerance float64
}

// NewCmdEval builds the command; runF replaces the run step in tests.
func NewCmdEval(f *cmdutil.Factory, hostFlags *pluginhost.Flags, runF func(*EvalOptions) error) *cobra.Command {
	opts := &EvalOptions{}
	var params string
	cmd := &cobra.Command{
		Use:   "eval {mask|loss} NAME --features FILE.npy --out DIR",
		Short: "Run one mask or loss plugin on feature maps from a .npy file",
		Long: cmdutil.Dedent(`
			Launch a mask or loss plugin the way training does (in its own
			process, parameters validated against its schema), ask it for its
			graph for the shape of the features, compile the graph on the
			selected backend (--backend) and run it once in evaluation mode.

			The features are a float .npy array [B, C, H, W]: the maps of one
			layer after its ReLU, e.g. an activations file written by
			'icnnlab eval'. Written to --out:

			  mask:  masked.npy, mask.npy and every other float output of the
			         graph (e.g. aux_loss.npy for the authors-code mask)
			  loss:  grad.npy, d loss / d features, and every other float output
			         (loss.npy, neg_mi.npy, ...)
			  both:  summary.json with the plugin, its version and source, the
			         parameters after defaults, the input and output shapes, the
			         loss and each output's min, max and mean

			A loss also needs --labels, a .npy [B, Classes] (any numeric dtype,
			converted to float32): [B, 1] with 0/1 entries means the
			single-category task, wider arrays the multi-category task. The
			[B] labels file 'icnnlab eval' writes beside the activations works
			too: 0/1 targets of a single-category run as they are, class
			indices of a multi-category run with --classes N. Losses
			that read the mask plugin's output (authors-code) need --mask, e.g.
			the mask.npy written by evaluating a mask; those with their own
			schedule read --epoch. Stateful plugins start from their initial
			state, as at the first training step.

			--check-grad (losses) compares grad.npy, the backend's
			d loss / d features of the plugin's graph, with central finite
			differences of the same graph computed in float64 by the reference
			evaluator, on --grad-samples entries (the largest derivative and a
			fixed random sample). Ops without a gradient (argmax,
			stop-gradient) are held fixed, as back-propagation treats them, so
			a gradient surrogate is checked against the gradient it injects.
			The error of an entry is |plugin - fd| / max(|plugin|, |fd|,
			1e-3 * the largest derivative in the sample). It prints each entry,
			the maximum relative error and PASS or FAIL (exit status 1 on
			FAIL, past --grad-tolerance), and records them in summary.json.
			Finite differences straddle a kink: an entry where the loss
			has one (a ReLU, abs or max exactly at the feature's value)
			can fail with a right gradient, so read the table.
		`),
		Example: cmdutil.Examples(`
			$ icnnlab plugins eval mask l1 --features conv5.npy --out out/l1
			$ icnnlab plugins eval mask gaussian --features conv5.npy --params '{"sigma": 0.25}' --out out/g
			$ icnnlab plugins eval loss mi --features conv5.npy --labels labels.npy --out out/mi
			$ icnnlab eval runs/vgg-m-multi-1a2b3c4d5e6f --layer conv5 --out conv5.npy --limit 64
			$ icnnlab plugins eval loss mi --features conv5.npy --labels conv5.npy.labels.npy --classes 6 --out out/mi
			$ icnnlab plugins eval mask authors-code --features conv5.npy --out out/m
			$ icnnlab plugins eval loss authors-code --features conv5.npy --labels labels.npy --mask out/m/mask.npy --epoch 3 --out out/l
			$ icnnlab plugins eval mask cosine --plugin-dir ./plugins --features conv5.npy --out out/cos

			# a loss of your own on the maps it sees in training, with a gradient check
			$ icnnlab eval runs/small64-single-icnn-1a2b3c4d5e6f --layer conv4 --pre-mask --out conv4.npy --limit 16
			$ icnnlab plugins eval loss spread --plugin-dir ./plugins --features conv4.npy --labels conv4.npy.labels.npy --check-grad --out out/spread
		`),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := parseTarget(args)
			if err != nil {
				return &cmdutil.FlagError{Err: err}
			}
			opts.Ref = ref
			if err := opts.check(cmd, params); err != nil {
				return &cmdutil.FlagError{Err: err}
			}
			opts.IO = f.IOStreams
			opts.Backend = f.Backend
			opts.NewHost = func() (Host, error) { return hostFlags.NewHost(f.IOStreams.ErrOut) }
			if runF != nil {
				return runF(opts)
			}
			return evalRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Features, "features", "", "feature maps, a float .npy array [B, C, H, W] (required)")
	fl.StringVar(&opts.Labels, "labels", "", "labels, a .npy array [B, Classes] (losses only, required for them)")
	fl.IntVar(&opts.Classes, "classes", 0, "number of classes, when --labels holds [B] class indices (one-hot encoded)")
	fl.StringVar(&opts.Mask, "mask", "", "mask, a .npy array [B, C, H, W], for losses with a \"mask\" input")
	fl.IntVar(&opts.Epoch, "epoch", 1, "1-based epoch, for losses with an \"epoch\" input")
	fl.StringVar(&params, "params", "", "plugin parameters as a JSON object (see 'icnnlab plugins info KIND/NAME')")
	fl.StringVar(&opts.Layer, "layer", "eval", "layer name passed to the plugin")
	fl.StringVarP(&opts.OutDir, "out", "o", "", "directory for the .npy outputs and summary.json (required; created if missing)")
	fl.BoolVar(&opts.CheckGrad, "check-grad", false, "compare a loss's gradient with float64 finite differences (PASS/FAIL)")
	fl.IntVar(&opts.GradSamples, "grad-samples", DefaultGradSamples, "entries of the features the gradient check compares")
	fl.Float64Var(&opts.GradTolerance, "grad-tolerance", DefaultGradTolerance, "largest relative error the gradient check passes")
	return cmd
}

// parseTarget reads "mask l1" or "masks/l1".
func parseTarget(args []string) (plugin.Ref, error) {
	var ref plugin.Ref
	var err error
	switch len(args) {
	case 1:
		ref, err = plugin.ParseRef(args[0])
	case 2:
		ref, err = plugin.ParseRef(args[0] + "/" + args[1])
	default:
		return ref, fmt.Errorf("want a kind and a name, e.g. \"mask l1\", got %d arguments", len(args))
	}
	if err != nil {
		return ref, err
	}
	if ref.Kind != plugin.KindMask && ref.Kind != plugin.KindLoss {
		return ref, fmt.Errorf("eval runs mask and loss plugins, not %s plugins (%s)", ref.Kind, ref)
	}
	return ref, nil
}

// check validates the flags that do not need a file read.
func (o *EvalOptions) check(cmd *cobra.Command, params string) error {
	if o.Features == "" {
		return fmt.Errorf("--features is required: a .npy array [B, C, H, W]")
	}
	if o.OutDir == "" {
		return fmt.Errorf("--out is required: the directory for the outputs")
	}
	isLoss := o.Ref.Kind == plugin.KindLoss
	if isLoss && o.Labels == "" {
		return fmt.Errorf("--labels is required for a loss: a .npy array [B, Classes] ([B, 1] for one category)")
	}
	for _, name := range []string{"labels", "classes", "mask", "epoch", "check-grad", "grad-samples", "grad-tolerance"} {
		if !isLoss && cmd.Flags().Changed(name) {
			return fmt.Errorf("--%s applies to losses only, and %s is a mask", name, o.Ref)
		}
	}
	if o.Classes < 0 {
		return fmt.Errorf("--classes must be positive, got %d", o.Classes)
	}
	if o.GradSamples < 1 {
		return fmt.Errorf("--grad-samples must be at least 1, got %d", o.GradSamples)
	}
	if !(o.GradTolerance > 0) {
		return fmt.Errorf("--grad-tolerance must be positive, got %g", o.GradTolerance)
	}
	for _, name := range []string{"grad-samples", "grad-tolerance"} {
		if cmd.Flags().Changed(name) && !o.CheckGrad {
			return fmt.Errorf("--%s applies with --check-grad", name)
		}
	}
	if o.Epoch < 1 {
		return fmt.Errorf("--epoch is 1-based, got %d", o.Epoch)
	}
	if p := strings.TrimSpace(params); p != "" {
		if !json.Valid([]byte(p)) {
			return fmt.Errorf("--params is not valid JSON: %s", p)
		}
		o.Params = json.RawMessage(p)
	}
	return nil
}
