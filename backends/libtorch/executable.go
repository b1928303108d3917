//go:build cgo

package libtorch

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// executable owns device tensors: parameters (autograd leaves), states,
// optimizer slots and constants. Every forward pass runs the IR's ops one
// by one on the shim (bias adds folded into the op before them, see
// biasFold); libtorch records the autograd graph as it goes.
type executable struct {
	g      *graph.Graph
	device string
	seed   uint64
	// autocast is the forward passes' autocast mode (icnn_set_autocast:
	// 0 off, 1 bfloat16, 2 float16); channelsLast keeps 4-D tensors NHWC.
	autocast     int
	channelsLast bool
	thread       *osThread        // runs every shim call, with the intra-op thread count set once
	folds        map[int]biasFold // by add node id
	folded       map[int]bool     // the inner ops of folds, not evaluated on their own
	// columnMajor names the parameters (see columnMajorParams) and their
	// optimizer slots stored column-major.
	columnMajor map[string]bool
	opt         backends.Optimizer
	lr          float64
	step        int64
	params      map[string]handle
	states      map[string]handle
	slots       map[string]handle
	consts      map[int]handle
	closed      bool
}

// call runs f on the executable's libtorch thread with autograd recording
// on or off (a per-thread mode in libtorch).
func (e *executable) call(grad bool, f func()) {
	e.thread.do(func() {
		prev := setGradEnabled(grad)
		defer setGradEnabled(prev)
		f()
	})
}

// pass holds the values of one forward pass, by node id. Only the handles
// in owned were created by the pass; the rest belong to the executable.
type pass struct {
	vals  []handle
	owned []handle
}

func (p *pass) keep(h handle) handle {
	p.owned = append(p.owned, h)
	return h
}

func (p *pass) release() {
	for _, h := range p.owned {
		free(h)
	}
	p.owned = nil
}

// forward evaluates what roots need. Leaves named in wrtLeaves (inputs and
// states) get fresh copies that record gradients.
func (e *executable) forward(mode backends.Mode, roots []*graph.Node, inputs map[string]*tensor.Tensor, wrtLeaves map[string]bool) (*pass, error) {
	if e.closed {
		return nil, fmt.Errorf("graph %q: executable is closed", e.g.Name())
	}
	needed := backends.Ancestors(mode, roots)
	if err := backends.CheckFeeds(e.g, inputs, needed); err != nil {
		return nil, err
	}
	nodes := e.g.Nodes()
	p := &pass{vals: make([]handle, len(nodes))}
	if e.autocast != 0 {
		// Off again after the pass, before any weight changes: that also
		// drops autocast's cache of cast weights, as leaving torch.autocast() does.
		if err := setAutocast(e.deviceType(), e.autocast); err != nil {
			return nil, fmt.Errorf("graph %q: autocast: %w", e.g.Name(), err)
		}
		defer setAutocast(e.deviceType(), 0)
	}
	for _, n := range nodes {
		if !needed[n.ID()] || e.folded[n.ID()] {
			continue
		}
		h, err := e.eval(p, mode, n, inputs, wrtLeaves)
		if err != nil {
			p.release()
			return nil, fmt.Errorf("graph %q: node %v: %w", e.g.Name(), n, err)
		}
		p.vals[n.ID()] = h
	}
	return p, nil
}

func (e *executable) eval(p *pass, mode backends.Mode, n *graph.Node, inputs map[string]*tensor.Tensor, wrtLeaves map[string]bool) (handle, error) {
	a := n.Attrs()
	switch n.Op() {
	case graph.OpInput:
		h, err := e.fromHost(inputs[a.Name])
		if err != nil {
			return nil, err
		}
		p.keep(h)
		if wrtLeaves[a.Name] {
			return h, setRequiresGrad(h, true)
		}
		return h, nil
	case graph.OpParam:
		return e.params[a.Name], nil
	case graph.OpState:
		if !wrtLeaves[a.Name] {
			return e.states[a.Name], nil
		}
		h, err := clone(e.states[a.Name])
		if err != nil {
			return nil, err
		}
		p.keep(h)
		return h, setRequiresGrad(h, true)
	case graph.OpConst:
		return e.consts[n.ID()], nil
	case graph.OpModeSwitch:
		return p.vals[backends.Picked(n, mode).ID()], nil
	case graph.OpDropout:
		x := p.vals[n.Inputs()[0].ID()]
		if mode == backends.Eval || a.Rate == 0 {
			return x, nil
		}
		mask, err := fromHost(e.dropoutMask(n), e.device)
		if err != nil {
			return nil, err
		}
		p.keep(mask)
		h, err := apply(graph.OpMul, []handle{x, mask}, nil, nil)
		if err != nil {
			return nil, err
		}
		return p.keep(h), nil
	}
	op, operands, attrs := n.Op(), n.Inputs(), n
	if f, ok := e.folds[n.ID()]; ok {
		op, operands, attrs = f.inner.Op(), append(slices.Clone(f.inner.Inputs()), f.bias), f.inner
	}
	in := make([]handle, len(operands))
	for i, x := range operands {
		in[i] = p.vals[x.ID()]
	}
	ints, dbls := encodeAttrs(attrs)
	h, err := apply(op, in, ints, dbls)
	if err != nil {
		return nil, err
	}
	return p.keep(h), nil
}

// dropoutMask is 0 where an element is dropped and 1/(1-rate) elsewhere. It
// depends only on (seed, step, node id) and draws exactly as the gorgonia
// backend does, so both backends drop the same elements and a resumed run
// repeats its masks.
func (e *executable) dropoutMask(n *graph.Node) *tensor.Tensor {
	rate := n.Attrs().Rate
	rng := rand.New(rand.NewPCG(e.seed^0x5851f42d4c957f2d, uint64(e.step)*0x9e3779b97f4a7c15^uint64(n.ID())))
	mask := tensor.Zeros(n.DType(), n.Shape()...)
	switch n.DType() {
	case tensor.Float32:
		m, scale := mask.Float32s(), float32(1/(1-rate))
		for i := range m {
			if rng.Float64() >= rate {
				m[i] = scale
			}
		}
	case tensor.Float64:
		m, scale := mask.Float64s(), 1/(1-rate)
		for i := range m {
			if rng.Float64() >= rate {
				m[i] = scale
			}
		}
	}
	return mask
}

// encodeAttrs lays out an op's attributes as icnn_op expects them (see csrc/icnn_torch.h).
func encodeAttrs(n *graph.Node) ([]int64, []float64) {
	a := n.Attrs()
	var ints []int64
	add := func(vs ...int) {
		for _, v := range vs {
			ints = append(ints, int64(v))
		}
	}
	pair := func(vs []int, def int) {
		switch len(vs) {
		case 0:
			add(def, def)
		case 1:
			add(vs[0], vs[0])
		default:
			add(vs[0], vs[1])
		}
	}
	switch n.Op() {
	case graph.OpLeakyRelu:
		return nil, []float64{a.Alpha}
	case graph.OpClamp:
		return nil, []float64{a.Lo, a.Hi}
	case graph.OpCast:
		add(int(a.DType))
	case graph.OpSum, graph.OpMean, graph.OpMax, graph.OpLogSumExp:
		keep := 0
		if a.KeepDims {
			keep = 1
		}
		add(keep)
		add(a.Axes...)
	case graph.OpArgMax, graph.OpConcat, graph.OpGather:
		add(a.Axis)
	case graph.OpConv2D:
		pair(a.Stride, 1)
		pair(a.Padding, 0)
		pair(a.Dilation, 1)
		add(max(a.Groups, 1))
	case graph.OpConvTranspose2D:
		pair(a.Stride, 1)
		pair(a.Padding, 0)
		pair(a.OutputPadding, 0)
		pair(a.Dilation, 1)
	case graph.OpMaxPool2D, graph.OpAvgPool2D:
		pair(a.Kernel, 1)
		pair(a.Stride, 1)
		pair(a.Padding, 0)
	case graph.OpReshape:
		add(n.Shape()...)
	case graph.OpTranspose:
		add(a.Perm...)
	}
	return ints, nil
}

func (p *pass) fetch(n *graph.Node) (*tensor.Tensor, error) {
	return toHost(p.vals[n.ID()], n.DType(), n.Shape())
}

func (e *executable) Run(inputs map[string]*tensor.Tensor, outputs ...string) (out map[string]*tensor.Tensor, err error) {
	if e.closed {
		return nil, fmt.Errorf("graph %q: executable is closed", e.g.Name())
	}
	e.call(false, func() { out, err = e.run(inputs, outputs) })
	return out, err
}

func (e *executable) run(inputs map[string]*tensor.Tensor, outputs []string) (map[string]*tensor.Tensor, error) {
	nodes, err := backends.ResolveOutputs(e.g, outputs)
	if err != nil {
		return nil, err
	}
	p, err := e.forward(backends.Eval, nodes, inputs, nil)
	if err != nil {
		return nil, err
	}
	defer p.release()
	return backends.FetchOutputs(outputs, nodes, p.fetch)
}

// floatParams are the parameters the optimizer updates, with their handles.
func (e *executable) floatParams() ([]*graph.Node, []handle) {
	var nodes []*graph.Node
	var hs []handle
	for _, p := range e.g.Params() {
		if p.DType().IsFloat() {
			nodes = append(nodes, p)
			hs = append(hs, e.params[p.Attrs().Name])
		}
	}
	return nodes, hs
}

func freeAll(hs []handle) {
	for _, h := range hs {
		if h != nil {
			free(h)
		}
	}
}

func (e *executable) TrainStep(inputs map[string]*tensor.Tensor, outputs ...string) (out map[string]*tensor.Tensor, err error) {
	if e.closed {
		return nil, fmt.Errorf("graph %q: executable is closed", e.g.Name())
	}
	e.call(true, func() { out, err = e.trainStep(inputs, outputs) })
	return out, err
}

func (e *executable) trainStep(inputs map[string]*tensor.Tensor, outputs []string) (map[string]*tensor.Tensor, error) {
	nodes, roots, err := backends.TrainRoots(e.g, outputs)
	if err != nil {
		return nil, err
	}
	p, err := e.forward(backends.Train, roots, inputs, nil)
	if err != nil {
		return nil, err
	}
	defer p.release()
	// On a GPU, outputs are read back after the update, so that the step
	// waits for the device once, at its end; they are copied first because
	// an output may be (a view of) a parameter that the update changes.
	var out map[string]*tensor.Tensor
	var outCopies []handle
	if e.deviceType() == "cuda" {
		defer func() { freeAll(outCopies) }()
		for _, n := range nodes {
			c, err := clone(p.vals[n.ID()])
			if err != nil {
				return nil, fmt.Errorf("output %v: %w", n, err)
			}
			outCopies = append(outCopies, c)
		}
	} else if out, err = backends.FetchOutputs(outputs, nodes, p.fetch); err != nil {
		return nil, err
	}
	// Copy the new states before the update: a state may be set to a parameter.
	updates := e.g.StateUpdates()
	newStates := make([]handle, len(updates))
	for i, u := range updates {
		if newStates[i], err = clone(p.vals[u.Value.ID()]); err != nil {
			freeAll(newStates)
			return nil, fmt.Errorf("state %q: %w", u.State.Attrs().Name, err)
		}
	}
	params, hs := e.floatParams()
	grads, err := gradients(p.vals[roots[0].ID()], hs) // roots[0] is the loss
	if err != nil {
		freeAll(newStates)
		return nil, fmt.Errorf("graph %q: back-propagate the loss: %w", e.g.Name(), err)
	}
	defer freeAll(grads)
	for i, pn := range params {
		if grads[i] == nil {
			continue // the loss does not depend on it; PyTorch leaves such parameters alone
		}
		if err := e.update(pn, hs[i], grads[i]); err != nil {
			freeAll(newStates)
			return nil, fmt.Errorf("graph %q: update parameter %q: %w", e.g.Name(), pn.Attrs().Name, err)
		}
	}
	for i, u := range updates {
		name := u.State.Attrs().Name
		free(e.states[name])
		e.states[name] = newStates[i]
	}
	e.step++
	if outCopies != nil {
		out = make(map[string]*tensor.Tensor, len(nodes))
		for i, n := range nodes {
			if out[outputs[i]], err = toHost(outCopies[i], n.DType(), n.Shape()); err != nil {
				return nil, fmt.Errorf("output %q: %w", outputs[i], err)
			}
		}
	}
	// The step's work is finished when it returns, so that a timed step is
	// never charged with the previous one's queued kernels.
	if e.deviceType() == "cuda" {
		if err := synchronize(e.device); err != nil {
			return nil, fmt.Errorf("graph %q: wait for %s: %w", e.g.Name(), e.device, err)
		}
	}
	return out, nil
}

// update applies one optimizer step in place on the device.
func (e *executable) update(p *graph.Node, w, grad handle) error {
	name := p.Attrs().Name
	lr := e.lr * p.Attrs().LRMult
	wd := e.opt.WeightDecay * p.Attrs().DecayMult
	switch e.opt.Kind {
	case backends.Adam:
		return adamUpdate(w, grad, e.slots[slotName("adam_m", name)], e.slots[slotName("adam_v", name)],
			lr, e.opt.Beta1, e.opt.Beta2, e.opt.Epsilon, wd, e.step+1)
	default:
		return sgdUpdate(w, grad, e.slots[slotName("momentum", name)], lr, e.opt.Momentum, wd)
	}
}

func (e *executable) Gradients(mode backends.Mode, inputs map[string]*tensor.Tensor, wrt ...string) (out map[string]*tensor.Tensor, err error) {
	if e.closed {
		return nil, fmt.Errorf("graph %q: executable is closed", e.g.Name())
	}
	e.call(true, func() { out, err = e.gradients(mode, inputs, wrt) })
	return out, err
}

func (e *executable) gradients(mode backends.Mode, inputs map[string]*tensor.Tensor, wrt []string) (map[string]*tensor.Tensor, error) {
	loss := e.g.Loss()
	if loss == nil {
		return nil, fmt.Errorf("graph %q: gradients: the graph has no loss (call SetLoss)", e.g.Name())
	}
	leaves := make([]*graph.Node, len(wrt))
	fresh := map[string]bool{}
	for i, name := range wrt {
		n := e.g.Leaf(name)
		if n == nil {
			return nil, fmt.Errorf("gradients: graph %q has no parameter or input %q", e.g.Name(), name)
		}
		if !n.DType().IsFloat() {
			return nil, fmt.Errorf("gradients: %v of graph %q is not a float tensor", n, e.g.Name())
		}
		if n.Op() != graph.OpParam {
			fresh[name] = true
		}
		leaves[i] = n
	}
	p, err := e.forward(mode, []*graph.Node{loss}, inputs, fresh)
	if err != nil {
		return nil, err
	}
	defer p.release()
	out := map[string]*tensor.Tensor{}
	if out["loss"], err = p.fetch(loss); err != nil {
		return nil, err
	}
	// Leaves the loss does not reach have no value in the pass; their gradient is zero.
	var hs []handle
	var at []int
	for i, n := range leaves {
		h := p.vals[n.ID()]
		if n.Op() == graph.OpParam {
			h = e.params[n.Attrs().Name]
		}
		if h == nil {
			out[wrt[i]] = tensor.Zeros(n.DType(), n.Shape()...)
			continue
		}
		hs = append(hs, h)
		at = append(at, i)
	}
	grads, err := gradients(p.vals[loss.ID()], hs)
	if err != nil {
		return nil, fmt.Errorf("graph %q: back-propagate the loss: %w", e.g.Name(), err)
	}
	defer freeAll(grads)
	for j, i := range at {
		n := leaves[i]
		if grads[j] == nil {
			out[wrt[i]] = tensor.Zeros(n.DType(), n.Shape()...)
			continue
		}
		if out[wrt[i]], err = toHost(grads[j], n.DType(), n.Shape()); err != nil {
			return nil, fmt.Errorf("gradient of %q: %w", wrt[i], err)
		}
	}
	return out, nil
}

// lookup finds a parameter, state or (with slots) optimizer slot by name,
// with its graph-declared dtype and shape.
func (e *executable) lookup(name string, slots bool) (store map[string]handle, dt tensor.DType, shape tensor.Shape, ok bool) {
	if n := e.g.Leaf(name); n != nil {
		switch n.Op() {
		case graph.OpParam:
			return e.params, n.DType(), n.Shape(), true
		case graph.OpState:
			return e.states, n.DType(), n.Shape(), true
		}
	}
	if slots {
		if _, ok := e.slots[name]; ok {
			for _, p := range e.g.Params() {
				for _, kind := range e.slotKinds() {
					if slotName(kind, p.Attrs().Name) == name {
						return e.slots, p.DType(), p.Shape(), true
					}
				}
			}
		}
	}
	return nil, 0, nil, false
}

func (e *executable) Read(name string) (*tensor.Tensor, error) {
	if e.closed {
		return nil, fmt.Errorf("read %q: executable is closed", name)
	}
	store, dt, shape, ok := e.lookup(name, false)
	if !ok {
		return nil, fmt.Errorf("read: graph %q has no parameter or state %q", e.g.Name(), name)
	}
	var t *tensor.Tensor
	var err error
	e.call(false, func() { t, err = toHost(store[name], dt, shape) })
	if err != nil {
		return nil, fmt.Errorf("read %q: %w", name, err)
	}
	return t, nil
}

// replace uploads value as the new content of store[name].
func (e *executable) replace(store map[string]handle, name string, value *tensor.Tensor) error {
	leaf := e.g.Leaf(name)
	h, err := e.toDevice(name, value, leaf != nil && leaf.Op() == graph.OpParam)
	if err != nil {
		return err
	}
	free(store[name])
	store[name] = h
	return nil
}

func (e *executable) Write(name string, value *tensor.Tensor) error {
	if e.closed {
		return fmt.Errorf("write %q: executable is closed", name)
	}
	store, dt, shape, ok := e.lookup(name, false)
	if !ok {
		return fmt.Errorf("write: graph %q has no parameter or state %q", e.g.Name(), name)
	}
	if value == nil {
		return fmt.Errorf("write %q: nil tensor", name)
	}
	if value.DType() != dt || !value.Shape().Equal(shape) {
		return fmt.Errorf("write %q: got %v%v, want %v%v", name, value.DType(), value.Shape(), dt, shape)
	}
	var err error
	e.call(false, func() { err = e.replace(store, name, value) })
	if err != nil {
		return fmt.Errorf("write %q: %w", name, err)
	}
	return nil
}

func (e *executable) SetLearningRate(lr float64) { e.lr = lr }
func (e *executable) Step() int64                { return e.step }

// stepKey is the snapshot name of the step counter.
const stepKey = "step"

func (e *executable) Snapshot() (map[string]*tensor.Tensor, error) {
	if e.closed {
		return nil, fmt.Errorf("snapshot: graph %q: executable is closed", e.g.Name())
	}
	out := map[string]*tensor.Tensor{}
	var err error
	e.call(false, func() {
		for _, store := range []map[string]handle{e.params, e.states, e.slots} {
			for name := range store {
				_, dt, shape, _ := e.lookup(name, true)
				var t *tensor.Tensor
				if t, err = toHost(store[name], dt, shape); err != nil {
					err = fmt.Errorf("snapshot %q: %w", name, err)
					return
				}
				out[name] = t
			}
		}
	})
	if err != nil {
		return nil, err
	}
	out[stepKey] = tensor.Zeros(tensor.Int64)
	out[stepKey].Int64s()[0] = e.step
	return out, nil
}

func (e *executable) Restore(snap map[string]*tensor.Tensor) error {
	if e.closed {
		return fmt.Errorf("restore: graph %q: executable is closed", e.g.Name())
	}
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
		_, dt, shape, ok := e.lookup(name, true)
		if !ok {
			return fmt.Errorf("restore: graph %q has no parameter, state or optimizer slot %q", e.g.Name(), name)
		}
		if v.DType() != dt || !v.Shape().Equal(shape) {
			return fmt.Errorf("restore %q: got %v%v, want %v%v", name, v.DType(), v.Shape(), dt, shape)
		}
	}
	names := make([]string, 0, len(snap))
	for name := range snap {
		names = append(names, name)
	}
	slices.Sort(names)
	var err error
	e.call(false, func() {
		for _, name := range names {
			v := snap[name]
			if name == stepKey {
				e.step = v.Int64s()[0]
				continue
			}
			store, _, _, _ := e.lookup(name, true)
			if err = e.replace(store, name, v); err != nil {
				err = fmt.Errorf("restore %q: %w", name, err)
				return
			}
		}
	})
	return err
}

func (e *executable) Close() error {
	if e.closed {
		return nil
	}
	e.call(false, func() {
		for _, store := range []map[string]handle{e.params, e.states, e.slots} {
			for name, h := range store {
				if h != nil {
					free(h)
				}
				delete(store, name)
			}
		}
		for id, h := range e.consts {
			free(h)
			delete(e.consts, id)
		}
	})
	e.thread.close()
	e.closed = true
	return nil
}
