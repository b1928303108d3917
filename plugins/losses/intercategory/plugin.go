package intercategory

import (
	"github.com/icnnlab/icnnlab/plugins/internal/adapt"
	"github.com/icnnlab/icnnlab/sdk/plugin"
)

// Description is what `icnnlab plugins info losses/inter-category` shows.
const Description = "Ablation: only the inter-category entropy term of eq. 5, H(T' = {T−, T+} | X), summed over filters."

// Plugin returns the variant as a plugin.Loss: it declares Schema() as its
// parameter schema, parses the parameters the host validated and calls Build.
func Plugin() plugin.Loss {
	return adapt.NewLoss(Name, Description, Schema(), adapt.LossBuilder(Parse, Build))
}
