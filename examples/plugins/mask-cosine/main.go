// Command icnnlab-plugin-mask-cosine is a worked example of an external
// icnnlab mask plugin (docs/writing-plugins.md walks through it). Its
// template is a raised cosine of the distance d to each map's strongest
// position:
//
//	t(d) = amplitude · max(cos(π · min(d, 2r) / (2r)), floor)
//
// d is the Euclidean distance in units of the map size, as for the
// reference euclidean and gaussian masks. t is amplitude at the peak,
// crosses zero at d = r and reaches -amplitude at d = 2r; floor (in
// [-1, 0]) stops it going lower. Unlike the paper's L1 template, whose
// slope is constant, the cosine is flat at the peak and at 2r, so
// activations next to the peak are barely attenuated.
//
// Build it, record its hash and point icnnlab at the directory:
//
//	go build -o ~/icnnlab-plugins/icnnlab-plugin-mask-cosine ./examples/plugins/mask-cosine
//	cd ~/icnnlab-plugins && sha256sum icnnlab-plugin-mask-cosine >> SHA256SUMS
//	icnnlab plugins info mask/cosine --plugin-dir ~/icnnlab-plugins
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

// Params are the mask's parameters. The host has already checked them
// against the schema below and filled in the defaults, so every field is
// set when BuildMask sees them.
type Params struct {
	Radius    float64 `json:"radius"`
	Amplitude float64 `json:"amplitude"`
	Floor     float64 `json:"floor"`
}

// cosine implements plugin.Mask.
type cosine struct{}

func (cosine) Info() plugin.Info {
	return plugin.Info{
		Kind:        plugin.KindMask,
		Name:        "cosine",
		Version:     "1.0.0",
		Description: "Raised-cosine template amplitude·max(cos(π·min(d,2r)/(2r)), floor) centred on each map's argmax; d is the Euclidean distance in units of the map size.",
		ParamSchema: &plugin.Schema{
			Type: "object",
			Properties: map[string]*plugin.Property{
				"radius": {Type: plugin.TypeNumber, Default: json.RawMessage("0.25"), Minimum: ptr(0.01), Maximum: ptr(2),
					Description: "distance r at which the template crosses zero, in units of the map size"},
				"amplitude": {Type: plugin.TypeNumber, Default: json.RawMessage("1"), Minimum: ptr(0.001),
					Description: "template height at the peak"},
				"floor": {Type: plugin.TypeNumber, Default: json.RawMessage("-1"), Minimum: ptr(-1), Maximum: ptr(0),
					Description: "lowest value of the cosine, as a fraction of the amplitude"},
			},
		},
	}
}

func (cosine) BuildMask(_ context.Context, req plugin.MaskRequest) (*graph.Graph, error) {
	var p Params
	if err := json.Unmarshal(req.Params, &p); err != nil {
		return nil, fmt.Errorf("parameters: %w", err)
	}
	b, c, h, w := req.Batch, req.Channels, req.Height, req.Width

	g := graph.New("mask_cosine")
	x := g.Input(plugin.MaskInput, tensor.Float32, b, c, h, w)
	// Position of each map's maximum, flattened to i·W + j: [B, C] int64.
	peak := g.ArgMax(g.Reshape(x, b, c, h*w), 2)
	// Pick each map's template from a constant bank [H·W, H, W]: the
	// result is [B, C, H, W]. The template is a function of the argmax
	// only, so no gradient flows through it.
	mask := g.StopGradient(g.Gather(g.Const(Bank(p, h, w)), peak, 0))
	g.SetOutput(plugin.MaskOutput, g.Relu(g.Mul(x, mask)))
	g.SetOutput("mask", mask)
	return g, g.Err()
}

// Template is t at position (i, j) of an h×w map whose peak is (pi, pj).
func Template(p Params, h, w, i, j, pi, pj int) float64 {
	dy := float64(i-pi) / float64(h)
	dx := float64(j-pj) / float64(w)
	d := math.Min(math.Hypot(dy, dx), 2*p.Radius)
	return p.Amplitude * math.Max(math.Cos(math.Pi*d/(2*p.Radius)), p.Floor)
}

// Bank holds the template of every peak position: slice k = pi·W + pj.
func Bank(p Params, h, w int) *tensor.Tensor {
	data := make([]float32, 0, h*w*h*w)
	for k := range h * w {
		for i := range h {
			for j := range w {
				data = append(data, float32(Template(p, h, w, i, j, k/w, k%w)))
			}
		}
	}
	return tensor.MustFloat32(tensor.Shape{h * w, h, w}, data)
}

func ptr(v float64) *float64 { return &v }

func main() {
	if err := plugin.Serve(cosine{}); err != nil {
		log.Fatal(err)
	}
}
