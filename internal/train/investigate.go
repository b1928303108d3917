package train

// The measurements of docs/investigations/interpretable-accuracy.md, run by
// the hidden command `icnnlab investigate` (internal/cmd/investigate): they
// are experiments that print what they find, not tests. The interpretable
// scale diagnosis trains nothing; it opens a model at initialisation (or
// restores a finished run) and prints, for a few training batches:
//
//   - the classification loss, the filter loss and the λ the paper schedule
//     gives;
//   - per interpretable layer: the mean max activation of the pre-mask maps,
//     the share of the activation mass the mask lets through, and −MI(X;T)
//     per filter (eq. 1, float64) for the maps as they are and scaled by
//     10, 100 and 1000, next to its floor −H(T);
//   - the norms of the gradients of the classification loss and of
//     λ·filter loss with respect to each conv layer's weights.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strings"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/internal/data"
	"github.com/icnnlab/icnnlab/internal/data/synth"
	"github.com/icnnlab/icnnlab/internal/metricsrun"
	"github.com/icnnlab/icnnlab/internal/pluginhost"
	"github.com/icnnlab/icnnlab/internal/runstore"
	"github.com/icnnlab/icnnlab/internal/zoo"
	"github.com/icnnlab/icnnlab/plugins/losses"
	"github.com/icnnlab/icnnlab/sdk/parts"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// InvestigateScale diagnoses the scale of the interpretable layers (see
// the file comment) of the default VGG-M (seeds 1 and 2) and of small64 at
// width 0.5, at initialisation, then of each finished interpretable run in
// runDirs at its final checkpoint, and writes the reports to w. host runs
// the mask and loss plugins.
func InvestigateScale(w io.Writer, host *pluginhost.Host, runDirs []string) error {

	type diagCase struct {
		name string
		cfg  Config
		run  *runstore.Run
	}
	var cases []diagCase
	for _, seed := range []uint64{1, 2} {
		c := Defaults()
		c.Seed = seed
		c.Interpretable.Enabled = true
		cases = append(cases, diagCase{name: fmt.Sprintf("vgg-m bird l1+mi, init, seed %d", seed), cfg: c})
	}
	s := Defaults()
	s.Model = ModelConfig{Arch: "small64", Width: 0.5, Dropout: 0.5, Loss: "logistic"}
	s.Interpretable.Enabled = true
	cases = append(cases, diagCase{name: "small64 w0.5 bird l1+mi, init", cfg: s})
	for _, dir := range runDirs {
		run, cfg, err := loadInvestigatedRun(dir)
		if err != nil {
			return err
		}
		if !cfg.Interpretable.Enabled {
			return fmt.Errorf("%s: not an interpretable run (interpretable.enabled is false)", dir)
		}
		cases = append(cases, diagCase{name: filepath.Base(dir) + ", trained", cfg: cfg, run: run})
	}
	for _, dc := range cases {
		report, err := diagnose(dc.cfg, dc.run, host)
		if err != nil {
			return fmt.Errorf("%s: %w", dc.name, err)
		}
		fmt.Fprintf(w, "== %s\n%s", dc.name, report)
	}
	return nil
}

// loadInvestigatedRun loads the finished run in dir and its config.
func loadInvestigatedRun(dir string) (*runstore.Run, Config, error) {
	run, err := runstore.Load(dir)
	if err != nil {
		return nil, Config{}, err
	}
	cfg, err := RunConfig(run)
	return run, cfg, err
}

// investigatedLayer is the top layer the part measurements read: the last
// inserted conv of an interpretable network, the top conv of an ordinary
// one.
func investigatedLayer(sess *Session) string {
	if n := len(sess.Model.Top); n > 0 {
		return sess.Model.Top[n-1].Name
	}
	return sess.Model.TopConv
}

// investigatedTestSet is the test set of sess with its part annotations;
// the part measurements need the synthetic world's.
func investigatedTestSet(sess *Session) (*synth.Task, *parts.Set, error) {
	test, ok := sess.Test.(*synth.Task)
	if !ok {
		return nil, nil, fmt.Errorf("data.source %v: the part measurements need the synthetic part world's annotations", sess.Config.Data.Source)
	}
	samples := make([]*synth.Sample, test.Len())
	for i := range samples {
		var err error
		if samples[i], err = test.Sample(i); err != nil {
			return nil, nil, err
		}
	}
	return test, synth.Annotations(samples), nil
}

// preMaskOutput names the added output holding a layer's map before the mask.
func preMaskOutput(layer string) string { return "premask/" + layer }

// diagnose opens cfg's interpretable model (with the pre-mask maps as
// extra outputs), restores run when given, and measures four training
// batches in evaluation mode.
func diagnose(cfg Config, run *runstore.Run, host *pluginhost.Host) (string, error) {
	trainSet, _, err := openDatasets(cfg, nil)
	if err != nil {
		return "", err
	}
	spec := zoo.Spec{Arch: cfg.Model.Arch, InputSize: cfg.Data.ImageSize, Width: cfg.Model.Width,
		Classes: trainSet.Classes(), Loss: cfg.Model.Loss, Dropout: cfg.Model.Dropout, Batch: cfg.Batch,
		MinTopMap: cfg.Model.MinTopMap}
	model, parts, err := buildInterpretable(context.Background(), spec, cfg.Interpretable, cfg.Data.Task, host, zoo.Hooks{})
	if err != nil {
		return "", err
	}
	var lossParams losses.MIParams
	lossParams = losses.DefaultMIParams()
	if err := json.Unmarshal(parts.lossParams, &lossParams); err != nil {
		return "", err
	}
	for _, l := range model.Top {
		model.Graph.SetOutput(preMaskOutput(l.Name), l.Out)
	}
	b, err := backends.New("gorgonia")
	if err != nil {
		return "", err
	}
	exec, err := b.Compile(model.Graph, backends.CompileOptions{Device: "cpu", Seed: cfg.Seed,
		Optimizer: backends.Optimizer{Kind: backends.OptimizerKind(cfg.Optimizer.Kind), Momentum: cfg.Optimizer.Momentum}.WithDefaults()})
	if err != nil {
		return "", err
	}
	defer exec.Close()
	if run != nil {
		ckpt, err := run.LoadCheckpoint()
		if err != nil {
			return "", err
		}
		_, rest := splitLoopState(ckpt)
		if err := exec.Restore(rest); err != nil {
			return "", err
		}
	}
	sess := &Session{Config: cfg, Model: model, Exec: exec, Train: trainSet}
	epoch := 1 // λ of the first epoch at initialisation, of the last for a finished run
	if run != nil {
		epoch = cfg.Epochs
	}

	const batches = 4
	var w strings.Builder
	var cls, filt, lambdaSum float64
	type layerStats struct{ meanMax, passed, negMI [4]float64 }
	stats := make([]layerStats, len(model.Top))
	scales := []float64{1, 10, 100, 1000}
	gradNames := []string{}
	for _, l := range model.Layers {
		if l.Kind == zoo.KindConv {
			gradNames = append(gradNames, l.Name+"/w")
		}
	}
	gCls := map[string]float64{}
	gFilt := map[string]float64{}
	if n := trainSet.Len(); n < batches*cfg.Batch {
		return "", fmt.Errorf("the diagnosis reads %d batches of %d training images, the training set has %d", batches, cfg.Batch, n)
	}
	order := data.EpochOrder(trainSet.Len(), cfg.Seed, 0)
	for bi := range batches {
		idx := order[bi*cfg.Batch : (bi+1)*cfg.Batch]
		images, targets, _, err := data.Batch(trainSet, idx)
		if err != nil {
			return "", err
		}
		outs := []string{"classification_loss", FilterLossOutput}
		for _, l := range model.Top {
			outs = append(outs, preMaskOutput(l.Name), zoo.FeatureOutput(l.Name))
		}
		out, err := exec.Run(sess.feeds(images, targets, 0, 1), outs...)
		if err != nil {
			return "", err
		}
		cls += out["classification_loss"].Float64At(0) / batches
		filt += out[FilterLossOutput].Float64At(0) / batches
		meanMaxAll := 0.0
		for li, l := range model.Top {
			pre, masked := out[preMaskOutput(l.Name)], out[zoo.FeatureOutput(l.Name)]
			mm, err := losses.MeanMaxActivation(pre)
			if err != nil {
				return "", err
			}
			meanMaxAll += mm / float64(len(model.Top))
			stats[li].meanMax[0] += mm / batches
			stats[li].passed[0] += sum(masked) / math.Max(sum(pre), 1e-30) / batches
			tpl := lossParams.TemplateParams.Resolve(l.Size, l.Size)
			for si, sc := range scales {
				stats[li].negMI[si] += negMIPerFilter(pre, tpl, sc) / batches
			}
		}
		lambda, err := cfg.Interpretable.lambdaFor(epoch, meanMaxAll)
		if err != nil {
			return "", err
		}
		lambdaSum += lambda / batches
		// d(classification)/dθ with λ = 0; d(λ·filter)/dθ as the difference.
		g0, err := exec.Gradients(backends.Eval, sess.feeds(images, targets, 0, 1), gradNames...)
		if err != nil {
			return "", err
		}
		g1, err := exec.Gradients(backends.Eval, sess.feeds(images, targets, lambda, 1), gradNames...)
		if err != nil {
			return "", err
		}
		for _, n := range gradNames {
			a, c := values(g0[n]), values(g1[n])
			var na, nd float64
			for i := range a {
				na += a[i] * a[i]
				nd += (c[i] - a[i]) * (c[i] - a[i])
			}
			gCls[n] += math.Sqrt(na) / batches
			gFilt[n] += math.Sqrt(nd) / batches
		}
	}
	check := 0.0
	for li, l := range model.Top {
		check += stats[li].negMI[0] * float64(l.Channels)
	}
	fmt.Fprintf(&w, "classification loss %.4g, filter loss (sum over %d layers' filters) %.4g (float64 eq. 1: %.4g), λ (%s schedule, epoch %d) %.4g, λ·filter %.4g\n",
		cls, len(model.Top), filt, check, cfg.Interpretable.LambdaSchedule, epoch, lambdaSum, lambdaSum*filt)
	for li, l := range model.Top {
		tpl := lossParams.TemplateParams.Resolve(l.Size, l.Size)
		st := stats[li]
		fmt.Fprintf(&w, "  %s %dx%d×%d: mean max %.4g; mask passes %.3f of the activation mass; −H(T) = %.4f\n",
			l.Name, l.Size, l.Size, l.Channels, st.meanMax[0], st.passed[0], -tpl.PriorEntropy())
		fmt.Fprintf(&w, "    −MI per filter at scale ×1, ×10, ×100, ×1000 of the maps: %.3g  %.3g  %.3g  %.3g\n",
			st.negMI[0], st.negMI[1], st.negMI[2], st.negMI[3])
	}
	fmt.Fprintf(&w, "  weight-gradient norms, classification | λ·filter | ratio:\n")
	for _, n := range gradNames {
		fmt.Fprintf(&w, "    %-14s %.3g | %.3g | %.3g\n", n, gCls[n], gFilt[n], gFilt[n]/math.Max(gCls[n], 1e-30))
	}
	return w.String(), nil
}

// values copies a float tensor to float64.
func values(t *tensor.Tensor) []float64 {
	v := make([]float64, t.Shape().NumElements())
	for i := range v {
		v[i] = t.Float64At(i)
	}
	return v
}

func sum(t *tensor.Tensor) float64 {
	s := 0.0
	for _, v := range values(t) {
		s += v
	}
	return s
}

// negMIPerFilter is −MI(X;T) of eq. 1 with X the batch, for the maps
// [B,C,H,W] multiplied by scale, averaged over the C filters, in float64.
func negMIPerFilter(x *tensor.Tensor, tpl losses.Templates, scale float64) float64 {
	s := x.Shape()
	bN, cN, n := s[0], s[1], s[2]*s[3]
	v := values(x)
	total := 0.0
	scores := make([][]float64, bN)
	for c := range cN {
		for b := range bN {
			scores[b] = make([]float64, tpl.K)
			for k := range tpl.K {
				acc := 0.0
				for q := range n {
					acc += scale * v[(b*cN+c)*n+q] * tpl.Values[k][q]
				}
				scores[b][k] = acc
			}
		}
		// log Z̄_k = logsumexp_b s_bk − log B; log q_bk = s_bk − log Z̄_k
		logZ := make([]float64, tpl.K)
		for k := range tpl.K {
			col := make([]float64, bN)
			for b := range bN {
				col[b] = scores[b][k]
			}
			logZ[k] = logSumExp(col) - math.Log(float64(bN))
		}
		mi := 0.0
		for b := range bN {
			lj := make([]float64, tpl.K)
			for k := range tpl.K {
				lj[k] = scores[b][k] - logZ[k] + tpl.LogPrior[k]
			}
			lp := logSumExp(lj)
			for k := range tpl.K {
				mi += math.Exp(lj[k]) * (scores[b][k] - logZ[k] - lp)
			}
		}
		total += -mi / float64(bN)
	}
	return total / float64(cN)
}

func logSumExp(v []float64) float64 {
	m := math.Inf(-1)
	for _, x := range v {
		m = math.Max(m, x)
	}
	s := 0.0
	for _, x := range v {
		s += math.Exp(x - m)
	}
	return m + math.Log(s)
}

// InvestigateParts writes, for each finished run in runDirs, its test
// and train accuracy and the part interpretability and location
// instability (head, front legs: Table 3's landmarks) of its top layer (the
// inserted conv of an interpretable network, conv5 of an ordinary one),
// with the reproduction's on-unit share 0.005·196/(H·W) and categories, as
// internal/reproduce measures its tables. host runs the plugins.
func InvestigateParts(ctx context.Context, w io.Writer, host *pluginhost.Host, runDirs []string) error {
	b, err := backends.New("gorgonia")
	if err != nil {
		return err
	}
	for _, dir := range runDirs {
		if err := investigateRunParts(ctx, w, host, b, dir); err != nil {
			return fmt.Errorf("%s: %w", dir, err)
		}
	}
	return nil
}

func investigateRunParts(ctx context.Context, w io.Writer, host *pluginhost.Host, b backends.Backend, dir string) error {
	x, err := openInvestigatedLayer(host, b, dir)
	if err != nil {
		return err
	}
	defer x.sess.Close()
	var m Metrics
	if err := x.run.ReadMetrics(&m); err != nil {
		return err
	}
	pi, err := metricsrun.PartInterpretability(ctx, host, x.acts, x.set, x.geom, x.cfg.Data.Task, x.test.ClassNames(), x.partParams(nil))
	if err != nil {
		return err
	}
	lm, _ := json.Marshal(map[string]any{"landmarks": []string{"head", "front_legs"}})
	in, err := metricsrun.LocationInstability(ctx, host, x.acts, x.set, x.geom, x.cfg.Data.Task, x.test.ClassNames(), lm)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%s: test accuracy %.4f, train accuracy %.4f; %s: part interpretability %.3f, location instability %.4f\n",
		filepath.Base(dir), m.TestAccuracy, m.TrainAccuracy, x.layer, pi.Mean, in.Mean)
	return nil
}

// investigatedLayerRun is a finished run restored into an open session, with
// its interpreted layer's activations on the test split and the one
// receptive-field geometry that places them on the image: what every
// per-run investigation starts from. The caller closes sess.
type investigatedLayerRun struct {
	run   *runstore.Run
	cfg   Config
	sess  *Session
	layer string
	units int // the layer's map side
	test  data.Dataset
	set   *parts.Set
	acts  *tensor.Tensor
	geom  parts.Geometry
}

func openInvestigatedLayer(host *pluginhost.Host, b backends.Backend, dir string) (*investigatedLayerRun, error) {
	run, cfg, err := loadInvestigatedRun(dir)
	if err != nil {
		return nil, err
	}
	sess, err := Reopen(run, cfg, Options{Backend: b, Device: "cpu", Plugins: host})
	if err != nil {
		return nil, err
	}
	x := &investigatedLayerRun{run: run, cfg: cfg, sess: sess}
	fail := func(err error) (*investigatedLayerRun, error) {
		sess.Close()
		return nil, err
	}
	x.layer = investigatedLayer(sess)
	info, _ := sess.Model.Layer(x.layer)
	x.units = info.Size
	if x.test, x.set, err = investigatedTestSet(sess); err != nil {
		return fail(err)
	}
	if x.acts, _, err = sess.Extract(x.layer, x.test, 0); err != nil {
		return fail(err)
	}
	x.geom = parts.Geometry{Size: info.RF.Size, Jump: info.RF.Jump, Start: info.RF.Start,
		ImageWidth: x.test.ImageSize(), ImageHeight: x.test.ImageSize()}
	return x, nil
}

// partParams are the part-interpretability parameters of the tables (the
// paper's 0.005 on-unit share rescaled to the map size), plus extra.
func (x *investigatedLayerRun) partParams(extra map[string]any) json.RawMessage {
	params := map[string]any{"top_fraction": min(1, 0.005*196/float64(x.units*x.units))}
	for k, v := range extra {
		params[k] = v
	}
	b, _ := json.Marshal(params)
	return b
}

// PretrainedOptions are the settings of InvestigatePretrained.
type PretrainedOptions struct {
	// Source is the finished run whose conv1–conv5 start the new runs.
	Source string
	// Store is the run store the new runs go to. Their identity does not
	// record the initialisation, so keep that store apart.
	Store string
	// Seed seeds the new runs.
	Seed uint64
	// Variants picks among "ord", "l1mi" and "l1none"; empty: all three.
	Variants []string
}

// PretrainedVariants are the networks InvestigatePretrained trains: the
// ordinary one, l1 masks with the mutual-information loss, and l1 masks
// alone.
var PretrainedVariants = []string{"ord", "l1mi", "l1none"}

// InvestigatePretrained trains the default single-category VGG-M,
// ordinary and interpretable (l1+mi, and l1 masks alone), from conv1–conv5
// copied out of another finished run (opts.Source): the paper fine-tunes
// ImageNet-pretrained networks (the authors' vgg_m.m loads
// imagenet-vgg-m.mat and adds the masked layers on top) where our runs
// start from scratch. The new layers and the fully connected part start
// fresh. Each finished run's accuracies are written to w.
func InvestigatePretrained(ctx context.Context, w io.Writer, host *pluginhost.Host, opts PretrainedOptions) error {
	for _, v := range opts.Variants {
		if !slices.Contains(PretrainedVariants, v) {
			return fmt.Errorf("variant %q is not one of %s", v, strings.Join(PretrainedVariants, ", "))
		}
	}
	srcRun, err := runstore.Load(opts.Source)
	if err != nil {
		return err
	}
	ckpt, err := srcRun.LoadCheckpoint()
	if err != nil {
		return err
	}
	store, err := runstore.Open(opts.Store)
	if err != nil {
		return err
	}
	b, err := backends.New("gorgonia")
	if err != nil {
		return err
	}
	for _, v := range []struct{ name, mask, loss string }{{"ord", "", ""}, {"l1mi", "l1", "mi"}, {"l1none", "l1", "none"}} {
		if len(opts.Variants) > 0 && !slices.Contains(opts.Variants, v.name) {
			continue
		}
		cfg := Defaults()
		cfg.Seed = opts.Seed
		cfg.Name = fmt.Sprintf("pre-%s-s%d", v.name, opts.Seed)
		if v.mask != "" {
			cfg.Interpretable.Enabled, cfg.Interpretable.Mask, cfg.Interpretable.Loss = true, v.mask, v.loss
		}
		if err := trainPretrained(ctx, w, host, b, store, cfg, ckpt); err != nil {
			return fmt.Errorf("%s: %w", cfg.Name, err)
		}
	}
	return nil
}

func trainPretrained(ctx context.Context, w io.Writer, host *pluginhost.Host, b backends.Backend, store *runstore.Store, cfg Config, ckpt map[string]*tensor.Tensor) error {
	opts := Options{Backend: b, Device: "cpu", Plugins: host, Store: store, Threads: 1}
	sess, err := Open(cfg, opts)
	if err != nil {
		return err
	}
	defer sess.Close()
	for _, l := range []string{"conv1", "conv2", "conv3", "conv4", "conv5"} {
		for _, p := range []string{"/w", "/b"} {
			if err := sess.Exec.Write(l+p, ckpt[l+p]); err != nil {
				return fmt.Errorf("copy %s%s from the source run: %w", l, p, err)
			}
		}
	}
	id, err := Identity(sess.Config, sess.Train, b.Name(), "cpu", sess.Plugins)
	if err != nil {
		return err
	}
	run, existed, err := store.Create(cfg.Name, id, cfg.Seed, []string{b.Description()})
	if err != nil {
		return err
	}
	if existed {
		fmt.Fprintf(w, "%s exists; skipped\n", run.Dir)
		return nil
	}
	res, err := sess.resumeAndTrain(ctx, run, opts, &Result{Run: run}, false)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%s: test accuracy %.4f, train accuracy %.4f (%s)\n", cfg.Name, res.Metrics.TestAccuracy, res.Metrics.TrainAccuracy, run.Dir)
	return nil
}

// InvestigateFirstSteps traces the first 12 training steps (loss terms and
// the interpretable layers' mean max activation) of settings that
// diverged: a constant λ = 10, the loss's τ ×100 (paper schedule), and
// small64 at width 0.5 with the defaults, and writes the traces to w.
func InvestigateFirstSteps(w io.Writer, host *pluginhost.Host) error {
	b, err := backends.New("gorgonia")
	if err != nil {
		return err
	}
	const10 := Defaults()
	const10.Interpretable.Enabled, const10.Interpretable.LambdaSchedule, const10.Interpretable.Lambda = true, "constant", 10
	tau100 := Defaults()
	tau100.Interpretable.Enabled = true
	tau100.Interpretable.LossParams = json.RawMessage(`{"tau":1.3888889}`)
	small := Defaults()
	small.Model = ModelConfig{Arch: "small64", Width: 0.5, Dropout: 0.5, Loss: "logistic"}
	small.Interpretable.Enabled = true
	for _, c := range []struct {
		name string
		cfg  Config
	}{{"vgg-m l1+mi, constant λ = 10", const10}, {"vgg-m l1+mi, τ ×100, paper λ", tau100}, {"small64 w0.5 l1+mi, defaults", small}} {
		trace, err := traceFirstSteps(c.cfg, b, host)
		if err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
		fmt.Fprintf(w, "== %s: %s", c.name, trace)
	}
	return nil
}

func traceFirstSteps(cfg Config, b backends.Backend, host *pluginhost.Host) (string, error) {
	sess, err := Open(cfg, Options{Backend: b, Device: "cpu", Plugins: host})
	if err != nil {
		return "", err
	}
	defer sess.Close()
	var ls loopState
	if err := sess.startEpoch(&ls, 0); err != nil {
		return "", err
	}
	var w strings.Builder
	fmt.Fprintf(&w, "λ %.4g\n  step  classification  filter  mean max (%s)\n", ls.Lambda, strings.Join(sess.topOutputs, ", "))
	const steps = 12
	if n := sess.Train.Len(); n < steps*cfg.Batch {
		return "", fmt.Errorf("the trace takes %d steps of %d training images, the training set has %d", steps, cfg.Batch, n)
	}
	order := data.EpochOrder(sess.Train.Len(), cfg.Seed, 0)
	for step := range steps {
		idx := order[step*cfg.Batch : (step+1)*cfg.Batch]
		images, targets, _, err := data.Batch(sess.Train, idx)
		if err != nil {
			return "", err
		}
		sess.Exec.SetLearningRate(cfg.Optimizer.LearningRate(int64(step), sess.StepsPerEpoch()*int64(cfg.Epochs)))
		out, err := sess.Exec.TrainStep(sess.feeds(images, targets, ls.Lambda, 1),
			append([]string{"classification_loss", FilterLossOutput}, sess.topOutputs...)...)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&w, "  %4d  %14.4g  %7.4g ", step, out["classification_loss"].Float64At(0), out[FilterLossOutput].Float64At(0))
		for _, name := range sess.topOutputs {
			mm, _ := losses.MeanMaxActivation(out[name])
			fmt.Fprintf(&w, " %.4g", mm)
		}
		fmt.Fprintln(&w)
	}
	return w.String(), nil
}
