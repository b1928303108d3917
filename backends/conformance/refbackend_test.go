package conformance

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// referenceBackend is a complete but slow backend built on the reference
// evaluator: forward passes in float64, gradients by central finite
// differences, the optimizers as documented on backends.Optimizer, dropout
// masks drawn from (seed, step, node). The suite's own tests run the suite
// against it, which shows the suite passes for a correct backend; setting
// bug makes it deliberately wrong in one way, to show the suite notices.
type referenceBackend struct {
	bug string
}

func (b referenceBackend) Name() string { return "reference" }
func (b referenceBackend) Description() string {
	return "plain-Go reference evaluator with finite-difference gradients (tests only)"
}

func (b referenceBackend) Compile(g *graph.Graph, opts backends.CompileOptions) (backends.Executable, error) {
	if err := g.Err(); err != nil {
		return nil, err
	}
	for _, n := range g.Nodes() {
		if !n.Op().Valid() {
			return nil, &backends.UnsupportedOpError{Backend: b.Name(), Node: n}
		}
	}
	if err := opts.Optimizer.Validate(); err != nil && opts.Optimizer.Kind != "" {
		return nil, err
	}
	return &refExec{
		bug:    b.bug,
		g:      g,
		opt:    opts.Optimizer.WithDefaults(),
		seed:   opts.Seed,
		params: graph.InitParams(g, opts.Seed),
		states: graph.InitStates(g),
		slots:  map[string]*tensor.Tensor{},
	}, nil
}

type refExec struct {
	bug    string
	g      *graph.Graph
	opt    backends.Optimizer
	seed   uint64
	params map[string]*tensor.Tensor
	states map[string]*tensor.Tensor
	slots  map[string]*tensor.Tensor // "opt/<param>/m" and "opt/<param>/v", float64
	step   int64
}

// evaluator returns an evaluator whose training-mode dropout masks depend
// on the seed, the step and the node only.
func (e *refExec) evaluator(mode backends.Mode) evaluator {
	ev := evaluator{mode: mode}
	step := e.step
	if e.bug == "mask_ignores_step" {
		step = 0
	}
	ev.dropout = func(n *graph.Node, x value) value {
		rng := rand.New(rand.NewPCG(e.seed, uint64(step)<<20^uint64(n.ID())))
		rate := n.Attrs().Rate
		out := newValue(x.dtype, x.shape)
		for i, v := range x.data {
			if rng.Float64() >= rate {
				out.data[i] = v / (1 - rate)
			}
		}
		return out
	}
	return ev
}

func (e *refExec) leaves(mode backends.Mode, inputs map[string]*tensor.Tensor) (map[string]value, error) {
	return leafValues(e.g, inputs, e.params, e.states, mode)
}

func (e *refExec) Run(inputs map[string]*tensor.Tensor, outputs ...string) (map[string]*tensor.Tensor, error) {
	nodes, err := backends.ResolveOutputs(e.g, outputs)
	if err != nil {
		return nil, err
	}
	leaves, err := e.leaves(backends.Eval, inputs)
	if err != nil {
		return nil, err
	}
	vals, err := e.evaluator(backends.Eval).run(e.g, leaves)
	if err != nil {
		return nil, err
	}
	out := map[string]*tensor.Tensor{}
	for i, n := range nodes {
		v := vals[n.ID()]
		if e.bug == "output_noise" && v.dtype.IsFloat() {
			v = mapValue(v, func(x float64) float64 { return x * 1.001 })
		}
		out[outputs[i]] = tensorOf(v)
	}
	if e.bug == "run_applies_updates" {
		for _, u := range e.g.StateUpdates() {
			e.states[u.State.Attrs().Name] = tensorOf(vals[u.Value.ID()])
		}
	}
	return out, nil
}

// gradients differentiates the loss by central differences in float64.
func (e *refExec) gradients(ev evaluator, leaves map[string]value, wrt []string) (map[string]value, float64, error) {
	base, err := ev.run(e.g, leaves)
	if err != nil {
		return nil, 0, err
	}
	l := base[e.g.Loss().ID()].data[0]
	ev.frozen = frozenNodes(e.g, base)
	loss := func() (float64, error) {
		vals, err := ev.run(e.g, leaves)
		if err != nil {
			return 0, err
		}
		return vals[e.g.Loss().ID()].data[0], nil
	}
	grads := map[string]value{}
	for _, name := range wrt {
		n := e.g.Leaf(name)
		grad := newValue(n.DType(), n.Shape())
		x := leaves[name]
		for i := range x.data {
			orig := x.data[i]
			h := 1e-6 * math.Max(1, math.Abs(orig))
			x.data[i] = orig + h
			up, err := loss()
			if err != nil {
				return nil, 0, err
			}
			x.data[i] = orig - h
			down, err := loss()
			if err != nil {
				return nil, 0, err
			}
			x.data[i] = orig
			grad.data[i] = (up - down) / (2 * h)
		}
		grads[name] = grad
	}
	return grads, l, nil
}

func (e *refExec) Gradients(mode backends.Mode, inputs map[string]*tensor.Tensor, wrt ...string) (map[string]*tensor.Tensor, error) {
	if e.g.Loss() == nil {
		return nil, fmt.Errorf("graph %q has no loss", e.g.Name())
	}
	for _, name := range wrt {
		n := e.g.Leaf(name)
		if n == nil || (n.Op() != graph.OpParam && n.Op() != graph.OpInput) || !n.DType().IsFloat() {
			return nil, fmt.Errorf("gradient with respect to %q: not a float parameter or input of graph %q", name, e.g.Name())
		}
	}
	leaves, err := e.leaves(mode, inputs)
	if err != nil {
		return nil, err
	}
	grads, l, err := e.gradients(e.evaluator(mode), leaves, wrt)
	if err != nil {
		return nil, err
	}
	out := map[string]*tensor.Tensor{"loss": tensorOf(value{dtype: e.g.Loss().DType(), shape: tensor.Shape{}, data: []float64{l}})}
	for name, g := range grads {
		if e.bug == "gradient_scale" {
			g = mapValue(g, func(x float64) float64 { return 1.01 * x })
		}
		out[name] = tensorOf(g)
	}
	return out, nil
}

func (e *refExec) TrainStep(inputs map[string]*tensor.Tensor, outputs ...string) (map[string]*tensor.Tensor, error) {
	if e.g.Loss() == nil {
		return nil, fmt.Errorf("graph %q has no loss", e.g.Name())
	}
	nodes, err := backends.ResolveOutputs(e.g, outputs)
	if err != nil {
		return nil, err
	}
	leaves, err := e.leaves(backends.Train, inputs)
	if err != nil {
		return nil, err
	}
	ev := e.evaluator(backends.Train)
	vals, err := ev.run(e.g, leaves)
	if err != nil {
		return nil, err
	}
	out := map[string]*tensor.Tensor{}
	for i, n := range nodes {
		out[outputs[i]] = tensorOf(vals[n.ID()])
	}
	var names []string
	for _, p := range e.g.Params() {
		if _, used := leaves[p.Attrs().Name]; used {
			names = append(names, p.Attrs().Name)
		}
	}
	grads, _, err := e.gradients(ev, leaves, names)
	if err != nil {
		return nil, err
	}
	e.step++
	for _, p := range e.g.Params() {
		if g, ok := grads[p.Attrs().Name]; ok {
			e.update(p, g)
		}
	}
	for _, u := range e.g.StateUpdates() {
		e.states[u.State.Attrs().Name] = tensorOf(vals[u.Value.ID()])
	}
	return out, nil
}

// update applies one optimizer step to parameter p with gradient g.
func (e *refExec) update(p *graph.Node, g value) {
	name := p.Attrs().Name
	lrMult := p.Attrs().LRMult
	if e.bug == "lr_mult_ignored" {
		lrMult = 1
	}
	lr := e.opt.LearningRate * lrMult
	wd := e.opt.WeightDecay * p.Attrs().DecayMult
	slot := func(kind string) []float64 {
		key := "opt/" + name + "/" + kind
		if e.slots[key] == nil {
			e.slots[key] = tensor.Zeros(tensor.Float64, p.Shape()...)
		}
		return e.slots[key].Float64s()
	}
	w := e.params[name].Float32s()
	for i := range w {
		gi := g.data[i] + wd*float64(w[i])
		switch e.opt.Kind {
		case backends.SGD:
			m := slot("m")
			m[i] = e.opt.Momentum*m[i] + gi
			w[i] = float32(float64(w[i]) - lr*m[i])
		case backends.Adam:
			m, v := slot("m"), slot("v")
			m[i] = e.opt.Beta1*m[i] + (1-e.opt.Beta1)*gi
			v[i] = e.opt.Beta2*v[i] + (1-e.opt.Beta2)*gi*gi
			mHat := m[i] / (1 - math.Pow(e.opt.Beta1, float64(e.step)))
			vHat := v[i] / (1 - math.Pow(e.opt.Beta2, float64(e.step)))
			w[i] = float32(float64(w[i]) - lr*mHat/(math.Sqrt(vHat)+e.opt.Epsilon))
		}
	}
}

func (e *refExec) lookup(name string) (map[string]*tensor.Tensor, error) {
	switch {
	case e.params[name] != nil:
		return e.params, nil
	case e.states[name] != nil:
		return e.states, nil
	}
	return nil, fmt.Errorf("graph %q has no parameter or state %q", e.g.Name(), name)
}

func (e *refExec) Read(name string) (*tensor.Tensor, error) {
	m, err := e.lookup(name)
	if err != nil {
		return nil, err
	}
	return m[name].Clone(), nil
}

func (e *refExec) Write(name string, v *tensor.Tensor) error {
	m, err := e.lookup(name)
	if err != nil {
		return err
	}
	if old := m[name]; v.DType() != old.DType() || !v.Shape().Equal(old.Shape()) {
		return fmt.Errorf("write %q: got %v%v, want %v%v", name, v.DType(), v.Shape(), old.DType(), old.Shape())
	}
	m[name] = v.Clone()
	return nil
}

func (e *refExec) SetLearningRate(lr float64) { e.opt.LearningRate = lr }
func (e *refExec) Step() int64                { return e.step }

func (e *refExec) Snapshot() (map[string]*tensor.Tensor, error) {
	out := map[string]*tensor.Tensor{}
	for _, m := range []map[string]*tensor.Tensor{e.params, e.states, e.slots} {
		for k, v := range m {
			out[k] = v.Clone()
		}
	}
	step, err := tensor.FromInt64(tensor.Shape{}, []int64{e.step})
	if err != nil {
		return nil, err
	}
	out["step"] = step
	return out, nil
}

func (e *refExec) Restore(snap map[string]*tensor.Tensor) error {
	if snap["step"] == nil {
		return fmt.Errorf("restore: snapshot has no step")
	}
	for _, m := range []map[string]*tensor.Tensor{e.params, e.states} {
		for k := range m {
			if snap[k] == nil {
				return fmt.Errorf("restore: snapshot has no %q", k)
			}
		}
	}
	slots := map[string]*tensor.Tensor{}
	for k, v := range snap {
		switch {
		case k == "step":
		case e.params[k] != nil:
			e.params[k] = v.Clone()
		case e.states[k] != nil:
			e.states[k] = v.Clone()
		case len(k) > 4 && k[:4] == "opt/":
			slots[k] = v.Clone()
		default:
			return fmt.Errorf("restore: unknown entry %q", k)
		}
	}
	e.slots = slots
	e.step = int64(snap["step"].Float64At(0))
	return nil
}

func (e *refExec) Close() error { return nil }
