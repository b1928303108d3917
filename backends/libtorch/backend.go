//go:build cgo

// Package libtorch is icnnlab's CPU and CUDA backend on libtorch. It runs
// each IR op eagerly through a small project-owned C ABI over libtorch's
// C++ API (csrc/icnn_torch.h), records autograd as libtorch does, and
// applies SGD and Adam in place on the device.
//
// The shim is a shared library loaded with dlopen when the backend is first
// constructed, never linked at build time: icnnlab builds and tests on
// machines without libtorch, and one binary runs against Debian's libtorch
// 1.13 on the CPU or a PyTorch 2.x libtorch with CUDA. Build the shim with
// `icnnlab backend build libtorch` (or csrc/build.sh without Go).
package libtorch

import (
	"fmt"
	"runtime"
	"strings"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// Name is the registry name of this backend.
const Name = "libtorch"

func init() {
	backends.Register(Name, New)
}

// New loads the shim (once per process) and returns the backend.
func New() (backends.Backend, error) {
	if err := load(); err != nil {
		return nil, err
	}
	return Backend{}, nil
}

// Backend compiles graphs onto libtorch.
type Backend struct{}

func (Backend) Name() string { return Name }

func (Backend) Description() string {
	cuda := "no CUDA"
	if n := cudaDeviceCount(); n > 0 {
		cuda = fmt.Sprintf("%d CUDA device(s)", n)
	}
	return fmt.Sprintf("libtorch %s via the icnnlab C shim %s (eager ops with autograd; %d CPU threads; %s)",
		loadedTorch, loadedPath, numThreads(), cuda)
}

// resolveDevice checks a device name against what libtorch has here.
func resolveDevice(name string) (string, error) {
	switch {
	case name == "" || name == "cpu":
		return "cpu", nil
	case name == "cuda" || strings.HasPrefix(name, "cuda:"):
		n := cudaDeviceCount()
		if n == 0 {
			return "", fmt.Errorf("device %q: libtorch %s sees no CUDA device (a CPU-only libtorch, or no GPU on this machine)", name, loadedTorch)
		}
		var index int
		if name != "cuda" {
			if _, err := fmt.Sscanf(name, "cuda:%d", &index); err != nil || index < 0 || index >= n {
				return "", fmt.Errorf("device %q: want cuda or cuda:0 … cuda:%d", name, n-1)
			}
		}
		return name, nil
	}
	return "", fmt.Errorf("device %q: the libtorch backend runs on \"cpu\", \"cuda\" or \"cuda:N\"", name)
}

// Compile uploads parameters (graph.InitParams), states and constants and
// creates zeroed optimizer slots on the device.
func (Backend) Compile(g *graph.Graph, opts backends.CompileOptions) (backends.Executable, error) {
	opt, err := backends.CheckCompile(Name, backends.Capabilities{}, g, opts)
	if err != nil {
		return nil, err
	}
	device, err := resolveDevice(opts.Device)
	if err != nil {
		return nil, fmt.Errorf("compile graph %q: %w", g.Name(), err)
	}
	for _, n := range g.Nodes() {
		if computed(n.Op()) && opName(n.Op()) != n.Op().String() {
			return nil, &backends.UnsupportedOpError{Backend: Name, Node: n}
		}
	}
	half, ok := map[string]int{backends.AutocastOff: 0, backends.AutocastBF16: 1, backends.AutocastFP16: 2}[opts.Autocast]
	if !ok {
		return nil, fmt.Errorf("compile graph %q: autocast %q is not one of \"\", %q, %q", g.Name(), opts.Autocast, backends.AutocastBF16, backends.AutocastFP16)
	}
	threads := threadsOrDefault(opts.Threads)
	var threadErr error
	thread := newOSThread(func() { threadErr = setNumThreads(threads) })
	if threadErr != nil {
		thread.close()
		return nil, fmt.Errorf("compile graph %q: set %d threads: %w", g.Name(), threads, threadErr)
	}
	e := &executable{
		g:            g,
		device:       device,
		seed:         opts.Seed,
		autocast:     half,
		channelsLast: opts.ChannelsLast,
		thread:       thread,
		folds:        planBiasFolds(g),
		folded:       map[int]bool{},
		columnMajor:  map[string]bool{},
		opt:          opt,
		lr:           opt.LearningRate,
		params:       map[string]handle{},
		states:       map[string]handle{},
		slots:        map[string]handle{},
		consts:       map[int]handle{},
	}
	for _, f := range e.folds {
		e.folded[f.inner.ID()] = true
	}
	for name := range columnMajorParams(g) {
		e.columnMajor[name] = true
		for _, slot := range e.slotKinds() {
			e.columnMajor[slotName(slot, name)] = true
		}
	}
	// An executable dropped without Close still gives its OS thread back.
	runtime.AddCleanup(e, (*osThread).close, e.thread)
	params, states := graph.InitParams(g, opts.Seed), graph.InitStates(g)
	e.call(false, func() { err = e.upload(params, states) })
	if err != nil {
		e.Close()
		return nil, fmt.Errorf("compile graph %q: %w", g.Name(), err)
	}
	return e, nil
}

// threadsOrDefault is the intra-op thread count of an executable's
// thread: libtorch's default is per OS thread and, on threads that Go
// starts, can be 1.
func threadsOrDefault(n int) int {
	if n > 0 {
		return n
	}
	return runtime.NumCPU()
}

// computed reports whether the shim's icnn_op computes op; the others are
// leaves and training behaviour that the Go side resolves.
func computed(op graph.Op) bool {
	switch op {
	case graph.OpInput, graph.OpParam, graph.OpState, graph.OpConst, graph.OpDropout, graph.OpModeSwitch:
		return false
	}
	return true
}

func (e *executable) upload(params, states map[string]*tensor.Tensor) error {
	for _, p := range e.g.Params() {
		name := p.Attrs().Name
		h, err := e.toDevice(name, params[name], true)
		if err != nil {
			return fmt.Errorf("parameter %q: %w", name, err)
		}
		e.params[name] = h
		for _, slot := range e.slotKinds() {
			z, err := e.toDevice(slotName(slot, name), tensor.Zeros(p.DType(), p.Shape()...), false)
			if err != nil {
				return fmt.Errorf("optimizer slot %s of %q: %w", slot, name, err)
			}
			e.slots[slotName(slot, name)] = z
		}
	}
	for _, s := range e.g.States() {
		name := s.Attrs().Name
		h, err := e.toDevice(name, states[name], false)
		if err != nil {
			return fmt.Errorf("state %q: %w", name, err)
		}
		e.states[name] = h
	}
	for _, n := range e.g.Nodes() {
		if n.Op() == graph.OpConst {
			h, err := e.fromHost(n.Attrs().Value)
			if err != nil {
				return fmt.Errorf("constant %v: %w", n, err)
			}
			e.consts[n.ID()] = h
		}
	}
	return nil
}

// toDevice uploads t as the parameter, state or optimizer slot called
// name, in the layout chosen for it; parameters become autograd leaves.
func (e *executable) toDevice(name string, t *tensor.Tensor, param bool) (handle, error) {
	h, err := e.fromHost(t)
	if err != nil {
		return nil, err
	}
	if e.columnMajor[name] {
		c, err := columnMajor(h)
		free(h)
		if err != nil {
			return nil, err
		}
		h = c
	}
	if param && t.DType().IsFloat() {
		if err := setRequiresGrad(h, true); err != nil {
			free(h)
			return nil, err
		}
	}
	return h, nil
}

// fromHost uploads t to the executable's device, in channels-last memory
// when the executable keeps 4-D tensors so.
func (e *executable) fromHost(t *tensor.Tensor) (handle, error) {
	h, err := fromHost(t, e.device)
	if err != nil || !e.channelsLast || t.Rank() != 4 {
		return h, err
	}
	c, err := channelsLast(h)
	free(h)
	return c, err
}

// deviceType is the autocast device type of the executable's device.
func (e *executable) deviceType() string {
	if strings.HasPrefix(e.device, "cuda") {
		return "cuda"
	}
	return "cpu"
}

// Optimizer slots are named "opt/<slot>/<param>" in snapshots, as in the gorgonia backend.
func slotName(slot, param string) string { return "opt/" + slot + "/" + param }

func (e *executable) slotKinds() []string {
	switch e.opt.Kind {
	case backends.SGD:
		if e.opt.Momentum != 0 {
			return []string{"momentum"}
		}
	case backends.Adam:
		return []string{"adam_m", "adam_v"}
	}
	return nil
}
