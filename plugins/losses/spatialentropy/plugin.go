package spatialentropy

import (
	"github.com/icnnlab/icnnlab/plugins/internal/adapt"
	"github.com/icnnlab/icnnlab/sdk/plugin"
)

// Description is what `icnnlab plugins info losses/spatial-entropy` shows.
const Description = "Ablation: only the spatial-entropy term of eq. 5, Σ_x p(T+, x)·H(T+ | X = x), summed over filters."

// Plugin returns the variant as a plugin.Loss: it declares Schema() as its
// parameter schema, parses the parameters the host validated and calls Build.
func Plugin() plugin.Loss {
	return adapt.NewLoss(Name, Description, Schema(), adapt.LossBuilder(Parse, Build))
}
