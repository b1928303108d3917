// Package intercategory is the "inter-category" filter loss. Ablation: only the inter-category entropy term of eq. 5, H(T'={T−,T+}|X).
package intercategory

import (
	"github.com/icnnlab/icnnlab/plugins/losses"
	"github.com/icnnlab/icnnlab/plugins/masks"
	"github.com/icnnlab/icnnlab/sdk/graph"
)

// Name is the variant's registry name.
const Name = "inter-category"

// Params are the shared template and Z parameters.
type Params = losses.MIParams

// Defaults: the paper's L1 templates, Z from the batch.
func Defaults() Params { return losses.DefaultMIParams() }

// Schema describes the parameters.
func Schema() []masks.ParamSpec { return Defaults().Specs() }

// Parse decodes JSON params over the defaults and validates them.
func Parse(raw []byte) (Params, error) {
	p := Defaults()
	if err := masks.DecodeParams(raw, &p); err != nil {
		return p, err
	}
	return p, p.Validate(Name)
}

// Build returns the loss graph (inputs "features", "labels"; output "loss").
func Build(p Params, req losses.LossShape) (*graph.Graph, error) {
	return losses.BuildMIFamily(Name, p, req, func(g *graph.Graph, t *losses.Terms) *graph.Node { return t.InterCategoryEntropy(g) })
}
