package gorgonia

import (
	"fmt"
	"slices"
	"strings"
	"unsafe"

	G "gorgonia.org/gorgonia"
	gt "gorgonia.org/tensor"
)

// executor runs a program's expression graph in place of gorgonia's tape
// machine. The tape machine allocated, for every instruction of every run,
// its operands slice, the boxed arguments of its log calls and its
// register bookkeeping (about 340 objects per vggm-112 step), and its
// register allocator reused the buffers of dead values for gorgonia's own
// ops. The executor fixes everything at compile time instead: the order
// of the nodes, one value slot per node, and per step the slots of its
// operands and a slice to pass them in. A run then only fills slots.
//
// It runs the same nodes in the same order as the tape machine (gorgonia's
// stable topological sort, reversed) and each node computes exactly what
// it computed there, so results are bit for bit those of the tape.
type executor struct {
	steps []execStep
	// values holds every node's value by slot: leaves are bound before a
	// run, constants at compile time, and each step writes its own.
	values []G.Value
	slots  map[*G.Node]int
}

// execStep computes one node that has an op.
type execStep struct {
	name string    // for error messages
	op   G.Op      // the node's op
	args []int     // value slots of its operands, in order
	in   []G.Value // operands, refilled from args before each run of op
	out  int       // value slot of its result
	// sum is set for gorgonia's addition of two values of one shape and
	// dtype, which G.Grad inserts to sum the gradients flowing into a node
	// from several consumers. It runs into its own kept buffer instead of
	// through gorgonia's allocating Do.
	sum *sumStep
	// view is set for a reshape of a tensor to a tensor: the result shares
	// the operand's data instead of copying it (see viewStep).
	view *viewStep
}

// sumStep is an elementwise sum a+b with a kept result buffer. It is its
// own parallel task body, so a run allocates nothing.
type sumStep struct {
	dtype gt.Dtype
	shape []int
	out   G.Value
	// during a run: the operands and the number of parts
	a, b  G.Value
	tasks int
}

// newExecutor orders the nodes of eg that the wanted nodes depend on. The
// leaves (nodes without an op) are bound by bindLeaf before each run.
func newExecutor(eg *G.ExprGraph, wanted G.Nodes) (*executor, error) {
	sorted, err := G.Sort(eg)
	if err != nil {
		return nil, fmt.Errorf("order the expression graph: %w", err)
	}
	// Sort lists a node before its operands; the tape machine runs the
	// reverse, and so does the executor.
	slices.Reverse(sorted)

	// Only nodes that a wanted value depends on run. Every kernel reads
	// its operands through graph edges only (state a backward kernel
	// shares with its forward kernel, such as the pooling argmax, comes
	// with the forward node's output as an operand), so skipping a node
	// nothing reads changes no result.
	needed := map[*G.Node]bool{}
	var mark func(n *G.Node)
	mark = func(n *G.Node) {
		if needed[n] {
			return
		}
		needed[n] = true
		for _, c := range operands(eg, n) {
			mark(c)
		}
	}
	for _, n := range wanted {
		mark(n)
	}

	x := &executor{slots: map[*G.Node]int{}}
	for _, n := range sorted {
		if !needed[n] {
			continue
		}
		slot := len(x.values)
		x.slots[n] = slot
		x.values = append(x.values, nil)
		op := n.Op()
		if op == nil {
			continue // a leaf, bound before each run
		}
		children := operands(eg, n)
		if len(children) == 0 {
			// A constant, such as the 1 that G.Grad seeds the loss's
			// gradient with; its value is fixed when it is built.
			if n.Value() == nil {
				return nil, fmt.Errorf("node %v: an op without operands and without a value", n)
			}
			x.values[slot] = n.Value()
			continue
		}
		st := execStep{name: n.Name(), op: op, out: slot, in: make([]G.Value, len(children))}
		for _, c := range children {
			at, ok := x.slots[c]
			if !ok {
				return nil, fmt.Errorf("node %v: operand %v is not ordered before it", n, c)
			}
			st.args = append(st.args, at)
		}
		if kop, ours := op.(*kernelOp); !ours {
			st.sum = sameShapeSum(n, children)
		} else if _, reshape := kop.k.(reshapeKernel); reshape && !n.IsScalar() && !children[0].IsScalar() {
			st.view = &viewStep{shape: nodeShape(n)}
		}
		x.steps = append(x.steps, st)
	}
	return x, nil
}

// operands are n's operand nodes in order (gorgonia keeps them unexported;
// the graph's From lists them in order, repeats included).
func operands(eg *G.ExprGraph, n *G.Node) G.Nodes {
	var out G.Nodes
	it := eg.From(n.ID())
	if it == nil {
		return nil
	}
	for it.Next() {
		out = append(out, it.Node().(*G.Node))
	}
	return out
}

// sameShapeSum recognises gorgonia's a+b on two float operands of n's own
// shape and dtype (the gradient sums of G.Grad) and returns its step, or nil.
func sameShapeSum(n *G.Node, children G.Nodes) *sumStep {
	binary, ok := n.Op().(interface{ IsBinary() bool })
	if !ok || !binary.IsBinary() || len(children) != 2 || !strings.HasPrefix(n.Op().String(), "+ ") {
		return nil
	}
	dt := n.Dtype()
	if dt != gt.Float32 && dt != gt.Float64 {
		return nil
	}
	shape := nodeShape(n)
	for _, c := range children {
		if c.Dtype() != dt || !slices.Equal(nodeShape(c), shape) || c.IsScalar() != n.IsScalar() {
			return nil
		}
	}
	return &sumStep{dtype: dt, shape: shape}
}

// value is the value of node n from the last run (nil if n is not part of it).
func (x *executor) value(n *G.Node) G.Value {
	slot, ok := x.slots[n]
	if !ok {
		return nil
	}
	return x.values[slot]
}

// bindLeaf sets the value of a leaf node for the next runs. Leaves that no
// wanted value depends on are ignored.
func (x *executor) bindLeaf(n *G.Node, v G.Value) {
	if slot, ok := x.slots[n]; ok {
		x.values[slot] = v
	}
}

// run computes every step in order.
func (x *executor) run(ctx *runContext) error {
	for i := range x.steps {
		st := &x.steps[i]
		for j, at := range st.args {
			if x.values[at] == nil {
				return fmt.Errorf("%s: operand %d has no value (an unbound leaf)", st.name, j)
			}
			st.in[j] = x.values[at]
		}
		var v G.Value
		var err error
		if st.sum != nil {
			v = st.sum.run(ctx, st.in[0], st.in[1])
		} else if st.view != nil {
			v = st.view.of(st.in[0])
		} else if v, err = st.op.Do(st.in...); err != nil {
			return fmt.Errorf("%s: %w", st.name, err)
		}
		x.values[st.out] = v
	}
	return nil
}

// viewStep is a reshape that returns a view of its operand's data in the
// new shape. The reshape kernel copies, because gorgonia's tape machine
// could run its own ops in place over an operand's register; nothing runs
// in place here (every kernel and sum writes only its own buffer), so a
// view gives the same values without the copy (about 2 per cent of an
// interpretable vggm-112 step). The view is kept while the operand keeps
// its data, which kernel outputs and bound leaves do from run to run.
type viewStep struct {
	shape []int
	data  unsafe.Pointer // the operand's data that view shares
	view  G.Value
}

// of returns x's data as a tensor of the step's shape.
func (s *viewStep) of(x G.Value) G.Value {
	raw := x.(*gt.Dense).Raw
	if s.view != nil && unsafe.Pointer(unsafe.SliceData(raw)) == s.data {
		return s.view
	}
	var backing any
	switch x.Dtype() {
	case gt.Float32:
		backing = dataOf[float32](x)
	case gt.Float64:
		backing = dataOf[float64](x)
	case gt.Int32:
		backing = dataOf[int32](x)
	case gt.Int64:
		backing = dataOf[int64](x)
	}
	s.data = unsafe.Pointer(unsafe.SliceData(raw))
	s.view = gt.New(gt.WithShape(slices.Clone(s.shape)...), gt.WithBacking(backing))
	return s.view
}

// sumGrain is the fewest elements worth a parallel task of a sum.
const sumGrain = 1 << 16

// run returns a+b in the step's kept buffer. Each element is one float
// addition, as in gorgonia's own kernel, so any split over threads gives
// the same bits.
func (s *sumStep) run(ctx *runContext, a, b G.Value) G.Value {
	if s.out == nil {
		s.out = newValue(s.dtype, s.shape)
	}
	n := numElements(s.shape)
	s.tasks = max(min(ctx.threads, n/sumGrain), 1)
	s.a, s.b = a, b
	parallelTasks(s.tasks, s.tasks, s)
	s.a, s.b = nil, nil
	return s.out
}

// runTask adds the t-th of the run's equal parts of the operands.
func (s *sumStep) runTask(t int) {
	switch s.dtype {
	case gt.Float32:
		addPart(t, s.tasks, dataOf[float32](s.out), dataOf[float32](s.a), dataOf[float32](s.b))
	case gt.Float64:
		addPart(t, s.tasks, dataOf[float64](s.out), dataOf[float64](s.a), dataOf[float64](s.b))
	}
}

// addPart sets out[i] = a[i] + b[i] over the t-th of k equal parts.
func addPart[T float](t, k int, out, a, b []T) {
	n := len(out)
	lo, hi := t*n/k, (t+1)*n/k
	out, a, b = out[lo:hi], a[lo:hi], b[lo:hi]
	for i := range out {
		out[i] = a[i] + b[i]
	}
}
