package mipapergrad

import (
	"github.com/icnnlab/icnnlab/plugins/internal/adapt"
	"github.com/icnnlab/icnnlab/sdk/plugin"
)

// Description is what `icnnlab plugins info losses/mi-paper-grad` shows.
const Description = "The paper's single-template gradient approximation of the filter loss (§3.2), injected as a gradient surrogate with running Z_T estimates; the loss value is not a loss, the neg_mi output reports the batch −MI."

// Plugin returns the variant as a plugin.Loss: it declares Schema() as its
// parameter schema, parses the parameters the host validated and calls Build.
func Plugin() plugin.Loss {
	return adapt.NewLoss(Name, Description, Schema(), adapt.LossBuilder(Parse, Build))
}
