package execute

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/internal/data"
	"github.com/icnnlab/icnnlab/internal/data/catalog"
	"github.com/icnnlab/icnnlab/internal/data/partset"
	"github.com/icnnlab/icnnlab/internal/data/synth"
	"github.com/icnnlab/icnnlab/internal/metricsrun"
	"github.com/icnnlab/icnnlab/internal/pluginhost"
	"github.com/icnnlab/icnnlab/internal/reproduce/plan"
	"github.com/icnnlab/icnnlab/internal/reproduce/spec"
	"github.com/icnnlab/icnnlab/internal/runstore"
	"github.com/icnnlab/icnnlab/internal/train"
	"github.com/icnnlab/icnnlab/sdk/parts"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// ExecOptions are the non-plan inputs of Execute.
type ExecOptions struct {
	Backend backends.Backend
	Device  string
	Store   *runstore.Store
	// Plugins runs the mask, loss and metric plugins (all out of process).
	Plugins *pluginhost.Host
	// Log receives "run k of n" lines and per-run summaries; Progress the
	// training progress bar (nil: none).
	Log      io.Writer
	Progress io.Writer
	Threads  int
	// Sources are the opened real datasets the plan's runs use (--data).
	Sources catalog.Sources
	// AfterStep, when set, is called after every training step (see
	// train.Options.AfterStep).
	AfterStep func(step int64)
}

// dataSource is the train.DataSource of a run (nil: the synthetic world).
func (o ExecOptions) dataSource(pr *plan.PlannedRun) (train.DataSource, error) {
	if pr.Dataset == "" {
		return nil, nil
	}
	src, ok := o.Sources[pr.Dataset]
	if !ok {
		return nil, fmt.Errorf("run %s: dataset %s was not opened (--data %s=PATH)", pr.Key, pr.Dataset, pr.Dataset)
	}
	return src, nil
}

// Execute trains (or reuses) every planned run and measures what the
// tables need, returning the results by run key.
func Execute(ctx context.Context, p *plan.Plan, opts ExecOptions) (map[string]*RunResult, error) {
	log := opts.Log
	if log == nil {
		log = io.Discard
	}
	if err := Preflight(p, opts.Sources, log); err != nil {
		return nil, err
	}
	results := map[string]*RunResult{}
	for k, pr := range p.Runs {
		fmt.Fprintf(log, "run %d of %d: %s\n", k+1, len(p.Runs), pr.Key)
		start := time.Now()
		src, err := opts.dataSource(pr)
		if err != nil {
			return nil, err
		}
		cfg := pr.Config
		if pr.Pretrain != "" {
			if pre, ok := results[pr.Pretrain]; ok && pre.RunKey != "" {
				cfg.InitFrom = pre.RunKey
			} else {
				// Executed alone (a grid task): the pretraining run must
				// already be finished in the store.
				run, err := train.FinishedRun(plan.PretrainConfig(p.Scale, pr.Arch), train.Options{Backend: opts.Backend, Device: opts.Device, Store: opts.Store})
				if err != nil {
					return nil, fmt.Errorf("run %s: pretraining run %s: %w", pr.Key, pr.Pretrain, err)
				}
				if run == nil {
					return nil, fmt.Errorf("run %s: its pretraining run %s has not finished in %s (plans list it first; run it first)", pr.Key, pr.Pretrain, opts.Store.Root)
				}
				cfg.InitFrom = run.Manifest.Key
			}
		}
		res, err := train.Run(ctx, cfg, train.Options{Backend: opts.Backend, Device: opts.Device, Store: opts.Store,
			Plugins: opts.Plugins, Progress: opts.Progress, Threads: opts.Threads, Data: src, AfterStep: opts.AfterStep, KeepOpen: true})
		if err != nil {
			return nil, fmt.Errorf("run %s: %w", pr.Key, err)
		}
		run := *pr
		run.Config = cfg
		rr, err := measure(ctx, p.Scale, &run, res, opts)
		res.Session.Close()
		if err != nil {
			return nil, fmt.Errorf("run %s (%s): %w", pr.Key, res.Run.Dir, err)
		}
		results[pr.Key] = rr
		how := "trained"
		if res.Reused {
			how = "reused"
		}
		fmt.Fprintf(log, "  %s %s in %.0f s: %s\n", how, res.Run.Dir, time.Since(start).Seconds(), rr.summary())
	}
	return results, nil
}

func (r *RunResult) summary() string {
	s := fmt.Sprintf("train %.3f test %.3f", r.TrainAccuracy, r.TestAccuracy)
	if p := r.LearnedProblem(); p != "" && r.Role == "" && !r.Untrained() {
		s += " (did not learn)"
	}
	if h := r.FilterLoss; h != nil && len(h.GradRatio) > 0 {
		s += fmt.Sprintf("  filter/class grad %.2g…%.2g", h.GradRatio[0], h.GradRatio[len(h.GradRatio)-1])
		if h.Inert {
			s += " (inert)"
		}
		if h.Runaway {
			s += " (runaway)"
		}
	}
	if r.PartInterp != nil {
		s += fmt.Sprintf("  P(%s) %.3f", r.Layer, r.PartInterp.Mean)
	}
	for _, k := range slices.Sorted(maps.Keys(r.Instability)) {
		s += fmt.Sprintf("  D[%s] %.4f", k, r.Instability[k].Mean)
	}
	return s
}

// EvaluatedLayer is the paper's "top conv-layer" of a model: the inserted
// interpretable conv when there is one, else the top conv-layer.
func EvaluatedLayer(s *train.Session) string { return s.Model.EvaluatedLayer() }

// hasFilterLoss says whether a variant trains with a filter loss whose
// history (gradient ratio, inert or runaway) the report shows. A variant
// without one (the mask-only ablation l1+none) has nothing to be live or
// inert: its gradient ratio is 0 by construction.
// An untrained control has no epochs, so no history either.
func hasFilterLoss(v spec.Variant) bool { return v.Interpretable && v.Loss != "none" && !v.Untrained }

// measure computes a finished run's metrics on the test split through the
// metric plugins, on the session train.Run handed over (res.Session).
func measure(ctx context.Context, scale spec.Scale, pr *plan.PlannedRun, res *train.Result, opts ExecOptions) (*RunResult, error) {
	rr := &RunResult{Key: pr.Key, Dataset: pr.Dataset, Arch: pr.Arch, Variant: pr.Variant.Name(), Column: pr.Column, Seed: pr.Seed,
		RunDir: filepath.Base(res.Run.Dir), RunKey: res.Run.Manifest.Key, Reused: res.Reused, TrainSeconds: res.Metrics.WallSeconds,
		Role: pr.Role, Pretrain: pr.Config.InitFrom,
		TrainAccuracy: res.Metrics.TrainAccuracy, TestAccuracy: res.Metrics.TestAccuracy}
	if hasFilterLoss(pr.Variant) {
		h, err := filterLossHistory(res.Run)
		if err != nil {
			return nil, err
		}
		rr.FilterLoss = h
	}
	if pr.Role == plan.RolePretrain {
		cfg := pr.Config
		rr.Config = &cfg
		return rr, nil
	}
	sess := res.Session
	cfg := sess.Config
	rr.Config, rr.TrainImages, rr.TestImages = &cfg, sess.Train.Len(), sess.Test.Len()
	test := sess.Test
	rr.Chance = chance(test)
	if len(pr.NotApplicable) > 0 {
		// A table says these metrics do not apply: the data must agree.
		a, ok := test.(partset.Annotated)
		if !ok {
			return nil, fmt.Errorf("%v declared not applicable, but the test set (%T) cannot say whether it has part annotations", pr.NotApplicable, test)
		}
		if _, err := a.Annotations([]int{0}); !errors.Is(err, partset.ErrNoPartAnnotations) {
			return nil, fmt.Errorf("%v declared not applicable, but the test set has part annotations (Annotations: %v)", pr.NotApplicable, err)
		}
	}
	if slices.Contains(pr.Metrics, spec.Accuracy) {
		logits, labels, err := extractLogits(sess, test)
		if err != nil {
			return nil, err
		}
		acc, err := metricsrun.Accuracy(ctx, opts.Plugins, logits, labels, nil)
		if err != nil {
			return nil, err
		}
		rr.Accuracy = &acc.Accuracy
	}
	if !slices.Contains(pr.Metrics, spec.PartInterpretability) && !slices.Contains(pr.Metrics, spec.LocationInstability) {
		return rr, nil
	}
	rr.Layer = EvaluatedLayer(sess)
	info, ok := sess.Model.Layer(rr.Layer)
	if !ok {
		return nil, fmt.Errorf("layer %s not in the model", rr.Layer)
	}
	set, err := testAnnotations(test)
	if err != nil {
		return nil, err
	}
	acts, _, err := sess.Extract(rr.Layer, test, 0)
	if err != nil {
		return nil, err
	}
	geom := info.RF.Geometry(test.ImageSize(), test.ImageSize())
	// The single-category task's class is its target category (on a real
	// dataset the dataset's name for the column, e.g. ILSVRC's cattle).
	task, categories := "single", test.ClassNames()
	if spec.IsMulti(pr.Column) {
		task = "multi"
	}
	if slices.Contains(pr.Metrics, spec.PartInterpretability) {
		for k, rule := range append([]spec.RegionRule{scale.Region}, scale.RegionAlternatives...) {
			params, _ := json.Marshal(scale.RegionParams(rule, info.Size, info.Size))
			pi, err := metricsrun.PartInterpretability(ctx, opts.Plugins, acts, set, geom, task, categories, params)
			if err != nil {
				return nil, fmt.Errorf("part interpretability, region %s: %w", rule.Name(), err)
			}
			m := Measure{Mean: pi.Mean}
			for _, f := range pi.Filters {
				m.Filters = append(m.Filters, f.Score)
				m.BestParts = append(m.BestParts, f.BestPart)
			}
			if k == 0 {
				rr.PartInterp = &m
				continue
			}
			if rr.PartInterpAlt == nil {
				rr.PartInterpAlt = map[string]Measure{}
			}
			rr.PartInterpAlt[rule.Name()] = m
		}
	}
	for _, lms := range pr.LandmarkSets {
		params, _ := json.Marshal(map[string]any{"landmarks": lms})
		in, err := metricsrun.LocationInstability(ctx, opts.Plugins, acts, set, geom, task, categories, params)
		if err != nil {
			return nil, err
		}
		m := Measure{Mean: in.Mean}
		for _, f := range in.Filters {
			if f.Defined {
				m.Filters = append(m.Filters, f.Score)
			}
		}
		if rr.Instability == nil {
			rr.Instability = map[string]Measure{}
		}
		rr.Instability[LandmarkKey(lms)] = m
	}
	return rr, nil
}

// chance is the test accuracy of always answering the most frequent
// class (from the labels when the dataset gives them cheaply, else 1/k).
func chance(ds data.Dataset) float64 {
	k := max(2, ds.Classes())
	labelled, ok := ds.(interface{ Label(int) int })
	if !ok || ds.Len() == 0 {
		return 1 / float64(k)
	}
	counts := map[int]int{}
	best := 0
	for i := range ds.Len() {
		counts[labelled.Label(i)]++
		best = max(best, counts[labelled.Label(i)])
	}
	return float64(best) / float64(ds.Len())
}

// filterLossHistory reads the per-epoch filter-loss columns of a run.
func filterLossHistory(run *runstore.Run) (*FilterLossHistory, error) {
	rows, err := run.History().Read()
	if err != nil {
		return nil, fmt.Errorf("history of %s: %w", run.Dir, err)
	}
	h := &FilterLossHistory{}
	num := func(row map[string]string, col string) float64 {
		v, err := strconv.ParseFloat(row[col], 64)
		if err != nil {
			return math.NaN()
		}
		return v
	}
	for _, row := range rows {
		h.MeanMax = append(h.MeanMax, num(row, "mean_max"))
		h.Lambda = append(h.Lambda, num(row, "lambda"))
		h.Loss = append(h.Loss, num(row, "filter_loss"))
		if _, ok := row["grad_ratio"]; ok {
			h.GradRatio = append(h.GradRatio, num(row, "grad_ratio"))
		}
	}
	h.flag()
	return h, nil
}

// testAnnotations is the part ground truth of every test example, in
// order: from the synthetic world's samples, or from a real dataset's
// annotations (partset.Annotated).
func testAnnotations(test data.Dataset) (*parts.Set, error) {
	switch t := test.(type) {
	case *synth.Task:
		samples := make([]*synth.Sample, t.Len())
		for i := range samples {
			var err error
			if samples[i], err = t.Sample(i); err != nil {
				return nil, fmt.Errorf("test sample %d: %w", i, err)
			}
		}
		return synth.Annotations(samples), nil
	case partset.Annotated:
		idx := make([]int, t.Len())
		for i := range idx {
			idx[i] = i
		}
		set, err := t.Annotations(idx)
		if err != nil {
			return nil, fmt.Errorf("test set annotations: %w", err)
		}
		return set, nil
	}
	return nil, fmt.Errorf("test set %T has no part annotations for the part metrics", test)
}

// extractLogits runs the test split through the network in evaluation
// mode and stacks the logits [N,K] with the labels. The last partial batch
// is padded by repeating its first example; padded rows are dropped.
func extractLogits(s *train.Session, ds data.Dataset) (*tensor.Tensor, []int, error) {
	return s.ExtractOutput("logits", ds, 0)
}
