package none

import (
	"github.com/icnnlab/icnnlab/plugins/internal/adapt"
	"github.com/icnnlab/icnnlab/sdk/plugin"
)

// Description is what `icnnlab plugins info masks/none` shows.
const Description = "Ablation: no mask, masked = features (mask is all ones)."

// Plugin returns the variant as a plugin.Mask: it declares Schema() as its
// parameter schema, parses the parameters the host validated and calls Build.
func Plugin() plugin.Mask {
	return adapt.NewMask(Name, Description, Schema(), adapt.MaskBuilder(Parse, Build))
}
