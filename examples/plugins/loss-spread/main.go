// Command icnnlab-plugin-loss-spread is a worked example of an external
// icnnlab filter-loss plugin (docs/writing-plugins.md walks through it).
// It asks each filter to fire in one place: the loss of a map x is the
// mean distance of its activation from its strongest position,
//
//	spread(x) = Σ_ij x_ij · d_ij / (Σ_ij x_ij + epsilon)
//
// with d_ij the Euclidean distance to the argmax in units of the map size.
// The loss is the sum over filters of the mean over images: one number
// per layer, which the host weights by λ.
//
// epsilon keeps the gradient finite where a map is silent: there Σx = 0
// and d spread / d x_ij = d_ij / epsilon, so a tiny epsilon (1e-6) makes a
// gradient of a million on all-zero maps. `icnnlab plugins eval loss
// spread --check-grad` compares the gradient with finite differences.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"math"

	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/plugin"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// Params are the loss's parameters, checked against the schema and with
// defaults filled in by the host before BuildLoss sees them.
type Params struct {
	Epsilon float64 `json:"epsilon"`
}

// spread implements plugin.Loss.
type spread struct{}

func (spread) Info() plugin.Info {
	return plugin.Info{
		Kind:        plugin.KindLoss,
		Name:        "spread",
		Version:     "1.0.0",
		Description: "Sum over filters of the mean over images of Σ x·d / (Σ x + epsilon), d the Euclidean distance to each map's argmax in units of the map size.",
		ParamSchema: &plugin.Schema{
			Type: "object",
			Properties: map[string]*plugin.Property{
				"epsilon": {Type: plugin.TypeNumber, Default: json.RawMessage("1"), Minimum: ptr(1e-6),
					Description: "added to each map's total activation; bounds the gradient on silent maps by max d / epsilon"},
			},
		},
	}
}

func (spread) BuildLoss(_ context.Context, req plugin.LossRequest) (*graph.Graph, error) {
	var p Params
	if err := json.Unmarshal(req.Params, &p); err != nil {
		return nil, fmt.Errorf("parameters: %w", err)
	}
	b, c, h, w := req.Batch, req.Channels, req.Height, req.Width

	g := graph.New("loss_spread")
	// The maps before the mask, after ReLU. The contract's other inputs
	// (labels, mask, epoch) are optional; this loss declares none of them.
	x := g.Reshape(g.Input(plugin.LossFeatures, tensor.Float32, b, c, h, w), b, c, h*w)
	// Distance of every position from each map's argmax: [B, C, H·W]. It
	// depends on x only through the argmax, so it is a constant in
	// back-propagation.
	peak := g.ArgMax(x, 2)
	dist := g.StopGradient(g.Gather(g.Const(DistanceBank(h, w)), peak, 0))
	mass := g.AddScalar(g.Sum(x, 2), p.Epsilon)     // [B, C]
	perMap := g.Div(g.Sum(g.Mul(x, dist), 2), mass) // [B, C]
	g.SetLoss(g.Sum(g.Mean(perMap, 0)))             // sum over filters of the mean over images
	g.SetOutput("spread", g.Mean(perMap))           // per map, for monitoring
	return g, g.Err()
}

// DistanceBank holds, for every peak position k = pi·W + pj, the distance
// of every position of an h×w map from it: [H·W, H·W].
func DistanceBank(h, w int) *tensor.Tensor {
	data := make([]float32, 0, h*w*h*w)
	for k := range h * w {
		for i := range h {
			for j := range w {
				data = append(data, float32(Distance(h, w, i, j, k/w, k%w)))
			}
		}
	}
	return tensor.MustFloat32(tensor.Shape{h * w, h * w}, data)
}

// Distance is the Euclidean distance of (i, j) from (pi, pj) in units of
// the map size.
func Distance(h, w, i, j, pi, pj int) float64 {
	return math.Hypot(float64(i-pi)/float64(h), float64(j-pj)/float64(w))
}

func ptr(v float64) *float64 { return &v }

func main() {
	if err := plugin.Serve(spread{}); err != nil {
		log.Fatal(err)
	}
}
