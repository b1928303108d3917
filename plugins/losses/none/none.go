// Package none is the no-filter-loss ablation: the loss is 0, computed as
// Σ features · 0 so that the graph stays connected to its input.
package none

import (
	"github.com/icnnlab/icnnlab/plugins/losses"
	"github.com/icnnlab/icnnlab/plugins/masks"
	"github.com/icnnlab/icnnlab/sdk/graph"
)

// Name is the variant's registry name.
const Name = "none"

// Params is empty.
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

// Build returns the zero loss graph.
func Build(_ Params, req losses.LossShape) (*graph.Graph, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	g := graph.New("loss_" + Name)
	features, _ := losses.Inputs(g, req)
	g.SetLoss(g.MulScalar(g.Sum(features), 0))
	if err := g.Err(); err != nil {
		return nil, err
	}
	return g, nil
}
