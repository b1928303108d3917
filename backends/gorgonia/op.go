package gorgonia

import (
	"encoding/binary"
	"fmt"
	"hash"
	"hash/fnv"
	"io"
	"math"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	gt "gorgonia.org/tensor"
)

// Every IR op runs as a kernelOp: gorgonia supplies the expression graph,
// symbolic differentiation (Grad) and the graph the executor runs, and the kernels here
// supply NumPy broadcasting, keep-dims reductions, grouped/dilated
// convolutions and the other semantics the IR fixes, which gorgonia's
// built-in ops either lack or define differently.

// runContext is shared by every op of one compiled graph.
type runContext struct {
	threads int    // worker goroutines for batch-parallel kernels
	seed    uint64 // compile seed, for dropout masks
	step    *int64 // the executable's step counter, for dropout masks
}

// kernel is the part of an op that differs from op to op.
type kernel interface {
	// name identifies the kernel in hashes and error messages.
	name() string
	// writeAttrs writes every attribute that changes the result. Gorgonia
	// merges nodes whose op hashes and children are equal, so a missing
	// attribute would silently alias two different computations.
	writeAttrs(w io.Writer)
	// forward computes out from in. out is already allocated and zeroed,
	// unless the kernel implements overwriter and says it writes every
	// element.
	forward(ctx *runContext, in []G.Value, out G.Value) error
	// diffWRT says which inputs receive gradients.
	diffWRT(n int) []bool
	// symDiff builds the gradient nodes for every input (nil where diffWRT is false).
	symDiff(ctx *runContext, inputs G.Nodes, output, grad *G.Node) (G.Nodes, error)
}

// overwriter is implemented by kernels whose forward writes every element
// of out, so the reused output buffer need not be cleared first.
type overwriter interface{ overwrites() bool }

// kernelOp adapts a kernel to gorgonia's Op and SDOp interfaces.
type kernelOp struct {
	k        kernel
	ctx      *runContext
	inTypes  []hm.Type
	outShape []int
	outDtype gt.Dtype
	hash     uint32
	// out is this node's result, allocated on the first run and rewritten
	// by every later one: a step allocates nothing for its activations and
	// gradients, and the pages stay mapped, instead of fresh zeroed memory
	// per step for the garbage collector to reclaim. Each node runs once
	// per run of its program, every value is recomputed before it is read,
	// and fetched values are copied out, so reuse across runs is sound.
	out G.Value
}

// typeFor is gorgonia's type for a value of the given dtype and shape.
func typeFor(dt gt.Dtype, shape []int) hm.Type {
	if len(shape) == 0 {
		return dt
	}
	return G.TensorType{Dims: len(shape), Of: dt}
}

// applyKernel adds a node computing k(children...) with the given result dtype and shape.
func applyKernel(ctx *runContext, k kernel, dt gt.Dtype, shape []int, children ...*G.Node) (*G.Node, error) {
	op := &kernelOp{k: k, ctx: ctx, outShape: append([]int{}, shape...), outDtype: dt}
	for _, c := range children {
		op.inTypes = append(op.inTypes, c.Type())
	}
	h := fnv.New32a()
	op.WriteHash(h)
	op.hash = h.Sum32()
	n, err := G.ApplyOp(op, children...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", k.name(), err)
	}
	return n, nil
}

func (op *kernelOp) Arity() int { return len(op.inTypes) }

func (op *kernelOp) Type() hm.Type {
	ts := append(append([]hm.Type{}, op.inTypes...), typeFor(op.outDtype, op.outShape))
	return hm.NewFnType(ts...)
}

func (op *kernelOp) InferShape(...G.DimSizer) (gt.Shape, error) {
	return gt.Shape(append([]int{}, op.outShape...)), nil
}

func (op *kernelOp) Do(in ...G.Value) (G.Value, error) {
	if len(in) != len(op.inTypes) {
		return nil, fmt.Errorf("%s: got %d inputs, want %d", op.k.name(), len(in), len(op.inTypes))
	}
	out := op.out
	switch {
	case out == nil:
		out = newValue(op.outDtype, op.outShape)
		op.out = out
	case !overwrites(op.k):
		clearValue(out)
	}
	if err := op.k.forward(op.ctx, in, out); err != nil {
		return nil, fmt.Errorf("%s: %w", op.k.name(), err)
	}
	return out, nil
}

func overwrites(k kernel) bool {
	o, ok := k.(overwriter)
	return ok && o.overwrites()
}

// ReturnsPtr is false: every kernel writes its own buffer and never aliases
// an input, so gorgonia's in-place reuse of registers stays sound.
func (op *kernelOp) ReturnsPtr() bool     { return false }
func (op *kernelOp) CallsExtern() bool    { return false }
func (op *kernelOp) OverwritesInput() int { return -1 }

func (op *kernelOp) WriteHash(h hash.Hash) {
	io.WriteString(h, op.k.name())
	op.k.writeAttrs(h)
	fmt.Fprintf(h, "->%v%v", op.outDtype, op.outShape)
}

func (op *kernelOp) Hashcode() uint32 { return op.hash }
func (op *kernelOp) String() string   { return op.k.name() }

func (op *kernelOp) DiffWRT(n int) []bool { return op.k.diffWRT(n) }

func (op *kernelOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	grads, err := op.k.symDiff(op.ctx, inputs, output, grad)
	if err != nil {
		return nil, fmt.Errorf("gradient of %s: %w", op.k.name(), err)
	}
	return grads, nil
}

// DoDiff is gorgonia's automatic (non-symbolic) differentiation, used only
// by its LispMachine; this backend always differentiates symbolically.
func (op *kernelOp) DoDiff(G.ExecutionContext, G.Nodes, *G.Node) error {
	return fmt.Errorf("%s: only symbolic differentiation is supported", op.k.name())
}

// ---- helpers for kernels ----

// attrWriter writes attributes in a fixed binary form for hashing.
type attrWriter struct{ w io.Writer }

func (a attrWriter) ints(tag string, xs ...int) {
	io.WriteString(a.w, tag)
	binary.Write(a.w, binary.LittleEndian, int64(len(xs)))
	for _, x := range xs {
		binary.Write(a.w, binary.LittleEndian, int64(x))
	}
}

func (a attrWriter) floats(tag string, xs ...float64) {
	io.WriteString(a.w, tag)
	for _, x := range xs {
		binary.Write(a.w, binary.LittleEndian, math.Float64bits(x))
	}
}

func allTrue(n int) []bool {
	b := make([]bool, n)
	for i := range b {
		b[i] = true
	}
	return b
}

// nodeShape is a node's shape as a plain slice (empty for scalars).
func nodeShape(n *G.Node) []int {
	s := n.Shape()
	if s.IsScalar() {
		return []int{}
	}
	return append([]int{}, s...)
}

// noGradient is embedded by kernels through which no gradient flows.
type noGradient struct{}

func (noGradient) diffWRT(n int) []bool { return make([]bool, n) }
func (noGradient) symDiff(_ *runContext, inputs G.Nodes, _, _ *G.Node) (G.Nodes, error) {
	return make(G.Nodes, len(inputs)), nil
}
