// Package l1 is the paper's mask: n² positive templates
// t+_ij(mu) = amp · max(1 - beta·||[i,j] - mu||_1 / n, -1), the template
// centred on the map's argmax position, masked = max(x ∘ T_mu_hat, 0).
package l1

import (
	"github.com/icnnlab/icnnlab/plugins/masks"
	"github.com/icnnlab/icnnlab/sdk/graph"
)

// Name is the variant's registry name.
const Name = "l1"

// Params configure the L1 template mask.
type Params struct {
	// Beta is the template slope (paper: 4).
	Beta float64 `json:"beta"`
	// Amplitude is "unit" (height 1, as the authors' code) or "tau" (the
	// paper's tau = 0.5/n²). See docs/masks-and-losses.md for the choice.
	Amplitude string `json:"amplitude"`
}

// Defaults are the paper's slope with unit amplitude.
func Defaults() Params { return Params{Beta: masks.PaperBeta, Amplitude: masks.AmplitudeUnit} }

// Validate names every bad field.
func (p Params) Validate() error { return validate(Name, p) }

func validate(name string, p Params) error {
	var errs masks.FieldErrors
	if !(p.Beta > 0) {
		errs.Addf("beta", "%g must be positive", p.Beta)
	}
	if _, err := masks.AmplitudeValue(p.Amplitude, 1, 1); err != nil {
		errs.Addf("amplitude", "%v", err)
	}
	return errs.Err(name)
}

// Schema describes the parameters.
func Schema() []masks.ParamSpec {
	d := Defaults()
	return []masks.ParamSpec{
		{Name: "beta", Type: "number", Default: d.Beta, Description: "template slope: the template reaches 0 at normalised L1 distance 1/beta and -1 beyond 2/beta"},
		{Name: "amplitude", Type: "string", Default: d.Amplitude, Enum: []string{masks.AmplitudeUnit, masks.AmplitudeTau},
			Description: "template height: unit (1, authors' code) or tau (0.5/n², paper)"},
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
	return BuildWithDistance(Name, masks.L1, p, batch, channels, h, w)
}

// BuildWithDistance is Build with another distance (the euclidean variant
// shares everything else).
func BuildWithDistance(name string, d masks.Distance, p Params, batch, channels, h, w int) (*graph.Graph, error) {
	if err := validate(name, p); err != nil {
		return nil, err
	}
	if err := masks.CheckShape(name, batch, channels, h, w); err != nil {
		return nil, err
	}
	amp, _ := masks.AmplitudeValue(p.Amplitude, h, w)
	return masks.BuildBankMask("mask_"+name, masks.PositiveBank(d, p.Beta, amp, h, w), batch, channels, h, w)
}
