// Package euclidean is the thesis's mask: the paper's templates with the
// Euclidean distance, t+_ij(mu) = amp · max(1 - beta·||[i,j] - mu||_2 / n, -1).
package euclidean

import (
	"github.com/icnnlab/icnnlab/plugins/masks"
	"github.com/icnnlab/icnnlab/plugins/masks/l1"
	"github.com/icnnlab/icnnlab/sdk/graph"
)

// Name is the variant's registry name.
const Name = "euclidean"

// Params are the L1 variant's (slope and amplitude).
type Params = l1.Params

// Defaults are the paper's slope with unit amplitude.
func Defaults() Params { return l1.Defaults() }

// Schema describes the parameters.
func Schema() []masks.ParamSpec { return l1.Schema() }

// Parse decodes JSON params over the defaults and validates them.
func Parse(raw []byte) (Params, error) { return l1.Parse(raw) }

// Build returns the mask graph for features [batch, channels, h, w].
func Build(p Params, batch, channels, h, w int) (*graph.Graph, error) {
	return l1.BuildWithDistance(Name, masks.L2, p, batch, channels, h, w)
}
