//go:build cgo

package libtorch

import (
	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// foldBiases enables the bias folding below; tests switch it off to
// compare against the op-by-op evaluation.
var foldBiases = true

// biasFold is an add whose bias goes into the op before it:
// add(conv2d(x, w), b) with one b per output channel runs as conv2d with a
// bias, and add(matmul(x, w), b) as addmm, the calls torch.nn.Conv2d and
// torch.nn.Linear make. libtorch then adds the bias inside the kernel and
// gets its gradient from the convolution's own backward kernel (or from
// the GEMM's beta), instead of a separate broadcast add over the whole
// activation forward and a reduction over it backward. Graphs spell layers
// this way (graph.Conv2DLayer, graph.Linear), so every network with biases
// gains; the result is the same sum, rounded once more or less.
type biasFold struct {
	inner *graph.Node // the conv2d or matmul, never evaluated on its own
	bias  *graph.Node
}

// planBiasFolds finds the adds to fold, by add node id. The inner op's own
// value is then never computed, so it must have no other use: exactly one
// consumer (the add), and not an output, the loss or a state update.
func planBiasFolds(g *graph.Graph) map[int]biasFold {
	if !foldBiases {
		return nil
	}
	uses := map[int]int{}
	for _, n := range g.Nodes() {
		for _, in := range n.Inputs() {
			uses[in.ID()]++
		}
	}
	for _, o := range g.Outputs() {
		uses[o.Node.ID()]++
	}
	if l := g.Loss(); l != nil {
		uses[l.ID()]++
	}
	for _, u := range g.StateUpdates() {
		uses[u.Value.ID()]++
	}
	folds := map[int]biasFold{}
	for _, n := range g.Nodes() {
		if n.Op() != graph.OpAdd {
			continue
		}
		in := n.Inputs()
		for i := range 2 {
			inner, bias := in[i], in[1-i]
			if uses[inner.ID()] == 1 && foldable(inner, bias, n) {
				folds[n.ID()] = biasFold{inner: inner, bias: bias}
				break
			}
		}
	}
	return folds
}

// foldable reports whether add = inner + bias can run as inner with bias.
func foldable(inner, bias, add *graph.Node) bool {
	if !inner.DType().IsFloat() || bias.DType() != inner.DType() || !add.Shape().Equal(inner.Shape()) {
		return false
	}
	switch inner.Op() {
	case graph.OpConv2D:
		// One value per output channel, broadcast over batch and space.
		o := inner.Shape()[1]
		return bias.Shape().Equal(tensor.Shape{1, o, 1, 1}) || bias.Shape().Equal(tensor.Shape{o, 1, 1})
	case graph.OpMatMul:
		// addmm broadcasts any bias that does not enlarge the [N,O] result.
		return bias.Rank() <= 2
	}
	return false
}
