package gaussian

import (
	"github.com/icnnlab/icnnlab/plugins/internal/adapt"
	"github.com/icnnlab/icnnlab/sdk/plugin"
)

// Description is what `icnnlab plugins info masks/gaussian` shows.
const Description = "Ablation: a Gaussian template amp·exp(−d²/(2σ²)) centred on each map's argmax, d the Euclidean distance in units of the map size. It never goes negative, so it only attenuates far activations. Outputs masked and mask."

// Plugin returns the variant as a plugin.Mask: it declares Schema() as its
// parameter schema, parses the parameters the host validated and calls Build.
func Plugin() plugin.Mask {
	return adapt.NewMask(Name, Description, Schema(), adapt.MaskBuilder(Parse, Build))
}
