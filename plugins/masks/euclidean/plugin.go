package euclidean

import (
	"github.com/icnnlab/icnnlab/plugins/internal/adapt"
	"github.com/icnnlab/icnnlab/sdk/plugin"
)

// Description is what `icnnlab plugins info masks/euclidean` shows.
const Description = "The paper's templates with the Euclidean distance (the thesis variant): amp·max(1 − beta·‖[i,j] − mu‖₂/n, −1) centred on each map's argmax. Outputs masked and mask."

// Plugin returns the variant as a plugin.Mask: it declares Schema() as its
// parameter schema, parses the parameters the host validated and calls Build.
func Plugin() plugin.Mask {
	return adapt.NewMask(Name, Description, Schema(), adapt.MaskBuilder(Parse, Build))
}
