package mi

import (
	"github.com/icnnlab/icnnlab/plugins/internal/adapt"
	"github.com/icnnlab/icnnlab/sdk/plugin"
)

// Description is what `icnnlab plugins info losses/mi` shows.
const Description = "The paper's filter loss: exact −MI(X;T) of eq. 1 between feature maps and the part templates, summed over filters, with Z_T from the batch or a running estimate."

// Plugin returns the variant as a plugin.Loss: it declares Schema() as its
// parameter schema, parses the parameters the host validated and calls Build.
func Plugin() plugin.Loss {
	return adapt.NewLoss(Name, Description, Schema(), adapt.LossBuilder(Parse, Build))
}
