package receptivefield

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/icnnlab/icnnlab/plugins/visualizers/vizwire"
	"github.com/icnnlab/icnnlab/sdk/plugin"
)

// PluginVersion is the version the plugin reports.
const PluginVersion = "1.0.0"

// Params are the plugin's parameters.
type Params struct {
	Filters     []int   `json:"filters"`
	TopImages   int     `json:"top_images"`
	TopFraction float64 `json:"top_fraction"`
	Scale       int     `json:"scale"`
	PurityPeaks int     `json:"purity_peaks"`
	Patches     int     `json:"patches"`
	PatchSize   int     `json:"patch_size"`
	Gallery     int     `json:"gallery"`
}

// DefaultParams are the parameters a request leaves out.
func DefaultParams() Params {
	return Params{TopImages: 8, TopFraction: 0.005, Scale: 2, PurityPeaks: 20, Patches: 8, Gallery: 4}
}

func ptr(v float64) *float64 { return &v }

// Schema declares Params.
func Schema() *plugin.Schema {
	return &plugin.Schema{Type: "object", Properties: map[string]*plugin.Property{
		"filters": {Type: plugin.TypeArray, Items: &plugin.Property{Type: plugin.TypeInteger, Minimum: ptr(0)},
			Description: "filters to draw overlays for (every filter enters the part heat map)"},
		"top_images": {Type: plugin.TypeInteger, Default: json.RawMessage(`8`), Minimum: ptr(1), Maximum: ptr(64),
			Description: "top-activating images shown per filter"},
		"top_fraction": {Type: plugin.TypeNumber, Default: json.RawMessage(`0.005`), Minimum: ptr(1e-9), Maximum: ptr(1),
			Description: "share of a filter's units (all positions of all images) at or above its region threshold (Network Dissection: 0.005)"},
		"scale": {Type: plugin.TypeInteger, Default: json.RawMessage(`2`), Minimum: ptr(1), Maximum: ptr(8),
			Description: "integer up-scaling of the drawn images"},
		"purity_peaks": {Type: plugin.TypeInteger, Default: json.RawMessage(`20`), Minimum: ptr(0),
			Description: "pattern purity: the strongest mined peaks (one per image) scored per filter against the part masks (0: no purity)"},
		"patches": {Type: plugin.TypeInteger, Default: json.RawMessage(`8`), Minimum: ptr(1), Maximum: ptr(32),
			Description: "top patches drawn per filter, each around its peak's receptive-field centre (marked green on the filter's part, red off it)"},
		"patch_size": {Type: plugin.TypeInteger, Default: json.RawMessage(`0`), Minimum: ptr(0),
			Description: "side of a patch in image pixels (0: the receptive field, at most half the image)"},
		"gallery": {Type: plugin.TypeInteger, Default: json.RawMessage(`4`), Minimum: ptr(0), Maximum: ptr(64),
			Description: "purest filters per part drawn for the per-part gallery"},
	}}
}

// DecodeParams reads validated parameters; missing fields take the defaults.
func DecodeParams(raw json.RawMessage) (Params, error) {
	p := DefaultParams()
	if err := vizwire.DecodeStrict(raw, &p); err != nil {
		return p, fmt.Errorf("parameters: %w", err)
	}
	switch {
	case p.TopImages < 1:
		return p, &plugin.ParamError{Field: "top_images", Reason: fmt.Sprintf("%d is below 1", p.TopImages)}
	case !(p.TopFraction > 0 && p.TopFraction <= 1):
		return p, &plugin.ParamError{Field: "top_fraction", Reason: fmt.Sprintf("%v is not in (0, 1]", p.TopFraction)}
	case p.Scale < 1:
		return p, &plugin.ParamError{Field: "scale", Reason: fmt.Sprintf("%d is below 1", p.Scale)}
	case p.PurityPeaks < 0:
		return p, &plugin.ParamError{Field: "purity_peaks", Reason: fmt.Sprintf("%d is negative", p.PurityPeaks)}
	case p.Patches < 1:
		return p, &plugin.ParamError{Field: "patches", Reason: fmt.Sprintf("%d is below 1", p.Patches)}
	case p.PatchSize < 0:
		return p, &plugin.ParamError{Field: "patch_size", Reason: fmt.Sprintf("%d is negative", p.PatchSize)}
	case p.Gallery < 0:
		return p, &plugin.ParamError{Field: "gallery", Reason: fmt.Sprintf("%d is negative", p.Gallery)}
	}
	return p, nil
}

type visualizer struct{}

// Plugin returns the receptive-field visualizer.
func Plugin() plugin.Visualizer { return visualizer{} }

// Info implements plugin.Plugin.
func (visualizer) Info() plugin.Info {
	return plugin.Info{Kind: plugin.KindVisualizer, Name: vizwire.ReceptiveField, Version: PluginVersion,
		Description: "Receptive fields of activations (Zhou et al. 2015): each filter's map up-sampled onto its top-activating images, thresholded at the filter's top quantile and overlaid; with part labels, a filters × part-groups coverage heat map and pattern purity (the share of a filter's strongest peaks whose receptive-field centre lies on its most frequent part) with patch strips. Tensors: activations, images, parts (optional); see plugins/visualizers/vizwire.",
		ParamSchema: Schema()}
}

// Render implements plugin.Visualizer: files are under receptive-field/,
// with summary.json (Summary).
func (visualizer) Render(ctx context.Context, req plugin.VisualizeRequest, s plugin.TensorStream) ([]plugin.File, error) {
	p, err := DecodeParams(req.Params)
	if err != nil {
		return nil, err
	}
	r, err := vizwire.ReadRequest(ctx, req, s, nil, []string{vizwire.TensorParts})
	if err != nil {
		return nil, err
	}
	meta, size := r.Meta, r.Meta.Geometry.ImageWidth
	in := Input{Meta: meta, Activations: r.Activations, Images: r.Images}
	if t := r.Tensors[vizwire.TensorParts]; t != nil {
		if len(meta.Groups) == 0 {
			return nil, fmt.Errorf(`tensor %q needs meta "groups" to name its values`, vizwire.TensorParts)
		}
		if in.Parts, err = vizwire.Parts(vizwire.TensorParts, t, in.Activations.N, size, len(meta.Groups)); err != nil {
			return nil, err
		}
	}
	files, sum, err := Render(in, Options{Filters: p.Filters, TopImages: p.TopImages, TopFraction: p.TopFraction, Scale: p.Scale,
		PurityPeaks: p.PurityPeaks, Patches: p.Patches, PatchSize: p.PatchSize, Gallery: p.Gallery})
	if err != nil {
		return nil, err
	}
	names, contents := make([]string, len(files)), make([][]byte, len(files))
	for i, f := range files {
		names[i], contents[i] = f.Name, f.Data
	}
	return vizwire.OutputFiles(Dir, names, contents, sum)
}
