package graph

import (
	"fmt"
	"slices"
	"sort"
)

// Inline copies sub into g and returns sub's outputs, by name, as nodes of
// g. This is how the host splices a plugin's subgraph (a mask, a loss) into
// the model.
//
// Every input of sub must be bound, by name, to a node of g with the same
// shape and dtype; binding a name that is not an input of sub is an error
// too, so that a misspelt binding cannot be silently ignored. Parameters and
// states are renamed prefix+"/"+name (kept as they are when prefix is
// empty) and keep their initialisers, multipliers and initial values;
// state updates are copied. Nodes are rebuilt through the builder methods,
// so shapes are checked again. sub's loss is returned as its "loss" output;
// g's own loss is left alone (the host decides how losses combine).
//
// An error is also recorded on g (the builder's sticky error), since g may
// hold some of sub's nodes when it occurs.
func (g *Graph) Inline(sub *Graph, prefix string, bind map[string]*Node) (map[string]*Node, error) {
	out, err := g.inline(sub, prefix, bind)
	if err != nil {
		g.Fail(err)
		return nil, err
	}
	return out, nil
}

func (g *Graph) inline(sub *Graph, prefix string, bind map[string]*Node) (map[string]*Node, error) {
	if g.err != nil {
		return nil, fmt.Errorf("inline into graph %q: graph already failed: %w", g.name, g.err)
	}
	if sub == nil {
		return nil, fmt.Errorf("inline into graph %q: subgraph is nil", g.name)
	}
	what := fmt.Sprintf("inline %q into %q", sub.name, g.name)
	if sub.err != nil {
		return nil, fmt.Errorf("%s: subgraph failed to build: %w", what, sub.err)
	}
	var unknown []string
	for name := range bind {
		if n := sub.leaves[name]; n == nil || n.op != OpInput {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("%s: bound names %q are not inputs of the subgraph", what, unknown)
	}
	rename := func(name string) string {
		if prefix == "" {
			return name
		}
		return prefix + "/" + name
	}

	mapped := make([]*Node, len(sub.nodes))
	for _, n := range sub.nodes {
		in := make([]*Node, len(n.inputs))
		for i, x := range n.inputs {
			in[i] = mapped[x.id]
		}
		var m *Node
		switch n.op {
		case OpInput:
			b, ok := bind[n.attrs.Name]
			switch {
			case !ok || b == nil:
				return nil, fmt.Errorf("%s: input %q %v%v is not bound", what, n.attrs.Name, n.dtype, n.shape)
			case b.g != g:
				return nil, fmt.Errorf("%s: input %q is bound to %v of graph %q", what, n.attrs.Name, b, b.g.name)
			case !b.shape.Equal(n.shape) || b.dtype != n.dtype:
				return nil, fmt.Errorf("%s: input %q wants %v%v, bound to %v", what, n.attrs.Name, n.dtype, n.shape, b)
			}
			m = b
		case OpParam:
			a := n.attrs
			m = g.Param(rename(a.Name), a.Init, n.shape, LRMult(a.LRMult), DecayMult(a.DecayMult))
		case OpState:
			m = g.State(rename(n.attrs.Name), n.attrs.Value)
		default:
			m = g.rebuild(n, in)
		}
		if g.err != nil {
			return nil, fmt.Errorf("%s: copying %v: %w", what, n, g.err)
		}
		if !m.shape.Equal(n.shape) || m.dtype != n.dtype {
			return nil, fmt.Errorf("%s: %v was rebuilt as %v", what, n, m)
		}
		mapped[n.id] = m
	}
	for _, u := range sub.updates {
		g.SetStateUpdate(mapped[u.State.id], mapped[u.Value.id])
	}
	if g.err != nil {
		return nil, fmt.Errorf("%s: state updates: %w", what, g.err)
	}
	outs := make(map[string]*Node, len(sub.outputs))
	for _, o := range sub.outputs {
		outs[o.Name] = mapped[o.Node.id]
	}
	return outs, nil
}

// rebuild re-creates the non-leaf node n of another graph from its mapped
// operands through the builder method of its op.
func (g *Graph) rebuild(n *Node, in []*Node) *Node {
	a := n.attrs
	pair := func(s []int) [2]int {
		var p [2]int
		copy(p[:], s)
		return p
	}
	arity := map[Op]int{
		OpNeg: 1, OpAbs: 1, OpExp: 1, OpLog: 1, OpSqrt: 1, OpRelu: 1, OpSigmoid: 1, OpTanh: 1,
		OpLeakyRelu: 1, OpClamp: 1, OpRound: 1, OpStopGradient: 1, OpCast: 1,
		OpAdd: 2, OpSub: 2, OpMul: 2, OpDiv: 2,
		OpSum: 1, OpMean: 1, OpMax: 1, OpLogSumExp: 1, OpArgMax: 1,
		OpMatMul: 2, OpConv2D: 2, OpConvTranspose2D: 2, OpMaxPool2D: 1, OpAvgPool2D: 1,
		OpReshape: 1, OpTranspose: 1, OpGather: 2, OpDropout: 1, OpModeSwitch: 2,
	}
	if want, ok := arity[n.op]; ok && len(in) != want {
		g.Fail(fmt.Errorf("graph %q: %v has %d operands, %s takes %d", g.name, n, len(in), n.op, want))
		return g.poison()
	}
	switch n.op {
	case OpConst:
		return g.Const(a.Value)
	case OpNeg, OpAbs, OpExp, OpLog, OpSqrt, OpRelu, OpSigmoid, OpTanh, OpRound, OpStopGradient:
		return g.unary(n.op, in[0], Attrs{})
	case OpLeakyRelu:
		return g.LeakyRelu(in[0], a.Alpha)
	case OpClamp:
		return g.Clamp(in[0], a.Lo, a.Hi)
	case OpCast:
		return g.Cast(in[0], a.DType)
	case OpAdd, OpSub, OpMul, OpDiv:
		return g.binary(n.op, in[0], in[1])
	case OpSum, OpMean, OpMax, OpLogSumExp:
		return g.reduce(n.op, in[0], a.KeepDims, slices.Clone(a.Axes))
	case OpArgMax:
		return g.ArgMax(in[0], a.Axis)
	case OpMatMul:
		return g.MatMul(in[0], in[1])
	case OpConv2D:
		return g.Conv2D(in[0], in[1], ConvOptions{Stride: pair(a.Stride), Padding: pair(a.Padding), Dilation: pair(a.Dilation), Groups: a.Groups})
	case OpConvTranspose2D:
		return g.ConvTranspose2D(in[0], in[1], ConvOptions{Stride: pair(a.Stride), Padding: pair(a.Padding),
			OutputPadding: pair(a.OutputPadding), Dilation: pair(a.Dilation), Groups: a.Groups})
	case OpMaxPool2D, OpAvgPool2D:
		return g.pool(n.op, in[0], PoolOptions{Kernel: pair(a.Kernel), Stride: pair(a.Stride), Padding: pair(a.Padding)})
	case OpReshape:
		return g.Reshape(in[0], a.Shape...)
	case OpTranspose:
		return g.Transpose(in[0], a.Perm...)
	case OpConcat:
		return g.Concat(a.Axis, in...)
	case OpGather:
		return g.Gather(in[0], in[1], a.Axis)
	case OpDropout:
		return g.Dropout(in[0], a.Rate)
	case OpModeSwitch:
		return g.ModeSwitch(in[0], in[1])
	}
	g.Fail(fmt.Errorf("graph %q: cannot inline %v: unknown op", g.name, n))
	return g.poison()
}
