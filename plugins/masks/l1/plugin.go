package l1

import (
	"github.com/icnnlab/icnnlab/plugins/internal/adapt"
	"github.com/icnnlab/icnnlab/sdk/plugin"
)

// Description is what `icnnlab plugins info masks/l1` shows.
const Description = "The paper's mask (Zhang, Wu, Zhu, CVPR 2018, §3.1): the positive template centred on each map's argmax, amp·max(1 − beta·‖[i,j] − mu‖₁/n, −1); masked = max(x ∘ template, 0). Outputs masked and mask."

// Plugin returns the variant as a plugin.Mask: it declares Schema() as its
// parameter schema, parses the parameters the host validated and calls Build.
func Plugin() plugin.Mask {
	return adapt.NewMask(Name, Description, Schema(), adapt.MaskBuilder(Parse, Build))
}
