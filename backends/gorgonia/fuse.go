package gorgonia

import (
	"slices"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/sdk/graph"
)

// fuseConvBlocks turns fusion on; tests turn it off to compare the fused
// kernels with the ops they replace.
var fuseConvBlocks = true

// fusedBlock is a chain Conv2D → [Add per-channel bias] → [Relu] →
// [MaxPool2D 2x2 stride 2] that lowers to one convBlockKernel node.
type fusedBlock struct {
	conv *graph.Node // the convolution
	bias *graph.Node // the bias operand of the Add, or nil
	last *graph.Node // the chain's last node, whose value the block computes
	ops  blockOps
}

// fusionPlan maps each block's last node to the block, and marks the
// chain's other nodes, which are not lowered on their own.
type fusionPlan struct {
	blocks   map[int]*fusedBlock
	absorbed map[int]bool
}

// planFusion finds the convolution blocks among the needed nodes. A node
// is absorbed into a block only when the block's next op is its single
// reader in this mode and it is not a requested value, so no absorbed
// value is ever needed on its own. needsGrad holds the nodes that depend on
// a differentiated leaf.
func planFusion(g *graph.Graph, mode backends.Mode, needed map[int]bool, roots []*graph.Node, needsGrad map[int]bool) fusionPlan {
	plan := fusionPlan{blocks: map[int]*fusedBlock{}, absorbed: map[int]bool{}}
	readers := readersOf(g, mode, needed)
	isRoot := map[int]bool{}
	for _, r := range roots {
		isRoot[r.ID()] = true
	}
	// only returns n's single reader, or nil when n has several readers or
	// is itself requested.
	only := func(n *graph.Node) *graph.Node {
		if isRoot[n.ID()] || len(readers[n.ID()]) != 1 {
			return nil
		}
		return readers[n.ID()][0]
	}
	for _, conv := range g.Nodes() {
		if !needed[conv.ID()] || conv.Op() != graph.OpConv2D || !conv.DType().IsFloat() {
			continue
		}
		b := &fusedBlock{conv: conv, last: conv}
		chain := []*graph.Node{conv}
		channels := conv.Shape()[1]
		if u := only(b.last); u != nil && u.Op() == graph.OpAdd && u.Shape().Equal(conv.Shape()) {
			other := u.Inputs()[1]
			if other == b.last {
				other = u.Inputs()[0]
			}
			if isChannelVector(other.Shape(), channels) && other.DType() == conv.DType() {
				b.bias, b.last, b.ops.bias = other, u, true
				chain = append(chain, u)
			}
		}
		if u := only(b.last); u != nil && u.Op() == graph.OpRelu {
			b.last, b.ops.relu = u, true
			chain = append(chain, u)
		}
		if u := only(b.last); u != nil && isPool2x2(u) {
			b.last, b.ops.pool = u, true
			chain = append(chain, u)
		}
		if len(chain) == 1 {
			continue
		}
		b.ops.xGrad = needsGrad[conv.Inputs()[0].ID()]
		plan.blocks[b.last.ID()] = b
		for _, n := range chain[:len(chain)-1] {
			plan.absorbed[n.ID()] = true
		}
	}
	return plan
}

// isChannelVector reports whether shape broadcasts against [N,C,H,W] as one
// value per channel: [1,C,1,1] or [C,1,1] (a bare [C] would broadcast along W).
func isChannelVector(shape []int, c int) bool {
	if len(shape) > 4 || len(shape) < 3 {
		return false
	}
	full := append(slices.Repeat([]int{1}, 4-len(shape)), shape...)
	return slices.Equal(full, []int{1, c, 1, 1})
}

// isPool2x2 reports whether n is an unpadded 2x2 stride-2 max-pool of a
// map with even height and width (every input pixel in exactly one window).
func isPool2x2(n *graph.Node) bool {
	if n.Op() != graph.OpMaxPool2D {
		return false
	}
	a, in := n.Attrs(), n.Inputs()[0].Shape()
	return slices.Equal(a.Kernel, []int{2, 2}) && slices.Equal(a.Stride, []int{2, 2}) &&
		slices.Equal(a.Padding, []int{0, 0}) && in[2]%2 == 0 && in[3]%2 == 0
}

// dependsOn returns the needed nodes whose value depends on a node of wrt.
func dependsOn(g *graph.Graph, mode backends.Mode, needed map[int]bool, wrt []*graph.Node) map[int]bool {
	set := map[int]bool{}
	for _, w := range wrt {
		set[w.ID()] = true
	}
	for _, n := range g.Nodes() {
		if !needed[n.ID()] || set[n.ID()] {
			continue
		}
		for _, in := range backends.LiveInputs(n, mode) {
			if set[in.ID()] {
				set[n.ID()] = true
				break
			}
		}
	}
	return set
}
