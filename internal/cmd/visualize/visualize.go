// Package visualize implements `icnnlab visualize`.
package visualize

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/internal/cmd/cmdutil"
	"github.com/icnnlab/icnnlab/internal/cmd/iostreams"
	"github.com/icnnlab/icnnlab/internal/pluginhost"
	viz "github.com/icnnlab/icnnlab/internal/visualize"
)

// VisualizeOptions is everything `icnnlab visualize` needs.
type VisualizeOptions struct {
	IO         *iostreams.IOStreams
	NewBackend func(name string) (backends.Backend, error)
	// BackendFlag is the global --backend value ("" means each run's own).
	BackendFlag string

	PluginFlags pluginhost.Flags
	Runs        []string
	Out         string
	Layer       string
	Images      int
	TrainImages int
	Filters     int
	Device      string
	RFParams    string
	UpconvParam string
	NoUpconv    bool
}

// NewCmdVisualize builds the command; runF replaces the run step in tests.
func NewCmdVisualize(f *cmdutil.Factory, runF func(*VisualizeOptions) error) *cobra.Command {
	opts := &VisualizeOptions{}
	cmd := &cobra.Command{
		Use:   "visualize RUN_DIR... [flags]",
		Short: "Draw receptive fields, decoder reconstructions and activation patterns of trained runs",
		Long: cmdutil.Dedent(`
			Reopen each run, extract one layer's activations (default: the top
			conv-layer, after its mask in interpretable runs) on the run's test
			images, and render them with the visualizer plugins:

			visualizers/receptive-field draws, for the chosen filters, the
			region where each fires (its map up-sampled onto the image and
			thresholded at its top quantile, Zhou et al. 2015) on its
			top-activating images, and a heat map of which part groups the
			regions of every filter cover.

			visualizers/upconv trains an up-convolution decoder (Dosovitskiy &
			Brox 2016) on the layer's features of training images, through the
			run's backend, reports its held-out pixel error against the
			mean-image baseline, and mines each chosen filter's activation
			peaks into patterns shown by top patches and by reconstructions of
			the pattern's mean feature.

			The filters shown are those with the highest part interpretability.
			Everything goes to --out: PNGs under <run>/receptive-field and
			<run>/upconv, and report.html with the manifest, metrics, training
			curves, metric distributions and one card per filter. Give several
			runs (an ordinary and an interpretable CNN) to compare them on one
			page.
		`),
		Example: cmdutil.Examples(`
			$ icnnlab visualize runs/small64-single-1a2b3c4d5e6f --out viz
			$ icnnlab visualize runs/ordinary-* runs/interp-* --filters 12 --out compare
			$ icnnlab visualize runs/interp-1a2b3c4d5e6f --no-upconv --layer conv3
			$ icnnlab visualize runs/interp-1a2b3c4d5e6f --upconv-params '{"steps": 600}'
		`),
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmdutil.FlagErrorf("visualize takes at least one run directory")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.IO = f.IOStreams
			opts.NewBackend = f.NewBackend
			opts.BackendFlag = f.BackendName
			opts.Runs = args
			for _, p := range []struct{ flag, v string }{{"--rf-params", opts.RFParams}, {"--upconv-params", opts.UpconvParam}} {
				if p.v != "" && !json.Valid([]byte(p.v)) {
					return cmdutil.FlagErrorf("%s: not valid JSON: %s", p.flag, p.v)
				}
			}
			if opts.Filters < 1 {
				return cmdutil.FlagErrorf("--filters: %d, want at least 1", opts.Filters)
			}
			for _, c := range []struct {
				flag string
				v    int
			}{{"--images", opts.Images}, {"--train-images", opts.TrainImages}} {
				if c.v < 0 {
					return cmdutil.FlagErrorf("%s: %d is negative (0 means all)", c.flag, c.v)
				}
			}
			if runF != nil {
				return runF(opts)
			}
			return visualizeRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Out, "out", "viz", "output directory for the PNGs and report.html")
	fl.StringVar(&opts.Layer, "layer", "", "layer to visualize (default: the layer the metrics score, the interpretable conv of an interpretable run)")
	fl.IntVar(&opts.Images, "images", viz.DefaultImages, "test images shown and held out for the decoder (0: all)")
	fl.IntVar(&opts.TrainImages, "train-images", viz.DefaultTrainImages, "training images for the decoder (0: all)")
	fl.IntVar(&opts.Filters, "filters", viz.DefaultFilters, "filters that get a card (the most part-interpretable)")
	fl.StringVar(&opts.Device, "device", "", "backend device (default: the run's)")
	fl.StringVar(&opts.RFParams, "rf-params", "", "visualizers/receptive-field parameters as JSON")
	fl.StringVar(&opts.UpconvParam, "upconv-params", "", "visualizers/upconv parameters as JSON")
	fl.BoolVar(&opts.NoUpconv, "no-upconv", false, "skip the decoder (the slow part)")
	opts.PluginFlags.Register(fl)
	// The decoder trains inside one plugin call: a minute is not enough.
	opts.PluginFlags.CallTimeout = viz.DefaultPluginTimeout
	fl.Lookup("plugin-timeout").DefValue = viz.DefaultPluginTimeout.String()
	return cmd
}

func visualizeRun(ctx context.Context, opts *VisualizeOptions) error {
	host, err := opts.PluginFlags.NewHost(opts.IO.ErrOut)
	if err != nil {
		return err
	}
	defer host.Close()
	vo := viz.Options{Runs: opts.Runs, Out: opts.Out, Layer: opts.Layer, Images: opts.Images, TrainImages: opts.TrainImages,
		Filters: opts.Filters, Device: opts.Device, NewBackend: opts.NewBackend, Host: host,
		ReceptiveFieldParams: json.RawMessage(opts.RFParams), UpconvParams: json.RawMessage(opts.UpconvParam),
		SkipUpconv: opts.NoUpconv, Log: opts.IO.ErrOut}
	if opts.BackendFlag != "" {
		if vo.Backend, err = opts.NewBackend(opts.BackendFlag); err != nil {
			return err
		}
	}
	out, err := viz.Visualize(ctx, vo)
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "wrote %s\n", out)
	return nil
}
