package train

// The measurements of docs/investigations/interpretable-accuracy.md. They
// train nothing; they open a model at initialisation (or restore a finished
// run) and print, for a few training batches:
//
//   - the classification loss, the filter loss and the λ the paper schedule
//     gives;
//   - per interpretable layer: the mean max activation of the pre-mask maps,
//     the share of the activation mass the mask lets through, and −MI(X;T)
//     per filter (eq. 1, float64) for the maps as they are and scaled by
//     10, 100 and 1000, next to its floor −H(T);
//   - the norms of the gradients of the classification loss and of
//     λ·filter loss with respect to each conv layer's weights.
//
// Run with an icnnlab binary that serves the built-in plugins:
//
//	go build -o /tmp/icnn ./cmd/icnnlab
//	ICNNLAB_INVESTIGATE=/tmp/icnn go test -run TestInvestigate -v ./internal/train
//
// ICNNLAB_INVESTIGATE_RUNS (colon-separated run directories) adds finished
// interpretable runs, diagnosed at their final checkpoint.

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/internal/data"
	"github.com/icnnlab/icnnlab/internal/data/synth"
	"github.com/icnnlab/icnnlab/internal/metricsrun"
	"github.com/icnnlab/icnnlab/internal/pluginhost"
	"github.com/icnnlab/icnnlab/internal/runstore"
	"github.com/icnnlab/icnnlab/internal/zoo"
	"github.com/icnnlab/icnnlab/plugins/losses"
	_ "github.com/icnnlab/icnnlab/plugins/reference"
	"github.com/icnnlab/icnnlab/sdk/parts"
	"github.com/icnnlab/icnnlab/sdk/plugin"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

func TestInvestigateInterpretableScale(t *testing.T) {
	host := investigationHost(t)

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
	for _, dir := range filepath.SplitList(os.Getenv("ICNNLAB_INVESTIGATE_RUNS")) {
		if dir == "" {
			continue
		}
		run, err := runstore.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		var c Config
		if err := json.Unmarshal(run.Manifest.Config, &c); err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		cases = append(cases, diagCase{name: filepath.Base(dir) + ", trained", cfg: c, run: run})
	}
	for _, dc := range cases {
		report, err := diagnose(dc.cfg, dc.run, host)
		if err != nil {
			t.Fatalf("%s: %v", dc.name, err)
		}
		t.Logf("== %s\n%s", dc.name, report)
	}
}

// preMaskOutput names the added output holding a layer's map before the mask.
func preMaskOutput(layer string) string { return "premask/" + layer }

// TestInvestigateParts below measures finished runs.

// diagnose opens cfg's interpretable model (with the pre-mask maps as
// extra outputs), restores run when given, and measures four training
// batches in evaluation mode.
func diagnose(cfg Config, run *runstore.Run, host *pluginhost.Host) (string, error) {
	trainSet, _, err := openDatasets(cfg, nil)
	if err != nil {
		return "", err
	}
	spec := zoo.Spec{Arch: cfg.Model.Arch, InputSize: cfg.Data.ImageSize, Width: cfg.Model.Width,
		Classes: trainSet.Classes(), Loss: cfg.Model.Loss, Dropout: cfg.Model.Dropout, Batch: cfg.Batch}
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

// TestInvestigateParts prints test accuracy, part interpretability and
// location instability (head, front legs: Table 3's landmarks) of the top
// layer (the inserted conv of an interpretable network, conv5 of an
// ordinary one) for each run of ICNNLAB_INVESTIGATE_RUNS, with the
// reproduction's on-unit share 0.005·196/(H·W) and categories, as
// internal/reproduce measures its tables.
func TestInvestigateParts(t *testing.T) {
	bin := os.Getenv("ICNNLAB_INVESTIGATE")
	if bin == "" {
		t.Skip("set ICNNLAB_INVESTIGATE to an icnnlab binary to print the investigation's measurements")
	}
	host := pluginhost.New(pluginhost.Options{
		CallTimeout: 5 * time.Minute,
		Logger:      hclog.NewNullLogger(),
		BuiltinCommand: func(ref plugin.Ref) (*exec.Cmd, error) {
			return exec.Command(bin, "plugin", "serve", ref.String()), nil
		},
	})
	defer host.Close()
	b, err := backends.New("gorgonia")
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range filepath.SplitList(os.Getenv("ICNNLAB_INVESTIGATE_RUNS")) {
		if dir == "" {
			continue
		}
		run, err := runstore.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		var cfg Config
		if err := json.Unmarshal(run.Manifest.Config, &cfg); err != nil {
			t.Fatal(err)
		}
		var m Metrics
		if err := run.ReadMetrics(&m); err != nil {
			t.Fatal(err)
		}
		sess, err := Open(cfg, Options{Backend: b, Device: "cpu", Plugins: host})
		if err != nil {
			t.Fatal(err)
		}
		if err := sess.Restore(run); err != nil {
			t.Fatal(err)
		}
		layer := sess.Model.TopConv
		if n := len(sess.Model.Top); n > 0 {
			layer = sess.Model.Top[n-1].Name
		}
		info, _ := sess.Model.Layer(layer)
		test := sess.Test.(*synth.Task)
		samples := make([]*synth.Sample, test.Len())
		for i := range samples {
			if samples[i], err = test.Sample(i); err != nil {
				t.Fatal(err)
			}
		}
		set := synth.Annotations(samples)
		acts, _, err := sess.Extract(layer, test, 0)
		if err != nil {
			t.Fatal(err)
		}
		geom := parts.Geometry{Size: info.RF.Size, Jump: info.RF.Jump, Start: info.RF.Start,
			ImageWidth: test.ImageSize(), ImageHeight: test.ImageSize()}
		params, _ := json.Marshal(map[string]any{"top_fraction": min(1, 0.005*196/float64(info.Size*info.Size))})
		pi, err := metricsrun.PartInterpretability(context.Background(), host, acts, set, geom, cfg.Data.Task, test.ClassNames(), params)
		if err != nil {
			t.Fatal(err)
		}
		lm, _ := json.Marshal(map[string]any{"landmarks": []string{"head", "front_legs"}})
		in, err := metricsrun.LocationInstability(context.Background(), host, acts, set, geom, cfg.Data.Task, test.ClassNames(), lm)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: test accuracy %.4f, train accuracy %.4f; %s: part interpretability %.3f, location instability %.4f",
			filepath.Base(dir), m.TestAccuracy, m.TrainAccuracy, layer, pi.Mean, in.Mean)
		sess.Close()
	}
}

// TestInvestigatePretrained trains the default single-category VGG-M,
// ordinary and interpretable (l1+mi, and l1 masks alone), from conv1–conv5
// copied out of another finished run (ICNNLAB_INVESTIGATE_PRETRAINED): the
// paper fine-tunes ImageNet-pretrained networks (the authors' vgg_m.m
// loads imagenet-vgg-m.mat and adds the masked layers on top) where our
// runs start from scratch. The new layers and the fully connected part
// start fresh. The runs go to ICNNLAB_INVESTIGATE_STORE; their identity
// does not record the initialisation, so keep that store apart.
func TestInvestigatePretrained(t *testing.T) {
	bin, src, root := os.Getenv("ICNNLAB_INVESTIGATE"), os.Getenv("ICNNLAB_INVESTIGATE_PRETRAINED"), os.Getenv("ICNNLAB_INVESTIGATE_STORE")
	if bin == "" || src == "" || root == "" {
		t.Skip("set ICNNLAB_INVESTIGATE, ICNNLAB_INVESTIGATE_PRETRAINED (a run to take conv1–conv5 from) and ICNNLAB_INVESTIGATE_STORE")
	}
	srcRun, err := runstore.Load(src)
	if err != nil {
		t.Fatal(err)
	}
	ckpt, err := srcRun.LoadCheckpoint()
	if err != nil {
		t.Fatal(err)
	}
	host := pluginhost.New(pluginhost.Options{
		CallTimeout: time.Minute,
		Logger:      hclog.NewNullLogger(),
		BuiltinCommand: func(ref plugin.Ref) (*exec.Cmd, error) {
			return exec.Command(bin, "plugin", "serve", ref.String()), nil
		},
	})
	defer host.Close()
	store, err := runstore.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	b, err := backends.New("gorgonia")
	if err != nil {
		t.Fatal(err)
	}
	seed := uint64(1)
	if s := os.Getenv("ICNNLAB_INVESTIGATE_SEED"); s != "" {
		fmt.Sscan(s, &seed)
	}
	only := os.Getenv("ICNNLAB_INVESTIGATE_VARIANTS") // e.g. "ord,l1mi"; empty: all
	for _, v := range []struct{ name, mask, loss string }{{"ord", "", ""}, {"l1mi", "l1", "mi"}, {"l1none", "l1", "none"}} {
		if only != "" && !strings.Contains(","+only+",", ","+v.name+",") {
			continue
		}
		cfg := Defaults()
		cfg.Seed = seed
		cfg.Name = fmt.Sprintf("pre-%s-s%d", v.name, seed)
		if v.mask != "" {
			cfg.Interpretable.Enabled, cfg.Interpretable.Mask, cfg.Interpretable.Loss = true, v.mask, v.loss
		}
		opts := Options{Backend: b, Device: "cpu", Plugins: host, Store: store, Threads: 1}
		sess, err := Open(cfg, opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range []string{"conv1", "conv2", "conv3", "conv4", "conv5"} {
			for _, p := range []string{"/w", "/b"} {
				if err := sess.Exec.Write(l+p, ckpt[l+p]); err != nil {
					t.Fatal(err)
				}
			}
		}
		id, err := Identity(sess.Config, sess.Train, b.Name(), "cpu", sess.Plugins)
		if err != nil {
			t.Fatal(err)
		}
		run, existed, err := store.Create(cfg.Name, id, cfg.Seed, []string{b.Description()})
		if err != nil {
			t.Fatal(err)
		}
		if existed {
			t.Logf("%s exists; skipped", run.Dir)
			sess.Close()
			continue
		}
		res, err := sess.resumeAndTrain(context.Background(), run, opts, &Result{Run: run}, false)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: test accuracy %.4f, train accuracy %.4f (%s)", cfg.Name, res.Metrics.TestAccuracy, res.Metrics.TrainAccuracy, run.Dir)
		sess.Close()
	}
}

// TestInvestigateFirstSteps traces the first training steps (loss terms
// and the interpretable layers' mean max activation) of settings that
// diverged: a constant λ = 10, the loss's τ ×100 (paper schedule), and
// small64 at width 0.5 with the defaults.
func TestInvestigateFirstSteps(t *testing.T) {
	host := investigationHost(t)
	b, err := backends.New("gorgonia")
	if err != nil {
		t.Fatal(err)
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
		sess, err := Open(c.cfg, Options{Backend: b, Device: "cpu", Plugins: host})
		if err != nil {
			t.Fatal(err)
		}
		var ls loopState
		if err := sess.startEpoch(&ls, 0); err != nil {
			t.Fatal(err)
		}
		var w strings.Builder
		fmt.Fprintf(&w, "λ %.4g\n  step  classification  filter  mean max (%s)\n", ls.Lambda, strings.Join(sess.topOutputs, ", "))
		order := data.EpochOrder(sess.Train.Len(), c.cfg.Seed, 0)
		for step := range 12 {
			idx := order[step*c.cfg.Batch : (step+1)*c.cfg.Batch]
			images, targets, _, err := data.Batch(sess.Train, idx)
			if err != nil {
				t.Fatal(err)
			}
			sess.Exec.SetLearningRate(c.cfg.Optimizer.LearningRate(int64(step), sess.StepsPerEpoch()*int64(c.cfg.Epochs)))
			out, err := sess.Exec.TrainStep(sess.feeds(images, targets, ls.Lambda, 1),
				append([]string{"classification_loss", FilterLossOutput}, sess.topOutputs...)...)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&w, "  %4d  %14.4g  %7.4g ", step, out["classification_loss"].Float64At(0), out[FilterLossOutput].Float64At(0))
			for _, name := range sess.topOutputs {
				mm, _ := losses.MeanMaxActivation(out[name])
				fmt.Fprintf(&w, " %.4g", mm)
			}
			fmt.Fprintln(&w)
		}
		t.Logf("== %s: %s", c.name, w.String())
		sess.Close()
	}
}

// investigationHost serves the built-in plugins from the icnnlab binary
// named by ICNNLAB_INVESTIGATE, and skips the test when it is not set: the
// investigation is run by hand, never in CI.
func investigationHost(t *testing.T) *pluginhost.Host {
	t.Helper()
	bin := os.Getenv("ICNNLAB_INVESTIGATE")
	if bin == "" {
		t.Skip("set ICNNLAB_INVESTIGATE to an icnnlab binary to print the investigation's measurements")
	}
	host := pluginhost.New(pluginhost.Options{
		CallTimeout: time.Minute,
		Logger:      hclog.NewNullLogger(),
		BuiltinCommand: func(ref plugin.Ref) (*exec.Cmd, error) {
			return exec.Command(bin, "plugin", "serve", ref.String()), nil
		},
	})
	t.Cleanup(func() { host.Close() })
	return host
}
