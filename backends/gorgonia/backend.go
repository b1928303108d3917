// Package gorgonia is icnnlab's CPU backend. It lowers a graph.Graph onto
// gorgonia expression graphs (gorgonia.org/gorgonia v0.9.18), differentiates
// the loss with gorgonia's symbolic Grad, runs the result on an executor of
// its own (exec.go: node order and operand slots fixed at compile time),
// and applies SGD or Adam updates in plain Go.
//
// Each IR op runs as a custom gorgonia op (see op.go) whose kernels follow
// the IR's semantics exactly: NumPy broadcasting, keep-dims reductions over
// several axes, grouped and dilated convolutions by im2col + GEMM spread
// over the batch, padded pooling, numpy.take gathers and seeded dropout.
// Build with -tags openblas to run float32 GEMMs on OpenBLAS through cgo.
package gorgonia

import (
	"fmt"
	"runtime"
	"slices"
	"strings"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// Name is the registry name of this backend.
const Name = "gorgonia"

func init() {
	backends.Register(Name, func() (backends.Backend, error) { return Backend{}, nil })
}

// Backend compiles graphs for the CPU.
type Backend struct{}

func (Backend) Name() string { return Name }

func (Backend) Description() string {
	return fmt.Sprintf("gorgonia v0.9.18 expression graphs + own executor on the CPU (%d threads max), GEMM by %s", runtime.GOMAXPROCS(0), blasName)
}

// Compile checks every op and dtype and sets up parameters, states and
// optimizer slots. Gorgonia graphs are built lazily, one per kind of call.
func (Backend) Compile(g *graph.Graph, opts backends.CompileOptions) (backends.Executable, error) {
	opt, err := backends.CheckCompile(Name, backends.Capabilities{}, g, opts)
	if err != nil {
		return nil, err
	}
	if opts.Device != "" && opts.Device != "cpu" {
		return nil, fmt.Errorf("compile graph %q: device %q: the gorgonia backend runs on \"cpu\" only", g.Name(), opts.Device)
	}
	if opts.Autocast != backends.AutocastOff {
		return nil, fmt.Errorf("compile graph %q: autocast %q: the gorgonia backend computes in the graph's own dtypes only", g.Name(), opts.Autocast)
	}
	if opts.ChannelsLast {
		return nil, fmt.Errorf("compile graph %q: channels-last: the gorgonia backend keeps NCHW tensors only", g.Name())
	}
	for _, n := range g.Nodes() {
		if _, err := toGorgoniaDtype(n.DType()); err != nil {
			return nil, fmt.Errorf("compile graph %q: node %v: %w", g.Name(), n, err)
		}
	}
	threads := opts.Threads
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	e := &executable{
		g:        g,
		opt:      opt,
		lr:       opt.LearningRate,
		params:   graph.InitParams(g, opts.Seed),
		states:   graph.InitStates(g),
		slots:    map[string]*tensor.Tensor{},
		programs: map[string]*program{},
	}
	e.paramNodes, e.inputNodes = g.Params(), g.Inputs()
	e.ctx = &runContext{threads: threads, seed: opts.Seed, step: &e.step}
	e.initSlots()
	return e, nil
}

type executable struct {
	g        *graph.Graph
	ctx      *runContext
	opt      backends.Optimizer
	lr       float64
	step     int64
	params   map[string]*tensor.Tensor
	states   map[string]*tensor.Tensor
	slots    map[string]*tensor.Tensor // optimizer state, by snapshot name
	programs map[string]*program
	closed   bool
	// The graph's parameter and input nodes, listed once: the graph
	// builds these lists afresh on every call.
	paramNodes, inputNodes []*graph.Node
	// lastTrain is the last TrainStep's resolved request.
	lastTrain *trainRequest
	// slotsOf caches each parameter's optimizer slot data (nil until the
	// first update, and after Restore replaces the slot tensors).
	slotsOf [][][]float32
	// updates runs the optimizer pass; stepGrads holds a step's gradients.
	updates   updater
	stepGrads [][]float32
}

// program returns the cached program for key, compiling it on first use.
func (e *executable) program(key string, mode backends.Mode, roots, wrt []*graph.Node) (*program, error) {
	if p, ok := e.programs[key]; ok {
		return p, nil
	}
	p, err := compile(e.g, e.ctx, mode, roots, wrt)
	if err != nil {
		return nil, err
	}
	e.programs[key] = p
	return p, nil
}

func nodeKey(ns []*graph.Node) string {
	ids := make([]string, len(ns))
	for i, n := range ns {
		ids[i] = fmt.Sprint(n.ID())
	}
	return strings.Join(ids, ",")
}

// execute binds feeds, parameters, states and constants and runs p.
func (e *executable) execute(p *program, inputs map[string]*tensor.Tensor) error {
	if e.closed {
		return fmt.Errorf("graph %q: executable is closed", e.g.Name())
	}
	if !e.feedsFit(inputs, p.needed) {
		// Let the shared check name what is wrong.
		if err := backends.CheckFeeds(e.g, inputs, p.needed); err != nil {
			return err
		}
	}
	for id, leaf := range p.leaves {
		n := e.g.Nodes()[id]
		t := e.leafTensor(n, inputs)
		v, err := p.leafValue(id, t)
		if err != nil {
			return fmt.Errorf("graph %q: bind %v: %w", e.g.Name(), n, err)
		}
		p.x.bindLeaf(leaf, v)
	}
	if err := p.x.run(e.ctx); err != nil {
		return fmt.Errorf("graph %q: run: %w", e.g.Name(), err)
	}
	return nil
}

// leafTensor is the tensor bound to leaf n: its feed, parameter, state or constant.
func (e *executable) leafTensor(n *graph.Node, inputs map[string]*tensor.Tensor) *tensor.Tensor {
	switch n.Op() {
	case graph.OpInput:
		return inputs[n.Attrs().Name]
	case graph.OpParam:
		return e.params[n.Attrs().Name]
	case graph.OpState:
		return e.states[n.Attrs().Name]
	case graph.OpConst:
		return n.Attrs().Value
	}
	return nil
}

// feedsFit reports whether the feeds are exactly what backends.CheckFeeds
// accepts (every feed a known input of the right dtype and shape, every
// needed input fed), without the lists that check builds on each call.
func (e *executable) feedsFit(inputs map[string]*tensor.Tensor, needed map[int]bool) bool {
	for name, v := range inputs {
		n := e.g.Leaf(name)
		if n == nil || n.Op() != graph.OpInput || v == nil || v.DType() != n.DType() || !v.Shape().Equal(n.Shape()) {
			return false
		}
	}
	for _, in := range e.inputNodes {
		if needed != nil && !needed[in.ID()] {
			continue
		}
		if _, ok := inputs[in.Attrs().Name]; !ok {
			return false
		}
	}
	return true
}

// fetch copies the value of IR node n out of a program that has run.
func (p *program) fetch(n *graph.Node) (*tensor.Tensor, error) {
	v := p.x.value(p.nodes[n.ID()])
	if v == nil {
		return nil, fmt.Errorf("node %v was not computed", n)
	}
	return copyOut(v, n.Shape())
}

// fetchInto copies the value of IR node n into *dst, allocating *dst on
// first use.
func (p *program) fetchInto(n *graph.Node, dst **tensor.Tensor) error {
	v := p.x.value(p.nodes[n.ID()])
	if v == nil {
		return fmt.Errorf("node %v was not computed", n)
	}
	if *dst == nil {
		t, err := copyOut(v, n.Shape())
		*dst = t
		return err
	}
	return copyValueInto(*dst, v)
}

func (e *executable) Run(inputs map[string]*tensor.Tensor, outputs ...string) (map[string]*tensor.Tensor, error) {
	nodes, err := backends.ResolveOutputs(e.g, outputs)
	if err != nil {
		return nil, err
	}
	p, err := e.program("run|"+nodeKey(nodes), backends.Eval, nodes, nil)
	if err != nil {
		return nil, err
	}
	if err := e.execute(p, inputs); err != nil {
		return nil, err
	}
	return backends.FetchOutputs(outputs, nodes, p.fetch)
}

func (e *executable) TrainStep(inputs map[string]*tensor.Tensor, outputs ...string) (map[string]*tensor.Tensor, error) {
	req, err := e.trainRequest(outputs)
	if err != nil {
		return nil, err
	}
	p := req.p
	if err := e.execute(p, inputs); err != nil {
		return nil, err
	}
	out, err := backends.FetchOutputs(outputs, req.nodes, p.fetch)
	if err != nil {
		return nil, err
	}
	// Read everything the update needs before changing any parameter or
	// state: the new states go to buffers of the program first, since an
	// update's value may be another state's (or its own) leaf.
	updates := e.g.StateUpdates()
	if p.newStates == nil {
		p.newStates = make([]*tensor.Tensor, len(updates))
	}
	for i, u := range updates {
		if err := p.fetchInto(u.Value, &p.newStates[i]); err != nil {
			return nil, fmt.Errorf("state %q: %w", u.State.Attrs().Name, err)
		}
	}
	if e.stepGrads == nil {
		e.stepGrads = make([][]float32, len(e.paramNodes))
	}
	for i, gr := range p.grads {
		// nil where the loss does not depend on the parameter: PyTorch
		// leaves such parameters alone.
		e.stepGrads[i] = nil
		if gr != nil {
			e.stepGrads[i] = dataOf[float32](p.x.value(gr))
		}
	}
	e.applyUpdates(e.stepGrads)
	for i, u := range updates {
		if err := copyState(e.states[u.State.Attrs().Name], p.newStates[i]); err != nil {
			return nil, fmt.Errorf("state %q: %w", u.State.Attrs().Name, err)
		}
	}
	e.step++
	return out, nil
}

// trainRequest is a TrainStep's outputs resolved to nodes and its program.
type trainRequest struct {
	names []string
	nodes []*graph.Node
	p     *program
}

// trainRequest returns the resolved request for outputs: the last one when
// the same outputs are asked for again (the common case, every step),
// so that a step resolves no names and builds no cache key.
func (e *executable) trainRequest(outputs []string) (*trainRequest, error) {
	if last := e.lastTrain; last != nil && slices.Equal(last.names, outputs) {
		return last, nil
	}
	nodes, roots, err := backends.TrainRoots(e.g, outputs)
	if err != nil {
		return nil, err
	}
	p, err := e.program("train|"+nodeKey(nodes), backends.Train, roots, e.paramNodes)
	if err != nil {
		return nil, err
	}
	e.lastTrain = &trainRequest{names: slices.Clone(outputs), nodes: nodes, p: p}
	return e.lastTrain, nil
}

// copyState copies a new state value into the state's own tensor, whose
// backing data the bound leaf shares.
func copyState(dst, src *tensor.Tensor) error {
	if dst.DType() != src.DType() || dst.Len() != src.Len() {
		return fmt.Errorf("new value %v%v does not fit the state's %v%v", src.DType(), src.Shape(), dst.DType(), dst.Shape())
	}
	switch dst.DType() {
	case tensor.Float32:
		copy(dst.Float32s(), src.Float32s())
	case tensor.Float64:
		copy(dst.Float64s(), src.Float64s())
	case tensor.Int32:
		copy(dst.Int32s(), src.Int32s())
	case tensor.Int64:
		copy(dst.Int64s(), src.Int64s())
	}
	return nil
}

func (e *executable) Gradients(mode backends.Mode, inputs map[string]*tensor.Tensor, wrt ...string) (map[string]*tensor.Tensor, error) {
	loss := e.g.Loss()
	if loss == nil {
		return nil, fmt.Errorf("graph %q: gradients: the graph has no loss (call SetLoss)", e.g.Name())
	}
	leaves := make([]*graph.Node, len(wrt))
	for i, name := range wrt {
		n := e.g.Leaf(name)
		if n == nil {
			return nil, fmt.Errorf("gradients: graph %q has no parameter or input %q", e.g.Name(), name)
		}
		if !n.DType().IsFloat() {
			return nil, fmt.Errorf("gradients: %v of graph %q is not a float tensor", n, e.g.Name())
		}
		leaves[i] = n
	}
	p, err := e.program(fmt.Sprintf("grad|%v|%s", mode, nodeKey(leaves)), mode, []*graph.Node{loss}, leaves)
	if err != nil {
		return nil, err
	}
	if err := e.execute(p, inputs); err != nil {
		return nil, err
	}
	out := map[string]*tensor.Tensor{}
	if out["loss"], err = p.fetch(loss); err != nil {
		return nil, err
	}
	for i, n := range leaves {
		if p.grads[i] == nil {
			out[wrt[i]] = tensor.Zeros(n.DType(), n.Shape()...)
			continue
		}
		if out[wrt[i]], err = copyOut(p.x.value(p.grads[i]), n.Shape()); err != nil {
			return nil, fmt.Errorf("gradient of %q: %w", wrt[i], err)
		}
	}
	return out, nil
}

func (e *executable) Read(name string) (*tensor.Tensor, error) {
	if t, ok := e.params[name]; ok {
		return t.Clone(), nil
	}
	if t, ok := e.states[name]; ok {
		return t.Clone(), nil
	}
	return nil, fmt.Errorf("read: graph %q has no parameter or state %q", e.g.Name(), name)
}

func (e *executable) Write(name string, value *tensor.Tensor) error {
	target := e.params
	if _, ok := target[name]; !ok {
		target = e.states
	}
	old, ok := target[name]
	if !ok {
		return fmt.Errorf("write: graph %q has no parameter or state %q", e.g.Name(), name)
	}
	if value == nil {
		return fmt.Errorf("write %q: nil tensor", name)
	}
	if value.DType() != old.DType() || !value.Shape().Equal(old.Shape()) {
		return fmt.Errorf("write %q: got %v%v, want %v%v", name, value.DType(), value.Shape(), old.DType(), old.Shape())
	}
	target[name] = value.Clone()
	return nil
}

func (e *executable) SetLearningRate(lr float64) { e.lr = lr }
func (e *executable) Step() int64                { return e.step }

// stepKey is the snapshot name of the step counter.
const stepKey = "step"

func (e *executable) Snapshot() (map[string]*tensor.Tensor, error) {
	out := map[string]*tensor.Tensor{}
	for _, m := range []map[string]*tensor.Tensor{e.params, e.states, e.slots} {
		for k, v := range m {
			out[k] = v.Clone()
		}
	}
	out[stepKey] = tensor.Zeros(tensor.Int64)
	out[stepKey].Int64s()[0] = e.step
	return out, nil
}

func (e *executable) Restore(snap map[string]*tensor.Tensor) error {
	// Check everything first so that a bad snapshot changes nothing.
	for name, v := range snap {
		if v == nil {
			return fmt.Errorf("restore %q: nil tensor", name)
		}
		if name == stepKey {
			if v.DType() != tensor.Int64 || v.Len() != 1 {
				return fmt.Errorf("restore %q: want an int64 scalar, got %v%v", name, v.DType(), v.Shape())
			}
			continue
		}
		old := e.params[name]
		if old == nil {
			old = e.states[name]
		}
		if old == nil {
			old = e.slots[name]
		}
		if old == nil {
			return fmt.Errorf("restore: graph %q has no parameter, state or optimizer slot %q", e.g.Name(), name)
		}
		if v.DType() != old.DType() || !v.Shape().Equal(old.Shape()) {
			return fmt.Errorf("restore %q: got %v%v, want %v%v", name, v.DType(), v.Shape(), old.DType(), old.Shape())
		}
	}
	e.slotsOf = nil
	names := make([]string, 0, len(snap))
	for name := range snap {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		v := snap[name]
		switch {
		case name == stepKey:
			e.step = v.Int64s()[0]
		case e.params[name] != nil:
			e.params[name] = v.Clone()
		case e.states[name] != nil:
			e.states[name] = v.Clone()
		default:
			e.slots[name] = v.Clone()
		}
	}
	return nil
}

func (e *executable) Close() error {
	e.programs = map[string]*program{}
	e.closed = true
	return nil
}
