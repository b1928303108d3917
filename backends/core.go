package backends

import (
	"fmt"
	"slices"

	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// This file is the small core every backend shares: what it can do
// (Capabilities), the checks its Compile starts with, which nodes a mode
// evaluates (liveness through ModeSwitch), and the roots of a training
// step. Backends call these so that they agree on the semantics and report
// errors the same way.

// Capabilities says what a backend implements, in the manner of GoMLX's
// backends: a new backend can start partial, declaring the ops it
// compiles; CheckCompile refuses graphs outside them with an
// UnsupportedOpError, and the conformance suite skips the cases they leave
// out instead of failing them. The zero value is a complete backend.
type Capabilities struct {
	// Ops the backend compiles; nil means every op of graph.AllOps.
	Ops map[graph.Op]bool
	// InferenceOnly backends run graphs (Run) but neither TrainStep nor
	// Gradients.
	InferenceOnly bool
}

// Supports reports whether the backend compiles op.
func (c Capabilities) Supports(op graph.Op) bool {
	return op.Valid() && (c.Ops == nil || c.Ops[op])
}

// Capable is a backend that declares its Capabilities. A backend that does
// not is complete.
type Capable interface {
	Capabilities() Capabilities
}

// CapabilitiesOf returns b's declared capabilities, or the complete set.
func CapabilitiesOf(b Backend) Capabilities {
	if c, ok := b.(Capable); ok {
		return c.Capabilities()
	}
	return Capabilities{}
}

// CheckCompile is where every backend's Compile starts: the graph exists
// and is valid, every op is within caps (an UnsupportedOpError naming
// backend otherwise) and the optimizer is valid. It returns the optimizer
// with its defaults filled in.
func CheckCompile(backend string, caps Capabilities, g *graph.Graph, opts CompileOptions) (Optimizer, error) {
	if g == nil {
		return Optimizer{}, fmt.Errorf("compile: graph is nil")
	}
	if err := g.Validate(); err != nil {
		return Optimizer{}, fmt.Errorf("compile: %w", err)
	}
	for _, n := range g.Nodes() {
		if !caps.Supports(n.Op()) {
			return Optimizer{}, &UnsupportedOpError{Backend: backend, Node: n}
		}
	}
	opt := opts.Optimizer.WithDefaults()
	if err := opt.Validate(); err != nil {
		return Optimizer{}, fmt.Errorf("compile graph %q: %w", g.Name(), err)
	}
	return opt, nil
}

// Picked follows ModeSwitch nodes to the branch mode selects: the first
// input in Train, the second in Eval.
func Picked(n *graph.Node, mode Mode) *graph.Node {
	for n.Op() == graph.OpModeSwitch {
		if mode == Train {
			n = n.Inputs()[0]
		} else {
			n = n.Inputs()[1]
		}
	}
	return n
}

// LiveInputs are the operands n reads in mode: a ModeSwitch reads only
// its picked branch.
func LiveInputs(n *graph.Node, mode Mode) []*graph.Node {
	if n.Op() == graph.OpModeSwitch {
		return []*graph.Node{Picked(n, mode)}
	}
	return n.Inputs()
}

// Ancestors returns the ids of the nodes evaluating roots needs in mode
// (roots included).
func Ancestors(mode Mode, roots []*graph.Node) map[int]bool {
	seen := map[int]bool{}
	stack := slices.Clone(roots)
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[n.ID()] {
			continue
		}
		seen[n.ID()] = true
		stack = append(stack, LiveInputs(n, mode)...)
	}
	return seen
}

// TrainRoots resolves a training step's outputs and returns them with the
// step's roots: the loss, the outputs and every state update's value, in
// that order. A graph without a loss is an error.
func TrainRoots(g *graph.Graph, outputs []string) (nodes, roots []*graph.Node, err error) {
	loss := g.Loss()
	if loss == nil {
		return nil, nil, fmt.Errorf("graph %q: train step: the graph has no loss (call SetLoss)", g.Name())
	}
	if nodes, err = ResolveOutputs(g, outputs); err != nil {
		return nil, nil, err
	}
	roots = append([]*graph.Node{loss}, nodes...)
	for _, u := range g.StateUpdates() {
		roots = append(roots, u.Value)
	}
	return nodes, roots, nil
}

// FetchOutputs copies the values of the output nodes (resolved from names
// by ResolveOutputs or TrainRoots) out of a finished evaluation, keyed by
// name; fetch reads one node's value in the backend's own storage. An
// error names the output.
func FetchOutputs(names []string, nodes []*graph.Node, fetch func(*graph.Node) (*tensor.Tensor, error)) (map[string]*tensor.Tensor, error) {
	out := make(map[string]*tensor.Tensor, len(names))
	for i, n := range nodes {
		t, err := fetch(n)
		if err != nil {
			return nil, fmt.Errorf("output %q: %w", names[i], err)
		}
		out[names[i]] = t
	}
	return out, nil
}
