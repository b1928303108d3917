package losses

import (
	"github.com/icnnlab/icnnlab/plugins/masks"
	"github.com/icnnlab/icnnlab/sdk/graph"
)

// MIParams configure the variants computed from the exact terms of eq. 1
// (mi, spatial-entropy, inter-category). JSON fields are flat:
// {"distance", "beta", "tau", "alpha", "z_estimate", "momentum"}.
type MIParams struct {
	TemplateParams
	ZParams
}

// DefaultMIParams: the paper's templates, Z from the batch.
func DefaultMIParams() MIParams {
	return MIParams{TemplateParams: DefaultTemplateParams(), ZParams: ZParams{ZEstimate: ZBatch, Momentum: 0.9}}
}

// Validate names every bad field of variant name.
func (p MIParams) Validate(name string) error {
	var errs masks.FieldErrors
	p.TemplateParams.Check(&errs)
	p.ZParams.Check(&errs)
	return errs.Err(name)
}

// Specs describes the parameters.
func (p MIParams) Specs() []masks.ParamSpec {
	return append(p.TemplateParams.Specs(), p.ZParams.Specs()...)
}

// BuildMIFamily builds a loss graph whose loss is pick(terms).
func BuildMIFamily(name string, p MIParams, s LossShape, pick func(*graph.Graph, *Terms) *graph.Node) (*graph.Graph, error) {
	if err := p.Validate(name); err != nil {
		return nil, err
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	g := graph.New("loss_" + name)
	features, _ := Inputs(g, s)
	terms := BuildTerms(g, features, s, p.TemplateParams.Resolve(s.H, s.W), p.ZParams)
	g.SetLoss(pick(g, terms))
	if err := g.Err(); err != nil {
		return nil, err
	}
	return g, nil
}
