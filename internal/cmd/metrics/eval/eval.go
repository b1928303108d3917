// Package eval implements `icnnlab metrics eval`: run one of the paper's
// metrics, out of process, on activations or logits saved as .npy.
package eval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/icnnlab/icnnlab/internal/cmd/cmdutil"
	"github.com/icnnlab/icnnlab/internal/cmd/iostreams"
	"github.com/icnnlab/icnnlab/internal/metricsrun"
	"github.com/icnnlab/icnnlab/internal/pluginhost"
	"github.com/icnnlab/icnnlab/internal/zoo"
	"github.com/icnnlab/icnnlab/plugins/metrics/wire"
	"github.com/icnnlab/icnnlab/sdk/parts"
	"github.com/icnnlab/icnnlab/sdk/plugin"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// Metrics are the metric names the command runs.
var Metrics = []string{wire.PartInterpretability, wire.LocationInstability, wire.Accuracy}

// EvalOptions is everything `icnnlab metrics eval` needs.
type EvalOptions struct {
	IO      *iostreams.IOStreams
	NewHost func() (*pluginhost.Host, error)

	Metric string

	// Layer metrics.
	Activations string // .npy float32 [N,C,H,W]
	Annotations string // annotation file (docs/metrics.md)
	Arch        string
	Layer       string
	ImageSize   int
	Width       float64
	// MinTopMap is the zoo's min_top_map the network was built with (0:
	// the zoo's default); the default scale's VGG-M drops pool2 for it.
	MinTopMap  int
	Task       string
	Categories []string

	// Accuracy.
	Logits string // .npy [N] or [N,K]
	Labels string // .npy [N] integer

	Params json.RawMessage
	JSON   bool
}

func (o *EvalOptions) layerMetric() bool { return o.Metric != wire.Accuracy }

// NewCmdEval builds the command; runF replaces the run step in tests.
func NewCmdEval(f *cmdutil.Factory, hostFlags *pluginhost.Flags, runF func(*EvalOptions) error) *cobra.Command {
	opts := &EvalOptions{}
	var params string
	cmd := &cobra.Command{
		Use:   "eval {part-interpretability|location-instability|accuracy} [flags]",
		Short: "Run one metric on activations or logits saved as .npy",
		Long: cmdutil.Dedent(`
			Run one of the paper's metrics through its built-in plugin (in its
			own process, parameters validated against its schema) and print a
			summary: the layer's score and the best and worst filters, or with
			--json everything the metric computes, per filter, for plots.

			part-interpretability and location-instability read one layer's
			activations (--activations, a float32 .npy [N, C, H, W] after ReLU
			and mask, e.g. written by 'icnnlab eval --layer') and the annotations
			of the same N images in order (--annotations, the JSON file described
			in docs/metrics.md, at the network's input resolution). The layer's
			receptive-field geometry, which places each unit on the image, comes
			from the zoo: --arch and --layer at --image-size and --width (the
			values the network was built with; the layer's channel count and map
			size must match the activations).

			--task single evaluates every image, or only the images of one
			target category given with --categories (the paper evaluates
			single-category networks on the target category's test images).
			--task multi assigns each filter the category whose images activate
			it most, as the paper does for multi-category networks; --categories
			then restricts the evaluation to those categories' images.

			accuracy reads --logits (.npy [N] or [N, 1]: binary, positive iff the
			logit is > 0; [N, K]: argmax over K classes) and --labels (.npy [N] of
			integers) and prints the accuracy and confusion matrix.

			Parameters (--params, a JSON object; see 'icnnlab plugins info
			metrics/NAME'):
			  part-interpretability  top_fraction (0.005), region (upsample, box,
			                         round), iou_threshold (0.2), region_size (0:
			                         the layer's receptive-field size)
			  location-instability   top_images (100), landmarks (default: all)
			  accuracy               none
		`),
		Example: cmdutil.Examples(`
			$ icnnlab eval runs/small64-1a2b3c4d5e6f --layer conv_interp --out acts.npy
			$ icnnlab metrics eval part-interpretability --activations acts.npy --annotations ann.json --arch small64 --layer conv_interp
			$ icnnlab metrics eval part-interpretability --activations acts.npy --annotations ann.json --arch small64 --layer conv_interp --params '{"top_fraction": 0.0153}'
			$ icnnlab metrics eval location-instability --activations acts.npy --annotations ann.json --arch vgg-16 --layer conv_interp --image-size 224 --width 1 --params '{"landmarks": ["head", "neck", "torso"]}'
			$ icnnlab metrics eval location-instability --activations acts.npy --annotations ann.json --arch small64 --layer conv_interp --task multi --json > instability.json
			# a network of the default reproduction scale: VGG-M at 112 px, width 0.125, pool2 dropped for 12×12 maps
			$ icnnlab metrics eval part-interpretability --activations acts.npy --annotations ann.json --arch vgg-m --layer conv_interp --image-size 112 --min-top-map 12
			$ icnnlab metrics eval accuracy --logits logits.npy --labels labels.npy
		`),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return cmdutil.FlagErrorf("want one metric name (%s), got %d arguments", strings.Join(Metrics, ", "), len(args))
			}
			opts.Metric = args[0]
			if err := opts.check(cmd, params); err != nil {
				return &cmdutil.FlagError{Err: err}
			}
			opts.IO = f.IOStreams
			opts.NewHost = func() (*pluginhost.Host, error) { return hostFlags.NewHost(f.IOStreams.ErrOut) }
			if runF != nil {
				return runF(opts)
			}
			return evalRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Activations, "activations", "", "one layer's activations, a float32 .npy [N, C, H, W] (layer metrics)")
	fl.StringVar(&opts.Annotations, "annotations", "", "annotation file of the N images, in order (layer metrics; docs/metrics.md)")
	fl.StringVar(&opts.Arch, "arch", "", "architecture the activations come from: "+strings.Join(zoo.Names(), ", ")+" (layer metrics)")
	fl.StringVar(&opts.Layer, "layer", "", "layer the activations come from, e.g. conv_interp (layer metrics)")
	fl.IntVar(&opts.ImageSize, "image-size", 64, "input image side in pixels the network was built for")
	fl.Float64Var(&opts.Width, "width", 0.125, "width multiplier the network was built with")
	fl.IntVar(&opts.MinTopMap, "min-top-map", 0, "model.min_top_map the network was built with (12 at the default scale; 0: the zoo's default)")
	fl.StringVar(&opts.Task, "task", plugin.TaskSingle, "single or multi (see above)")
	fl.StringSliceVar(&opts.Categories, "categories", nil, "single: the target category; multi: the categories to evaluate on (default: all)")
	fl.StringVar(&opts.Logits, "logits", "", "logits, a float .npy [N] or [N, K] (accuracy)")
	fl.StringVar(&opts.Labels, "labels", "", "labels, an integer .npy [N] (accuracy)")
	fl.StringVar(&params, "params", "", "metric parameters as a JSON object")
	fl.BoolVar(&opts.JSON, "json", false, "print the full result as JSON instead of a summary")
	return cmd
}

// check validates the flags that do not need files.
func (o *EvalOptions) check(cmd *cobra.Command, params string) error {
	if !slices.Contains(Metrics, o.Metric) {
		return fmt.Errorf("unknown metric %q; want one of %s", o.Metric, strings.Join(Metrics, ", "))
	}
	if params != "" {
		if !json.Valid([]byte(params)) {
			return fmt.Errorf("--params is not valid JSON: %s", params)
		}
		o.Params = json.RawMessage(params)
	}
	layerFlags := []string{"activations", "annotations", "arch", "layer", "image-size", "width", "min-top-map", "task", "categories"}
	accuracyFlags := []string{"logits", "labels"}
	if !o.layerMetric() {
		for _, name := range layerFlags {
			if cmd.Flags().Changed(name) {
				return fmt.Errorf("--%s applies to part-interpretability and location-instability, not accuracy", name)
			}
		}
		for _, name := range accuracyFlags {
			if !cmd.Flags().Changed(name) {
				return fmt.Errorf("--%s is required for accuracy", name)
			}
		}
		return nil
	}
	for _, name := range accuracyFlags {
		if cmd.Flags().Changed(name) {
			return fmt.Errorf("--%s applies to accuracy only", name)
		}
	}
	for _, name := range []string{"activations", "annotations", "arch", "layer"} {
		if !cmd.Flags().Changed(name) {
			return fmt.Errorf("--%s is required for %s", name, o.Metric)
		}
	}
	if !slices.Contains(zoo.Names(), o.Arch) {
		return fmt.Errorf("--arch %q is not one of %s", o.Arch, strings.Join(zoo.Names(), ", "))
	}
	if o.ImageSize <= 0 {
		return fmt.Errorf("--image-size %d: want a positive number of pixels", o.ImageSize)
	}
	if !(o.Width > 0) {
		return fmt.Errorf("--width %v: want a positive multiplier", o.Width)
	}
	if o.MinTopMap < 0 {
		return fmt.Errorf("--min-top-map %d: want a map side in cells, or 0 for the zoo's default", o.MinTopMap)
	}
	if o.Task != plugin.TaskSingle && o.Task != plugin.TaskMulti {
		return fmt.Errorf("--task %q: want single or multi", o.Task)
	}
	if o.Task == plugin.TaskSingle && len(o.Categories) > 1 {
		return fmt.Errorf("--categories: the single task takes one target category, got %d (%s)", len(o.Categories), strings.Join(o.Categories, ", "))
	}
	return nil
}

// Output is what --json prints.
type Output struct {
	Metric  string `json:"metric"`
	Version string `json:"version"`
	// Inputs.
	Activations string          `json:"activations,omitempty"`
	Annotations string          `json:"annotations,omitempty"`
	Arch        string          `json:"arch,omitempty"`
	Layer       string          `json:"layer,omitempty"`
	ImageSize   int             `json:"image_size,omitempty"`
	Width       float64         `json:"width,omitempty"`
	MinTopMap   int             `json:"min_top_map,omitempty"`
	Geometry    *parts.Geometry `json:"geometry,omitempty"`
	Task        string          `json:"task,omitempty"`
	Categories  []string        `json:"categories,omitempty"`
	Logits      string          `json:"logits,omitempty"`
	Labels      string          `json:"labels,omitempty"`
	Params      json.RawMessage `json:"params"`
	// Result is the metric package's result (partinterp.Result,
	// instability.Result or accuracy.Result).
	Result any `json:"result"`
}

func evalRun(ctx context.Context, opts *EvalOptions) error {
	out := &Output{Metric: opts.Metric}
	var in layerInputs
	var logits *tensor.Tensor
	var labels []int
	var err error
	// Read and check every input before launching anything.
	if opts.layerMetric() {
		if in, err = readLayerInputs(opts); err != nil {
			return err
		}
		out.Activations, out.Annotations, out.Arch, out.Layer = opts.Activations, opts.Annotations, opts.Arch, opts.Layer
		g := in.geom
		out.Geometry = &g
		out.ImageSize, out.Width, out.MinTopMap, out.Task, out.Categories = opts.ImageSize, opts.Width, opts.MinTopMap, opts.Task, opts.Categories
	} else {
		if logits, labels, err = readAccuracyInputs(opts); err != nil {
			return err
		}
		out.Logits, out.Labels = opts.Logits, opts.Labels
	}

	host, err := opts.NewHost()
	if err != nil {
		return err
	}
	defer host.Close()
	ref := plugin.Ref{Kind: plugin.KindMetric, Name: opts.Metric}
	d, err := host.Describe(ctx, ref)
	if err != nil {
		return err
	}
	out.Version = d.Info.Version
	if out.Params, err = plugin.ValidateParams(d.Info.ParamSchema, opts.Params); err != nil {
		return fmt.Errorf("%s: --params: %w", ref, err)
	}
	switch opts.Metric {
	case wire.PartInterpretability:
		out.Result, err = metricsrun.PartInterpretability(ctx, host, in.acts, in.set, in.geom, opts.Task, opts.Categories, opts.Params)
	case wire.LocationInstability:
		out.Result, err = metricsrun.LocationInstability(ctx, host, in.acts, in.set, in.geom, opts.Task, opts.Categories, opts.Params)
	case wire.Accuracy:
		out.Result, err = metricsrun.Accuracy(ctx, host, logits, labels, opts.Params)
	}
	if err != nil {
		return err
	}
	if opts.JSON {
		return cmdutil.WriteJSON(opts.IO.Out, out)
	}
	writeSummary(opts.IO.Out, out, in)
	return nil
}

// layerInputs are the checked inputs of a layer metric.
type layerInputs struct {
	acts     *tensor.Tensor
	set      *parts.Set
	geom     parts.Geometry
	layer    zoo.LayerInfo
	describe string // "conv_interp of small64 at 64 px, width 0.125"
}

func readLayerInputs(opts *EvalOptions) (layerInputs, error) {
	var in layerInputs
	acts, err := tensor.LoadNPY(opts.Activations)
	if err != nil {
		return in, fmt.Errorf("--activations: %w", err)
	}
	if acts.DType() != tensor.Float32 || acts.Rank() != 4 {
		return in, fmt.Errorf("--activations %s: %v %v, want float32 [N, C, H, W]", opts.Activations, acts.DType(), acts.Shape())
	}
	data, err := os.ReadFile(opts.Annotations)
	if err != nil {
		return in, fmt.Errorf("--annotations: %w", err)
	}
	set, err := parts.Parse(data, os.DirFS(filepath.Dir(opts.Annotations)))
	if err != nil {
		return in, fmt.Errorf("--annotations %s: %w", opts.Annotations, err)
	}
	if n := acts.Shape()[0]; len(set.Images) != n {
		return in, fmt.Errorf("--annotations %s has %d images but --activations %s holds %d (shape %v): image n of one must be image n of the other",
			opts.Annotations, len(set.Images), opts.Activations, n, acts.Shape())
	}
	for _, c := range opts.Categories {
		if !slices.Contains(set.Categories, c) {
			return in, fmt.Errorf("--categories: %q is not a category of %s (%s)", c, opts.Annotations, strings.Join(set.Categories, ", "))
		}
	}
	for n, im := range set.Images {
		if im.Width != opts.ImageSize || im.Height != opts.ImageSize {
			return in, fmt.Errorf("--annotations %s: image %d is %d×%d, but the network input is %d×%d (--image-size)",
				opts.Annotations, n, im.Width, im.Height, opts.ImageSize, opts.ImageSize)
		}
	}
	layer, describe, err := zooLayer(opts)
	if err != nil {
		return in, err
	}
	s := acts.Shape()
	if s[1] != layer.Channels || s[2] != layer.Size || s[3] != layer.Size {
		return in, fmt.Errorf("--activations %s: shape %v, but %s has %d channels of %d×%d (check --arch, --layer, --image-size and --width)",
			opts.Activations, s, describe, layer.Channels, layer.Size, layer.Size)
	}
	geom := layer.RF.Geometry(opts.ImageSize, opts.ImageSize)
	return layerInputs{acts: acts, set: set, geom: geom, layer: layer, describe: describe}, nil
}

// zooLayer builds the architecture at the given size and width (its graph
// only: no weights) and returns the named layer. Interpretable mode is on
// so that the inserted conv_interp exists; it does not change the other
// layers' geometry.
func zooLayer(opts *EvalOptions) (zoo.LayerInfo, string, error) {
	spec := zoo.Spec{Arch: opts.Arch, InputSize: opts.ImageSize, Width: opts.Width, MinTopMap: opts.MinTopMap, Classes: 1, Loss: zoo.LossLogistic, Batch: 1}
	model, err := zoo.Build(spec, zoo.Hooks{Interpretable: true})
	if err != nil {
		return zoo.LayerInfo{}, "", fmt.Errorf("--arch %s at --image-size %d, --width %v: %w", opts.Arch, opts.ImageSize, opts.Width, err)
	}
	describe := fmt.Sprintf("%s of %s at %d px, width %v", opts.Layer, opts.Arch, opts.ImageSize, opts.Width)
	if opts.MinTopMap > 0 {
		describe += fmt.Sprintf(", min top map %d", opts.MinTopMap)
	}
	layer, ok := model.Layer(opts.Layer)
	if !ok {
		var names []string
		for _, l := range model.Layers {
			names = append(names, l.Name)
		}
		return zoo.LayerInfo{}, "", fmt.Errorf("--layer %q: %s at %d px has no such layer (layers: %s)", opts.Layer, opts.Arch, opts.ImageSize, strings.Join(names, ", "))
	}
	return layer, describe, nil
}

func readAccuracyInputs(opts *EvalOptions) (*tensor.Tensor, []int, error) {
	logits, err := tensor.LoadNPY(opts.Logits)
	if err != nil {
		return nil, nil, fmt.Errorf("--logits: %w", err)
	}
	if s := logits.Shape(); !logits.DType().IsFloat() || len(s) < 1 || len(s) > 2 {
		return nil, nil, fmt.Errorf("--logits %s: %v %v, want float [N] or [N, K]", opts.Logits, logits.DType(), s)
	}
	lt, err := tensor.LoadNPY(opts.Labels)
	if err != nil {
		return nil, nil, fmt.Errorf("--labels: %w", err)
	}
	if lt.Rank() != 1 {
		return nil, nil, fmt.Errorf("--labels %s: shape %v, want [N]", opts.Labels, lt.Shape())
	}
	labels, err := intLabels(lt)
	if err != nil {
		return nil, nil, fmt.Errorf("--labels %s: %w", opts.Labels, err)
	}
	if n := logits.Shape()[0]; n != len(labels) {
		return nil, nil, fmt.Errorf("--logits %s has %d rows (shape %v) but --labels %s has %d labels", opts.Logits, n, logits.Shape(), opts.Labels, len(labels))
	}
	return logits, labels, nil
}

// intLabels reads integer labels; float files are accepted when every
// value is a whole number (numpy writes float labels easily).
func intLabels(t *tensor.Tensor) ([]int, error) {
	out := make([]int, t.Len())
	switch t.DType() {
	case tensor.Int64:
		for i, v := range t.Int64s() {
			out[i] = int(v)
		}
	case tensor.Int32:
		for i, v := range t.Int32s() {
			out[i] = int(v)
		}
	case tensor.Uint8:
		for i, v := range t.Uint8s() {
			out[i] = int(v)
		}
	case tensor.Float32, tensor.Float64:
		for i := range out {
			v := t.Float64At(i)
			if v != math.Trunc(v) || math.Abs(v) > 1<<31 {
				return nil, fmt.Errorf("label %d is %v, not a class index", i, v)
			}
			out[i] = int(v)
		}
	default:
		return nil, errors.New("dtype " + t.DType().String() + ", want integers")
	}
	return out, nil
}
