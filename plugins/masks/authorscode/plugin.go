package authorscode

import (
	"github.com/icnnlab/icnnlab/plugins/internal/adapt"
	"github.com/icnnlab/icnnlab/sdk/plugin"
)

// Description is what `icnnlab plugins info masks/authors-code` shows.
const Description = "The mask as the authors' MATLAB code computes it: mu is the activation-weighted centroid, the slope beta is a learned per-filter parameter pulled toward clip(3/spread, 1.5, 3) through the aux_loss output, which the host adds to the training loss. Outputs masked, mask and aux_loss."

// Plugin returns the variant as a plugin.Mask: it declares Schema() as its
// parameter schema, parses the parameters the host validated and calls Build.
func Plugin() plugin.Mask {
	return adapt.NewMask(Name, Description, Schema(), adapt.MaskBuilder(Parse, Build))
}
