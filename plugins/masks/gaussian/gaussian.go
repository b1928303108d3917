// Package gaussian is an ablation mask: t_ij(mu) = amp · exp(-d²/(2σ²))
// with d the Euclidean distance to the argmax position in units of the map
// size. It never goes negative, so it only attenuates far activations.
package gaussian

import (
	"github.com/icnnlab/icnnlab/plugins/masks"
	"github.com/icnnlab/icnnlab/sdk/graph"
)

// Name is the variant's registry name.
const Name = "gaussian"

// Params configure the Gaussian mask.
type Params struct {
	// Sigma is the standard deviation in units of the map size.
	Sigma float64 `json:"sigma"`
	// Amplitude is "unit" or "tau", as for the L1 mask.
	Amplitude string `json:"amplitude"`
}

// Defaults: σ = 1/8, so the template has fallen to e^-2 ≈ 0.14 at distance
// 1/4, where the paper's L1 template (beta 4) crosses zero.
func Defaults() Params { return Params{Sigma: 0.125, Amplitude: masks.AmplitudeUnit} }

// Validate names every bad field.
func (p Params) Validate() error {
	var errs masks.FieldErrors
	if !(p.Sigma > 0) {
		errs.Addf("sigma", "%g must be positive", p.Sigma)
	}
	if _, err := masks.AmplitudeValue(p.Amplitude, 1, 1); err != nil {
		errs.Addf("amplitude", "%v", err)
	}
	return errs.Err(Name)
}

// Schema describes the parameters.
func Schema() []masks.ParamSpec {
	d := Defaults()
	return []masks.ParamSpec{
		{Name: "sigma", Type: "number", Default: d.Sigma, Description: "standard deviation of the Gaussian, in units of the map size"},
		{Name: "amplitude", Type: "string", Default: d.Amplitude, Enum: []string{masks.AmplitudeUnit, masks.AmplitudeTau},
			Description: "template height: unit (1) or tau (0.5/n²)"},
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

// Build returns the mask graph for features [batch, channels, h, w].
func Build(p Params, batch, channels, h, w int) (*graph.Graph, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if err := masks.CheckShape(Name, batch, channels, h, w); err != nil {
		return nil, err
	}
	amp, _ := masks.AmplitudeValue(p.Amplitude, h, w)
	return masks.BuildBankMask("mask_"+Name, masks.GaussianBank(p.Sigma, amp, h, w), batch, channels, h, w)
}
