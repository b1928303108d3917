package eval

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/internal/atomicfile"
	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/plugin"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// SummaryFile is written to the output directory after every output.
const SummaryFile = "summary.json"

// GradFile holds d loss / d features for a loss.
const GradFile = "grad.npy"

// Summary is summary.json.
type Summary struct {
	Plugin   string          `json:"plugin"` // e.g. "masks/l1"
	Version  string          `json:"version"`
	Source   string          `json:"source"` // "builtin" or the executable
	SHA256   string          `json:"sha256"`
	Protocol int             `json:"protocol"`
	Backend  string          `json:"backend"`
	Layer    string          `json:"layer"`
	Params   json.RawMessage `json:"params"` // after defaults
	Task     string          `json:"task,omitempty"`
	Epoch    int             `json:"epoch,omitempty"` // only when the graph reads it
	Loss     *float64        `json:"loss,omitempty"`  // nil for masks, or a non-finite loss
	Inputs   []Array         `json:"inputs"`
	Outputs  []Array         `json:"outputs"`
	// GradCheck is set by --check-grad.
	GradCheck *GradCheck `json:"grad_check,omitempty"`
}

// Array describes one input or output and its values. Min, Max and Mean
// cover the finite values; NonFinite counts the others.
type Array struct {
	Name      string   `json:"name"`
	File      string   `json:"file,omitempty"`
	DType     string   `json:"dtype"`
	Shape     []int    `json:"shape"`
	Min       *float64 `json:"min,omitempty"`
	Max       *float64 `json:"max,omitempty"`
	Mean      *float64 `json:"mean,omitempty"`
	NonFinite int      `json:"non_finite,omitempty"`
}

func evalRun(ctx context.Context, o *EvalOptions) error {
	in, err := o.loadInputs()
	if err != nil {
		return err
	}
	host, err := o.NewHost()
	if err != nil {
		return err
	}
	defer host.Close()
	d, err := host.Describe(ctx, o.Ref)
	if err != nil {
		return err
	}
	// The host validates again before calling the plugin; resolving here
	// too gives an early error and the parameters for the summary.
	params, err := plugin.ValidateParams(d.Info.ParamSchema, o.Params)
	if err != nil {
		return fmt.Errorf("--params for %s: %w", o.Ref, err)
	}
	s := in.features.Shape()
	b, c, h, w := s[0], s[1], s[2], s[3]
	sum := &Summary{Plugin: o.Ref.String(), Version: d.Info.Version, Source: d.Source(), SHA256: hex.EncodeToString(d.SHA256),
		Protocol: d.Protocol, Layer: o.Layer, Params: params}
	fmt.Fprintf(o.IO.ErrOut, "%s %s (%s): building the graph for features %v\n", o.Ref, d.Info.Version, d.Source(), s)

	var g *graph.Graph
	switch o.Ref.Kind {
	case plugin.KindMask:
		m, err := host.Mask(ctx, o.Ref)
		if err != nil {
			return err
		}
		g, err = m.BuildMask(ctx, plugin.MaskRequest{Params: o.Params, Layer: o.Layer, Batch: b, Channels: c, Height: h, Width: w})
		if err != nil {
			return err
		}
	case plugin.KindLoss:
		l, err := host.Loss(ctx, o.Ref)
		if err != nil {
			return err
		}
		classes := in.labels.Shape()[1]
		sum.Task = plugin.TaskMulti
		if classes == 1 {
			sum.Task = plugin.TaskSingle
		}
		g, err = l.BuildLoss(ctx, plugin.LossRequest{Params: o.Params, Layer: o.Layer, Batch: b, Channels: c, Height: h, Width: w,
			Classes: classes, Task: sum.Task})
		if err != nil {
			return err
		}
	default:
		return fmt.Errorf("eval runs mask and loss plugins, not %s", o.Ref)
	}

	feeds, err := o.feeds(g, in, sum)
	if err != nil {
		return err
	}
	be, err := o.Backend()
	if err != nil {
		return err
	}
	sum.Backend = be.Name()
	fmt.Fprintf(o.IO.ErrOut, "compiling graph %q (%d nodes) on %s\n", g.Name(), len(g.Nodes()), be.Name())
	exe, err := be.Compile(g, backends.CompileOptions{})
	if err != nil {
		return fmt.Errorf("compile the graph of %s on %s: %w", o.Ref, be.Name(), err)
	}
	defer exe.Close()

	names, err := outputNames(g, o.Ref.Kind)
	if err != nil {
		return err
	}
	results, err := exe.Run(feeds, names...)
	if err != nil {
		return fmt.Errorf("run the graph of %s on %s: %w", o.Ref, be.Name(), err)
	}
	var files []string
	for _, name := range names {
		files = append(files, name+".npy")
	}
	if o.Ref.Kind == plugin.KindLoss {
		grads, err := exe.Gradients(backends.Eval, feeds, plugin.LossFeatures)
		if err != nil {
			return fmt.Errorf("d loss / d features of %s on %s: %w", o.Ref, be.Name(), err)
		}
		if v := grads["loss"].Float64At(0); !math.IsNaN(v) && !math.IsInf(v, 0) {
			sum.Loss = &v
		} else {
			fmt.Fprintf(o.IO.ErrOut, "warning: the loss is %v\n", v)
		}
		names = append(names, "d loss / d features")
		files = append(files, GradFile)
		results["d loss / d features"] = grads[plugin.LossFeatures]
	}

	if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
		return fmt.Errorf("create --out directory: %w", err)
	}
	for i, name := range names {
		t := results[name]
		path := filepath.Join(o.OutDir, files[i])
		if err := tensor.SaveNPY(path, t); err != nil {
			return fmt.Errorf("write %s (output %q): %w", path, name, err)
		}
		a := describe(name, files[i], t)
		sum.Outputs = append(sum.Outputs, a)
		fmt.Fprintf(o.IO.ErrOut, "wrote %s %v%v %s\n", path, t.DType(), t.Shape(), a.stats())
	}
	if sum.Loss != nil {
		fmt.Fprintf(o.IO.Out, "loss %.6g\n", *sum.Loss)
	}
	if o.CheckGrad {
		fmt.Fprintf(o.IO.ErrOut, "checking d loss / d features on %d entries against float64 finite differences\n", min(o.GradSamples, in.features.Len()))
		gc, err := checkGradient(g, exe, feeds, results["d loss / d features"], o.GradSamples, o.GradTolerance)
		if err != nil {
			return err
		}
		gc.print(o.IO.Out)
		sum.GradCheck = gc
	}
	path := filepath.Join(o.OutDir, SummaryFile)
	if err := atomicfile.WriteJSON(path, sum); err != nil {
		return err
	}
	fmt.Fprintf(o.IO.Out, "wrote %s\n", path)
	if sum.GradCheck != nil && !sum.GradCheck.Pass {
		return fmt.Errorf("gradient check of %s failed: max relative error %.3g > --grad-tolerance %g (entries in %s)",
			o.Ref, float64(sum.GradCheck.MaxRelError), o.GradTolerance, path)
	}
	return nil
}

type inputs struct {
	features, labels, mask *tensor.Tensor
}

// loadInputs reads and checks the .npy files before any plugin starts, so
// that a wrong file is reported by name and shape.
func (o *EvalOptions) loadInputs() (*inputs, error) {
	var in inputs
	var err error
	if in.features, err = loadFloat(o.Features, "--features"); err != nil {
		return nil, err
	}
	fs := in.features.Shape()
	if len(fs) != 4 || fs.NumElements() == 0 {
		return nil, fmt.Errorf("--features %s: shape %v, want [B, C, H, W] with no zero dimension", o.Features, fs)
	}
	if o.Labels != "" {
		raw, err := tensor.LoadNPY(o.Labels)
		if err != nil {
			return nil, fmt.Errorf("--labels: %w", err)
		}
		ls := raw.Shape()
		if len(ls) < 1 || len(ls) > 2 || ls[0] != fs[0] || (len(ls) == 2 && ls[1] < 1) {
			return nil, fmt.Errorf("--labels %s: shape %v, want [B, Classes] (or [B]) with B = %d like --features %s", o.Labels, ls, fs[0], o.Features)
		}
		if len(ls) == 1 {
			in.labels, err = labelsFromVector(raw, o.Classes)
		} else if o.Classes != 0 {
			err = fmt.Errorf("--classes applies to [B] labels; these are %v", ls)
		} else {
			in.labels, err = toFloat32(raw)
		}
		if err != nil {
			return nil, fmt.Errorf("--labels %s: %w", o.Labels, err)
		}
	}
	if o.Mask != "" {
		if in.mask, err = loadFloat(o.Mask, "--mask"); err != nil {
			return nil, err
		}
		if !in.mask.Shape().Equal(fs) {
			return nil, fmt.Errorf("--mask %s: shape %v, want %v like --features %s", o.Mask, in.mask.Shape(), fs, o.Features)
		}
	}
	return &in, nil
}

// feeds matches the graph's inputs with the files and flags, converting
// to the dtype each input declares.
func (o *EvalOptions) feeds(g *graph.Graph, in *inputs, sum *Summary) (map[string]*tensor.Tensor, error) {
	feeds := map[string]*tensor.Tensor{}
	usesMask := false
	for _, leaf := range g.Inputs() {
		name := leaf.Attrs().Name
		var t *tensor.Tensor
		var file string
		switch {
		case name == plugin.MaskInput:
			t, file = in.features, o.Features
		case name == plugin.LossLabels && o.Ref.Kind == plugin.KindLoss:
			t, file = in.labels, o.Labels
		case name == plugin.LossMask && o.Ref.Kind == plugin.KindLoss:
			usesMask = true
			if in.mask == nil {
				return nil, fmt.Errorf("%s reads input %q %v: pass --mask FILE.npy (e.g. the mask.npy written by 'icnnlab plugins eval mask ...')", o.Ref, name, leaf.Shape())
			}
			t, file = in.mask, o.Mask
		case name == plugin.LossEpoch && o.Ref.Kind == plugin.KindLoss:
			t = tensor.Scalar32(float32(o.Epoch))
			sum.Epoch = o.Epoch
		default:
			return nil, fmt.Errorf("%s's graph reads input %q %v, which eval cannot feed", o.Ref, name, leaf.Shape())
		}
		if leaf.DType() == tensor.Float64 {
			t = t.AsFloat64()
		}
		feeds[name] = t
		sum.Inputs = append(sum.Inputs, describe(name, file, t))
	}
	if in.mask != nil && !usesMask {
		fmt.Fprintf(o.IO.ErrOut, "note: %s has no %q input; --mask %s is not used\n", o.Ref, plugin.LossMask, o.Mask)
	}
	return feeds, nil
}

// fileSafe is what an output name must look like to become a file name.
var fileSafe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// outputNames lists the float outputs to write, in the graph's order.
func outputNames(g *graph.Graph, kind plugin.Kind) ([]string, error) {
	var names []string
	for _, out := range g.Outputs() {
		if !out.Node.DType().IsFloat() {
			continue
		}
		if !fileSafe.MatchString(out.Name) {
			return nil, fmt.Errorf("output %q cannot be a file name (letters, digits, '_', '.', '-')", out.Name)
		}
		if out.Name+".npy" == SummaryFile || (kind == plugin.KindLoss && out.Name+".npy" == GradFile) {
			return nil, fmt.Errorf("output %q would overwrite %s.npy, which eval writes itself", out.Name, out.Name)
		}
		names = append(names, out.Name)
	}
	return names, nil
}

func loadFloat(path, flag string) (*tensor.Tensor, error) {
	t, err := tensor.LoadNPY(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	if !t.DType().IsFloat() {
		return nil, fmt.Errorf("%s %s: dtype %v, want float32 or float64", flag, path, t.DType())
	}
	return t.AsFloat32(), nil
}

// labelsFromVector reads [B] labels, as 'icnnlab eval' writes them: with
// classes > 0 they are class indices, one-hot encoded to [B, classes];
// otherwise they must be the 0/1 targets of the single-category task,
// returned as [B, 1].
func labelsFromVector(t *tensor.Tensor, classes int) (*tensor.Tensor, error) {
	b := t.Len()
	if classes > 0 {
		data := make([]float32, b*classes)
		for i := range b {
			v := t.Float64At(i)
			k := int(v)
			if float64(k) != v || k < 0 || k >= classes {
				return nil, fmt.Errorf("element %d is %v, not a class index in [0, %d)", i, v, classes)
			}
			data[i*classes+k] = 1
		}
		return tensor.FromFloat32(tensor.Shape{b, classes}, data)
	}
	data := make([]float32, b)
	for i := range b {
		v := t.Float64At(i)
		if v != 0 && v != 1 {
			return nil, fmt.Errorf("element %d is %v: [B] labels without --classes are the 0/1 targets of the single-category task; pass --classes N for class indices", i, v)
		}
		data[i] = float32(v)
	}
	return tensor.FromFloat32(tensor.Shape{b, 1}, data)
}

// toFloat32 converts labels of any dtype (bool is 0 or 1).
func toFloat32(t *tensor.Tensor) (*tensor.Tensor, error) {
	data := make([]float32, t.Len())
	for i := range data {
		data[i] = float32(t.Float64At(i))
	}
	return tensor.FromFloat32(t.Shape(), data)
}

func describe(name, file string, t *tensor.Tensor) Array {
	a := Array{Name: name, File: file, DType: t.DType().String(), Shape: append([]int{}, t.Shape()...)}
	lo, hi, total, n := math.Inf(1), math.Inf(-1), 0.0, 0
	for i := range t.Len() {
		v := t.Float64At(i)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			a.NonFinite++
			continue
		}
		lo, hi, total, n = min(lo, v), max(hi, v), total+v, n+1
	}
	if n > 0 {
		mean := total / float64(n)
		a.Min, a.Max, a.Mean = &lo, &hi, &mean
	}
	return a
}

func (a Array) stats() string {
	s := "(no finite values)"
	if a.Min != nil {
		s = fmt.Sprintf("min %.4g max %.4g mean %.4g", *a.Min, *a.Max, *a.Mean)
	}
	if a.NonFinite > 0 {
		s += fmt.Sprintf(", %d NaN or Inf", a.NonFinite)
	}
	return s
}
