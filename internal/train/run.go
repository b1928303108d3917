package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/internal/data"
	"github.com/icnnlab/icnnlab/internal/memcheck"
	"github.com/icnnlab/icnnlab/internal/pluginhost"
	"github.com/icnnlab/icnnlab/internal/runstore"
	"github.com/icnnlab/icnnlab/internal/zoo"
	"github.com/icnnlab/icnnlab/plugins/losses"
	"github.com/icnnlab/icnnlab/plugins/metrics/accuracy"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// Options are the non-config inputs of a run.
type Options struct {
	Backend backends.Backend
	Device  string
	Store   *runstore.Store
	// Progress receives a progress bar (nil: none). Log receives one line
	// per epoch (nil: none).
	Progress io.Writer
	Log      io.Writer
	// Force retrains even when a finished run with the same identity exists.
	Force bool
	// Threads caps backend CPU threads (0: backend default).
	Threads int
	// Activations adds every conv and pool layer as an output
	// "act/<layer>", for Extract.
	Activations bool
	// Plugins runs the mask and loss plugins of interpretable configs.
	Plugins *pluginhost.Host
	// AfterStep, when set, is called after every training step with the
	// number of steps done (after any checkpoint of that step was written).
	AfterStep func(step int64)
	// Data, when set, builds the datasets instead of the built-in
	// data.source loaders; data.source must be its Name (see DataSource).
	Data DataSource
	// KeepOpen makes Run hand its session, holding the run's final
	// weights, to the caller in Result.Session (who closes it), so that
	// measuring a run does not compile and restore it a second time.
	KeepOpen bool
}

// Metrics are a run's final figures.
type Metrics struct {
	Steps         int64   `json:"steps"`
	Epochs        int     `json:"epochs"`
	TrainLoss     float64 `json:"train_loss"`
	TrainAccuracy float64 `json:"train_accuracy"`
	TestLoss      float64 `json:"test_loss"`
	TestAccuracy  float64 `json:"test_accuracy"`
	TestImages    int     `json:"test_images"`
	WallSeconds   float64 `json:"wall_seconds"`
	ImagesPerSec  float64 `json:"train_images_per_sec"`
}

// Result is a finished (or reused) run.
type Result struct {
	Run     *runstore.Run
	Metrics Metrics
	Reused  bool
	Resumed bool
	// Session is the run's open session with its final weights (reused
	// runs: restored from the checkpoint), when Options.KeepOpen asked
	// for it; the caller closes it.
	Session *Session
}

// ErrNonFinite is wrapped when the loss becomes NaN or Inf.
var ErrNonFinite = errors.New("non-finite loss")

// Identity is what makes two runs the same run.
func Identity(cfg Config, ds data.Dataset, backend, device string, plugins []runstore.PluginRef) (runstore.Identity, error) {
	c := cfg
	c.Name = "" // the name labels a run; it does not change its numbers
	if !c.Interpretable.Enabled {
		c.Interpretable = InterpretableConfig{} // unused settings must not change the key
	}
	cb, err := json.Marshal(c)
	if err != nil {
		return runstore.Identity{}, err
	}
	return runstore.Identity{Kind: "train", Config: cb, Dataset: ds.Spec(), Backend: backend, Device: device, Plugins: plugins}, nil
}

// Session holds a compiled model with its datasets, for training and evaluation.
type Session struct {
	// Config is the resolved config: plugin parameters have their defaults filled in.
	Config Config
	Model  *zoo.Model
	Exec   backends.Executable
	Train  data.Dataset
	Test   data.Dataset
	// Plugins lists the plugins the model was built with.
	Plugins []runstore.PluginRef
	// Weights records the file the parameters started from (InitWeights).
	Weights *runstore.WeightsRef
	// topOutputs are the interpretable layers' feature outputs (λ schedule).
	topOutputs []string
	// lastCheckpoint is the step of the last checkpoint written or restored.
	lastCheckpoint int64
}

// Open builds the datasets and the model and compiles it.
func Open(cfg Config, opts Options) (*Session, error) {
	trainSet, testSet, err := openDatasets(cfg, opts.Data)
	if err != nil {
		return nil, err
	}
	spec := zoo.Spec{
		Arch: cfg.Model.Arch, InputSize: cfg.Data.ImageSize, Width: cfg.Model.Width,
		Classes: trainSet.Classes(), Loss: cfg.Model.Loss, Dropout: cfg.Model.Dropout, Batch: cfg.Batch,
		MinTopMap: cfg.Model.MinTopMap,
	}
	hooks := zoo.Hooks{Activations: opts.Activations, TopLRMult: cfg.Optimizer.TopLRMult}
	var model *zoo.Model
	var parts *interpretableParts
	if cfg.Interpretable.Enabled {
		model, parts, err = buildInterpretable(context.Background(), spec, cfg.Interpretable, cfg.Data.Task, opts.Plugins, hooks)
		if err != nil {
			return nil, err
		}
		cfg.Interpretable.MaskParams, cfg.Interpretable.LossParams = parts.maskParams, parts.lossParams
	} else {
		model, err = zoo.Build(spec, hooks)
		if err != nil {
			return nil, fmt.Errorf("build model: %w", err)
		}
	}
	if err := checkMemory(cfg, model, opts.Device); err != nil {
		return nil, err
	}
	if err := parts.checkPluginOps(model.Graph, opts.Backend.Name(), backends.CapabilitiesOf(opts.Backend)); err != nil {
		return nil, err
	}
	exec, err := opts.Backend.Compile(model.Graph, backends.CompileOptions{
		Device:  opts.Device,
		Seed:    cfg.Seed,
		Threads: opts.Threads,
		Optimizer: backends.Optimizer{
			Kind:         backends.OptimizerKind(cfg.Optimizer.Kind),
			LearningRate: cfg.Optimizer.LR,
			Momentum:     cfg.Optimizer.Momentum,
			WeightDecay:  cfg.Optimizer.WeightDecay,
		}.WithDefaults(),
	})
	if err != nil {
		return nil, fmt.Errorf("compile %s on %s: %w", cfg.Model.Arch, opts.Backend.Name(), parts.blamePlugin(err))
	}
	sess := &Session{Config: cfg, Model: model, Exec: exec, Train: trainSet, Test: testSet}
	if parts != nil {
		sess.Plugins, sess.topOutputs = parts.plugins, parts.topOutputs
	}
	return sess, nil
}

// feeds are the inputs of one step: the batch, plus λ and the epoch for
// interpretable graphs.
func (s *Session) feeds(images, targets *tensor.Tensor, lambda float64, epoch int) map[string]*tensor.Tensor {
	f := map[string]*tensor.Tensor{"images": images, "labels": targets}
	if s.Model.Graph.Leaf(lambdaInput) != nil {
		f[lambdaInput] = tensor.Scalar32(float32(lambda))
	}
	if s.Model.Graph.Leaf(epochInput) != nil {
		f[epochInput] = tensor.Scalar32(float32(epoch))
	}
	return f
}

// Close frees the executable.
func (s *Session) Close() error { return s.Exec.Close() }

// StepsPerEpoch is the number of full batches per epoch (the last partial batch is dropped).
func (s *Session) StepsPerEpoch() int64 { return int64(s.Train.Len() / s.Config.Batch) }

// Run trains cfg to completion (or reuses/resumes an earlier run) and
// evaluates on the test split.
func Run(ctx context.Context, cfg Config, opts Options) (*Result, error) {
	var initRun *runstore.Run
	if cfg.InitFrom != "" {
		var err error
		if initRun, err = FindRun(opts.Store, cfg.InitFrom); err != nil {
			return nil, fmt.Errorf("init_from: %w", err)
		}
		// The identity records the key, never a path of this machine.
		cfg.InitFrom = initRun.Manifest.Key
	}
	sess, err := Open(cfg, opts)
	if err != nil {
		return nil, err
	}
	handedOver := false
	defer func() {
		if !handedOver {
			sess.Close()
		}
	}()
	// hand gives the session to the caller when asked to (Options.KeepOpen).
	hand := func(res *Result, err error) (*Result, error) {
		if err != nil || !opts.KeepOpen {
			return res, err
		}
		if res.Reused {
			if err := sess.Restore(res.Run); err != nil {
				return nil, err
			}
		}
		res.Session, handedOver = sess, true
		return res, nil
	}
	// Only a training run reads the weights file: sessions opened to
	// evaluate a run restore its checkpoint instead.
	if err := sess.LoadInitWeights(opts.Log); err != nil {
		return nil, err
	}

	id, err := Identity(sess.Config, sess.Train, opts.Backend.Name(), opts.Device, sess.Plugins)
	if err != nil {
		return nil, err
	}
	id.Weights = sess.Weights
	name := cfg.Name
	if name == "" {
		name = fmt.Sprintf("%s-%s", cfg.Model.Arch, cfg.Data.Task)
		if cfg.Interpretable.Enabled {
			name += "-icnn"
		}
	}
	run, existed, err := opts.Store.Create(name, id, cfg.Seed, []string{opts.Backend.Description()})
	if err != nil {
		return nil, err
	}
	// One writer per run: another process on the same run (a second copy
	// of a grid task, say) waits here and then reuses what the first made.
	claim, err := run.Claim(ctx, runstore.ClaimOptions{Log: opts.Log})
	if err != nil {
		return nil, err
	}
	defer claim.Release()
	ctx, stop := claim.Context(ctx)
	defer stop()
	res := &Result{Run: run}
	if existed && !opts.Force {
		st, err := run.Status()
		if err == nil && st.State == runstore.Done {
			err := run.ReadMetrics(&res.Metrics)
			if err == nil {
				res.Reused = true
				return hand(res, nil)
			}
			if !errors.Is(err, runstore.ErrCorrupt) {
				return nil, fmt.Errorf("reuse run %s: %w", run.Dir, err)
			}
			// Never reuse a corrupt file: the run evaluates again from its
			// (verified) checkpoint.
			warn(opts, "%v; evaluating the run again", err)
		}
	}
	if initRun != nil {
		if err := sess.initFrom(initRun); err != nil {
			return nil, err
		}
	}
	return hand(sess.resumeAndTrain(ctx, run, opts, res, existed && !opts.Force))
}

// warn writes a warning to opts.Log, else to standard error.
func warn(opts Options, format string, args ...any) {
	w := opts.Log
	if w == nil {
		w = os.Stderr
	}
	fmt.Fprintf(w, "warning: "+format+"\n", args...)
}

func (s *Session) resumeAndTrain(ctx context.Context, run *runstore.Run, opts Options, res *Result, mayResume bool) (*Result, error) {
	cfg := s.Config
	// The running sums of the current epoch travel in the checkpoint, so
	// a resumed run reports the same epoch figures as an uninterrupted one.
	var ls loopState
	// classification_loss and filter_loss (the unweighted sum of the filter
	// losses, 0 for ordinary networks) split train_loss = classification
	// + λ·filter (+ any mask's auxiliary term); mean_max is the epoch's mean
	// max activation of the interpretable layers, from which the paper's
	// schedule sets the next epoch's λ.
	// grad_ratio is |λ·∇filter| / |∇classification| over the interpretable
	// layers' weights on a fixed probe batch at the epoch's start: below
	// 1e-3 the filter loss is inert, far above 1 it dominates.
	history := run.History("step", "epoch", "lr", "lambda", "train_loss", "train_accuracy", "images_per_sec",
		"classification_loss", "filter_loss", "mean_max", "grad_ratio")
	if mayResume {
		ckpt, err := run.LoadCheckpoint()
		switch {
		case err == nil:
			saved, rest := splitLoopState(ckpt)
			if err := s.Exec.Restore(rest); err != nil {
				return nil, fmt.Errorf("resume %s: %w", run.Dir, err)
			}
			ls = saved
			res.Resumed = true
			s.lastCheckpoint = s.Exec.Step()
		case errors.Is(err, runstore.ErrCorrupt):
			// Never resume from a corrupt checkpoint: set it aside and
			// train from the start.
			aside, qerr := run.Quarantine(runstore.CheckpointFile)
			if qerr != nil {
				return nil, fmt.Errorf("resume %s: %w; %w", run.Dir, err, qerr)
			}
			warn(opts, "%v; it is kept as %s and the run trains from the start", err, aside)
		case !errors.Is(err, runstore.ErrNoCheckpoint):
			return nil, fmt.Errorf("resume %s: %w", run.Dir, err)
		}
	}
	if err := history.Truncate(s.Exec.Step()); err != nil {
		return nil, err
	}
	if err := run.SetStatus(runstore.Status{State: runstore.Running, Step: s.Exec.Step(), LastGood: s.Exec.Step()}); err != nil {
		return nil, err
	}

	perEpoch := s.StepsPerEpoch()
	total := perEpoch * int64(cfg.Epochs)
	var bar *progressbar.ProgressBar
	if opts.Progress != nil {
		bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(opts.Progress),
			progressbar.OptionSetDescription(run.Manifest.Name),
			progressbar.OptionShowCount(),
			progressbar.OptionSetWidth(24),
			progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
		bar.Set64(s.Exec.Step())
	}
	start := time.Now()
	startStep := s.Exec.Step()
	fail := func(step int64, err error) (*Result, error) {
		st, _ := run.Status()
		st.State, st.Step, st.Error = runstore.Failed, step, err.Error()
		run.SetStatus(st)
		return nil, err
	}

	for step := s.Exec.Step(); step < total; step = s.Exec.Step() {
		if err := ctx.Err(); err != nil {
			// Interrupted (SIGTERM, a batch system's pre-timeout signal):
			// checkpoint here so that a rerun resumes rather than restarts.
			if step > s.lastCheckpoint {
				if cerr := s.checkpoint(run, step, ls); cerr != nil {
					return fail(step, fmt.Errorf("%w (and the checkpoint on interruption failed: %v)", context.Cause(ctx), cerr))
				}
			}
			return fail(step, fmt.Errorf("interrupted at step %d (checkpoint saved; a rerun resumes): %w", step, context.Cause(ctx)))
		}
		epoch := int(step / perEpoch)
		within := step % perEpoch
		if within == 0 {
			if err := s.startEpoch(&ls, epoch); err != nil {
				return fail(step, err)
			}
		}
		order := data.EpochOrder(s.Train.Len(), cfg.Seed, epoch)
		idx := order[within*int64(cfg.Batch) : (within+1)*int64(cfg.Batch)]
		images, targets, labels, err := data.Batch(s.Train, idx)
		if err != nil {
			return fail(step, err)
		}
		lr := cfg.Optimizer.LearningRateAt(step, total, perEpoch)
		s.Exec.SetLearningRate(lr)
		outputs := append([]string{"loss", "logits", "classification_loss"}, s.topOutputs...)
		if s.Model.Graph.Output(FilterLossOutput) != nil {
			outputs = append(outputs, FilterLossOutput)
		}
		out, err := s.Exec.TrainStep(s.feeds(images, targets, ls.Lambda, epoch+1), outputs...)
		if err != nil {
			return fail(step, fmt.Errorf("step %d: %w", step, err))
		}
		loss := out["loss"].Float64At(0)
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			st, _ := run.Status()
			return fail(step, fmt.Errorf("%w %v at step %d (epoch %d, lr %g); the last good checkpoint is at step %d in %s",
				ErrNonFinite, loss, step, epoch, lr, st.LastGood, run.Path(runstore.CheckpointFile)))
		}
		ls.EpochLoss += loss * float64(len(idx))
		acc, err := accuracy.Score(out["logits"], labels)
		if err != nil {
			return fail(step, fmt.Errorf("step %d: %w", step, err))
		}
		ls.EpochCorrect += float64(acc.Correct)
		ls.EpochSeen += float64(len(idx))
		ls.EpochClassLoss += out["classification_loss"].Float64At(0) * float64(len(idx))
		if f := out[FilterLossOutput]; f != nil {
			ls.EpochFilterLoss += f.Float64At(0) * float64(len(idx))
		}
		for _, name := range s.topOutputs {
			mm, err := losses.MeanMaxActivation(out[name])
			if err != nil {
				return fail(step, err)
			}
			ls.MaxSum += mm
			ls.MaxCount++
		}
		done := s.Exec.Step()
		elapsed := time.Since(start).Seconds()
		ips := float64(done-startStep) * float64(cfg.Batch) / math.Max(elapsed, 1e-9)
		if bar != nil {
			bar.Describe(fmt.Sprintf("%s ep %d/%d loss %.4f acc %.3f %.0f img/s", run.Manifest.Name, epoch+1, cfg.Epochs, ls.EpochLoss/ls.EpochSeen, ls.EpochCorrect/ls.EpochSeen, ips))
			bar.Set64(done)
		}
		endOfEpoch := done%perEpoch == 0
		if endOfEpoch {
			meanMax := 0.0
			if ls.MaxCount > 0 {
				meanMax = ls.MaxSum / ls.MaxCount
			}
			if err := history.Append(done, epoch+1, lr, ls.Lambda, ls.EpochLoss/ls.EpochSeen, ls.EpochCorrect/ls.EpochSeen, ips,
				ls.EpochClassLoss/ls.EpochSeen, ls.EpochFilterLoss/ls.EpochSeen, meanMax, ls.GradRatio); err != nil {
				return fail(done, err)
			}
			if opts.Log != nil {
				fmt.Fprintf(opts.Log, "%s: epoch %d/%d  loss %.4f  accuracy %.3f  %.0f img/s\n",
					run.Manifest.Name, epoch+1, cfg.Epochs, ls.EpochLoss/ls.EpochSeen, ls.EpochCorrect/ls.EpochSeen, ips)
			}
		}
		if endOfEpoch || (cfg.CheckpointEvery > 0 && done%int64(cfg.CheckpointEvery) == 0) {
			if err := s.checkpoint(run, done, ls); err != nil {
				return fail(done, err)
			}
		}
		if opts.AfterStep != nil {
			opts.AfterStep(done)
		}
	}
	if bar != nil {
		bar.Finish()
	}
	if total == 0 && s.lastCheckpoint == 0 {
		// An untrained control (epochs: 0): its checkpoint holds the
		// initial weights, so that measuring, visualising and reusing it
		// work as on any run.
		if err := s.checkpoint(run, 0, ls); err != nil {
			return fail(0, err)
		}
	}
	m, err := s.Evaluate()
	if err != nil {
		return fail(s.Exec.Step(), err)
	}
	m.Steps, m.Epochs = s.Exec.Step(), cfg.Epochs
	if total == 0 {
		// No epoch ran, so there is no running training accuracy: score the
		// initial weights on the training split in evaluation mode.
		if m.TrainLoss, m.TrainAccuracy, err = s.score(s.Train); err != nil {
			return fail(0, fmt.Errorf("evaluate the training split: %w", err))
		}
	} else if ls.EpochSeen > 0 {
		m.TrainLoss, m.TrainAccuracy = ls.EpochLoss/ls.EpochSeen, ls.EpochCorrect/ls.EpochSeen
	} else if rows, err := history.Read(); err == nil && len(rows) > 0 {
		last := rows[len(rows)-1]
		fmt.Sscan(last["train_loss"], &m.TrainLoss)
		fmt.Sscan(last["train_accuracy"], &m.TrainAccuracy)
	}
	m.WallSeconds = time.Since(start).Seconds()
	if n := s.Exec.Step() - startStep; n > 0 {
		m.ImagesPerSec = float64(n) * float64(cfg.Batch) / m.WallSeconds
	}
	if err := run.WriteMetrics(m); err != nil {
		return nil, err
	}
	if err := run.SetStatus(runstore.Status{State: runstore.Done, Step: m.Steps, LastGood: m.Steps}); err != nil {
		return nil, err
	}
	res.Metrics = m
	return res, nil
}

// loopStateKey holds the training loop's own state in a checkpoint.
const loopStateKey = "train/loop_state"

// loopState is what the loop carries across steps besides the backend's
// snapshot: the current epoch's running sums and the filter-loss weight.
type loopState struct {
	EpochLoss, EpochCorrect, EpochSeen float64
	// Lambda is the current epoch's filter-loss weight; MaxSum/MaxCount
	// accumulate mean max activations for the next epoch's λ.
	Lambda, MaxSum, MaxCount float64
	// EpochClassLoss and EpochFilterLoss split EpochLoss (sums over images).
	EpochClassLoss, EpochFilterLoss float64
	// GradRatio is the epoch's filter/classification gradient ratio.
	GradRatio float64
}

func (l loopState) tensor() *tensor.Tensor {
	t, _ := tensor.FromFloat64(tensor.Shape{9}, []float64{l.EpochLoss, l.EpochCorrect, l.EpochSeen, l.Lambda, l.MaxSum, l.MaxCount,
		l.EpochClassLoss, l.EpochFilterLoss, l.GradRatio})
	return t
}

// splitLoopState separates the loop's state from the backend's snapshot.
func splitLoopState(ckpt map[string]*tensor.Tensor) (loopState, map[string]*tensor.Tensor) {
	var l loopState
	rest := make(map[string]*tensor.Tensor, len(ckpt))
	for k, v := range ckpt {
		if k == loopStateKey {
			// Checkpoints written before the loss split hold 6 values,
			// before the gradient ratio 8.
			if f := v.Float64s(); len(f) == 6 || len(f) == 8 || len(f) == 9 {
				l = loopState{EpochLoss: f[0], EpochCorrect: f[1], EpochSeen: f[2], Lambda: f[3], MaxSum: f[4], MaxCount: f[5]}
				if len(f) >= 8 {
					l.EpochClassLoss, l.EpochFilterLoss = f[6], f[7]
				}
				if len(f) == 9 {
					l.GradRatio = f[8]
				}
			}
			continue
		}
		rest[k] = v
	}
	return l, rest
}

// startEpoch resets the epoch sums and sets λ for 0-based epoch from the
// mean max activation of the previous epoch, or, before the first, of one
// probe batch run in evaluation mode.
func (s *Session) startEpoch(l *loopState, epoch int) error {
	meanMax := 0.0
	if l.MaxCount > 0 {
		meanMax = l.MaxSum / l.MaxCount
	}
	*l = loopState{}
	if len(s.topOutputs) == 0 {
		return nil
	}
	if epoch == 0 {
		idx := make([]int, s.Config.Batch)
		for i := range idx {
			idx[i] = i
		}
		images, targets, _, err := data.Batch(s.Train, idx)
		if err != nil {
			return err
		}
		out, err := s.Exec.Run(s.feeds(images, targets, 0, 1), s.topOutputs...)
		if err != nil {
			return fmt.Errorf("probe activations for λ: %w", err)
		}
		sum := 0.0
		for _, name := range s.topOutputs {
			mm, err := losses.MeanMaxActivation(out[name])
			if err != nil {
				return err
			}
			sum += mm
		}
		meanMax = sum / float64(len(s.topOutputs))
	}
	lambda, err := s.Config.Interpretable.lambdaFor(epoch+1, meanMax)
	if err != nil {
		return fmt.Errorf("λ for epoch %d: %w", epoch+1, err)
	}
	l.Lambda = lambda
	if l.GradRatio, err = s.gradRatio(lambda, epoch+1); err != nil {
		return fmt.Errorf("gradient ratio for epoch %d: %w", epoch+1, err)
	}
	return nil
}

// gradRatio measures |λ·∇filter loss| / |∇classification loss| with
// respect to the interpretable layers' weights on the first training
// batch, in evaluation mode: the gradient with λ = 0 is the
// classification's alone, the difference to the one with λ the filter
// loss's share.
func (s *Session) gradRatio(lambda float64, epoch int) (float64, error) {
	if lambda == 0 || len(s.Model.Top) == 0 {
		return 0, nil
	}
	idx := make([]int, s.Config.Batch)
	for i := range idx {
		idx[i] = i
	}
	images, targets, _, err := data.Batch(s.Train, idx)
	if err != nil {
		return 0, err
	}
	var wrt []string
	for _, l := range s.Model.Top {
		wrt = append(wrt, l.Name+"/w")
	}
	class, err := s.Exec.Gradients(backends.Eval, s.feeds(images, targets, 0, epoch), wrt...)
	if err != nil {
		return 0, err
	}
	total, err := s.Exec.Gradients(backends.Eval, s.feeds(images, targets, lambda, epoch), wrt...)
	if err != nil {
		return 0, err
	}
	var classSq, filterSq float64
	for _, name := range wrt {
		c, t := class[name].Float32s(), total[name].Float32s()
		for i := range c {
			classSq += float64(c[i]) * float64(c[i])
			d := float64(t[i]) - float64(c[i])
			filterSq += d * d
		}
	}
	if classSq == 0 {
		return math.Inf(1), nil
	}
	return math.Sqrt(filterSq / classSq), nil
}

func (s *Session) checkpoint(run *runstore.Run, step int64, l loopState) error {
	snap, err := s.Exec.Snapshot()
	if err != nil {
		return fmt.Errorf("checkpoint at step %d: %w", step, err)
	}
	// A step can leave finite loss but non-finite weights; such a snapshot
	// must never replace the last good checkpoint.
	for name, t := range snap {
		if bad, ok := firstNonFinite(t); ok {
			st, _ := run.Status()
			return fmt.Errorf("%w: at step %d the weights diverged: %s holds %v; the last good checkpoint is at step %d in %s",
				ErrNonFinite, step, name, bad, st.LastGood, run.Path(runstore.CheckpointFile))
		}
	}
	snap[loopStateKey] = l.tensor()
	if err := run.SaveCheckpoint(snap); err != nil {
		return fmt.Errorf("checkpoint at step %d: %w", step, err)
	}
	s.lastCheckpoint = step
	return run.SetStatus(runstore.Status{State: runstore.Running, Step: step, LastGood: step})
}

// firstNonFinite returns the first NaN or ±Inf of a float tensor.
func firstNonFinite(t *tensor.Tensor) (float64, bool) {
	switch t.DType() {
	case tensor.Float32:
		for _, v := range t.Float32s() {
			if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
				return f, true
			}
		}
	case tensor.Float64:
		for _, f := range t.Float64s() {
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return f, true
			}
		}
	}
	return 0, false
}

// Evaluate computes loss and accuracy over the whole test split in
// evaluation mode; padded rows of the last batch are not counted.
func (s *Session) Evaluate() (Metrics, error) {
	var m Metrics
	loss, acc, err := s.score(s.Test)
	if err != nil {
		return m, fmt.Errorf("evaluate: %w", err)
	}
	m.TestImages = s.Test.Len()
	m.TestLoss, m.TestAccuracy = loss, acc
	return m, nil
}

// score is the mean loss and the accuracy over all of ds in evaluation
// mode; padded rows of the last batch are not counted.
func (s *Session) score(ds data.Dataset) (loss, acc float64, err error) {
	n := ds.Len()
	var lossSum float64
	correct := 0
	err = s.evalBatches(ds, n, []string{"logits"}, func(b evalBatch) error {
		logits := b.outputs["logits"]
		c := logits.Shape()[1]
		lv := logits.Float32s()
		trimmed, _ := tensor.FromFloat32(tensor.Shape{b.real, c}, lv[:b.real*c])
		acc, err := accuracy.Score(trimmed, b.labels)
		if err != nil {
			return err
		}
		correct += acc.Correct
		lossSum += exampleLosses(lv[:b.real*c], b.targets.Float32s()[:b.real*c], c, s.Config.Model.Loss)
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	return lossSum / float64(n), float64(correct) / float64(n), nil
}

// exampleLosses sums the per-example classification loss in float64, the
// same definition as the graph's loss (mean over outputs for logistic).
func exampleLosses(logits, targets []float32, c int, loss string) float64 {
	total := 0.0
	for b := 0; b < len(logits)/c; b++ {
		row, tgt := logits[b*c:(b+1)*c], targets[b*c:(b+1)*c]
		switch loss {
		case "softmax":
			mx := math.Inf(-1)
			for _, z := range row {
				mx = math.Max(mx, float64(z))
			}
			lse := 0.0
			for _, z := range row {
				lse += math.Exp(float64(z) - mx)
			}
			lse = mx + math.Log(lse)
			for k, z := range row {
				total -= float64(tgt[k]) * (float64(z) - lse)
			}
		default:
			s := 0.0
			for k, z := range row {
				zf := float64(z)
				s += math.Max(zf, 0) - zf*float64(tgt[k]) + math.Log1p(math.Exp(-math.Abs(zf)))
			}
			total += s / float64(c)
		}
	}
	return total
}

// checkMemory refuses, before anything is allocated, a CPU run whose
// training step cannot fit in the memory left (internal/memcheck). A GPU's
// memory is the backend's to judge: there the check does not apply.
func checkMemory(cfg Config, model *zoo.Model, device string) error {
	if device != "" && device != "cpu" {
		return nil
	}
	slots := 0
	switch {
	case cfg.Optimizer.Kind == string(backends.Adam):
		slots = 2
	case cfg.Optimizer.Momentum != 0:
		slots = 1
	}
	return memcheck.Check(memcheck.OfGraph(model.Graph, slots),
		fmt.Sprintf("%s (width %g, %d px) at batch %d", cfg.Model.Arch, cfg.Model.Width, cfg.Data.ImageSize, cfg.Batch))
}
