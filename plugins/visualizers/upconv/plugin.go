package upconv

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/plugins/visualizers/vizwire"
	"github.com/icnnlab/icnnlab/sdk/plugin"
)

// PluginVersion is the version the plugin reports.
const PluginVersion = "1.0.0"

// Params are the plugin's parameters.
type Params struct {
	Filters      []int   `json:"filters"`
	Steps        int     `json:"steps"`
	Batch        int     `json:"batch"`
	Hidden       int     `json:"hidden"`
	LearningRate float64 `json:"learning_rate"`
	// FinalLearningRate ends the half-cosine decay of the rate.
	FinalLearningRate float64 `json:"final_learning_rate"`
	// Mirror trains on the mirrored training images too, when the host
	// sends their features.
	Mirror         bool    `json:"mirror"`
	Patterns       int     `json:"patterns"`
	Peaks          int     `json:"peaks"`
	Patches        int     `json:"patches"`
	PatchSize      int     `json:"patch_size"`
	PositionWeight float64 `json:"position_weight"`
	Examples       int     `json:"examples"`
	Scale          int     `json:"scale"`
}

// DefaultParams: 1600 Adam steps of batch 16, the rate decaying from 4e-3
// to 1e-4 along a half cosine, on the training images and their mirror
// images, train the decoder of a default-scale layer (64 maps of 12×12 →
// 112 px) in about 80 CPU-milliseconds a step (docs/visualizers.md). On
// the default bird pair's conv3 they reach a held-out ratio of 0.293,
// where 800 steps of 32 (about 0.8 of the CPU time) reached 0.310 at rate
// 4e-3 and 0.320 at the former 2e-3.
func DefaultParams() Params {
	return Params{Steps: 1600, Batch: 16, Hidden: 64, LearningRate: 4e-3, FinalLearningRate: 1e-4, Mirror: true, Patterns: 3, Peaks: 60, Patches: 6,
		PositionWeight: 0.5, Examples: 8, Scale: 2}
}

func ptr(v float64) *float64 { return &v }

// Schema declares Params.
func Schema() *plugin.Schema {
	d := DefaultParams()
	num := func(v any) json.RawMessage { b, _ := json.Marshal(v); return b }
	return &plugin.Schema{Type: "object", Properties: map[string]*plugin.Property{
		"filters": {Type: plugin.TypeArray, Items: &plugin.Property{Type: plugin.TypeInteger, Minimum: ptr(0)},
			Description: "filters to mine patterns for"},
		"steps":               {Type: plugin.TypeInteger, Default: num(d.Steps), Minimum: ptr(1), Description: "Adam steps of decoder training"},
		"batch":               {Type: plugin.TypeInteger, Default: num(d.Batch), Minimum: ptr(1), Description: "decoder training batch size"},
		"hidden":              {Type: plugin.TypeInteger, Default: num(d.Hidden), Minimum: ptr(1), Description: "channels of the decoder's 3x3 convolutions (each up-convolution halves them)"},
		"learning_rate":       {Type: plugin.TypeNumber, Default: num(d.LearningRate), Minimum: ptr(1e-9), Description: "Adam learning rate at the first step"},
		"final_learning_rate": {Type: plugin.TypeNumber, Default: num(d.FinalLearningRate), Minimum: ptr(1e-9), Description: "Adam learning rate at the last step, reached along a half cosine (equal to learning_rate: constant)"},
		"mirror":              {Type: plugin.TypeBoolean, Default: num(d.Mirror), Description: "train also on the training images mirrored left to right (when the host sends train_mirrored_activations)"},
		"patterns":            {Type: plugin.TypeInteger, Default: num(d.Patterns), Minimum: ptr(1), Description: "k of the k-means over a filter's peaks"},
		"peaks":               {Type: plugin.TypeInteger, Default: num(d.Peaks), Minimum: ptr(1), Description: "strongest peaks (one per image) clustered per filter"},
		"patches":             {Type: plugin.TypeInteger, Default: num(d.Patches), Minimum: ptr(1), Maximum: ptr(32), Description: "top patches shown per pattern"},
		"patch_size":          {Type: plugin.TypeInteger, Default: num(d.PatchSize), Minimum: ptr(0), Description: "side of a patch in image pixels, centred on the peak's receptive field (0: the receptive field, at most half the image)"},
		"position_weight":     {Type: plugin.TypeNumber, Default: num(d.PositionWeight), Minimum: ptr(0), Description: "weight of the peak's position (relative to the cropped object) against its unit-length feature vector in the clustering"},
		"examples":            {Type: plugin.TypeInteger, Default: num(d.Examples), Minimum: ptr(1), Maximum: ptr(64), Description: "held-out images drawn with their reconstructions"},
		"scale":               {Type: plugin.TypeInteger, Default: num(d.Scale), Minimum: ptr(1), Maximum: ptr(8), Description: "integer up-scaling of the drawn images"},
	}}
}

// DecodeParams reads validated parameters; missing fields take the defaults.
func DecodeParams(raw json.RawMessage) (Params, error) {
	p := DefaultParams()
	if err := vizwire.DecodeStrict(raw, &p); err != nil {
		return p, fmt.Errorf("parameters: %w", err)
	}
	for _, c := range []struct {
		field string
		v     int
	}{{"steps", p.Steps}, {"batch", p.Batch}, {"hidden", p.Hidden}, {"patterns", p.Patterns}, {"peaks", p.Peaks}, {"patches", p.Patches}, {"examples", p.Examples}, {"scale", p.Scale}} {
		if c.v < 1 {
			return p, &plugin.ParamError{Field: c.field, Reason: fmt.Sprintf("%d is below 1", c.v)}
		}
	}
	if !(p.LearningRate > 0) {
		return p, &plugin.ParamError{Field: "learning_rate", Reason: fmt.Sprintf("%v is not positive", p.LearningRate)}
	}
	if !(p.FinalLearningRate > 0) {
		return p, &plugin.ParamError{Field: "final_learning_rate", Reason: fmt.Sprintf("%v is not positive", p.FinalLearningRate)}
	}
	if p.PatchSize < 0 {
		return p, &plugin.ParamError{Field: "patch_size", Reason: fmt.Sprintf("%d is negative", p.PatchSize)}
	}
	if !(p.PositionWeight >= 0) {
		return p, &plugin.ParamError{Field: "position_weight", Reason: fmt.Sprintf("%v is negative", p.PositionWeight)}
	}
	return p, nil
}

type visualizer struct{}

// Plugin returns the up-convolution visualizer.
func Plugin() plugin.Visualizer { return visualizer{} }

// Info implements plugin.Plugin.
func (visualizer) Info() plugin.Info {
	return plugin.Info{Kind: plugin.KindVisualizer, Name: vizwire.Upconv, Version: PluginVersion,
		Description: "Up-convolution decoder (Dosovitskiy & Brox 2016) trained on the layer's features through the run's backend, scored on held-out images against the mean image; per filter, activation peaks clustered into patterns shown by top patches and reconstructions of the pattern's mean feature. Tensors: activations, images, train_activations, train_images; see plugins/visualizers/vizwire.",
		ParamSchema: Schema()}
}

// Render implements plugin.Visualizer: files are under upconv/, with
// summary.json (Summary).
func (visualizer) Render(ctx context.Context, req plugin.VisualizeRequest, s plugin.TensorStream) ([]plugin.File, error) {
	p, err := DecodeParams(req.Params)
	if err != nil {
		return nil, err
	}
	r, err := vizwire.ReadRequest(ctx, req, s, []string{vizwire.TensorTrainActivations, vizwire.TensorTrainImages}, []string{vizwire.TensorParts, vizwire.TensorTrainMirrored})
	if err != nil {
		return nil, err
	}
	meta, ts, size := r.Meta, r.Tensors, r.Meta.Geometry.ImageWidth
	in := Input{Meta: meta, Activations: r.Activations, Images: r.Images}
	if in.TrainActivations, err = vizwire.AsMaps(vizwire.TensorTrainActivations, ts[vizwire.TensorTrainActivations]); err != nil {
		return nil, err
	}
	if in.TrainImages, err = vizwire.Images(vizwire.TensorTrainImages, ts[vizwire.TensorTrainImages], in.TrainActivations.N, size); err != nil {
		return nil, err
	}
	if t := ts[vizwire.TensorParts]; t != nil {
		if in.Parts, err = vizwire.Parts(vizwire.TensorParts, t, in.Images.N, size, len(meta.Groups)); err != nil {
			return nil, err
		}
	}
	if t := ts[vizwire.TensorTrainMirrored]; t != nil && p.Mirror {
		m, err := vizwire.AsMaps(vizwire.TensorTrainMirrored, t)
		if err != nil {
			return nil, err
		}
		in.TrainMirrored = &m
	}
	b, err := backends.New(meta.Backend)
	if err != nil {
		return nil, fmt.Errorf("upconv: backend for the decoder: %w", err)
	}
	files, sum, err := Render(in, Options{
		Train: TrainOptions{Backend: b, Device: meta.Device, Steps: p.Steps, Batch: p.Batch, Hidden: p.Hidden,
			LearningRate: p.LearningRate, FinalLearningRate: p.FinalLearningRate, Seed: meta.Seed, Geometry: meta.Geometry},
		Filters: p.Filters, Patterns: p.Patterns, Peaks: p.Peaks, Patches: p.Patches, PatchSize: p.PatchSize,
		PositionWeight: p.PositionWeight, Examples: p.Examples, Scale: p.Scale,
	})
	if err != nil {
		return nil, err
	}
	names, contents := make([]string, len(files)), make([][]byte, len(files))
	for i, f := range files {
		names[i], contents[i] = f.Name, f.Data
	}
	return vizwire.OutputFiles(Dir, names, contents, sum)
}
