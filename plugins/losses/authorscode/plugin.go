package authorscode

import (
	"github.com/icnnlab/icnnlab/plugins/internal/adapt"
	"github.com/icnnlab/icnnlab/sdk/plugin"
)

// Description is what `icnnlab plugins info losses/authors-code` shows.
const Description = "The filter-loss gradient rule of the authors' MATLAB code, injected as a gradient surrogate. Needs the inputs mask (the mask plugin's mask output) and epoch (1-based); pair it with the authors-code mask and λ = 1."

// Plugin returns the variant as a plugin.Loss: it declares Schema() as its
// parameter schema, parses the parameters the host validated and calls Build.
func Plugin() plugin.Loss {
	return adapt.NewLoss(Name, Description, Schema(), adapt.LossBuilder(Parse, Build))
}
