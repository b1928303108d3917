// Package none is the no-mask ablation: masked = features, mask = ones.
package none

import (
	"github.com/icnnlab/icnnlab/plugins/masks"
	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// Name is the variant's registry name.
const Name = "none"

// Params is empty: the ablation has nothing to tune.
type Params struct{}

// Defaults returns the empty params.
func Defaults() Params { return Params{} }

// Validate always succeeds.
func (Params) Validate() error { return nil }

// Schema is empty.
func Schema() []masks.ParamSpec { return nil }

// Parse rejects any field.
func Parse(raw []byte) (Params, error) {
	var p Params
	return p, masks.DecodeParams(raw, &p)
}

// Build returns a graph whose "masked" output is its input. The all-ones
// "mask" is computed as stopgrad(x)·0 + 1 rather than embedded as a
// constant, which would ship B·C·H·W floats through the plugin protocol.
func Build(_ Params, batch, channels, h, w int) (*graph.Graph, error) {
	if err := masks.CheckShape(Name, batch, channels, h, w); err != nil {
		return nil, err
	}
	g := graph.New("mask_" + Name)
	x := g.Input(masks.InputFeatures, tensor.Float32, batch, channels, h, w)
	g.SetOutput(masks.OutputMasked, x)
	g.SetOutput(masks.OutputMask, g.AddScalar(g.MulScalar(g.StopGradient(x), 0), 1))
	if err := g.Err(); err != nil {
		return nil, err
	}
	return g, nil
}
