package reproduce

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/internal/data"
	"github.com/icnnlab/icnnlab/internal/data/synth"
	"github.com/icnnlab/icnnlab/internal/metricsrun"
	"github.com/icnnlab/icnnlab/internal/pluginhost"
	"github.com/icnnlab/icnnlab/internal/runstore"
	"github.com/icnnlab/icnnlab/internal/train"
	"github.com/icnnlab/icnnlab/plugins/metrics/featmap"
	"github.com/icnnlab/icnnlab/plugins/metrics/synthadapter"
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
}

// Execute trains (or reuses) every planned run and measures what the
// tables need, returning the results by run key.
func Execute(ctx context.Context, p *Plan, opts ExecOptions) (map[string]*RunResult, error) {
	log := opts.Log
	if log == nil {
		log = io.Discard
	}
	results := map[string]*RunResult{}
	for k, pr := range p.Runs {
		fmt.Fprintf(log, "run %d of %d: %s\n", k+1, len(p.Runs), pr.Key)
		start := time.Now()
		res, err := train.Run(ctx, pr.Config, train.Options{Backend: opts.Backend, Device: opts.Device, Store: opts.Store,
			Plugins: opts.Plugins, Progress: opts.Progress, Threads: opts.Threads})
		if err != nil {
			return nil, fmt.Errorf("run %s: %w", pr.Key, err)
		}
		rr, err := measure(ctx, p.Scale, pr, res, opts)
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
	s := ""
	if r.Accuracy != nil {
		s += fmt.Sprintf("accuracy %.3f", *r.Accuracy)
	}
	if r.PartInterp != nil {
		s += fmt.Sprintf("  P(%s) %.3f", r.Layer, r.PartInterp.Mean)
	}
	for _, k := range sortedKeys(r.Instability) {
		s += fmt.Sprintf("  D[%s] %.4f", k, r.Instability[k].Mean)
	}
	return s
}

// EvaluatedLayer is the paper's "top conv-layer" of a model: the inserted
// interpretable conv when there is one, else the top conv-layer.
func EvaluatedLayer(s *train.Session) string {
	if n := len(s.Model.Top); n > 0 {
		return s.Model.Top[n-1].Name
	}
	return s.Model.TopConv
}

// measure restores a finished run and computes its metrics on the test
// split through the metric plugins.
func measure(ctx context.Context, scale Scale, pr *PlannedRun, res *train.Result, opts ExecOptions) (*RunResult, error) {
	rr := &RunResult{Key: pr.Key, Arch: pr.Arch, Variant: pr.Variant.Name(), Column: pr.Column, Seed: pr.Seed,
		RunDir: res.Run.Dir, Reused: res.Reused, TrainSeconds: res.Metrics.WallSeconds}
	sess, err := train.Open(pr.Config, train.Options{Backend: opts.Backend, Device: opts.Device, Plugins: opts.Plugins, Threads: opts.Threads})
	if err != nil {
		return nil, err
	}
	defer sess.Close()
	if err := sess.Restore(res.Run); err != nil {
		return nil, err
	}
	test, ok := sess.Test.(*synth.Task)
	if !ok {
		return nil, fmt.Errorf("test split is %T, want the synthetic world (*synth.Task) for annotations", sess.Test)
	}
	if slices.Contains(pr.Metrics, Accuracy) {
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
	if !slices.Contains(pr.Metrics, PartInterpretability) && !slices.Contains(pr.Metrics, LocationInstability) {
		return rr, nil
	}
	rr.Layer = EvaluatedLayer(sess)
	info, ok := sess.Model.Layer(rr.Layer)
	if !ok {
		return nil, fmt.Errorf("layer %s not in the model", rr.Layer)
	}
	acts, _, err := sess.Extract(rr.Layer, test, 0)
	if err != nil {
		return nil, err
	}
	samples := make([]*synth.Sample, test.Len())
	for i := range samples {
		if samples[i], err = test.Sample(i); err != nil {
			return nil, fmt.Errorf("test sample %d: %w", i, err)
		}
	}
	set := synthadapter.FromSamples(samples)
	geom := featmap.Geometry{Size: info.RF.Size, Jump: info.RF.Jump, Start: info.RF.Start,
		ImageWidth: test.ImageSize(), ImageHeight: test.ImageSize()}
	task, categories := "single", []string{pr.Column}
	if IsMulti(pr.Column) {
		task, categories = "multi", test.ClassNames()
	}
	if slices.Contains(pr.Metrics, PartInterpretability) {
		params, _ := json.Marshal(map[string]any{"top_fraction": scale.TopFractionFor(info.Size, info.Size)})
		pi, err := metricsrun.PartInterpretability(ctx, opts.Plugins, acts, set, geom, task, categories, params)
		if err != nil {
			return nil, err
		}
		m := Measure{Mean: pi.Mean}
		for _, f := range pi.Filters {
			m.Filters = append(m.Filters, f.Score)
		}
		rr.PartInterp = &m
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

// extractLogits runs the test split through the network in evaluation
// mode and stacks the logits [N,K] with the labels. The last partial batch
// is padded by repeating its first example; padded rows are dropped.
func extractLogits(s *train.Session, ds data.Dataset) (*tensor.Tensor, []int, error) {
	n, bs := ds.Len(), s.Config.Batch
	k := s.Model.Logits.Shape()[1]
	out := make([]float32, 0, n*k)
	labels := make([]int, 0, n)
	for start := 0; start < n; start += bs {
		real := min(bs, n-start)
		idx := make([]int, bs)
		for i := range idx {
			idx[i] = start + min(i, real-1)
		}
		images, targets, lab, err := data.Batch(ds, idx)
		if err != nil {
			return nil, nil, fmt.Errorf("logits: %w", err)
		}
		res, err := s.Exec.Run(map[string]*tensor.Tensor{"images": images, "labels": targets}, "logits")
		if err != nil {
			return nil, nil, fmt.Errorf("logits: %w", err)
		}
		out = append(out, res["logits"].Float32s()[:real*k]...)
		labels = append(labels, lab[:real]...)
	}
	t, err := tensor.FromFloat32(tensor.Shape{n, k}, out)
	return t, labels, err
}
