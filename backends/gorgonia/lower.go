package gorgonia

import (
	"fmt"

	G "gorgonia.org/gorgonia"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// program is one compiled view of the IR graph: a gorgonia expression graph
// for one mode, one set of requested values and one set of gradients,
// with the executor that runs it.
type program struct {
	eg     *G.ExprGraph
	x      *executor
	leaves map[int]*G.Node // IR leaf (input, param, state, const) id -> gorgonia input node
	nodes  map[int]*G.Node // IR node id -> gorgonia node
	grads  []*G.Node       // one per requested wrt; nil where the loss does not depend on it
	needed map[int]bool    // IR node ids this program evaluates
	// bound is each leaf's gorgonia value from the last run, reused while
	// the leaf's tensor keeps its backing data (parameters are updated in
	// place; a feed reused across steps keeps its slice).
	bound map[int]boundLeaf
	// newStates receives the state updates' values of a training step
	// before they are copied into the states (allocated on first use).
	newStates []*tensor.Tensor
}

// gradientFlows reports whether d(n)/d(operand i) is propagated.
func gradientFlows(n *graph.Node, i int) bool {
	if !n.Op().Differentiable() {
		return false
	}
	if n.Op() == graph.OpGather && i == 1 {
		return false
	}
	return n.Inputs()[i].DType().IsFloat()
}

// differentiable returns the ids of nodes through which the loss depends
// differentiably (the set gorgonia's own analysis will find).
func differentiable(g *graph.Graph, mode backends.Mode) map[int]bool {
	set := map[int]bool{}
	loss := g.Loss()
	if loss == nil {
		return set
	}
	set[loss.ID()] = true
	nodes := g.Nodes()
	for i := len(nodes) - 1; i >= 0; i-- {
		n := nodes[i]
		if !set[n.ID()] {
			continue
		}
		if n.Op() == graph.OpModeSwitch {
			set[backends.Picked(n, mode).ID()] = true
			continue
		}
		for j, in := range n.Inputs() {
			if gradientFlows(n, j) {
				set[in.ID()] = true
			}
		}
	}
	return set
}

// compile lowers the IR nodes needed for roots, adds gradient nodes of the
// loss for wrt (which must then include the loss among roots) and orders
// the nodes for the executor.
func compile(g *graph.Graph, ctx *runContext, mode backends.Mode, roots, wrt []*graph.Node) (*program, error) {
	p := &program{
		eg:     G.NewGraph(),
		leaves: map[int]*G.Node{},
		nodes:  map[int]*G.Node{},
		needed: backends.Ancestors(mode, roots),
	}
	fusion := fusionPlan{}
	if fuseConvBlocks {
		fusion = planFusion(g, mode, p.needed, roots, dependsOn(g, mode, p.needed, wrt))
	}
	mi := miPlan{}
	if fuseMI {
		mi = planMIFusion(g, mode, p.needed, roots)
	}
	for _, n := range g.Nodes() {
		if !p.needed[n.ID()] || fusion.absorbed[n.ID()] || mi.absorbed[n.ID()] {
			continue
		}
		var gn *G.Node
		var err error
		if b := fusion.blocks[n.ID()]; b != nil {
			gn, err = p.lowerBlock(ctx, b)
		} else if c := mi.chains[n.ID()]; c != nil {
			gn, err = p.lowerMI(ctx, c)
		} else {
			gn, err = p.lower(ctx, mode, n)
		}
		if err != nil {
			return nil, fmt.Errorf("graph %q: compile %v: %w", g.Name(), n, err)
		}
		p.nodes[n.ID()] = gn
	}

	keep := G.Nodes{}
	for _, r := range roots {
		keep = append(keep, p.nodes[r.ID()])
	}
	if len(wrt) > 0 {
		flows := differentiable(g, mode)
		var active G.Nodes
		var activeAt []int
		for i, w := range wrt {
			if flows[w.ID()] && p.leaves[w.ID()] != nil {
				active = append(active, p.leaves[w.ID()])
				activeAt = append(activeAt, i)
			}
		}
		p.grads = make([]*G.Node, len(wrt))
		if len(active) > 0 {
			grads, err := G.Grad(p.nodes[g.Loss().ID()], active...)
			if err != nil {
				return nil, fmt.Errorf("graph %q: differentiate the loss: %w", g.Name(), err)
			}
			for j, gr := range grads {
				p.grads[activeAt[j]] = gr
				keep = append(keep, gr)
			}
		}
	}
	x, err := newExecutor(p.eg, dedupe(keep))
	if err != nil {
		return nil, fmt.Errorf("graph %q: %w", g.Name(), err)
	}
	p.x = x
	return p, nil
}

func dedupe(ns G.Nodes) G.Nodes {
	seen := map[*G.Node]bool{}
	var out G.Nodes
	for _, n := range ns {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

// lowerBlock lowers a fused convolution block whose operands are lowered.
func (p *program) lowerBlock(ctx *runContext, b *fusedBlock) (*G.Node, error) {
	a := b.conv.Attrs()
	x, w, y := b.conv.Inputs()[0].Shape(), b.conv.Inputs()[1].Shape(), b.conv.Shape()
	k := convBlockKernel{
		g: convGeom{n: x[0], c: x[1], h: x[2], w: x[3], o: w[0], kh: w[2], kw: w[3], oh: y[2], ow: y[3],
			sh: a.Stride[0], sw: a.Stride[1], ph: a.Padding[0], pw: a.Padding[1], dh: a.Dilation[0], dw: a.Dilation[1], groups: a.Groups},
		ops: b.ops,
		st:  &blockState{},
	}
	dt, err := toGorgoniaDtype(b.conv.DType())
	if err != nil {
		return nil, err
	}
	children := G.Nodes{p.nodes[b.conv.Inputs()[0].ID()], p.nodes[b.conv.Inputs()[1].ID()]}
	if b.bias != nil {
		children = append(children, p.nodes[b.bias.ID()])
	}
	return applyKernel(ctx, k, dt, k.outShape(), children...)
}

// lower translates one IR node whose operands are already lowered.
func (p *program) lower(ctx *runContext, mode backends.Mode, n *graph.Node) (*G.Node, error) {
	a := n.Attrs()
	dt, err := toGorgoniaDtype(n.DType())
	if err != nil {
		return nil, err
	}
	shape := []int(n.Shape())
	in := make(G.Nodes, len(n.Inputs()))
	for i, x := range n.Inputs() {
		in[i] = p.nodes[x.ID()]
	}
	inShape := func(i int) []int { return []int(n.Inputs()[i].Shape()) }
	apply := func(k kernel, children ...*G.Node) (*G.Node, error) {
		return applyKernel(ctx, k, dt, shape, children...)
	}

	switch op := n.Op(); op {
	case graph.OpInput, graph.OpParam, graph.OpState, graph.OpConst:
		name := fmt.Sprintf("%s:%s", op, a.Name)
		if op == graph.OpConst {
			name = fmt.Sprintf("const:%d", n.ID())
		}
		var leaf *G.Node
		if len(shape) == 0 {
			leaf = G.NewScalar(p.eg, dt, G.WithName(name))
		} else {
			leaf = G.NewTensor(p.eg, dt, len(shape), G.WithShape(shape...), G.WithName(name))
		}
		p.leaves[n.ID()] = leaf
		return leaf, nil
	case graph.OpModeSwitch:
		return p.nodes[backends.Picked(n, mode).ID()], nil
	case graph.OpDropout:
		if mode == backends.Eval || a.Rate == 0 {
			return in[0], nil
		}
		return apply(dropoutKernel{rate: a.Rate, nodeID: n.ID()}, in[0])
	case graph.OpNeg, graph.OpAbs, graph.OpExp, graph.OpLog, graph.OpSqrt, graph.OpRelu, graph.OpSigmoid,
		graph.OpTanh, graph.OpLeakyRelu, graph.OpClamp, graph.OpRound, graph.OpStopGradient:
		if !n.DType().IsFloat() {
			if op == graph.OpStopGradient {
				return apply(castKernel{to: dt}, in[0])
			}
			return nil, fmt.Errorf("needs a float operand")
		}
		return apply(unaryKernel{op: op, alpha: a.Alpha, lo: a.Lo, hi: a.Hi}, in[0])
	case graph.OpCast:
		return apply(castKernel{to: dt}, in[0])
	case graph.OpAdd, graph.OpSub, graph.OpMul, graph.OpDiv:
		return apply(binaryKernel{op: op, aShape: inShape(0), bShape: inShape(1), outShape: shape}, in...)
	case graph.OpSum, graph.OpMean, graph.OpMax, graph.OpLogSumExp:
		return apply(reduceKernel{op: op, axes: a.Axes, keep: a.KeepDims, inShape: inShape(0), st: &scratch{}}, in[0])
	case graph.OpArgMax:
		return apply(argMaxKernel{axis: a.Axis, inShape: inShape(0)}, in[0])
	case graph.OpMatMul:
		s0, s1 := inShape(0), inShape(1)
		return apply(matMulKernel{m: s0[0], k: s0[1], n: s1[1]}, in...)
	case graph.OpConv2D:
		x, w := inShape(0), inShape(1)
		geom := convGeom{n: x[0], c: x[1], h: x[2], w: x[3], o: w[0], kh: w[2], kw: w[3], oh: shape[2], ow: shape[3],
			sh: a.Stride[0], sw: a.Stride[1], ph: a.Padding[0], pw: a.Padding[1], dh: a.Dilation[0], dw: a.Dilation[1], groups: a.Groups}
		return apply(convKernel{role: convForward, g: geom, st: &scratch{}}, in...)
	case graph.OpConvTranspose2D:
		// ConvTranspose2D(x, w) is the input gradient of the convolution
		// that maps its output shape to x's shape with weights w [C,O,KH,KW].
		x, w := inShape(0), inShape(1)
		geom := convGeom{n: x[0], c: w[1], h: shape[2], w: shape[3], o: w[0], kh: w[2], kw: w[3], oh: x[2], ow: x[3],
			sh: a.Stride[0], sw: a.Stride[1], ph: a.Padding[0], pw: a.Padding[1], dh: a.Dilation[0], dw: a.Dilation[1], groups: 1}
		return apply(convKernel{role: convGradInput, g: geom, st: &scratch{}}, in[1], in[0])
	case graph.OpMaxPool2D, graph.OpAvgPool2D:
		x := inShape(0)
		geom := poolGeom{n: x[0], c: x[1], h: x[2], w: x[3], kh: a.Kernel[0], kw: a.Kernel[1], sh: a.Stride[0], sw: a.Stride[1],
			ph: a.Padding[0], pw: a.Padding[1], oh: shape[2], ow: shape[3]}
		if op == graph.OpAvgPool2D {
			return apply(poolKernel{role: avgPoolForward, g: geom, st: &scratch{}}, in[0])
		}
		return apply(poolKernel{role: maxPoolForward, g: geom, arg: &poolArgmax{}, st: &scratch{}}, in[0])
	case graph.OpReshape:
		return apply(reshapeKernel{}, in[0])
	case graph.OpTranspose:
		return apply(transposeKernel{perm: a.Perm, inShape: inShape(0)}, in[0])
	case graph.OpConcat:
		k := concatKernel{axis: a.Axis}
		for i := range n.Inputs() {
			k.shapes = append(k.shapes, inShape(i))
		}
		return apply(k, in...)
	case graph.OpGather:
		return apply(gatherKernel{axis: a.Axis, xShape: inShape(0), idxShape: inShape(1)}, in...)
	}
	return nil, &backends.UnsupportedOpError{Backend: Name, Node: n}
}
