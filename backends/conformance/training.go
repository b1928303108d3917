package conformance

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// ParamTolerance compares parameters after a few optimizer steps computed by
// the backend in float32 with the same steps computed by hand in float64.
var ParamTolerance = Tolerance{Rel: 1e-5, Abs: 1e-5}

// RunTraining checks the semantics of training steps documented in package
// backends: SGD and Adam updates with per-parameter multipliers, state
// updates, dropout masks, snapshots, Read/Write, feed errors and determinism.
func RunTraining(t *testing.T, newBackend func() (backends.Backend, error)) {
	be := newBackendOrFatal(t, newBackend)
	skipInferenceOnly(t, be)
	t.Run("sgd_momentum_weight_decay", func(t *testing.T) {
		checkOptimizer(t, be, backends.Optimizer{Kind: backends.SGD, LearningRate: 0.1, Momentum: 0.9, WeightDecay: 0.1})
	})
	t.Run("sgd_plain", func(t *testing.T) {
		checkOptimizer(t, be, backends.Optimizer{Kind: backends.SGD, LearningRate: 0.3})
	})
	t.Run("adam", func(t *testing.T) {
		checkOptimizer(t, be, backends.Optimizer{Kind: backends.Adam, LearningRate: 0.05, WeightDecay: 0.1, Beta1: 0.8, Beta2: 0.95})
	})
	t.Run("adam_defaults", func(t *testing.T) {
		checkOptimizer(t, be, backends.Optimizer{Kind: backends.Adam, LearningRate: 0.01})
	})
	t.Run("state_updates", func(t *testing.T) { checkStateUpdates(t, be) })
	t.Run("mode_switch_in_train_step", func(t *testing.T) { checkModeSwitchTraining(t, be) })
	t.Run("dropout_masks", func(t *testing.T) { checkDropoutMasks(t, be) })
	t.Run("dropout_gradients", func(t *testing.T) { checkDropoutGradients(t, be) })
	t.Run("snapshot_restore/sgd", func(t *testing.T) {
		checkSnapshotRestore(t, be, backends.Optimizer{Kind: backends.SGD, LearningRate: 0.1, Momentum: 0.9, WeightDecay: 1e-3})
	})
	t.Run("snapshot_restore/adam", func(t *testing.T) {
		checkSnapshotRestore(t, be, backends.Optimizer{Kind: backends.Adam, LearningRate: 0.01})
	})
	t.Run("read_write", func(t *testing.T) { checkReadWrite(t, be) })
	t.Run("feed_errors", func(t *testing.T) { checkFeedErrors(t, be) })
	t.Run("determinism", func(t *testing.T) { checkDeterminism(t, be) })
}

// handParam is one parameter of the quadratic problem, with the optimizer
// computed by hand in float64.
type handParam struct {
	name              string
	lrMult, decayMult float64
	p, target         []float64
	slot1, slot2      []float64 // SGD momentum buffer; Adam first and second moments
}

// handStep applies one optimizer step (numbered from 1) to loss
// Σ ½(p - target)², whose gradient is p - target, following the rules
// documented on backends.Optimizer (PyTorch's SGD and Adam).
func handStep(opt backends.Optimizer, step int, params []*handParam) {
	opt = opt.WithDefaults()
	for _, hp := range params {
		lr := opt.LearningRate * hp.lrMult
		for i := range hp.p {
			g := hp.p[i] - hp.target[i] + opt.WeightDecay*hp.decayMult*hp.p[i]
			switch opt.Kind {
			case backends.SGD:
				hp.slot1[i] = opt.Momentum*hp.slot1[i] + g
				hp.p[i] -= lr * hp.slot1[i]
			case backends.Adam:
				hp.slot1[i] = opt.Beta1*hp.slot1[i] + (1-opt.Beta1)*g
				hp.slot2[i] = opt.Beta2*hp.slot2[i] + (1-opt.Beta2)*g*g
				mHat := hp.slot1[i] / (1 - math.Pow(opt.Beta1, float64(step)))
				vHat := hp.slot2[i] / (1 - math.Pow(opt.Beta2, float64(step)))
				hp.p[i] -= lr * mHat / (math.Sqrt(vHat) + opt.Epsilon)
			}
		}
	}
}

func handLoss(params []*handParam) float64 {
	l := 0.0
	for _, hp := range params {
		for i := range hp.p {
			d := hp.p[i] - hp.target[i]
			l += 0.5 * d * d
		}
	}
	return l
}

func float64s(t *tensor.Tensor) []float64 { return t.AsFloat64().Float64s() }

// checkOptimizer runs two steps with opt and a third with learning rate 0
// on Σ ½(p - target)² over three parameters: a plain one, one with LRMult
// 0.05 and one with DecayMult 0, and compares every parameter and the
// returned loss with the hand computation.
func checkOptimizer(t *testing.T, be backends.Backend, opt backends.Optimizer) {
	g := graph.New("quadratic")
	specs := []struct {
		name              string
		size              int
		lrMult, decayMult float64
	}{{"w", 3, 1, 1}, {"slow", 2, 0.05, 1}, {"no_decay", 2, 1, 0}}
	var loss *graph.Node
	for _, s := range specs {
		p := g.Param(s.name, graph.Uniform(1), []int{s.size}, graph.LRMult(s.lrMult), graph.DecayMult(s.decayMult))
		d := g.Sub(p, g.Input(s.name+"_target", tensor.Float32, s.size))
		term := g.MulScalar(g.Sum(g.Mul(d, d)), 0.5)
		if loss == nil {
			loss = term
		} else {
			loss = g.Add(loss, term)
		}
	}
	g.SetLoss(loss)
	const seed = 3
	init := graph.InitParams(g, seed)

	// Targets sit 0.5 to 1 away from the start so no gradient is near zero
	// (Adam's first step divides by its magnitude).
	rng := rand.New(rand.NewPCG(4, 5))
	feeds := map[string]*tensor.Tensor{}
	var hand []*handParam
	for _, s := range specs {
		p := float64s(init[s.name])
		target := make([]float32, s.size)
		for i := range target {
			offset := 0.5 + 0.5*rng.Float64()
			if rng.IntN(2) == 0 {
				offset = -offset
			}
			target[i] = float32(p[i] + offset)
		}
		feeds[s.name+"_target"] = tensor.MustFloat32(tensor.Shape{s.size}, target)
		hand = append(hand, &handParam{name: s.name, lrMult: s.lrMult, decayMult: s.decayMult, p: p,
			target: float64s(feeds[s.name+"_target"]), slot1: make([]float64, s.size), slot2: make([]float64, s.size)})
	}

	exe := compile(t, be, g, backends.CompileOptions{Seed: seed, Optimizer: opt})
	for _, s := range specs {
		got, err := exe.Read(s.name)
		if err != nil {
			t.Fatalf("Read(%q): %v", s.name, err)
		}
		checkIdentical(t, fmt.Sprintf("initial %q (must be graph.InitParams(g, seed))", s.name), got, init[s.name])
	}
	for step := 1; step <= 3; step++ {
		stepOpt := opt
		if step == 3 {
			exe.SetLearningRate(0)
			stepOpt.LearningRate = 0
		}
		wantLoss := handLoss(hand)
		out, err := exe.TrainStep(feeds, "loss")
		if err != nil {
			t.Fatalf("step %d: TrainStep: %v", step, err)
		}
		checkClose(t, fmt.Sprintf("step %d: loss returned by TrainStep (before the update)", step), out["loss"],
			tensor.Scalar32(float32(wantLoss)), ForwardTolerance)
		handStep(stepOpt, step, hand)
		for _, hp := range hand {
			got, err := exe.Read(hp.name)
			if err != nil {
				t.Fatalf("Read(%q): %v", hp.name, err)
			}
			want := tensorOf(value{dtype: tensor.Float32, shape: tensor.Shape{len(hp.p)}, data: hp.p})
			checkClose(t, fmt.Sprintf("step %d: %v param %q (LRMult %g, DecayMult %g)", step, opt.Kind, hp.name, hp.lrMult, hp.decayMult),
				got, want, ParamTolerance)
		}
	}
	if exe.Step() != 3 {
		t.Errorf("Step() = %d after 3 training steps", exe.Step())
	}
}

func checkStateUpdates(t *testing.T, be backends.Backend) {
	g := graph.New("state")
	x := g.Input("x", tensor.Float32, 4, 3)
	p := g.Param("p", graph.Uniform(1), []int{3})
	initial := f32s(tensor.Shape{3}, 1, 2, 3)
	running := g.State("running", initial)
	lastP := g.State("last_p", tensor.Zeros(tensor.Float32, 3))
	batchMean := g.Mean(x, 0)
	g.SetStateUpdate(running, g.Add(g.MulScalar(running, 0.9), g.MulScalar(batchMean, 0.1)))
	g.SetStateUpdate(lastP, p) // the value of p seen by the forward pass, before the update
	g.SetOutput("running", running)
	g.SetLoss(g.Sum(g.Mul(batchMean, p))) // d loss / d p = batch mean
	const lr = 0.5
	exe := compile(t, be, g, backends.CompileOptions{Seed: 1, Optimizer: backends.Optimizer{Kind: backends.SGD, LearningRate: lr}})

	rng := rand.New(rand.NewPCG(8, 9))
	feedsAt := func() map[string]*tensor.Tensor {
		return map[string]*tensor.Tensor{"x": randomUniform(rng, -1, 1, 4, 3)}
	}
	read := func(name string) *tensor.Tensor {
		t.Helper()
		v, err := exe.Read(name)
		if err != nil {
			t.Fatalf("Read(%q): %v", name, err)
		}
		return v
	}
	mean := func(x *tensor.Tensor) []float64 {
		m := make([]float64, 3)
		for i := range 4 {
			for j := range 3 {
				m[j] += x.Float64At(i*3+j) / 4
			}
		}
		return m
	}

	feeds := feedsAt()
	out, err := exe.Run(feeds, "running")
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	checkIdentical(t, "Run output of a state (its initial value)", out["running"], initial)
	if _, err := exe.Gradients(backends.Train, feeds, "p"); err != nil {
		t.Fatalf("Gradients: %v", err)
	}
	checkIdentical(t, "state after Run and Gradients (they must not apply updates)", read("running"), initial)
	if exe.Step() != 0 {
		t.Errorf("Step() = %d after Run and Gradients only", exe.Step())
	}

	wantRunning := float64s(initial)
	p0 := read("p")
	for step := 1; step <= 2; step++ {
		feeds := feedsAt()
		pBefore := read("p")
		out, err := exe.TrainStep(feeds, "running", "loss")
		if err != nil {
			t.Fatalf("step %d: TrainStep: %v", step, err)
		}
		checkClose(t, fmt.Sprintf("step %d: state returned by TrainStep (the value before the update)", step), out["running"],
			f64To32(wantRunning), ForwardTolerance)
		m := mean(feeds["x"])
		wantLoss, wantP := 0.0, make([]float64, 3)
		for j := range 3 {
			wantRunning[j] = 0.9*wantRunning[j] + 0.1*m[j]
			wantLoss += m[j] * pBefore.Float64At(j)
			wantP[j] = pBefore.Float64At(j) - lr*m[j]
		}
		checkClose(t, fmt.Sprintf("step %d: loss", step), out["loss"], tensor.Scalar32(float32(wantLoss)), ForwardTolerance)
		checkClose(t, fmt.Sprintf("step %d: state after the step", step), read("running"), f64To32(wantRunning), ForwardTolerance)
		checkClose(t, fmt.Sprintf("step %d: state updated from a param (must see the param before the update)", step), read("last_p"), pBefore, ForwardTolerance)
		checkClose(t, fmt.Sprintf("step %d: param", step), read("p"), f64To32(wantP), ParamTolerance)
	}
	if read("p").Equal(p0) {
		t.Error("the parameter did not change in two steps")
	}
}

func checkModeSwitchTraining(t *testing.T, be backends.Backend) {
	g := graph.New("mode_switch")
	x := g.Input("x", tensor.Float32, 2, 3)
	p := g.Param("p", graph.Uniform(1), []int{3})
	y := g.ModeSwitch(g.Mul(x, p), g.Add(x, p))
	g.SetOutput("y", y)
	g.SetLoss(g.Sum(y))
	const seed = 2
	exe := compile(t, be, g, backends.CompileOptions{Seed: seed}) // learning rate 0
	feeds := map[string]*tensor.Tensor{"x": randomUniform(rand.New(rand.NewPCG(1, 1)), -1, 1, 2, 3)}
	params := graph.InitParams(g, seed)
	for _, mode := range []backends.Mode{backends.Train, backends.Eval} {
		want, err := EvaluateOutputs(g, feeds, params, nil, mode)
		if err != nil {
			t.Fatalf("reference: %v", err)
		}
		var got map[string]*tensor.Tensor
		if mode == backends.Train {
			got, err = exe.TrainStep(feeds, "y", "loss")
		} else {
			got, err = exe.Run(feeds, "y", "loss")
		}
		if err != nil {
			t.Fatalf("%v mode: %v", mode, err)
		}
		checkClose(t, fmt.Sprintf("y in %v mode", mode), got["y"], want["y"], ForwardTolerance)
		checkClose(t, fmt.Sprintf("loss in %v mode", mode), got["loss"], want["loss"], ForwardTolerance)
	}
}

func checkDropoutMasks(t *testing.T, be backends.Backend) {
	const rate, rows, cols = 0.3, 40, 100
	g := graph.New("dropout")
	x := g.Input("x", tensor.Float32, rows, cols)
	scale := g.Param("scale", graph.Constant(1), []int{1})
	y := g.Dropout(g.Mul(x, scale), rate)
	g.SetOutput("y", y)
	g.SetLoss(g.Sum(y))
	feeds := map[string]*tensor.Tensor{"x": randomUniform(rand.New(rand.NewPCG(3, 3)), 0.5, 1.5, rows, cols)}
	// Learning rate 0 keeps scale at 1, so steps differ only in their masks.
	opts := backends.CompileOptions{Seed: 11, Optimizer: backends.Optimizer{Kind: backends.SGD}}
	steps := func(seed uint64, n int) []*tensor.Tensor {
		o := opts
		o.Seed = seed
		exe := compile(t, be, g, o)
		var outs []*tensor.Tensor
		for i := range n {
			out, err := exe.TrainStep(feeds, "y")
			if err != nil {
				t.Fatalf("seed %d step %d: TrainStep: %v", seed, i+1, err)
			}
			outs = append(outs, out["y"])
		}
		out, err := exe.Run(feeds, "y")
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		checkClose(t, "dropout in Run (eval mode: the identity)", out["y"], feeds["x"], ForwardTolerance)
		return outs
	}
	first := steps(11, 2)
	again := steps(11, 2)
	otherSeed := steps(12, 1)

	for step, y := range first {
		if y == nil || !y.Shape().Equal(tensor.Shape{rows, cols}) || y.DType() != tensor.Float32 {
			t.Fatalf("step %d: output %v, want float32[%d %d]", step+1, y, rows, cols)
		}
		zeros, wrong := 0, 0
		for i := range y.Len() {
			got, in := y.Float64At(i), feeds["x"].Float64At(i)
			switch {
			case got == 0:
				zeros++
			case !closeEnough(got, in/(1-rate), ForwardTolerance):
				if wrong++; wrong <= maxReported {
					t.Errorf("step %d: element %d is %g: neither 0 nor x/(1-rate) = %g", step+1, i, got, in/(1-rate))
				}
			}
		}
		// 4000 Bernoulli(0.3) draws: the standard deviation of the fraction is 0.007.
		if frac := float64(zeros) / float64(y.Len()); math.Abs(frac-rate) > 0.04 {
			t.Errorf("step %d: %.3f of the elements were dropped, want about %g", step+1, frac, rate)
		}
	}
	for step := range first {
		checkIdentical(t, fmt.Sprintf("step %d output of two executables with the same seed", step+1), again[step], first[step])
	}
	maskDiff := func(a, b *tensor.Tensor) float64 {
		n := 0
		for i := range a.Len() {
			if (a.Float64At(i) == 0) != (b.Float64At(i) == 0) {
				n++
			}
		}
		return float64(n) / float64(a.Len())
	}
	// Independent masks disagree on 2·0.3·0.7 = 42% of the elements.
	if d := maskDiff(first[0], first[1]); d < 0.3 {
		t.Errorf("steps 1 and 2 masks differ on only %.1f%% of the elements: the mask must depend on the step", 100*d)
	}
	if d := maskDiff(first[0], otherSeed[0]); d < 0.3 {
		t.Errorf("seeds 11 and 12 masks differ on only %.1f%% of the elements: the mask must depend on the seed", 100*d)
	}
}

func checkDropoutGradients(t *testing.T, be backends.Backend) {
	const rate = 0.5
	b := newCaseBuilder("dropout_gradients")
	x := b.uniform("x", 0.5, 1.5, 20, 50)
	r := b.randomTensor(tensor.Float32, x.Shape())
	b.g.SetLoss(b.g.Sum(b.g.Mul(b.g.Dropout(x, rate), b.g.Const(r))))
	exe := compile(t, be, b.g, backends.CompileOptions{Seed: 5})
	got, err := exe.Gradients(backends.Train, b.feeds, "x")
	if err != nil {
		t.Fatalf("Gradients: %v", err)
	}
	grad := got["x"]
	if grad == nil || !grad.Shape().Equal(x.Shape()) || got["loss"] == nil {
		t.Fatalf("Gradients returned %v, want d loss / d x of shape %v and the loss", got, x.Shape())
	}
	// The loss is linear in x, so it must equal Σ grad·x when forward and
	// backward use the same mask.
	zeros, wrong := 0, 0
	lossFromGrad, magnitude := 0.0, 0.0
	for i := range grad.Len() {
		gi, ri := grad.Float64At(i), r.Float64At(i)
		lossFromGrad += gi * b.feeds["x"].Float64At(i)
		magnitude += math.Abs(gi * b.feeds["x"].Float64At(i))
		switch {
		case gi == 0:
			zeros++
		case !closeEnough(gi, ri/(1-rate), GradientTolerance):
			if wrong++; wrong <= maxReported {
				t.Errorf("d loss / d x element %d is %g: neither 0 nor R/(1-rate) = %g", i, gi, ri/(1-rate))
			}
		}
	}
	if frac := float64(zeros) / float64(grad.Len()); math.Abs(frac-rate) > 0.08 {
		t.Errorf("%.3f of the gradient is zero, want about %g", frac, rate)
	}
	if l := got["loss"].Float64At(0); math.Abs(l-lossFromGrad) > 1e-4*magnitude+1e-4 {
		t.Errorf("loss %g but Σ grad·x = %g: forward and backward used different dropout masks", l, lossFromGrad)
	}
}

// snapshotGraph is a small network with every kind of training state: two
// linear layers, dropout, a running-mean state and a loss.
func snapshotGraph() *graph.Graph {
	g := graph.New("snapshot")
	x := g.Input("x", tensor.Float32, 4, 3)
	target := g.Input("target", tensor.Float32, 4, 2)
	h := g.Dropout(g.Relu(g.Linear("fc1", x, 6)), 0.3)
	y := g.Linear("fc2", h, 2)
	running := g.State("running", tensor.Zeros(tensor.Float32, 2))
	g.SetStateUpdate(running, g.Add(g.MulScalar(running, 0.9), g.MulScalar(g.StopGradient(g.Mean(y, 0)), 0.1)))
	g.SetOutput("y", y)
	g.SetOutput("running", running)
	d := g.Sub(y, target)
	g.SetLoss(g.Mean(g.Mul(d, d)))
	return g
}

// snapshotFeeds are the feeds of training step number step (from 1).
func snapshotFeeds(step int) map[string]*tensor.Tensor {
	rng := rand.New(rand.NewPCG(uint64(step), 77))
	return map[string]*tensor.Tensor{"x": randomUniform(rng, -1, 1, 4, 3), "target": randomUniform(rng, -1, 1, 4, 2)}
}

// trainSteps runs steps first..last and returns their outputs.
func trainSteps(t *testing.T, exe backends.Executable, first, last int) []map[string]*tensor.Tensor {
	t.Helper()
	var outs []map[string]*tensor.Tensor
	for step := first; step <= last; step++ {
		out, err := exe.TrainStep(snapshotFeeds(step), "y", "loss", "running")
		if err != nil {
			t.Fatalf("step %d: TrainStep: %v", step, err)
		}
		outs = append(outs, out)
	}
	return outs
}

// checkSameTrainingState compares every parameter and state of two executables bit for bit.
func checkSameTrainingState(t *testing.T, g *graph.Graph, a, b backends.Executable, what string) {
	t.Helper()
	for _, n := range append(g.Params(), g.States()...) {
		name := n.Attrs().Name
		va, errA := a.Read(name)
		vb, errB := b.Read(name)
		if errA != nil || errB != nil {
			t.Fatalf("Read(%q): %v, %v", name, errA, errB)
		}
		checkIdentical(t, fmt.Sprintf("%s: %q", what, name), vb, va)
	}
}

func checkSnapshotRestore(t *testing.T, be backends.Backend, opt backends.Optimizer) {
	g := snapshotGraph()
	opts := backends.CompileOptions{Seed: 21, Optimizer: opt}
	a := compile(t, be, g, opts)
	trainSteps(t, a, 1, 2)
	snap, err := a.Snapshot()
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	for _, name := range []string{"step", "fc1/w", "fc1/b", "fc2/w", "fc2/b", "running"} {
		if snap[name] == nil {
			t.Errorf("snapshot has no %q (keys must include every param, every state and \"step\")", name)
		}
	}
	kept := map[string]*tensor.Tensor{}
	for k, v := range snap {
		kept[k] = v.Clone()
	}

	b := compile(t, be, g, opts)
	if err := b.Restore(snap); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if b.Step() != a.Step() || a.Step() != 2 {
		t.Errorf("Step() is %d after Restore, want %d (as the snapshot source after 2 steps: %d)", b.Step(), 2, a.Step())
	}
	checkSameTrainingState(t, g, a, b, "after Restore")
	outA := trainSteps(t, a, 3, 4)
	outB := trainSteps(t, b, 3, 4)
	for i := range outA {
		for _, name := range []string{"y", "loss", "running"} {
			checkIdentical(t, fmt.Sprintf("step %d output %q, original vs restored", i+3, name), outB[i][name], outA[i][name])
		}
	}
	checkSameTrainingState(t, g, a, b, "after two more steps, original vs restored")
	for k, v := range snap {
		if !v.Equal(kept[k]) {
			t.Errorf("snapshot entry %q changed when training went on: Snapshot must return copies", k)
		}
	}
}

func checkDeterminism(t *testing.T, be backends.Backend) {
	g := snapshotGraph()
	opts := backends.CompileOptions{Seed: 99, Optimizer: backends.Optimizer{Kind: backends.Adam, LearningRate: 0.01, WeightDecay: 1e-4}}
	a := compile(t, be, g, opts)
	b := compile(t, be, g, opts)
	outA := trainSteps(t, a, 1, 3)
	outB := trainSteps(t, b, 1, 3)
	for i := range outA {
		for _, name := range []string{"y", "loss", "running"} {
			checkIdentical(t, fmt.Sprintf("step %d output %q of two executables with one seed", i+1, name), outB[i][name], outA[i][name])
		}
	}
	checkSameTrainingState(t, g, a, b, "after 3 steps with one seed")
}

func checkReadWrite(t *testing.T, be backends.Backend) {
	g := graph.New("read_write")
	x := g.Input("x", tensor.Float32, 2, 3)
	p := g.Param("p", graph.Uniform(1), []int{3})
	s := g.State("s", tensor.Zeros(tensor.Float32, 3))
	g.SetOutput("y", g.Add(g.Mul(x, p), s))
	const seed = 8
	exe := compile(t, be, g, backends.CompileOptions{Seed: seed})
	read := func(name string) *tensor.Tensor {
		t.Helper()
		v, err := exe.Read(name)
		if err != nil {
			t.Fatalf("Read(%q): %v", name, err)
		}
		return v
	}
	checkIdentical(t, "initial param (must be graph.InitParams(g, seed))", read("p"), graph.InitParams(g, seed)["p"])
	checkIdentical(t, "initial state", read("s"), tensor.Zeros(tensor.Float32, 3))

	newP, newS := f32s(tensor.Shape{3}, 1.5, -2, 0.25), f32s(tensor.Shape{3}, 10, 20, 30)
	for name, v := range map[string]*tensor.Tensor{"p": newP, "s": newS} {
		written := v.Clone()
		if err := exe.Write(name, written); err != nil {
			t.Fatalf("Write(%q): %v", name, err)
		}
		written.Float32s()[0] = 99 // Write must copy
		got := read(name)
		checkIdentical(t, fmt.Sprintf("Read(%q) after Write", name), got, v)
		got.Float32s()[1] = 99 // Read must copy
		checkIdentical(t, fmt.Sprintf("Read(%q) after changing an earlier Read's result", name), read(name), v)
	}
	feeds := map[string]*tensor.Tensor{"x": randomUniform(rand.New(rand.NewPCG(2, 2)), -1, 1, 2, 3)}
	got, err := exe.Run(feeds, "y")
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	want, err := EvaluateOutputs(g, feeds, map[string]*tensor.Tensor{"p": newP}, map[string]*tensor.Tensor{"s": newS}, backends.Eval)
	if err != nil {
		t.Fatalf("reference: %v", err)
	}
	checkClose(t, "Run after Write (must use the written values)", got["y"], want["y"], ForwardTolerance)

	bad := []struct {
		what  string
		name  string
		value *tensor.Tensor
	}{
		{"wrong shape", "p", tensor.Zeros(tensor.Float32, 4)},
		{"wrong rank", "p", tensor.Zeros(tensor.Float32, 1, 3)},
		{"wrong dtype", "p", tensor.Zeros(tensor.Float64, 3)},
		{"wrong state shape", "s", tensor.Zeros(tensor.Float32, 2)},
		{"unknown name", "nope", tensor.Zeros(tensor.Float32, 3)},
		{"an input's name", "x", tensor.Zeros(tensor.Float32, 2, 3)},
	}
	for _, c := range bad {
		if err := exe.Write(c.name, c.value); err == nil {
			t.Errorf("Write(%q, %v%v) (%s) succeeded, want an error", c.name, c.value.DType(), c.value.Shape(), c.what)
		}
	}
	checkIdentical(t, "param after rejected writes", read("p"), newP)
	checkIdentical(t, "state after rejected writes", read("s"), newS)
	if _, err := exe.Read("nope"); err == nil {
		t.Error(`Read("nope") succeeded, want an error`)
	}
}

func checkFeedErrors(t *testing.T, be backends.Backend) {
	g := graph.New("feeds")
	pixels := g.Input("pixels", tensor.Float32, 2, 3)
	p := g.Param("p", graph.Uniform(1), []int{3})
	y := g.Mul(pixels, p)
	g.SetOutput("y", y)
	g.SetLoss(g.Sum(y))
	exe := compile(t, be, g, backends.CompileOptions{Seed: 1, Optimizer: backends.Optimizer{Kind: backends.SGD, LearningRate: 0.1}})
	good := tensor.Zeros(tensor.Float32, 2, 3)
	p0, err := exe.Read("p")
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	cases := []struct {
		what    string
		feeds   map[string]*tensor.Tensor
		outputs []string
		mention string
	}{
		{"wrong shape", map[string]*tensor.Tensor{"pixels": tensor.Zeros(tensor.Float32, 3, 2)}, []string{"y"}, "pixels"},
		{"wrong rank", map[string]*tensor.Tensor{"pixels": tensor.Zeros(tensor.Float32, 6)}, []string{"y"}, "pixels"},
		{"wrong dtype", map[string]*tensor.Tensor{"pixels": tensor.Zeros(tensor.Float64, 2, 3)}, []string{"y"}, "pixels"},
		{"missing feed", map[string]*tensor.Tensor{}, []string{"y"}, "pixels"},
		{"unknown feed", map[string]*tensor.Tensor{"pixels": good, "bogus": good}, []string{"y"}, "bogus"},
		{"unknown output", map[string]*tensor.Tensor{"pixels": good}, []string{"nope"}, "nope"},
	}
	for _, c := range cases {
		_, errRun := exe.Run(c.feeds, c.outputs...)
		_, errTrain := exe.TrainStep(c.feeds, c.outputs...)
		for call, err := range map[string]error{"Run": errRun, "TrainStep": errTrain} {
			switch {
			case err == nil:
				t.Errorf("%s with %s succeeded, want an error", call, c.what)
			case !strings.Contains(err.Error(), c.mention):
				t.Errorf("%s with %s: error %q does not name %q", call, c.what, err, c.mention)
			}
		}
	}
	if _, err := exe.Gradients(backends.Eval, map[string]*tensor.Tensor{"pixels": tensor.Zeros(tensor.Float32, 3, 2)}, "p"); err == nil ||
		!strings.Contains(err.Error(), "pixels") {
		t.Errorf("Gradients with a wrong feed shape: error %v, want one naming %q", err, "pixels")
	}
	if _, err := exe.Gradients(backends.Eval, map[string]*tensor.Tensor{"pixels": good}, "nope"); err == nil {
		t.Error(`Gradients with respect to unknown "nope" succeeded, want an error`)
	}
	if exe.Step() != 0 {
		t.Errorf("Step() = %d after only failed training steps", exe.Step())
	}
	if p, err := exe.Read("p"); err != nil || !p.Equal(p0) {
		t.Errorf("param changed by failed training steps: %v (error %v), was %v", p, err, p0)
	}
}

func f32s(shape tensor.Shape, v ...float32) *tensor.Tensor { return tensor.MustFloat32(shape, v) }

// f64To32 is a float32 vector holding v.
func f64To32(v []float64) *tensor.Tensor {
	return tensorOf(value{dtype: tensor.Float32, shape: tensor.Shape{len(v)}, data: v})
}

// randomUniform is a float32 tensor drawn from U(lo, hi).
func randomUniform(rng *rand.Rand, lo, hi float64, shape ...int) *tensor.Tensor {
	t := tensor.Zeros(tensor.Float32, shape...)
	for i := range t.Float32s() {
		t.Float32s()[i] = float32(lo + (hi-lo)*rng.Float64())
	}
	return t
}
