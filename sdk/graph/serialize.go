package graph

//go:generate protoc --proto_path=proto --go_out=internal/graphpb --go_opt=module=github.com/icnnlab/icnnlab/sdk/graph/internal/graphpb proto/icnnlab/graph/v1/graph.proto

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/proto"

	"github.com/icnnlab/icnnlab/sdk/graph/internal/graphpb"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// FormatVersion is the version of the serialised graph format
// (proto/icnnlab/graph/v1/graph.proto).
const FormatVersion = 1

// Limits that protect Unmarshal from hostile or corrupt input.
const (
	maxNodes    = 1 << 20
	maxRank     = 16
	maxElements = 1 << 31
)

// Marshal serialises g (protobuf, deterministic: equal graphs give equal bytes).
func Marshal(g *Graph) ([]byte, error) {
	if g == nil {
		return nil, errors.New("marshal graph: graph is nil")
	}
	if g.err != nil {
		return nil, fmt.Errorf("marshal graph %q: it failed to build: %w", g.name, g.err)
	}
	pb := &graphpb.Graph{FormatVersion: FormatVersion, Name: g.name}
	for _, n := range g.nodes {
		pn := &graphpb.Node{Id: int64(n.id), Op: uint32(n.op), Shape: ints64(n.shape), Dtype: uint32(n.dtype)}
		for _, in := range n.inputs {
			pn.Inputs = append(pn.Inputs, int64(in.id))
		}
		a, err := attrsToProto(&n.attrs)
		if err != nil {
			return nil, fmt.Errorf("marshal graph %q: %v: %w", g.name, n, err)
		}
		pn.Attrs = a
		pb.Nodes = append(pb.Nodes, pn)
	}
	for _, o := range g.outputs {
		pb.Outputs = append(pb.Outputs, &graphpb.Output{Name: o.Name, Node: int64(o.Node.id)})
	}
	if g.loss != nil {
		pb.LossPlusOne = int64(g.loss.id) + 1
	}
	for _, u := range g.updates {
		pb.StateUpdates = append(pb.StateUpdates, &graphpb.StateUpdate{State: int64(u.State.id), Value: int64(u.Value.id)})
	}
	return proto.MarshalOptions{Deterministic: true}.Marshal(pb)
}

// Unmarshal decodes a graph and rebuilds it through the builder methods, so
// every shape is inferred and checked again: a malformed graph (say, from
// a plugin) is rejected with an error naming the node and its op.
func Unmarshal(b []byte) (*Graph, error) {
	var pb graphpb.Graph
	if err := proto.Unmarshal(b, &pb); err != nil {
		return nil, fmt.Errorf("unmarshal graph: %w", err)
	}
	if pb.FormatVersion != FormatVersion {
		return nil, fmt.Errorf("unmarshal graph %q: format version %d is not supported (want %d)", pb.Name, pb.FormatVersion, FormatVersion)
	}
	if len(pb.Nodes) > maxNodes {
		return nil, fmt.Errorf("unmarshal graph %q: %d nodes exceed the limit of %d", pb.Name, len(pb.Nodes), maxNodes)
	}
	g := New(pb.Name)
	nodes := make([]*Node, len(pb.Nodes))
	for i, pn := range pb.Nodes {
		n, err := g.decodeNode(i, pn, nodes)
		if err != nil {
			return nil, fmt.Errorf("unmarshal graph %q: node %d (%s): %w", pb.Name, i, Op(pn.GetOp()), err)
		}
		nodes[i] = n
	}
	node := func(what string, id int64) (*Node, error) {
		if id < 0 || id >= int64(len(nodes)) {
			return nil, fmt.Errorf("unmarshal graph %q: %s refers to node %d of %d", pb.Name, what, id, len(nodes))
		}
		return nodes[id], nil
	}
	for _, o := range pb.Outputs {
		n, err := node(fmt.Sprintf("output %q", o.Name), o.Node)
		if err != nil {
			return nil, err
		}
		if g.Output(o.Name) != nil {
			return nil, fmt.Errorf("unmarshal graph %q: output %q is declared twice", pb.Name, o.Name)
		}
		g.SetOutput(o.Name, n)
	}
	if pb.LossPlusOne != 0 {
		n, err := node("the loss", pb.LossPlusOne-1)
		if err != nil {
			return nil, err
		}
		// Set the field rather than call SetLoss, which would also rebind
		// output "loss": the outputs are already restored as declared.
		if len(n.shape) != 0 || !n.dtype.IsFloat() {
			return nil, fmt.Errorf("unmarshal graph %q: the loss must be a float scalar, got %v", pb.Name, n)
		}
		g.loss = n
	}
	for _, u := range pb.StateUpdates {
		s, err := node("a state update", u.State)
		if err != nil {
			return nil, err
		}
		v, err := node("a state update", u.Value)
		if err != nil {
			return nil, err
		}
		for _, prev := range g.updates {
			if prev.State == s {
				return nil, fmt.Errorf("unmarshal graph %q: state %v has two updates", pb.Name, s)
			}
		}
		g.SetStateUpdate(s, v)
	}
	if g.err != nil {
		return nil, fmt.Errorf("unmarshal graph %q: %w", pb.Name, g.err)
	}
	return g, nil
}

func (g *Graph) decodeNode(i int, pn *graphpb.Node, built []*Node) (*Node, error) {
	if pn.Id != int64(i) {
		return nil, fmt.Errorf("id %d at position %d (ids must count up from 0)", pn.Id, i)
	}
	op := Op(pn.Op)
	if !op.Valid() || uint64(pn.Op) != uint64(op) {
		return nil, fmt.Errorf("unknown op %d", pn.Op)
	}
	shape, err := decodeShape(pn.Shape)
	if err != nil {
		return nil, fmt.Errorf("shape: %w", err)
	}
	dt := tensor.DType(pn.Dtype)
	if !dt.Valid() || uint64(pn.Dtype) != uint64(dt) {
		return nil, fmt.Errorf("dtype %d is not valid", pn.Dtype)
	}
	attrs, err := attrsFromProto(pn.Attrs)
	if err != nil {
		return nil, fmt.Errorf("attrs: %w", err)
	}
	in := make([]*Node, len(pn.Inputs))
	for k, id := range pn.Inputs {
		if id < 0 || id >= int64(i) {
			return nil, fmt.Errorf("input %d refers to node %d; inputs must be earlier nodes", k, id)
		}
		in[k] = built[id]
	}
	if (op == OpInput || op == OpParam || op == OpState || op == OpConst) && len(in) != 0 {
		return nil, fmt.Errorf("a %s node takes no inputs, got %d", op, len(in))
	}
	var n *Node
	switch op {
	case OpInput:
		n = g.Input(attrs.Name, dt, shape...)
	case OpParam:
		n = g.Param(attrs.Name, attrs.Init, shape, LRMult(attrs.LRMult), DecayMult(attrs.DecayMult))
	case OpState:
		n = g.State(attrs.Name, attrs.Value)
	case OpConst:
		if attrs.Value == nil {
			return nil, errors.New("const has no value")
		}
		n = g.Const(attrs.Value)
	default:
		src := &Node{op: op, attrs: *attrs, shape: shape, dtype: dt}
		n = g.rebuild(src, in)
	}
	if g.err != nil {
		return nil, g.err
	}
	if !n.shape.Equal(shape) || n.dtype != dt {
		return nil, fmt.Errorf("declared %v%v but its operands give %v%v", dt, shape, n.dtype, n.shape)
	}
	// The builder fills in defaults and normalises some attributes (sorted
	// axes, a pool's stride); what Marshal writes is already in that form.
	// Anything else, including an attribute the op ignores, means the
	// sender meant something this builder would not do: reject it rather
	// than silently build a different graph.
	rebuilt, err := attrsToProto(&n.attrs)
	if err != nil {
		return nil, err
	}
	sent := pn.GetAttrs()
	if sent == nil {
		sent = &graphpb.Attrs{}
	}
	if !proto.Equal(rebuilt, sent) {
		return nil, fmt.Errorf("attributes {%v} are not the builder's {%v} for this op (unused or unnormalised attributes)", sent, rebuilt)
	}
	return n, nil
}

func ints64(s []int) []int64 {
	if len(s) == 0 {
		return nil
	}
	out := make([]int64, len(s))
	for i, v := range s {
		out[i] = int64(v)
	}
	return out
}

func decodeInts(s []int64, what string) ([]int, error) {
	if len(s) > maxRank {
		return nil, fmt.Errorf("%s has %d entries (limit %d)", what, len(s), maxRank)
	}
	if len(s) == 0 {
		return nil, nil
	}
	out := make([]int, len(s))
	for i, v := range s {
		if v < math.MinInt32 || v > math.MaxInt32 {
			return nil, fmt.Errorf("%s entry %d (%d) is out of range", what, i, v)
		}
		out[i] = int(v)
	}
	return out, nil
}

func decodeShape(s []int64) (tensor.Shape, error) {
	d, err := decodeInts(s, "shape")
	if err != nil {
		return nil, err
	}
	n := int64(1)
	for _, v := range d {
		if v < 0 {
			return nil, fmt.Errorf("dimension %d is negative", v)
		}
		n *= int64(v)
		if n > maxElements {
			return nil, fmt.Errorf("shape %v has more than %d elements", d, int64(maxElements))
		}
	}
	return tensor.Shape(d).Clone(), nil
}

func attrsToProto(a *Attrs) (*graphpb.Attrs, error) {
	pa := &graphpb.Attrs{
		Name: a.Name, Axes: ints64(a.Axes), KeepDims: a.KeepDims, Axis: int64(a.Axis),
		Stride: ints64(a.Stride), Padding: ints64(a.Padding), OutputPadding: ints64(a.OutputPadding),
		Dilation: ints64(a.Dilation), Kernel: ints64(a.Kernel), Groups: int64(a.Groups),
		Alpha: a.Alpha, Lo: a.Lo, Hi: a.Hi, Rate: a.Rate, Perm: ints64(a.Perm), Shape: ints64(a.Shape),
		Dtype: uint32(a.DType), LrMult: a.LRMult, DecayMult: a.DecayMult,
	}
	if a.Init != (Init{}) {
		pa.Init = &graphpb.Init{Kind: uint32(a.Init.Kind), Scale: a.Init.Scale}
	}
	if a.Value != nil {
		t, err := tensorToProto(a.Value)
		if err != nil {
			return nil, err
		}
		pa.Value = t
	}
	return pa, nil
}

func attrsFromProto(pa *graphpb.Attrs) (*Attrs, error) {
	a := &Attrs{}
	if pa == nil {
		return a, nil
	}
	var err error
	ints := func(dst *[]int, src []int64, what string) {
		if err == nil {
			*dst, err = decodeInts(src, what)
		}
	}
	ints(&a.Axes, pa.Axes, "axes")
	ints(&a.Stride, pa.Stride, "stride")
	ints(&a.Padding, pa.Padding, "padding")
	ints(&a.OutputPadding, pa.OutputPadding, "output_padding")
	ints(&a.Dilation, pa.Dilation, "dilation")
	ints(&a.Kernel, pa.Kernel, "kernel")
	ints(&a.Perm, pa.Perm, "perm")
	ints(&a.Shape, pa.Shape, "shape")
	if err != nil {
		return nil, err
	}
	for _, v := range []int64{pa.Axis, pa.Groups} {
		if v < math.MinInt32 || v > math.MaxInt32 {
			return nil, fmt.Errorf("axis or groups %d is out of range", v)
		}
	}
	a.Name, a.KeepDims, a.Axis, a.Groups = pa.Name, pa.KeepDims, int(pa.Axis), int(pa.Groups)
	a.Alpha, a.Lo, a.Hi, a.Rate = pa.Alpha, pa.Lo, pa.Hi, pa.Rate
	a.DType = tensor.DType(pa.Dtype)
	if pa.Dtype != 0 && (!a.DType.Valid() || uint64(pa.Dtype) != uint64(a.DType)) {
		return nil, fmt.Errorf("dtype %d is not valid", pa.Dtype)
	}
	a.LRMult, a.DecayMult = pa.LrMult, pa.DecayMult
	if pa.Init != nil {
		if pa.Init.Kind > uint32(InitGlorotUniform) {
			return nil, fmt.Errorf("init kind %d is not valid", pa.Init.Kind)
		}
		a.Init = Init{Kind: InitKind(pa.Init.Kind), Scale: pa.Init.Scale}
	}
	if pa.Value != nil {
		if a.Value, err = tensorFromProto(pa.Value); err != nil {
			return nil, fmt.Errorf("value: %w", err)
		}
	}
	return a, nil
}

// tensorToProto encodes a tensor for the wire.
func tensorToProto(t *tensor.Tensor) (*graphpb.Tensor, error) {
	size := t.DType().Size()
	if size == 0 {
		return nil, fmt.Errorf("tensor dtype %v cannot be encoded", t.DType())
	}
	data := make([]byte, t.Len()*size)
	le := binary.LittleEndian
	switch t.DType() {
	case tensor.Float32:
		for i, v := range t.Float32s() {
			le.PutUint32(data[4*i:], math.Float32bits(v))
		}
	case tensor.Float64:
		for i, v := range t.Float64s() {
			le.PutUint64(data[8*i:], math.Float64bits(v))
		}
	case tensor.Int32:
		for i, v := range t.Int32s() {
			le.PutUint32(data[4*i:], uint32(v))
		}
	case tensor.Int64:
		for i, v := range t.Int64s() {
			le.PutUint64(data[8*i:], uint64(v))
		}
	case tensor.Uint8:
		copy(data, t.Uint8s())
	case tensor.Bool:
		for i, v := range t.Bools() {
			if v {
				data[i] = 1
			}
		}
	}
	return &graphpb.Tensor{Dtype: uint32(t.DType()), Shape: ints64(t.Shape()), Data: data}, nil
}

// tensorFromProto decodes a wire tensor, checking that the byte length
// matches the shape before allocating anything.
func tensorFromProto(pt *graphpb.Tensor) (*tensor.Tensor, error) {
	dt := tensor.DType(pt.Dtype)
	size := dt.Size()
	if !dt.Valid() || uint64(pt.Dtype) != uint64(dt) {
		return nil, fmt.Errorf("tensor dtype %d is not valid", pt.Dtype)
	}
	shape, err := decodeShape(pt.Shape)
	if err != nil {
		return nil, fmt.Errorf("tensor shape: %w", err)
	}
	if want := shape.NumElements() * size; len(pt.Data) != want {
		return nil, fmt.Errorf("tensor %v%v needs %d bytes of data, got %d", dt, shape, want, len(pt.Data))
	}
	t := tensor.Zeros(dt, shape...)
	raw, le := pt.Data, binary.LittleEndian
	switch dt {
	case tensor.Float32:
		v := t.Float32s()
		for i := range v {
			v[i] = math.Float32frombits(le.Uint32(raw[4*i:]))
		}
	case tensor.Float64:
		v := t.Float64s()
		for i := range v {
			v[i] = math.Float64frombits(le.Uint64(raw[8*i:]))
		}
	case tensor.Int32:
		v := t.Int32s()
		for i := range v {
			v[i] = int32(le.Uint32(raw[4*i:]))
		}
	case tensor.Int64:
		v := t.Int64s()
		for i := range v {
			v[i] = int64(le.Uint64(raw[8*i:]))
		}
	case tensor.Uint8:
		copy(t.Uint8s(), raw)
	case tensor.Bool:
		v := t.Bools()
		for i := range v {
			if raw[i] > 1 {
				return nil, fmt.Errorf("bool element %d has byte value %d", i, raw[i])
			}
			v[i] = raw[i] == 1
		}
	}
	return t, nil
}
