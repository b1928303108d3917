// Package graph is icnnlab's backend-neutral, differentiable graph IR.
//
// A Graph is an append-only list of nodes in topological order. Networks,
// mask templates, filter losses and visualizer decoders are all graphs; a
// backend compiles a graph onto its device with its own autodiff and
// optimizer, so plugins that build graphs out-of-process cost nothing per
// step.
//
// The builder methods on *Graph check shapes as each node is added. The
// first error is kept on the graph (sticky, like bufio.Writer) and every
// later call returns a poisoned node, so a model can be written as straight
// line code and the error checked once with Err. Errors name the op, the
// node and the shapes involved.
package graph

import (
	"errors"
	"fmt"
	"slices"

	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// Op identifies a primitive operation. Composite operations (softmax,
// batch-norm, linear, …) are expressed with these primitives by the builder.
type Op uint16

// The primitive op set. New ops are appended at the end: the numeric values
// are part of the serialised format.
const (
	OpInvalid Op = iota
	// Leaves.
	OpInput // fed per call
	OpParam // trainable
	OpState // non-trainable buffer, updated after each training step
	OpConst
	// Elementwise unary.
	OpNeg
	OpAbs
	OpExp
	OpLog
	OpSqrt
	OpRelu
	OpSigmoid
	OpTanh
	OpLeakyRelu // attr Alpha
	OpClamp     // attrs Lo, Hi (±Inf allowed)
	OpRound     // half away from zero (MATLAB), no gradient
	OpStopGradient
	OpCast // attr DType; no gradient
	// Elementwise binary with NumPy broadcasting.
	OpAdd
	OpSub
	OpMul
	OpDiv
	// Reductions over Axes, with KeepDims.
	OpSum
	OpMean
	OpMax
	OpLogSumExp
	OpArgMax // attr Axis; int64 result; no gradient
	// Linear algebra and convolutions (NCHW, weights OIHW / IOHW).
	OpMatMul
	OpConv2D          // attrs Stride, Padding, Dilation, Groups
	OpConvTranspose2D // attrs Stride, Padding, OutputPadding, Dilation
	OpMaxPool2D       // attrs Kernel, Stride, Padding
	OpAvgPool2D       // attrs Kernel, Stride, Padding (count includes padding)
	// Structure.
	OpReshape   // attr Shape
	OpTranspose // attr Perm
	OpConcat    // attr Axis
	OpGather    // attr Axis; inputs x, int64 indices; numpy.take semantics
	// Training behaviour.
	OpDropout    // attr Rate; identity in eval mode
	OpModeSwitch // inputs train, eval: picks one at compile time by mode
	opCount
)

var opNames = [...]string{
	OpInvalid: "invalid", OpInput: "input", OpParam: "param", OpState: "state", OpConst: "const",
	OpNeg: "neg", OpAbs: "abs", OpExp: "exp", OpLog: "log", OpSqrt: "sqrt", OpRelu: "relu",
	OpSigmoid: "sigmoid", OpTanh: "tanh", OpLeakyRelu: "leaky_relu", OpClamp: "clamp",
	OpRound: "round", OpStopGradient: "stop_gradient", OpCast: "cast",
	OpAdd: "add", OpSub: "sub", OpMul: "mul", OpDiv: "div",
	OpSum: "sum", OpMean: "mean", OpMax: "max", OpLogSumExp: "logsumexp", OpArgMax: "argmax",
	OpMatMul: "matmul", OpConv2D: "conv2d", OpConvTranspose2D: "conv_transpose2d",
	OpMaxPool2D: "max_pool2d", OpAvgPool2D: "avg_pool2d",
	OpReshape: "reshape", OpTranspose: "transpose", OpConcat: "concat", OpGather: "gather",
	OpDropout: "dropout", OpModeSwitch: "mode_switch",
}

func (o Op) String() string {
	if int(o) < len(opNames) && opNames[o] != "" {
		return opNames[o]
	}
	return fmt.Sprintf("Op(%d)", uint16(o))
}

// AllOps lists every valid primitive op, for conformance suites.
func AllOps() []Op {
	ops := make([]Op, 0, opCount-1)
	for o := OpInvalid + 1; o < opCount; o++ {
		ops = append(ops, o)
	}
	return ops
}

// Valid reports whether o is a known op.
func (o Op) Valid() bool { return o > OpInvalid && o < opCount }

// Differentiable reports whether gradients flow through o to its inputs.
func (o Op) Differentiable() bool {
	switch o {
	case OpRound, OpStopGradient, OpCast, OpArgMax, OpInput, OpParam, OpState, OpConst:
		return false
	}
	return true
}

// Attrs holds every op attribute; each op reads only the fields it documents.
// One flat struct keeps serialisation and equality simple.
type Attrs struct {
	Name          string // leaves: the feed / parameter / state name
	Axes          []int
	KeepDims      bool
	Axis          int
	Stride        []int
	Padding       []int // conv and pool: [top, left] padding applied symmetrically per axis
	OutputPadding []int
	Dilation      []int
	Kernel        []int
	Groups        int
	Alpha         float64
	Lo, Hi        float64
	Rate          float64
	Perm          []int
	Shape         []int
	DType         tensor.DType
	Value         *tensor.Tensor // const value, state initial value
	Init          Init           // param initialiser
	LRMult        float64        // param learning-rate multiplier (1 if unset)
	DecayMult     float64        // param weight-decay multiplier (1 if unset)
}

// Node is one value in a graph. Nodes are created only by Graph methods.
type Node struct {
	g      *Graph
	id     int
	op     Op
	inputs []*Node
	attrs  Attrs
	shape  tensor.Shape
	dtype  tensor.DType
}

// ID is the node's index in the graph's topological order.
func (n *Node) ID() int { return n.id }

// Op is the node's operation.
func (n *Node) Op() Op { return n.op }

// Inputs are the node's operands; callers must not modify the slice.
func (n *Node) Inputs() []*Node { return n.inputs }

// Attrs returns the node's attributes; callers must not modify them.
func (n *Node) Attrs() *Attrs { return &n.attrs }

// Shape is the node's static shape.
func (n *Node) Shape() tensor.Shape { return n.shape }

// DType is the node's element type.
func (n *Node) DType() tensor.DType { return n.dtype }

// Rank is len(Shape()).
func (n *Node) Rank() int { return len(n.shape) }

// Graph returns the graph that owns n.
func (n *Node) Graph() *Graph { return n.g }

func (n *Node) String() string {
	if n == nil {
		return "<nil node>"
	}
	label := n.op.String()
	if n.attrs.Name != "" {
		label += " " + fmt.Sprintf("%q", n.attrs.Name)
	}
	return fmt.Sprintf("%%%d %s %v%v", n.id, label, n.dtype, n.shape)
}

// StateUpdate says that after each training step, state takes the value
// Value computed during that step's forward pass.
type StateUpdate struct {
	State *Node
	Value *Node
}

// Graph is a differentiable computation. Build one with New and the
// builder methods; check Err once at the end.
type Graph struct {
	name    string
	nodes   []*Node
	outputs []NamedNode
	updates []StateUpdate
	loss    *Node
	leaves  map[string]*Node
	err     error
}

// NamedNode pairs an output name with its node.
type NamedNode struct {
	Name string
	Node *Node
}

// New starts an empty graph.
func New(name string) *Graph {
	return &Graph{name: name, leaves: map[string]*Node{}}
}

// Name is the graph's name, used in error messages.
func (g *Graph) Name() string { return g.name }

// Err is the first error met while building, or nil.
func (g *Graph) Err() error { return g.err }

// Nodes returns every node in topological order.
func (g *Graph) Nodes() []*Node { return g.nodes }

// Outputs returns the named outputs in the order they were declared.
func (g *Graph) Outputs() []NamedNode { return g.outputs }

// Output returns the output called name, or nil.
func (g *Graph) Output(name string) *Node {
	for _, o := range g.outputs {
		if o.Name == name {
			return o.Node
		}
	}
	return nil
}

// Loss is the scalar minimised by training steps, or nil.
func (g *Graph) Loss() *Node { return g.loss }

// StateUpdates lists the state update rules.
func (g *Graph) StateUpdates() []StateUpdate { return g.updates }

// Leaf returns the input, param or state node with the given name, or nil.
func (g *Graph) Leaf(name string) *Node { return g.leaves[name] }

// LeavesOf returns the leaves with the given op (OpInput, OpParam, OpState) in creation order.
func (g *Graph) LeavesOf(op Op) []*Node {
	var out []*Node
	for _, n := range g.nodes {
		if n.op == op {
			out = append(out, n)
		}
	}
	return out
}

// Inputs, Params and States are shorthands for LeavesOf.
func (g *Graph) Inputs() []*Node { return g.LeavesOf(OpInput) }
func (g *Graph) Params() []*Node { return g.LeavesOf(OpParam) }
func (g *Graph) States() []*Node { return g.LeavesOf(OpState) }

// ShapeError is returned (wrapped) for a node whose operands do not fit.
type ShapeError struct {
	Graph  string
	Op     Op
	Shapes []tensor.Shape
	Reason string
}

func (e *ShapeError) Error() string {
	s := ""
	for i, sh := range e.Shapes {
		if i > 0 {
			s += ", "
		}
		s += sh.String()
	}
	return fmt.Sprintf("graph %q: %s(%s): %s", e.Graph, e.Op, s, e.Reason)
}

// Fail records err as the graph's error if it has none yet. Builders of
// composite ops use it to report their own argument errors.
func (g *Graph) Fail(err error) {
	if g.err == nil {
		g.err = err
	}
}

func (g *Graph) failShape(op Op, in []*Node, format string, args ...any) *Node {
	shapes := make([]tensor.Shape, len(in))
	for i, n := range in {
		if n != nil {
			shapes[i] = n.shape
		}
	}
	g.Fail(&ShapeError{Graph: g.name, Op: op, Shapes: shapes, Reason: fmt.Sprintf(format, args...)})
	return g.poison()
}

// poison returns a placeholder node so that chained calls keep going after an error.
func (g *Graph) poison() *Node {
	return &Node{g: g, id: -1, op: OpInvalid, shape: tensor.Shape{}, dtype: tensor.Float32}
}

// usable checks the operands of a new node: non-nil, same graph, not poisoned.
func (g *Graph) usable(op Op, in ...*Node) bool {
	if g.err != nil {
		return false
	}
	for i, n := range in {
		switch {
		case n == nil:
			g.Fail(fmt.Errorf("graph %q: %s: operand %d is nil", g.name, op, i))
			return false
		case n.g != g:
			g.Fail(fmt.Errorf("graph %q: %s: operand %d (%v) belongs to graph %q", g.name, op, i, n, n.g.name))
			return false
		case n.id < 0:
			return false
		}
	}
	return true
}

func (g *Graph) add(op Op, in []*Node, attrs Attrs, shape tensor.Shape, dt tensor.DType) *Node {
	n := &Node{g: g, id: len(g.nodes), op: op, inputs: in, attrs: attrs, shape: shape.Clone(), dtype: dt}
	g.nodes = append(g.nodes, n)
	return n
}

// SetOutput names a node as an output that callers can fetch.
func (g *Graph) SetOutput(name string, n *Node) {
	if !g.usable(OpInvalid, n) {
		return
	}
	if name == "" {
		g.Fail(fmt.Errorf("graph %q: output name is empty", g.name))
		return
	}
	for i, o := range g.outputs {
		if o.Name == name {
			g.outputs[i].Node = n
			return
		}
	}
	g.outputs = append(g.outputs, NamedNode{Name: name, Node: n})
}

// SetLoss marks a float scalar as the training objective; it is also output "loss".
func (g *Graph) SetLoss(n *Node) {
	if !g.usable(OpInvalid, n) {
		return
	}
	if len(n.shape) != 0 || !n.dtype.IsFloat() {
		g.Fail(fmt.Errorf("graph %q: loss must be a float scalar, got %v", g.name, n))
		return
	}
	g.loss = n
	g.SetOutput("loss", n)
}

// SetStateUpdate makes state take value after every training step.
func (g *Graph) SetStateUpdate(state, value *Node) {
	if !g.usable(OpInvalid, state, value) {
		return
	}
	if state.op != OpState {
		g.Fail(fmt.Errorf("graph %q: state update target %v is not a state node", g.name, state))
		return
	}
	if !state.shape.Equal(value.shape) || state.dtype != value.dtype {
		g.Fail(&ShapeError{Graph: g.name, Op: OpState, Shapes: []tensor.Shape{state.shape, value.shape},
			Reason: fmt.Sprintf("update of state %q must have its shape and dtype %v, got %v", state.attrs.Name, state.dtype, value.dtype)})
		return
	}
	for i, u := range g.updates {
		if u.State == state {
			g.updates[i].Value = value
			return
		}
	}
	g.updates = append(g.updates, StateUpdate{State: state, Value: value})
}

// Validate re-checks graph-level invariants that the builder cannot see
// one node at a time (used after deserialisation).
func (g *Graph) Validate() error {
	if g.err != nil {
		return g.err
	}
	names := map[string]bool{}
	for _, n := range g.nodes {
		switch n.op {
		case OpInput, OpParam, OpState:
			if n.attrs.Name == "" {
				return fmt.Errorf("graph %q: %v has no name", g.name, n)
			}
			if names[n.attrs.Name] {
				return fmt.Errorf("graph %q: leaf name %q is used twice", g.name, n.attrs.Name)
			}
			names[n.attrs.Name] = true
		}
	}
	if len(g.outputs) == 0 {
		return errors.New("graph " + fmt.Sprintf("%q", g.name) + " has no outputs")
	}
	return nil
}

// Ancestors returns the set of node IDs needed to compute roots (inclusive).
func (g *Graph) Ancestors(roots ...*Node) map[int]bool {
	seen := map[int]bool{}
	stack := slices.Clone(roots)
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if n == nil || seen[n.id] {
			continue
		}
		seen[n.id] = true
		stack = append(stack, n.inputs...)
	}
	return seen
}
