package eval

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/icnnlab/icnnlab/backends"
	_ "github.com/icnnlab/icnnlab/backends/gorgonia"
	"github.com/icnnlab/icnnlab/internal/cmd/cmdutil"
	"github.com/icnnlab/icnnlab/internal/cmd/iostreams"
	"github.com/icnnlab/icnnlab/internal/pluginhost"
	lossauthors "github.com/icnnlab/icnnlab/plugins/losses/authorscode"
	"github.com/icnnlab/icnnlab/plugins/losses/mi"
	lossnone "github.com/icnnlab/icnnlab/plugins/losses/none"
	"github.com/icnnlab/icnnlab/plugins/masks/l1"
	masknone "github.com/icnnlab/icnnlab/plugins/masks/none"
	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/plugin"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

func TestNewCmdEvalFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    string
		want    EvalOptions
		wantErr string
	}{
		{name: "mask", args: "mask l1 --features x.npy --out o",
			want: EvalOptions{Ref: plugin.Ref{Kind: plugin.KindMask, Name: "l1"}, Features: "x.npy", OutDir: "o", Epoch: 1, Layer: "eval"}},
		{name: "ref form and params", args: `masks/gaussian --features x.npy -o o --params {"sigma":0.25} --layer conv5`,
			want: EvalOptions{Ref: plugin.Ref{Kind: plugin.KindMask, Name: "gaussian"}, Features: "x.npy", OutDir: "o", Epoch: 1, Layer: "conv5",
				Params: json.RawMessage(`{"sigma":0.25}`)}},
		{name: "loss", args: "loss authors-code --features x.npy --labels y.npy --mask m.npy --epoch 3 --out o",
			want: EvalOptions{Ref: plugin.Ref{Kind: plugin.KindLoss, Name: "authors-code"}, Features: "x.npy", Labels: "y.npy", Mask: "m.npy",
				OutDir: "o", Epoch: 3, Layer: "eval"}},
		{name: "classes", args: "loss mi --features x.npy --labels y.npy --classes 6 --out o",
			want: EvalOptions{Ref: plugin.Ref{Kind: plugin.KindLoss, Name: "mi"}, Features: "x.npy", Labels: "y.npy", Classes: 6, OutDir: "o", Epoch: 1, Layer: "eval"}},
		{name: "classes on a mask", args: "mask l1 --features x.npy --classes 2 --out o", wantErr: "--classes applies to losses only"},
		{name: "no features", args: "mask l1 --out o", wantErr: "--features is required"},
		{name: "no out", args: "mask l1 --features x.npy", wantErr: "--out is required"},
		{name: "loss without labels", args: "loss mi --features x.npy --out o", wantErr: "--labels is required for a loss"},
		{name: "labels on a mask", args: "mask l1 --features x.npy --labels y.npy --out o", wantErr: "--labels applies to losses only"},
		{name: "epoch on a mask", args: "mask l1 --features x.npy --epoch 2 --out o", wantErr: "--epoch applies to losses only"},
		{name: "epoch zero", args: "loss mi --features x.npy --labels y.npy --epoch 0 --out o", wantErr: "--epoch is 1-based"},
		{name: "bad params", args: "mask l1 --features x.npy --out o --params {beta:2}", wantErr: "--params is not valid JSON"},
		{name: "check grad", args: "loss mi --features x.npy --labels y.npy --out o --check-grad --grad-samples 5 --grad-tolerance 0.001",
			want: EvalOptions{Ref: plugin.Ref{Kind: plugin.KindLoss, Name: "mi"}, Features: "x.npy", Labels: "y.npy", OutDir: "o", Epoch: 1, Layer: "eval",
				CheckGrad: true, GradSamples: 5, GradTolerance: 0.001}},
		{name: "check grad on a mask", args: "mask l1 --features x.npy --out o --check-grad", wantErr: "--check-grad applies to losses only"},
		{name: "grad samples without the check", args: "loss mi --features x.npy --labels y.npy --out o --grad-samples 5", wantErr: "--grad-samples applies with --check-grad"},
		{name: "zero grad samples", args: "loss mi --features x.npy --labels y.npy --out o --check-grad --grad-samples 0", wantErr: "--grad-samples must be at least 1"},
		{name: "metric", args: "metric accuracy --features x.npy --out o", wantErr: "not metric plugins"},
		{name: "bad kind", args: "shape l1 --features x.npy --out o", wantErr: "shape"},
		{name: "no name", args: "mask --features x.npy --out o", wantErr: "KIND/NAME"},
		{name: "too many", args: "mask l1 extra --features x.npy --out o", wantErr: "got 3 arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, _ := iostreams.Test()
			f := &cmdutil.Factory{IOStreams: ios}
			var got *EvalOptions
			cmd := NewCmdEval(f, &pluginhost.Flags{}, func(o *EvalOptions) error { got = o; return nil })
			cmd.SetArgs(strings.Fields(tt.args))
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			err := cmd.Execute()
			if tt.wantErr != "" {
				var fe *cmdutil.FlagError
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.As(err, &fe) {
					t.Fatalf("error %v, want a FlagError containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.want.GradSamples == 0 {
				tt.want.GradSamples, tt.want.GradTolerance = DefaultGradSamples, DefaultGradTolerance
			}
			if diff := cmp.Diff(&tt.want, got, cmpopts.IgnoreFields(EvalOptions{}, "IO", "NewHost", "Backend")); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
		})
	}
}

// inProcessHost serves plugins from this process, validating parameters
// as the real host does.
type inProcessHost struct{ plugins map[plugin.Ref]plugin.Plugin }

func (h *inProcessHost) get(ref plugin.Ref) (plugin.Plugin, error) {
	p, ok := h.plugins[ref]
	if !ok {
		return nil, fmt.Errorf("no plugin %s", ref)
	}
	return p, nil
}

func (h *inProcessHost) Describe(_ context.Context, ref plugin.Ref) (pluginhost.Described, error) {
	p, err := h.get(ref)
	if err != nil {
		return pluginhost.Described{}, err
	}
	return pluginhost.Described{Candidate: pluginhost.Candidate{Ref: ref, Builtin: true}, Info: p.Info(), Protocol: 1, SHA256: []byte{1}}, nil
}

func (h *inProcessHost) Mask(_ context.Context, ref plugin.Ref) (plugin.Mask, error) {
	p, err := h.get(ref)
	if err != nil {
		return nil, err
	}
	return validatingMask{p.(plugin.Mask)}, nil
}

func (h *inProcessHost) Loss(_ context.Context, ref plugin.Ref) (plugin.Loss, error) {
	p, err := h.get(ref)
	if err != nil {
		return nil, err
	}
	return validatingLoss{p.(plugin.Loss)}, nil
}

func (h *inProcessHost) Close() {}

type validatingMask struct{ plugin.Mask }

func (m validatingMask) BuildMask(ctx context.Context, r plugin.MaskRequest) (*graph.Graph, error) {
	var err error
	if r.Params, err = plugin.ValidateParams(m.Info().ParamSchema, r.Params); err != nil {
		return nil, err
	}
	return m.Mask.BuildMask(ctx, r)
}

type validatingLoss struct{ plugin.Loss }

func (l validatingLoss) BuildLoss(ctx context.Context, r plugin.LossRequest) (*graph.Graph, error) {
	var err error
	if r.Params, err = plugin.ValidateParams(l.Info().ParamSchema, r.Params); err != nil {
		return nil, err
	}
	return l.Loss.BuildLoss(ctx, r)
}

// features is a small non-negative [2, 3, 4, 5] array with distinct values.
func features() *tensor.Tensor {
	data := make([]float32, 2*3*4*5)
	for i := range data {
		data[i] = float32(math.Max(0, math.Sin(float64(i)*1.7)))
	}
	return tensor.MustFloat32(tensor.Shape{2, 3, 4, 5}, data)
}

func save(t *testing.T, dir, name string, x *tensor.Tensor) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := tensor.SaveNPY(path, x); err != nil {
		t.Fatal(err)
	}
	return path
}

func load(t *testing.T, path string) *tensor.Tensor {
	t.Helper()
	x, err := tensor.LoadNPY(path)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func readSummary(t *testing.T, dir string) Summary {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	var s Summary
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func runEval(t *testing.T, o *EvalOptions) (stdout, stderr string, err error) {
	t.Helper()
	ios, _, out, errOut := iostreams.Test()
	o.IO = ios
	h := &inProcessHost{plugins: map[plugin.Ref]plugin.Plugin{}}
	for _, p := range []plugin.Plugin{l1.Plugin(), masknone.Plugin(), mi.Plugin(), lossnone.Plugin(), lossauthors.Plugin(), normLoss{}} {
		i := p.Info()
		h.plugins[plugin.Ref{Kind: i.Kind, Name: i.Name}] = p
	}
	o.NewHost = func() (Host, error) { return h, nil }
	o.Backend = func() (backends.Backend, error) { return backends.New("gorgonia") }
	if o.Epoch == 0 {
		o.Epoch = 1
	}
	if o.Layer == "" {
		o.Layer = "eval"
	}
	err = evalRun(context.Background(), o)
	return out.String(), errOut.String(), err
}

func TestEvalMask(t *testing.T) {
	dir := t.TempDir()
	x := features()
	xPath := save(t, dir, "x.npy", x)

	// The identity mask passes the features through.
	out := filepath.Join(dir, "none")
	if _, _, err := runEval(t, &EvalOptions{Ref: plugin.Ref{Kind: plugin.KindMask, Name: "none"}, Features: xPath, OutDir: out}); err != nil {
		t.Fatal(err)
	}
	if got := load(t, filepath.Join(out, "masked.npy")); !got.Equal(x) {
		t.Errorf("none: masked.npy differs from the features")
	}

	// l1: masked = max(features ∘ mask, 0), with the mask's values in [-1, 1].
	out = filepath.Join(dir, "l1")
	_, stderr, err := runEval(t, &EvalOptions{Ref: plugin.Ref{Kind: plugin.KindMask, Name: "l1"}, Features: xPath, OutDir: out,
		Params: json.RawMessage(`{"beta": 2}`)})
	if err != nil {
		t.Fatal(err)
	}
	mask, masked := load(t, filepath.Join(out, "mask.npy")), load(t, filepath.Join(out, "masked.npy"))
	for i, v := range x.Float32s() {
		m := mask.Float32s()[i]
		if want := max(v*m, 0); math.Abs(float64(masked.Float32s()[i]-want)) > 1e-6 || m < -1 || m > 1 {
			t.Fatalf("element %d: features %g, mask %g, masked %g", i, v, m, masked.Float32s()[i])
		}
	}
	if !strings.Contains(stderr, "wrote "+filepath.Join(out, "masked.npy")+" float32[2 3 4 5]") {
		t.Errorf("progress does not name the file and shape:\n%s", stderr)
	}
	s := readSummary(t, out)
	var params bytes.Buffer
	if err := json.Compact(&params, s.Params); err != nil {
		t.Fatal(err)
	}
	if s.Plugin != "masks/l1" || s.Version != "1.0.0" || s.Backend != "gorgonia" || s.Loss != nil ||
		params.String() != `{"amplitude":"unit","beta":2}` || len(s.Outputs) != 2 || s.Outputs[0].Name != "masked" {
		t.Errorf("summary %+v", s)
	}
	if m := s.Outputs[1]; *m.Min < -1 || *m.Max > 1 || m.File != "mask.npy" || !cmp.Equal(m.Shape, []int{2, 3, 4, 5}) {
		t.Errorf("summary of mask.npy: %+v", m)
	}
}

func TestEvalLoss(t *testing.T) {
	dir := t.TempDir()
	x := features()
	xPath := save(t, dir, "x.npy", x)
	yPath := save(t, dir, "y.npy", tensor.MustFloat32(tensor.Shape{2, 1}, []float32{1, 0}))

	out := filepath.Join(dir, "mi")
	stdout, _, err := runEval(t, &EvalOptions{Ref: plugin.Ref{Kind: plugin.KindLoss, Name: "mi"}, Features: xPath, Labels: yPath, OutDir: out})
	if err != nil {
		t.Fatal(err)
	}
	s := readSummary(t, out)
	if s.Loss == nil || s.Task != plugin.TaskSingle || !strings.Contains(stdout, "loss ") {
		t.Fatalf("summary %+v, stdout %q", s, stdout)
	}
	if v := load(t, filepath.Join(out, "loss.npy")).Float64At(0); v != *s.Loss {
		t.Errorf("loss.npy %g, summary loss %g", v, *s.Loss)
	}
	grad := load(t, filepath.Join(out, GradFile))
	if !grad.Shape().Equal(x.Shape()) {
		t.Fatalf("grad.npy shape %v, want %v", grad.Shape(), x.Shape())
	}
	nonZero := 0
	for _, v := range grad.Float32s() {
		if v != 0 {
			nonZero++
		}
	}
	if nonZero == 0 {
		t.Error("d loss / d features of mi is all zero")
	}

	// The no-loss ablation: zero loss, zero gradient.
	out = filepath.Join(dir, "none")
	if _, _, err := runEval(t, &EvalOptions{Ref: plugin.Ref{Kind: plugin.KindLoss, Name: "none"}, Features: xPath, Labels: yPath, OutDir: out}); err != nil {
		t.Fatal(err)
	}
	if s := readSummary(t, out); s.Loss == nil || *s.Loss != 0 || *s.Outputs[len(s.Outputs)-1].Max != 0 || *s.Outputs[len(s.Outputs)-1].Min != 0 {
		t.Errorf("none: summary %+v", s)
	}
}

// normLoss is Σ over maps of the Euclidean norm of each map: smooth where
// a map has activation, with no gradient (0/0) where it is all zero.
type normLoss struct{}

func (normLoss) Info() plugin.Info {
	return plugin.Info{Kind: plugin.KindLoss, Name: "norm", Version: "1.0.0", Description: "Σ ||x_bc||₂"}
}

func (normLoss) BuildLoss(_ context.Context, r plugin.LossRequest) (*graph.Graph, error) {
	g := graph.New("norm")
	x := g.Input(plugin.LossFeatures, tensor.Float32, r.Batch, r.Channels, r.Height, r.Width)
	g.SetLoss(g.Sum(g.Sqrt(g.Sum(g.Square(x), 2, 3))))
	return g, g.Err()
}

func TestEvalCheckGrad(t *testing.T) {
	dir := t.TempDir()
	x := features()
	xPath := save(t, dir, "x.npy", x)
	yPath := save(t, dir, "y.npy", tensor.MustFloat32(tensor.Shape{2, 1}, []float32{1, 0}))
	// The same maps with the first one silent.
	silent := x.Clone()
	for i := range 4 * 5 {
		silent.Float32s()[i] = 0
	}
	silentPath := save(t, dir, "silent.npy", silent)

	tests := []struct {
		name     string
		loss     string
		features string
		samples  int
		pass     bool
	}{
		{"mi", "mi", xPath, 32, true},
		{"norm", "norm", xPath, 200, true}, // every entry: 120 < 200
		{"norm on a silent map", "norm", silentPath, 200, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(dir, tt.name)
			stdout, _, err := runEval(t, &EvalOptions{Ref: plugin.Ref{Kind: plugin.KindLoss, Name: tt.loss}, Features: tt.features, Labels: yPath,
				OutDir: out, CheckGrad: true, GradSamples: tt.samples, GradTolerance: DefaultGradTolerance})
			s := readSummary(t, out)
			if s.GradCheck == nil {
				t.Fatalf("summary has no grad_check; error %v", err)
			}
			if want := min(tt.samples, x.Len()); len(s.GradCheck.Entries) != want {
				t.Errorf("%d entries checked, want %d", len(s.GradCheck.Entries), want)
			}
			verdict := "PASS"
			if !tt.pass {
				verdict = "FAIL"
			}
			line := fmt.Sprintf("gradient check: max relative error %.3g over %d entries (tolerance 0.01): %s\n", float64(s.GradCheck.MaxRelError), len(s.GradCheck.Entries), verdict)
			if !strings.Contains(stdout, line) {
				t.Errorf("stdout lacks %q:\n%s", line, stdout)
			}
			if s.GradCheck.Pass != tt.pass || (err == nil) != tt.pass {
				t.Errorf("pass = %v, error %v; want pass %v", s.GradCheck.Pass, err, tt.pass)
			}
			if !tt.pass && !strings.Contains(fmt.Sprint(err), "gradient check of losses/norm failed") {
				t.Errorf("error %v does not name the failed check", err)
			}
			if tt.pass && s.GradCheck.MaxRelError > DefaultGradTolerance/2 {
				t.Errorf("max relative error %g on a smooth loss: float32 rounding is closer to the tolerance than it should be", s.GradCheck.MaxRelError)
			}
			if !tt.pass && !math.IsNaN(float64(s.GradCheck.Entries[0].Plugin)) {
				t.Errorf("the first entry checked is %+v, want the NaN derivative of the silent map", s.GradCheck.Entries[0])
			}
		})
	}
}

func TestSampleEntries(t *testing.T) {
	g := tensor.MustFloat32(tensor.Shape{2, 5}, []float32{0, 1, -9, 2, 3, 4, 5, 6, 7, 8})
	got := sampleEntries(g, 4)
	if len(got) != 4 || got[0] != 2 {
		t.Fatalf("entries %v: want 4, the largest |g| (index 2) first", got)
	}
	seen := map[int]bool{}
	for _, i := range got {
		if seen[i] || i < 0 || i >= 10 {
			t.Fatalf("entries %v: repeated or out of range", got)
		}
		seen[i] = true
	}
	if !cmp.Equal(got, sampleEntries(g, 4)) {
		t.Error("the sample is not reproducible")
	}
	if all := sampleEntries(g, 50); len(all) != 10 {
		t.Errorf("%d entries of 10 with n = 50", len(all))
	}
	if diff := cmp.Diff([]int{1, 1, 2, 3}, unflatten(1*60+1*20+2*5+3, tensor.Shape{2, 3, 4, 5})); diff != "" {
		t.Errorf("unflatten (-want +got):\n%s", diff)
	}
}

func TestEvalErrors(t *testing.T) {
	dir := t.TempDir()
	xPath := save(t, dir, "x.npy", features())
	flat := save(t, dir, "flat.npy", tensor.MustFloat32(tensor.Shape{2, 3}, make([]float32, 6)))
	ints := save(t, dir, "ints.npy", tensor.Zeros(tensor.Int64, 2, 3, 4, 5))
	y3 := save(t, dir, "y3.npy", tensor.Zeros(tensor.Int64, 3, 1))
	y := save(t, dir, "y.npy", tensor.Zeros(tensor.Int64, 2, 2))
	indices := save(t, dir, "indices.npy", tensor.MustFloat32(tensor.Shape{2}, []float32{0, 2}))
	mask := plugin.Ref{Kind: plugin.KindMask, Name: "l1"}
	tests := []struct {
		name    string
		opts    EvalOptions
		wantErr string
	}{
		{"missing file", EvalOptions{Ref: mask, Features: filepath.Join(dir, "nope.npy")}, "--features: "},
		{"features rank", EvalOptions{Ref: mask, Features: flat}, "--features " + flat + ": shape [2 3], want [B, C, H, W]"},
		{"features dtype", EvalOptions{Ref: mask, Features: ints}, "dtype int64, want float32 or float64"},
		{"labels batch", EvalOptions{Ref: plugin.Ref{Kind: plugin.KindLoss, Name: "mi"}, Features: xPath, Labels: y3}, "shape [3 1], want [B, Classes] (or [B]) with B = 2"},
		{"index labels without classes", EvalOptions{Ref: plugin.Ref{Kind: plugin.KindLoss, Name: "mi"}, Features: xPath, Labels: indices}, "element 1 is 2: [B] labels without --classes"},
		{"index out of range", EvalOptions{Ref: plugin.Ref{Kind: plugin.KindLoss, Name: "mi"}, Features: xPath, Labels: indices, Classes: 2}, "element 1 is 2, not a class index in [0, 2)"},
		{"classes with 2-D labels", EvalOptions{Ref: plugin.Ref{Kind: plugin.KindLoss, Name: "mi"}, Features: xPath, Labels: y, Classes: 2}, "--classes applies to [B] labels"},
		{"mask shape", EvalOptions{Ref: plugin.Ref{Kind: plugin.KindLoss, Name: "authors-code"}, Features: xPath, Labels: y, Mask: flat}, "--mask " + flat + ": shape [2 3], want [2 3 4 5]"},
		{"mask missing", EvalOptions{Ref: plugin.Ref{Kind: plugin.KindLoss, Name: "authors-code"}, Features: xPath, Labels: y}, `reads input "mask" [2 3 4 5]: pass --mask FILE.npy`},
		{"bad params", EvalOptions{Ref: mask, Features: xPath, Params: json.RawMessage(`{"beta": "steep"}`)}, `--params for masks/l1: parameter "beta"`},
		{"unknown plugin", EvalOptions{Ref: plugin.Ref{Kind: plugin.KindMask, Name: "cosine"}, Features: xPath}, "no plugin masks/cosine"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.OutDir = filepath.Join(dir, "out-"+tt.name)
			_, _, err := runEval(t, &tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestLabelsFromVector(t *testing.T) {
	tests := []struct {
		name    string
		in      []int64
		classes int
		want    *tensor.Tensor
	}{
		{"single-category targets", []int64{1, 0, 1}, 0, tensor.MustFloat32(tensor.Shape{3, 1}, []float32{1, 0, 1})},
		{"class indices", []int64{2, 0, 1}, 3, tensor.MustFloat32(tensor.Shape{3, 3}, []float32{0, 0, 1, 1, 0, 0, 0, 1, 0})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := tensor.FromInt64(tensor.Shape{len(tt.in)}, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := labelsFromVector(in, tt.classes)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(tt.want) {
				t.Errorf("labels = %v, want %v", got, tt.want)
			}
		})
	}
}
