package masks

import (
	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/plugin"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// Graph input and output names shared by every mask variant: the SDK's
// mask contract (plugin.CheckMaskGraph checks them on both sides).
const (
	InputFeatures = plugin.MaskInput
	OutputMasked  = plugin.MaskOutput
	OutputMask    = plugin.MaskTemplate
	// OutputAuxLoss is a scalar the host adds to the training loss (only
	// variants with learned parameters declare it).
	OutputAuxLoss = plugin.MaskAuxLoss
)

// ArgMaxPositions returns, for features [B,C,H,W], the int64 flat position
// (i·W + j) of each map's maximum, shape [B,C]; ties go to the first
// position in row-major order.
func ArgMaxPositions(g *graph.Graph, features *graph.Node, h, w int) *graph.Node {
	s := features.Shape()
	if len(s) != 4 {
		return g.ArgMax(features, -1) // let the builder report the rank error
	}
	return g.ArgMax(g.Reshape(features, s[0], s[1], h*w), 2)
}

// BuildBankMask builds the paper's forward pass with a constant template
// bank [H·W, H, W]: mu_hat = argmax position, mask = bank[mu_hat] (a
// constant in back-propagation), masked = max(x ∘ mask, 0).
func BuildBankMask(name string, bank *tensor.Tensor, batch, channels, h, w int) (*graph.Graph, error) {
	if err := CheckShape(name, batch, channels, h, w); err != nil {
		return nil, err
	}
	g := graph.New(name)
	x := g.Input(InputFeatures, tensor.Float32, batch, channels, h, w)
	idx := ArgMaxPositions(g, x, h, w)
	mask := g.StopGradient(g.Gather(g.Const(bank), idx, 0))
	g.SetOutput(OutputMasked, g.Relu(g.Mul(x, mask)))
	g.SetOutput(OutputMask, mask)
	if err := g.Err(); err != nil {
		return nil, err
	}
	return g, nil
}
