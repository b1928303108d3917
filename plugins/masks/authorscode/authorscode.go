// Package authorscode is the mask as the authors' MATLAB code computes it
// (conv_mask in our_vl_simplenn.m, getMu.m, getMask.m), which differs from
// the paper:
//
//   - mu is the activation-weighted centroid of the map, rounded to the
//     grid with MATLAB rounding (halves away from zero), not the argmax;
//   - the template is max(1 - beta_c·(|y_i - y_mu| + |x_j - x_mu|), -1) on
//     coordinates y = linspace(-1,1,H), x = linspace(-1,1,W), amplitude 1;
//   - beta_c is a learned per-filter parameter (init 2, learning-rate
//     multiplier 0.05, no weight decay) that receives no gradient from the
//     task: it is only pulled toward clip(3/σ̄_c, 1.5, 3), σ̄_c being the
//     activation-weighted spatial spread of the filter's maps.
//
// The pull is an injected gradient, expressed here as a gradient surrogate
// returned in the "aux_loss" output, which the host adds to the total loss.
// docs/masks-and-losses.md derives it and lists the deviations.
package authorscode

import (
	"math"

	"github.com/icnnlab/icnnlab/plugins/masks"
	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// Name is the variant's registry name.
const Name = "authors-code"

// ParamBeta is the (un-prefixed) name of the learned slope parameter [C].
const ParamBeta = "beta"

// Params configure the authors'-code mask. The defaults are the constants
// of the authors' code.
type Params struct {
	BetaInit   float64 `json:"beta_init"`    // initial slope on the [-1,1] scale (2.0)
	BetaLRMult float64 `json:"beta_lr_mult"` // learning-rate multiplier of beta (0.05)
	// The pull target is clip(SpreadScale / σ̄, TargetMin, TargetMax).
	SpreadScale float64 `json:"spread_scale"` // 3
	TargetMin   float64 `json:"target_min"`   // 1.5
	TargetMax   float64 `json:"target_max"`   // 3
	// Pull is the authors' gradient coefficient: d aux/d beta =
	// Pull·(beta - target) / batch (the authors' MatConvNet update divides
	// every parameter gradient by the batch size; 10000 in their code).
	Pull float64 `json:"pull"`
}

// Defaults are the constants of the authors' code.
func Defaults() Params {
	return Params{BetaInit: 2, BetaLRMult: 0.05, SpreadScale: 3, TargetMin: 1.5, TargetMax: 3, Pull: 10000}
}

// Validate names every bad field.
func (p Params) Validate() error {
	var errs masks.FieldErrors
	if !(p.BetaInit > 0) {
		errs.Addf("beta_init", "%g must be positive", p.BetaInit)
	}
	if !(p.BetaLRMult >= 0) {
		errs.Addf("beta_lr_mult", "%g must not be negative", p.BetaLRMult)
	}
	if !(p.SpreadScale > 0) {
		errs.Addf("spread_scale", "%g must be positive", p.SpreadScale)
	}
	if !(p.TargetMin > 0) {
		errs.Addf("target_min", "%g must be positive", p.TargetMin)
	}
	if !(p.TargetMax >= p.TargetMin) {
		errs.Addf("target_max", "%g must be at least target_min %g", p.TargetMax, p.TargetMin)
	}
	if !(p.Pull >= 0) {
		errs.Addf("pull", "%g must not be negative", p.Pull)
	}
	return errs.Err(Name)
}

// Schema describes the parameters.
func Schema() []masks.ParamSpec {
	d := Defaults()
	return []masks.ParamSpec{
		{Name: "beta_init", Type: "number", Default: d.BetaInit, Description: "initial per-filter slope on the linspace(-1,1) coordinate scale"},
		{Name: "beta_lr_mult", Type: "number", Default: d.BetaLRMult, Description: "learning-rate multiplier of beta"},
		{Name: "spread_scale", Type: "number", Default: d.SpreadScale, Description: "beta is pulled toward clip(spread_scale/σ̄, target_min, target_max), σ̄ in grid steps"},
		{Name: "target_min", Type: "number", Default: d.TargetMin, Description: "lower clip of the pull target"},
		{Name: "target_max", Type: "number", Default: d.TargetMax, Description: "upper clip of the pull target"},
		{Name: "pull", Type: "number", Default: d.Pull, Description: "gradient coefficient of the pull: d aux_loss/d beta = pull·(beta-target)/batch"},
	}
}

// Parse decodes JSON params over the defaults and validates them.
func Parse(raw []byte) (Params, error) {
	p := Defaults()
	if err := masks.DecodeParams(raw, &p); err != nil {
		return p, err
	}
	return p, p.Validate()
}

// Build returns the mask graph for features [batch, channels, h, w], with
// outputs "masked", "mask" and "aux_loss" and the parameter "beta" [C].
func Build(p Params, batch, channels, h, w int) (*graph.Graph, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if err := masks.CheckShape(Name, batch, channels, h, w); err != nil {
		return nil, err
	}
	g := graph.New("mask_" + Name)
	x := g.Input(masks.InputFeatures, tensor.Float32, batch, channels, h, w)
	beta := g.Param(ParamBeta, graph.Constant(p.BetaInit), []int{channels}, graph.LRMult(p.BetaLRMult), graph.DecayMult(0))

	// Everything but beta's pull is a constant in back-propagation.
	xs := g.StopGradient(x)
	flat := g.Reshape(xs, batch, channels, h*w)
	rows, cols := gridCoordinates(h, w)
	rowC, colC := g.Const(rows), g.Const(cols) // [H·W]
	// MATLAB: sumX = max(sum(x), 1e-9); mu = max(round(sum(coord·x)/sumX), 1).
	total := g.MaxScalar(g.SumKeep(flat, 2), 1e-9) // [B,C,1]
	muRow := g.Clamp(g.Round(g.Div(g.SumKeep(g.Mul(flat, rowC), 2), total)), 0, float64(h-1))
	muCol := g.Clamp(g.Round(g.Div(g.SumKeep(g.Mul(flat, colC), 2), total)), 0, float64(w-1))
	pos := g.Reshape(g.Add(g.MulScalar(muRow, float64(w)), muCol), batch, channels)
	idx := g.Cast(pos, tensor.Int64)

	dist := g.Gather(g.Const(masks.LinspaceL1Bank(h, w)), idx, 0) // [B,C,H,W]
	beta4 := g.Reshape(beta, 1, channels, 1, 1)
	mask := g.StopGradient(g.Clamp(g.Sub(g.Scalar(1), g.Mul(g.StopGradient(beta4), dist)), -1, math.Inf(1)))
	g.SetOutput(masks.OutputMasked, g.Relu(g.Mul(x, mask)))
	g.SetOutput(masks.OutputMask, mask)

	// σ_bc = sqrt(Σ x·((i-mu_i)² + (j-mu_j)²) / sumX) in grid steps (getMu.m).
	dr := g.Sub(rowC, muRow) // [B,C,H·W]
	dc := g.Sub(colC, muCol)
	spread := g.Sqrt(g.Div(g.SumKeep(g.Mul(flat, g.Add(g.Square(dr), g.Square(dc))), 2), total))
	spread = g.Reshape(spread, batch, channels)
	// Strength m_bc = mean(x ∘ mask); σ̄_c = Σ_b m·σ / Σ_b m.
	strength := g.Mean(g.Mul(xs, mask), 2, 3) // [B,C]
	weighted := g.Sum(g.Mul(strength, spread), 0)
	meanSpread := g.Div(weighted, g.MaxScalar(g.Sum(strength, 0), 1e-12))
	// A filter silent on the whole batch has σ̄ = 0 and is pulled to
	// target_max, as MATLAB's min(NaN, 3) = 3 does in the authors' code.
	target := g.Clamp(g.Div(g.Scalar(p.SpreadScale), g.MaxScalar(meanSpread, 1e-6)), p.TargetMin, p.TargetMax)
	pull := g.MulScalar(g.Sub(beta, target), p.Pull/float64(batch))
	g.SetOutput(masks.OutputAuxLoss, g.GradientSurrogate(beta, pull))
	if err := g.Err(); err != nil {
		return nil, err
	}
	return g, nil
}

// gridCoordinates returns the 0-based row and column index of every
// position of an h×w map in row-major order, as float32 [h·w] tensors.
func gridCoordinates(h, w int) (rows, cols *tensor.Tensor) {
	rows, cols = tensor.Zeros(tensor.Float32, h*w), tensor.Zeros(tensor.Float32, h*w)
	for k := range h * w {
		rows.Float32s()[k] = float32(k / w)
		cols.Float32s()[k] = float32(k % w)
	}
	return rows, cols
}
