package graph

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"

	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// InitKind selects a parameter initialiser.
type InitKind uint8

const (
	InitZeros InitKind = iota
	InitConstant
	InitNormal        // mean 0, std Scale
	InitUniform       // U(-Scale, Scale)
	InitHeNormal      // std = sqrt(2 / fan_in), for ReLU networks
	InitGlorotUniform // U(±sqrt(6 / (fan_in + fan_out)))
)

var initNames = [...]string{"zeros", "constant", "normal", "uniform", "he_normal", "glorot_uniform"}

func (k InitKind) String() string {
	if int(k) < len(initNames) {
		return initNames[k]
	}
	return fmt.Sprintf("InitKind(%d)", uint8(k))
}

// Init describes how a parameter is initialised. Initial values are drawn
// by the host in plain Go (InitParams), never by a backend, so that every
// backend starts from bit-identical weights for the same seed.
type Init struct {
	Kind  InitKind
	Scale float64 // std (normal), half-width (uniform) or value (constant)
}

// Zeros, Constant, Normal, Uniform, HeNormal and GlorotUniform are the initialisers.
func Zeros() Init               { return Init{Kind: InitZeros} }
func Constant(v float64) Init   { return Init{Kind: InitConstant, Scale: v} }
func Normal(std float64) Init   { return Init{Kind: InitNormal, Scale: std} }
func Uniform(half float64) Init { return Init{Kind: InitUniform, Scale: half} }
func HeNormal() Init            { return Init{Kind: InitHeNormal} }
func GlorotUniform() Init       { return Init{Kind: InitGlorotUniform} }

// fans returns fan-in and fan-out for a weight shape. icnnlab stores linear
// weights as [in, out] (y = x·W) and conv weights as [out, in/groups, kh, kw].
func fans(shape tensor.Shape) (fanIn, fanOut float64) {
	switch len(shape) {
	case 0:
		return 1, 1
	case 1:
		return float64(shape[0]), float64(shape[0])
	case 2:
		return float64(shape[0]), float64(shape[1])
	default:
		receptive := 1
		for _, d := range shape[2:] {
			receptive *= d
		}
		return float64(shape[1] * receptive), float64(shape[0] * receptive)
	}
}

// Fill draws a tensor of the given shape from the initialiser.
func (in Init) Fill(shape tensor.Shape, rng *rand.Rand) *tensor.Tensor {
	t := tensor.Zeros(tensor.Float32, shape...)
	v := t.Float32s()
	fanIn, fanOut := fans(shape)
	switch in.Kind {
	case InitZeros:
	case InitConstant:
		for i := range v {
			v[i] = float32(in.Scale)
		}
	case InitNormal, InitHeNormal:
		std := in.Scale
		if in.Kind == InitHeNormal {
			std = math.Sqrt(2 / fanIn)
		}
		for i := range v {
			v[i] = float32(rng.NormFloat64() * std)
		}
	case InitUniform, InitGlorotUniform:
		half := in.Scale
		if in.Kind == InitGlorotUniform {
			half = math.Sqrt(6 / (fanIn + fanOut))
		}
		for i := range v {
			v[i] = float32((2*rng.Float64() - 1) * half)
		}
	}
	return t
}

// ParamSeed derives a parameter's private seed from the run seed and its
// name, so adding a parameter never changes the values of the others.
func ParamSeed(seed uint64, name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return h.Sum64() ^ (seed * 0x9e3779b97f4a7c15)
}

// InitParams draws every parameter of g from its initialiser.
func InitParams(g *Graph, seed uint64) map[string]*tensor.Tensor {
	out := map[string]*tensor.Tensor{}
	for _, p := range g.Params() {
		s := ParamSeed(seed, p.attrs.Name)
		rng := rand.New(rand.NewPCG(s, s^0xda3e39cb94b95bdb))
		out[p.attrs.Name] = p.attrs.Init.Fill(p.shape, rng)
	}
	return out
}

// InitStates returns a copy of every state's initial value.
func InitStates(g *Graph) map[string]*tensor.Tensor {
	out := map[string]*tensor.Tensor{}
	for _, s := range g.States() {
		out[s.attrs.Name] = s.attrs.Value.Clone()
	}
	return out
}
