// Package visualize runs the visualizer plugins on a trained run and
// writes report.html: it reopens the run, extracts one layer's
// activations on the run's own images, computes the part metrics for the
// per-filter cards, streams everything to the receptive-field and upconv
// plugins (out of process, through pluginhost) and lays their pictures
// out with the run's manifest, metrics and training curves.
package visualize

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"image"
	"io"
	"math"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/internal/atomicfile"
	"github.com/icnnlab/icnnlab/internal/data"
	"github.com/icnnlab/icnnlab/internal/data/synth"
	"github.com/icnnlab/icnnlab/internal/metricsrun"
	"github.com/icnnlab/icnnlab/internal/pluginhost"
	"github.com/icnnlab/icnnlab/internal/runstore"
	"github.com/icnnlab/icnnlab/internal/train"
	"github.com/icnnlab/icnnlab/plugins/metrics/instability"
	"github.com/icnnlab/icnnlab/plugins/metrics/partinterp"
	"github.com/icnnlab/icnnlab/plugins/visualizers/receptivefield"
	"github.com/icnnlab/icnnlab/plugins/visualizers/upconv"
	"github.com/icnnlab/icnnlab/plugins/visualizers/vizwire"
	"github.com/icnnlab/icnnlab/sdk/parts"
	"github.com/icnnlab/icnnlab/sdk/plugin"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// ReportFile is the report's name in the output directory.
const ReportFile = "report.html"

// Defaults of the counts in Options (the command's flag defaults).
const (
	DefaultImages = 300
	// DefaultTrainImages 0: the decoder trains on the whole training split.
	DefaultTrainImages = 0
	DefaultFilters     = 8
	// DefaultPluginTimeout bounds one plugin call of the host Visualize
	// makes when Options.Host is nil: the upconv plugin trains its decoder
	// inside one call.
	DefaultPluginTimeout = 15 * time.Minute
)

// DefaultOptions are the options of `icnnlab visualize` with no flags;
// set Runs and Out.
func DefaultOptions() Options {
	return Options{Images: DefaultImages, TrainImages: DefaultTrainImages, Filters: DefaultFilters}
}

// Options configure a visualization of one or more runs.
type Options struct {
	Runs []string
	Out  string
	// Layer to visualize; empty: the layer the tables score
	// (zoo.Model.EvaluatedLayer: the inserted interpretable conv, masked,
	// in interpretable runs; the top conv-layer otherwise).
	Layer string
	// Images shown (and held out for the decoder) from the test split;
	// TrainImages train the decoder; both are spread evenly over the split.
	Images, TrainImages int
	// Filters is how many filters get a card: those with the highest part
	// interpretability.
	Filters int
	// Backend overrides the run's backend when set; Device likewise.
	Backend backends.Backend
	Device  string
	// NewBackend builds a backend by name (the run's own); nil:
	// backends.New.
	NewBackend func(name string) (backends.Backend, error)
	// Host runs the visualizer plugins (and an interpretable run's mask
	// and loss); nil: a host of the built-in plugins, served by this
	// executable, with DefaultPluginTimeout, closed before Visualize
	// returns.
	Host *pluginhost.Host
	// Params of the receptive-field and upconv plugins ("filters" is set
	// here and must not be given).
	ReceptiveFieldParams, UpconvParams json.RawMessage
	// TopFractionFor gives part interpretability's top_fraction for an
	// h×w map (reproduce passes its scale's); nil: the plugin's default.
	TopFractionFor func(h, w int) float64
	// SkipUpconv leaves the decoder out (it is the slow part).
	SkipUpconv bool
	Log        io.Writer
}

// Visualize renders every run into opt.Out and writes the report there;
// it returns the report's path (opt.Out/report.html). Each run must be a
// finished run directory (status.json state "done") of the synthetic
// world. Start from DefaultOptions.
func Visualize(ctx context.Context, opt Options) (string, error) {
	if len(opt.Runs) == 0 {
		return "", errors.New("visualize: no run given")
	}
	if opt.Out == "" {
		return "", errors.New("visualize: no output directory")
	}
	if opt.Images < 0 || opt.TrainImages < 0 || opt.Filters < 0 {
		return "", fmt.Errorf("visualize: images %d, train images %d and filters %d must not be negative", opt.Images, opt.TrainImages, opt.Filters)
	}
	if opt.NewBackend == nil {
		opt.NewBackend = backends.New
	}
	if opt.Host == nil {
		opt.Host = pluginhost.New(pluginhost.Options{CallTimeout: DefaultPluginTimeout})
		defer opt.Host.Close()
	}
	if err := os.MkdirAll(opt.Out, 0o755); err != nil {
		return "", fmt.Errorf("visualize: %w", err)
	}
	if _, err := atomicfile.RemoveStaleTree(opt.Out); err != nil { // left by a killed visualize
		return "", fmt.Errorf("visualize: %w", err)
	}
	rep := &Report{Title: "icnnlab visualization"}
	used := map[string]bool{}
	for _, dir := range opt.Runs {
		sub := filepath.Base(filepath.Clean(dir))
		for used[sub] {
			sub += "_"
		}
		used[sub] = true
		sec, err := visualizeRun(ctx, opt, dir, sub, fmt.Sprintf("run-%d", len(rep.Runs)))
		if err != nil {
			return "", fmt.Errorf("visualize %s: %w", dir, err)
		}
		rep.Runs = append(rep.Runs, *sec)
	}
	if len(rep.Runs) == 1 {
		rep.Title = "icnnlab visualization: " + rep.Runs[0].Name
	}
	html, err := rep.Render()
	if err != nil {
		return "", err
	}
	nums, err := json.MarshalIndent(rep.Numbers(), "", "  ")
	if err != nil {
		return "", fmt.Errorf("visualize: %s: %w", NumbersFile, err)
	}
	if err := atomicfile.WriteFile(filepath.Join(opt.Out, NumbersFile), append(nums, '\n')); err != nil {
		return "", fmt.Errorf("visualize: %w", err)
	}
	out := filepath.Join(opt.Out, ReportFile)
	if err := atomicfile.WriteFile(out, html); err != nil {
		return "", fmt.Errorf("visualize: %w", err)
	}
	return out, nil
}

// describe says what a run trained.
func describe(cfg train.Config) string {
	kind := "ordinary"
	if i := cfg.Interpretable; i.Enabled {
		kind = fmt.Sprintf("interpretable (mask %s, loss %s)", i.Mask, i.Loss)
	}
	task := cfg.Data.Task
	if cfg.Data.Target != "" {
		task += " " + cfg.Data.Target
	}
	return fmt.Sprintf("%s %s, %s, seed %d", kind, cfg.Model.Arch, task, cfg.Seed)
}

func logf(opt Options, format string, args ...any) {
	if opt.Log != nil {
		fmt.Fprintf(opt.Log, format+"\n", args...)
	}
}

// extracted is one split's layer activations with the images they came from.
type extracted struct {
	acts    *tensor.Tensor
	images  *tensor.Tensor // [N,3,S,S] RGB in [0, 1]
	parts   *tensor.Tensor // [N,S,S] group ids
	samples []*synth.Sample
}

func visualizeRun(ctx context.Context, opt Options, dir, sub, id string) (*RunSection, error) {
	run, err := openFinished(dir)
	if err != nil {
		return nil, err
	}
	cfg, err := train.RunConfig(run)
	if err != nil {
		return nil, err
	}
	b := opt.Backend
	if b == nil {
		if b, err = opt.NewBackend(run.Manifest.Backend); err != nil {
			return nil, err
		}
	}
	device := cmp.Or(opt.Device, run.Manifest.Device)
	to := train.Options{Backend: b, Device: device, Activations: true}
	if cfg.Interpretable.Enabled {
		to.Plugins = opt.Host
	}
	sess, err := train.Reopen(run, cfg, to)
	if err != nil {
		return nil, err
	}
	defer sess.Close()
	layer := cmp.Or(opt.Layer, sess.Model.EvaluatedLayer())
	info, ok := sess.Model.Layer(layer)
	if !ok {
		var names []string
		for _, l := range sess.Model.Layers {
			names = append(names, l.Name)
		}
		return nil, fmt.Errorf("layer %q is not in the network (layers: %q)", layer, names)
	}
	size := sess.Test.ImageSize()
	geom := info.RF.Geometry(size, size)

	// The counts the extraction really uses (0, "all", is not a count).
	if opt.SkipUpconv {
		logf(opt, "%s: extracting %s on %d test images", run.Manifest.Name, layer, len(spread(sess.Test.Len(), opt.Images)))
	} else {
		logf(opt, "%s: extracting %s on %d test and %d training images", run.Manifest.Name, layer,
			len(spread(sess.Test.Len(), opt.Images)), len(spread(sess.Train.Len(), opt.TrainImages)))
	}
	test, err := extract(sess, layer, sess.Test, opt.Images)
	if err != nil {
		return nil, fmt.Errorf("test split: %w", err)
	}
	sec := &RunSection{ID: id, Name: filepath.Base(run.Dir), Network: describe(cfg)}
	sec.Manifest, sec.Metrics = readManifest(run), readMetrics(run)
	for _, kv := range sec.Metrics {
		if kv.Key == "test_accuracy" {
			sec.Accuracy = kv.Value
		}
	}
	s := test.acts.Shape()
	sec.Layer = LayerFacts{Name: layer, Channels: s[1], Height: s[2], Width: s[3], RFSize: geom.Size, RFJump: geom.Jump,
		RFStart: geom.Start, Images: s[0], PartInterpretability: "n/a", LocationInstability: "n/a"}

	// The metrics score the whole test split through the metric plugins,
	// as the tables do, so that a filter's numbers here are the tables'.
	scored := test
	if len(test.samples) < sess.Test.Len() {
		if scored, err = extract(sess, layer, sess.Test, 0); err != nil {
			return nil, fmt.Errorf("test split: %w", err)
		}
	}
	pi, inst := partMetrics(ctx, opt, scored, geom, sess.Test.ClassNames(), cfg, sec)
	filters := chooseFilters(pi, meanPeaks(test.acts), opt.Filters)
	files := map[string][]byte{}
	if pi != nil {
		if files[ScoresFile], err = json.MarshalIndent(pi, "", "  "); err != nil {
			return nil, fmt.Errorf("%s: %w", ScoresFile, err)
		}
	}

	meta, err := vizwire.Meta{Run: sec.Name, Layer: layer, Geometry: geom, Groups: groupNames(), Backend: b.Name(),
		Device: device, Seed: cfg.Seed}.Encode()
	if err != nil {
		return nil, err
	}
	rfParams, err := withFilters(opt.ReceptiveFieldParams, filters)
	if err != nil {
		return nil, fmt.Errorf("receptive-field parameters: %w", err)
	}
	logf(opt, "%s: receptive fields of %d filters", sec.Name, len(filters))
	if err := render(ctx, opt.Host, vizwire.ReceptiveField, rfParams, meta, files,
		plugin.NamedTensor{Name: vizwire.TensorActivations, Tensor: test.acts},
		plugin.NamedTensor{Name: vizwire.TensorImages, Tensor: test.images},
		plugin.NamedTensor{Name: vizwire.TensorParts, Tensor: test.parts}); err != nil {
		return nil, err
	}
	var rf receptivefield.Summary
	if err := summary(files, receptivefield.Dir, &rf); err != nil {
		return nil, err
	}
	var up *upconv.Summary
	var decoderSeconds float64
	if !opt.SkipUpconv {
		tr, err := extract(sess, layer, sess.Train, opt.TrainImages)
		if err != nil {
			return nil, fmt.Errorf("training split: %w", err)
		}
		sec.Layer.TrainImages = tr.acts.Shape()[0]
		upParams, err := withFilters(opt.UpconvParams, filters)
		if err != nil {
			return nil, fmt.Errorf("upconv parameters: %w", err)
		}
		inputs := []plugin.NamedTensor{
			{Name: vizwire.TensorActivations, Tensor: test.acts},
			{Name: vizwire.TensorImages, Tensor: test.images},
			{Name: vizwire.TensorParts, Tensor: test.parts},
			{Name: vizwire.TensorTrainActivations, Tensor: tr.acts},
			{Name: vizwire.TensorTrainImages, Tensor: tr.images},
		}
		// The mirror images of the training split are as natural as the
		// originals and cost one more pass through the network: the
		// decoder gets twice the training pairs. The pass is skipped when
		// the parameters switch mirroring off (the tensor is optional).
		if mirror, err := upconvMirrors(upParams); err != nil {
			return nil, fmt.Errorf("upconv parameters: %w", err)
		} else if mirror {
			mirrored, _, err := sess.Extract(layer, mirroredDataset{subset{sess.Train, spread(sess.Train.Len(), opt.TrainImages)}}, 0)
			if err != nil {
				return nil, fmt.Errorf("training split mirrored: %w", err)
			}
			inputs = append(inputs, plugin.NamedTensor{Name: vizwire.TensorTrainMirrored, Tensor: mirrored})
		}
		logf(opt, "%s: training the up-convolution decoder on %d images (%s)", sec.Name, sec.Layer.TrainImages, b.Name())
		start := time.Now()
		if err := render(ctx, opt.Host, vizwire.Upconv, upParams, meta, files, inputs...); err != nil {
			return nil, err
		}
		decoderSeconds = time.Since(start).Seconds()
		logf(opt, "%s: decoder trained, scored and drawn in %.0f s", sec.Name, decoderSeconds)
		up = &upconv.Summary{}
		if err := summary(files, upconv.Dir, up); err != nil {
			return nil, err
		}
	}
	for name, data := range files {
		p := filepath.Join(opt.Out, sub, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		if err := atomicfile.WriteFile(p, data); err != nil {
			return nil, err
		}
	}
	cats := make([]string, len(test.samples))
	for i, smp := range test.samples {
		cats[i] = smp.CategoryName
	}
	assemble(sec, run, sub, filters, pi, inst, &rf, up, cats)
	sec.Numbers = RunNumbers{Run: sec.Name, Network: sec.Network, Layer: layer}
	if pi != nil {
		sec.Numbers.PartInterpretability = &pi.Mean
	}
	if pu := rf.Purity; pu != nil {
		sec.Numbers.PatternPurity, sec.Numbers.PurityFiring, sec.Numbers.PurityPeaks = &pu.Mean, pu.Firing, pu.Peaks
		sec.Numbers.PurityParts = map[string]int{}
		for _, p := range pu.Parts {
			sec.Numbers.PurityParts[p.Part] = len(p.Filters)
		}
	}
	if up != nil {
		sec.Decoder.FeatureSide, sec.Decoder.InputSide, sec.Decoder.Seconds = s[2], up.Decoder.Height, decoderSeconds
		sec.Decoder.Masked = info.Interpretable
		sec.Numbers.Decoder = &DecoderNumbers{TrainImages: up.TrainImages, HeldOutImages: up.HeldOut.Images, Steps: up.Steps,
			Mirrored: up.Mirrored, Object: up.HeldOut.Object, Background: up.HeldOut.Background, MSE: up.HeldOut.MSE, BaselineMSE: up.HeldOut.BaselineMSE, Ratio: up.HeldOut.Ratio, Seconds: decoderSeconds,
			ZeroFeatures: up.HeldOut.ZeroFeatures,
			Losses:       up.Losses, LossEvery: up.LossEvery}
	}
	return sec, nil
}

// openFinished loads a run directory and checks that its training
// finished: a running run's checkpoint is a network half trained, a failed
// run's may be anything.
func openFinished(dir string) (*runstore.Run, error) {
	if fi, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("no run directory: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("%s is not a run directory but a file", dir)
	}
	run, err := runstore.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("not a run directory: %w", err)
	}
	st, err := run.Status()
	if err != nil {
		return nil, fmt.Errorf("run status: %w", err)
	}
	if st.State != runstore.Done {
		why := ""
		if st.Error != "" {
			why = ": " + st.Error
		}
		return nil, fmt.Errorf("run is not finished: %s says state %q at step %d%s (visualize needs a finished run; `icnnlab train --resume %s` finishes it)",
			run.Path("status.json"), st.State, st.Step, why, dir)
	}
	return run, nil
}

// subset is the evenly spread part of a dataset that the report shows.
type subset struct {
	data.Dataset
	idx []int
}

func (s subset) Len() int                            { return len(s.idx) }
func (s subset) Example(i int) (data.Example, error) { return s.Dataset.Example(s.idx[i]) }

// upconvMirrors reports whether the up-conv parameters leave the decoder's
// mirror images on: they are on unless "mirror" is false (the plugin's
// default is on; its schema validates the value).
func upconvMirrors(params json.RawMessage) (bool, error) {
	var p struct {
		Mirror *bool `json:"mirror"`
	}
	if len(params) == 0 {
		return true, nil
	}
	if err := json.Unmarshal(params, &p); err != nil {
		return false, fmt.Errorf("read \"mirror\": %w", err)
	}
	return p.Mirror == nil || *p.Mirror, nil
}

// mirroredDataset flips every image of a dataset left to right.
type mirroredDataset struct{ data.Dataset }

func (m mirroredDataset) Example(i int) (data.Example, error) {
	e, err := m.Dataset.Example(i)
	if err != nil {
		return e, err
	}
	s := m.ImageSize()
	flipped := make([]float32, len(e.Image))
	for row := 0; row < len(e.Image)/s; row++ { // rows of every channel
		src, dst := e.Image[row*s:(row+1)*s], flipped[row*s:(row+1)*s]
		for x, v := range src {
			dst[s-1-x] = v
		}
	}
	e.Image = flipped
	return e, nil
}

func spread(n, limit int) []int {
	if limit <= 0 || limit >= n {
		limit = n
	}
	idx := make([]int, limit)
	for i := range idx {
		idx[i] = i * n / limit
	}
	return idx
}

func extract(sess *train.Session, layer string, ds data.Dataset, limit int) (*extracted, error) {
	task, ok := ds.(*synth.Task)
	if !ok {
		return nil, fmt.Errorf("dataset %T has no annotated samples (visualize needs the synthetic world)", ds)
	}
	idx := spread(ds.Len(), limit)
	acts, _, err := sess.Extract(layer, subset{ds, idx}, 0)
	if err != nil {
		return nil, err
	}
	size := ds.ImageSize()
	px := size * size
	ex := &extracted{acts: acts}
	imgs := make([]float32, 0, len(idx)*3*px)
	parts := make([]uint8, 0, len(idx)*px)
	for _, i := range idx {
		s, err := task.Sample(i)
		if err != nil {
			return nil, err
		}
		ex.samples = append(ex.samples, s)
		imgs = appendCHW(imgs, s.Image)
		parts = append(parts, s.Groups...)
	}
	if ex.images, err = tensor.FromFloat32(tensor.Shape{len(idx), 3, size, size}, imgs); err != nil {
		return nil, err
	}
	if ex.parts, err = tensor.FromUint8(tensor.Shape{len(idx), size, size}, parts); err != nil {
		return nil, err
	}
	return ex, nil
}

func appendCHW(dst []float32, img *image.RGBA) []float32 {
	b := img.Bounds()
	for c := range 3 {
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				dst = append(dst, float32(img.Pix[img.PixOffset(x, y)+c])/255)
			}
		}
	}
	return dst
}

func groupNames() []string {
	out := make([]string, synth.NumGroups)
	for g := range synth.NumGroups {
		out[g] = synth.GroupNames[g]
	}
	out[0] = "background"
	return out
}

// ScoresFile is the part-interpretability result of a run's layer (the
// metric plugin's JSON, partinterp.Result), written in the run's directory
// of the report.
const ScoresFile = "part-interpretability.json"

// partMetrics computes part interpretability and location instability for
// the cards through the metric plugins (internal/metricsrun), with the
// task and categories the tables use; a failure becomes a note, not an
// error, since the pictures do not depend on them.
func partMetrics(ctx context.Context, opt Options, ex *extracted, geom parts.Geometry, classes []string, cfg train.Config, sec *RunSection) (*partinterp.Result, *instability.Result) {
	set := synth.Annotations(ex.samples)
	task := cmp.Or(cfg.Data.Task, plugin.TaskSingle)
	var piParams json.RawMessage
	if opt.TopFractionFor != nil {
		s := ex.acts.Shape()
		piParams, _ = json.Marshal(map[string]any{"top_fraction": opt.TopFractionFor(s[2], s[3])})
	}
	pi, err := metricsrun.PartInterpretability(ctx, opt.Host, ex.acts, set, geom, task, classes, piParams)
	if err != nil {
		sec.Notes = append(sec.Notes, "part interpretability unavailable: "+err.Error())
		pi = nil
	} else {
		sec.Layer.PartInterpretability = fmt.Sprintf("%.3f", pi.Mean)
	}
	inst, err := metricsrun.LocationInstability(ctx, opt.Host, ex.acts, set, geom, task, classes, nil)
	if err != nil {
		sec.Notes = append(sec.Notes, "location instability unavailable: "+err.Error())
		inst = nil
	} else {
		sec.Layer.LocationInstability = fmt.Sprintf("%.3f (%d filters defined)", inst.Mean, inst.Defined)
	}
	return pi, inst
}

// chooseFilters picks the n filters with the highest part interpretability;
// ties (and runs without it) go to the filter with the larger mean peak
// activation, so that silent filters come last, then to the lower index.
func chooseFilters(pi *partinterp.Result, peaks []float64, n int) []int {
	channels := len(peaks)
	all := make([]int, channels)
	for i := range all {
		all[i] = i
	}
	score := func(f int) float64 {
		if pi != nil && len(pi.Filters) == channels {
			return pi.Filters[f].Score
		}
		return 0
	}
	slices.SortStableFunc(all, func(a, b int) int {
		return cmp.Or(cmp.Compare(score(b), score(a)), cmp.Compare(peaks[b], peaks[a]))
	})
	out := all[:min(max(n, 0), channels)]
	slices.Sort(out)
	return out
}

// meanPeaks is every filter's peak activation averaged over the images.
func meanPeaks(acts *tensor.Tensor) []float64 {
	s := acts.Shape()
	n, c, hw := s[0], s[1], s[2]*s[3]
	d := acts.Float32s()
	out := make([]float64, c)
	for i := range n {
		for f := range c {
			m := d[(i*c+f)*hw : (i*c+f+1)*hw]
			out[f] += float64(slices.Max(m)) / float64(n)
		}
	}
	return out
}

func withFilters(params json.RawMessage, filters []int) (json.RawMessage, error) {
	m := map[string]any{}
	if t := bytes.TrimSpace(params); len(t) > 0 && string(t) != "null" {
		if err := json.Unmarshal(params, &m); err != nil {
			return nil, err
		}
	}
	if _, ok := m["filters"]; ok {
		return nil, errors.New(`"filters" is chosen by visualize (--filters sets how many)`)
	}
	m["filters"] = filters
	return json.Marshal(m)
}

func render(ctx context.Context, host *pluginhost.Host, name string, params, meta json.RawMessage, files map[string][]byte, ts ...plugin.NamedTensor) error {
	ref := plugin.Ref{Kind: plugin.KindVisualizer, Name: name}
	v, err := host.Visualizer(ctx, ref)
	if err != nil {
		return err
	}
	out, err := v.Render(ctx, plugin.VisualizeRequest{Params: params, Meta: meta}, plugin.Tensors(ts...))
	if err != nil {
		return err
	}
	for _, f := range out {
		if err := plugin.CheckFileName(f.Name); err != nil {
			return fmt.Errorf("%s: %w", ref, err)
		}
		if _, dup := files[f.Name]; dup {
			return fmt.Errorf("%s: file %q written twice", ref, f.Name)
		}
		files[f.Name] = f.Data
	}
	return nil
}

func summary(files map[string][]byte, dir string, v any) error {
	name := path.Join(dir, vizwire.SummaryFile)
	data, ok := files[name]
	if !ok {
		return fmt.Errorf("visualizer wrote no %s", name)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

func readManifest(run *runstore.Run) string {
	raw, err := os.ReadFile(run.Path("manifest.json"))
	if err != nil {
		return "unreadable: " + err.Error()
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return string(raw)
	}
	return buf.String()
}

func readMetrics(run *runstore.Run) []KeyValue {
	var m map[string]any
	if err := run.ReadMetrics(&m); err != nil {
		return []KeyValue{{"metrics.json", "unavailable: " + err.Error()}}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]KeyValue, 0, len(keys))
	for _, k := range keys {
		v := fmt.Sprint(m[k])
		if f, ok := m[k].(float64); ok && f != math.Trunc(f) {
			v = strconv.FormatFloat(f, 'f', 4, 64)
		}
		out = append(out, KeyValue{k, v})
	}
	return out
}

// assemble fills the section's plots and cards from the run's history and
// the plugins' summaries; image paths are relative to the report.
// cats are the categories of the test images.
func assemble(sec *RunSection, run *runstore.Run, sub string, filters []int, pi *partinterp.Result, inst *instability.Result, rf *receptivefield.Summary, up *upconv.Summary, cats []string) {
	rel := func(dir, name string) string {
		if name == "" {
			return ""
		}
		return path.Join(sub, dir, name)
	}
	sec.Plots = append(sec.Plots, historyPlots(run)...)
	if pi != nil {
		var scores []float64
		for _, f := range pi.Filters {
			scores = append(scores, f.Score)
		}
		// P_f lives in [0, 1] but is often all below 0.1: the axis ends at
		// the next tenth above the largest, so the bins show the spread.
		hi := math.Min(1, math.Max(0.1, math.Ceil(slices.Max(append(scores, 0))*10)/10))
		sec.Plots = append(sec.Plots, Histogram("part interpretability P_f per filter", "P_f", scores, 0, hi, 10))
	}
	if inst != nil {
		var scores []float64
		top := 0.0
		for _, f := range inst.Filters {
			if f.Defined {
				scores = append(scores, f.Score)
				top = math.Max(top, f.Score)
			}
		}
		sec.Plots = append(sec.Plots, Histogram("location instability per filter", "instability", scores, 0, math.Max(0.5, top), 10))
	}
	if rf.Heatmap != "" {
		var labels []string
		var counts []float64
		for _, g := range rf.Groups[1:] {
			labels = append(labels, g)
			counts = append(counts, float64(rf.GroupFilters[g]))
		}
		sec.Plots = append(sec.Plots, Bars("filters by the part their RF covers most", labels, counts))
		sec.Heatmap, sec.Groups, sec.TopImages = rel(receptivefield.Dir, rf.Heatmap), rf.Groups, rf.TopImages
		cols := make([]CoverageColumn, 0, len(rf.Filters))
		for _, fs := range rf.Filters {
			c := CoverageColumn{Filter: fs.Filter, Best: slices.Index(rf.Groups, fs.BestGroup)}
			if fs.BestGroup == "" {
				c.Best = -1
			}
			if fs.Coverage != nil {
				c.Shares = make([]float64, len(rf.Groups))
				for gi, g := range rf.Groups {
					c.Shares[gi] = fs.Coverage[g]
				}
			}
			if slices.Contains(filters, fs.Filter) {
				c.Link = fmt.Sprintf("#%s-filter-%d", sec.ID, fs.Filter)
			}
			cols = append(cols, c)
		}
		sec.Coverage = CoverageMap("filters by part groups covered: "+sec.Name, rf.Groups, cols)
	}
	if pu := rf.Purity; pu != nil {
		sec.PurityPeaks = pu.Peaks
		sec.Layer.PatternPurity = fmt.Sprintf("%.3f (%d filters fire, K = %d)", pu.Mean, pu.Firing, pu.Peaks)
		for _, p := range pu.Parts {
			pg := PartGallery{Part: p.Part}
			for _, f := range p.Filters {
				if pu.Filters[f].Image == "" {
					pg.More++
					continue
				}
				gf := GalleryFilter{Filter: f, Purity: purityText(pu.Filters[f]), Image: rel(receptivefield.Dir, pu.Filters[f].Image)}
				if slices.Contains(filters, f) {
					gf.Link = fmt.Sprintf("#%s-filter-%d", sec.ID, f)
				}
				pg.Filters = append(pg.Filters, gf)
			}
			sec.Gallery = append(sec.Gallery, pg)
		}
	}
	if up != nil {
		x := make([]float64, len(up.Losses))
		for i := range x {
			x[i] = float64(i*up.LossEvery + 1)
		}
		// The first steps' losses are tens of times the rest: the axis ends
		// at three times the mean-image baseline, drawn for reference.
		series := []Series{{Name: "training", X: x, Y: up.Losses}}
		top := math.Inf(1)
		if b := up.HeldOut.BaselineMSE; b > 0 && len(x) > 0 {
			series = append(series, Series{Name: "mean image", X: []float64{x[0], x[len(x)-1]}, Y: []float64{b, b}, Colour: "#999"})
			top = 3 * b
		}
		sec.Plots = append(sec.Plots, LinePlotClipped("decoder loss (pixel MSE)", "step", series, top))
		sec.Decoder = &DecoderFacts{Backend: up.Backend, Steps: up.Steps, TrainImages: up.TrainImages, Mirrored: up.Mirrored, Object: up.HeldOut.Object, Background: up.HeldOut.Background, HeldOutImages: up.HeldOut.Images,
			MSE: up.HeldOut.MSE, Baseline: up.HeldOut.BaselineMSE, Ratio: up.HeldOut.Ratio, ZeroFeatures: up.HeldOut.ZeroFeatures,
			Reconstructions: rel(upconv.Dir, up.Reconstructions), MeanImage: rel(upconv.Dir, up.MeanImage),
			Patches: up.Columns, PatchSize: up.PatchSize}
	}
	for _, f := range filters {
		card := FilterCard{Filter: f}
		if pi != nil && f < len(pi.Filters) {
			card.BestPart, card.PartScore = pi.Filters[f].BestPart, fmt.Sprintf("%.2f", pi.Filters[f].Score)
		}
		if inst != nil && f < len(inst.Filters) && inst.Filters[f].Defined {
			card.Instability = fmt.Sprintf("%.3f", inst.Filters[f].Score)
		}
		if pu := rf.Purity; pu != nil && f < len(pu.Filters) {
			fp := pu.Filters[f]
			card.Part, card.Purity = fp.Part, purityText(fp)
			card.PatchesImage = rel(receptivefield.Dir, fp.Image)
		}
		if f < len(rf.Filters) {
			fs := rf.Filters[f]
			card.RFImage = rel(receptivefield.Dir, fs.Image)
			card.TopCategories = categoryCounts(fs.TopImages, cats)
			if fs.BestGroup != "" {
				card.Coverage = fmt.Sprintf("%s %.0f%% (background %.0f%%)", fs.BestGroup, 100*fs.Coverage[fs.BestGroup], 100*fs.Coverage[rf.Groups[0]])
			}
		}
		if up != nil {
			for _, fs := range up.Filters {
				if fs.Filter == f {
					card.UpconvImage = rel(upconv.Dir, fs.Image)
					for _, p := range fs.Patterns {
						card.Patterns = append(card.Patterns, p.Size)
					}
				}
			}
		}
		sec.Cards = append(sec.Cards, card)
	}
}

// purityText is a filter's purity with its counts: "0.85 (17 of 20
// peaks)", or "silent" for a filter that never fires.
func purityText(fp receptivefield.FilterPurity) string {
	switch {
	case fp.Peaks == 0:
		return "silent"
	case fp.Part == "":
		return fmt.Sprintf("0 (all %d peaks on the background)", fp.Peaks)
	}
	return fmt.Sprintf("%.2f (%d of %d peaks)", fp.Purity, fp.OnPart, fp.Peaks)
}

// categoryCounts says which categories the images are, most frequent
// first ("bird 6, sheep 2").
func categoryCounts(images []int, cats []string) string {
	count := map[string]int{}
	var names []string
	for _, n := range images {
		if n < 0 || n >= len(cats) {
			continue
		}
		if count[cats[n]] == 0 {
			names = append(names, cats[n])
		}
		count[cats[n]]++
	}
	slices.SortStableFunc(names, func(a, b string) int { return cmp.Or(cmp.Compare(count[b], count[a]), cmp.Compare(a, b)) })
	parts := make([]string, len(names))
	for i, c := range names {
		parts[i] = fmt.Sprintf("%s %d", c, count[c])
	}
	return strings.Join(parts, ", ")
}

func historyPlots(run *runstore.Run) []template.HTML {
	rows, err := run.History().Read()
	if err != nil || len(rows) == 0 {
		return nil
	}
	col := func(name string) []float64 {
		out := make([]float64, len(rows))
		for i, r := range rows {
			v, err := strconv.ParseFloat(r[name], 64)
			if err != nil {
				v = math.NaN()
			}
			out[i] = v
		}
		return out
	}
	step := col("step")
	return []template.HTML{
		LinePlot("training loss", "step", []Series{{Name: "train_loss", X: step, Y: col("train_loss")}}),
		LinePlot("training accuracy", "step", []Series{{Name: "train_accuracy", X: step, Y: col("train_accuracy")}}),
	}
}
