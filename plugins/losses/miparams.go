package losses

import (
	"math"

	"github.com/icnnlab/icnnlab/plugins/masks"
	"github.com/icnnlab/icnnlab/sdk/graph"
)

// MIParams configure the variants computed from the exact terms of eq. 1
// (mi, spatial-entropy, inter-category). JSON fields are flat:
// {"distance", "beta", "tau", "alpha", "z_estimate", "momentum",
// "normalize", "normalized_max"}.
type MIParams struct {
	TemplateParams
	ZParams
	ScaleParams
}

// DefaultMIParams: the paper's templates, Z from the batch, features as
// they come.
func DefaultMIParams() MIParams {
	return MIParams{TemplateParams: DefaultTemplateParams(), ZParams: ZParams{ZEstimate: ZBatch, Momentum: 0.9},
		ScaleParams: ScaleParams{Normalize: NormalizeNone}}
}

// Validate names every bad field of variant name.
func (p MIParams) Validate(name string) error {
	var errs masks.FieldErrors
	p.TemplateParams.Check(&errs)
	p.ZParams.Check(&errs)
	p.ScaleParams.Check(&errs)
	return errs.Err(name)
}

// Specs describes the parameters.
func (p MIParams) Specs() []masks.ParamSpec {
	return append(append(p.TemplateParams.Specs(), p.ZParams.Specs()...), p.ScaleParams.Specs()...)
}

// Feature scalings.
const (
	// NormalizeNone feeds the features as they are (the paper's loss).
	NormalizeNone = "none"
	// NormalizeBatchMax divides each filter's maps by the batch mean of
	// their maxima and multiplies by NormalizedMax, with the gradient
	// flowing through the mean: −MI then sees the same numbers whatever
	// the activation scale (the authors' 0–255 input range makes tr(x·T)
	// of order 1; unit-std inputs make it about 1e-3, and the loss inert).
	NormalizeBatchMax = "batch-max"
)

// ScaleParams choose how features are scaled before the templates.
type ScaleParams struct {
	Normalize string `json:"normalize"`
	// NormalizedMax is the mean max activation after normalising; 0 means
	// H·W, which makes tr(x·T) of one unit at the maximum under its own
	// template τ·H·W = 0.5 (τ = 0.5/(H·W)).
	NormalizedMax float64 `json:"normalized_max"`
	// Floor bounds batch-max scaling from below, relative to the layer: a
	// filter is divided by max(its batch mean of max x, Floor · the mean
	// of that over the layer's filters). A scale-free loss has a gradient
	// in 1/scale, so without a floor a nearly silent filter is scaled up
	// by up to 1/1e-6 and its weights take steps that wreck the network
	// in the first epoch (docs/investigations/protocol.md). 0: no floor
	// (omitted from the JSON, so runs without one keep their keys).
	Floor float64 `json:"floor,omitempty"`
}

// Check records bad fields.
func (p ScaleParams) Check(errs *masks.FieldErrors) {
	switch p.Normalize {
	case NormalizeNone, NormalizeBatchMax:
	default:
		errs.Addf("normalize", "%q is not one of %s, %s", p.Normalize, NormalizeNone, NormalizeBatchMax)
	}
	if !(p.NormalizedMax >= 0) || math.IsInf(p.NormalizedMax, 0) {
		errs.Addf("normalized_max", "%g must be 0 (H·W) or positive", p.NormalizedMax)
	}
	if !(p.Floor >= 0 && p.Floor <= 1) {
		errs.Addf("floor", "%g must be in [0, 1]", p.Floor)
	}
}

// Specs describes the scale parameters.
func (p ScaleParams) Specs() []masks.ParamSpec {
	return []masks.ParamSpec{
		{Name: "normalize", Type: "string", Default: p.Normalize, Enum: []string{NormalizeNone, NormalizeBatchMax},
			Description: "feature scaling before the templates: none (the paper) or batch-max (scale-free: each filter divided by its batch mean of max x, gradient through it)"},
		{Name: "normalized_max", Type: "number", Default: p.NormalizedMax, Description: "mean max activation after batch-max scaling; 0 means H·W"},
		{Name: "floor", Type: "number", Default: p.Floor, Description: "batch-max scaling divides by at least floor × the layer's mean of the filters' batch mean of max x (0: no floor), so a nearly silent filter is not scaled up without bound"},
	}
}

// normalizeEps keeps the batch-max scaling finite for a dead filter.
const normalizeEps = 1e-6

// Apply scales features [B,C,H,W] as configured.
func (p ScaleParams) Apply(g *graph.Graph, features *graph.Node, s LossShape) *graph.Node {
	if p.Normalize != NormalizeBatchMax {
		return features
	}
	target := p.NormalizedMax
	if target == 0 {
		target = float64(s.H * s.W)
	}
	meanMax := g.MeanKeep(g.MaxKeep(features, 2, 3), 0) // [1,C,1,1]
	if p.Floor > 0 {
		floor := g.MulScalar(g.MeanKeep(meanMax, 1), p.Floor) // [1,1,1,1]
		meanMax = g.Add(floor, g.Relu(g.Sub(meanMax, floor))) // max(meanMax, floor)
	}
	return g.MulScalar(g.Div(features, g.AddScalar(meanMax, normalizeEps)), target)
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
	features = p.ScaleParams.Apply(g, features, s)
	terms := BuildTerms(g, features, s, p.TemplateParams.Resolve(s.H, s.W), p.ZParams)
	g.SetLoss(pick(g, terms))
	if err := g.Err(); err != nil {
		return nil, err
	}
	return g, nil
}
