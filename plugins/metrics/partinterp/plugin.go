package partinterp

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/icnnlab/icnnlab/plugins/metrics/featmap"
	"github.com/icnnlab/icnnlab/plugins/metrics/wire"
	"github.com/icnnlab/icnnlab/sdk/plugin"
)

// PluginVersion is the version the plugin reports; bump it when the
// metric's numbers change, so that reports tell results apart.
const PluginVersion = "1.0.0"

// PluginDescription is what `icnnlab plugins info metrics/part-interpretability` shows.
const PluginDescription = "Part interpretability (Zhang, Wu, Zhu, CVPR 2018, §5.1, after Network Dissection): per filter, P_f = max over parts of the share of images where the filter's top-activation region has IoU > 0.2 with the part; the layer's score is the mean. Input: activations [N,C,H,W] float32; Meta: geometry, annotations, task (plugins/metrics/wire)."

// metricPlugin serves Evaluate as a plugin.Metric.
type metricPlugin struct{}

// Plugin returns part interpretability as a metric plugin.
func Plugin() plugin.Metric { return metricPlugin{} }

// Info implements plugin.Plugin.
func (metricPlugin) Info() plugin.Info {
	return plugin.Info{Kind: plugin.KindMetric, Name: wire.PartInterpretability, Version: PluginVersion,
		Description: PluginDescription, ParamSchema: wire.PartInterpretabilitySchema()}
}

// Evaluate implements plugin.Metric: the result is Result as JSON.
func (metricPlugin) Evaluate(ctx context.Context, req plugin.MetricRequest, activations plugin.TensorStream) (json.RawMessage, error) {
	params, err := wire.DecodePartInterpretabilityParams(req.Params)
	if err != nil {
		return nil, err
	}
	meta, err := wire.DecodeMeta(req.Meta)
	if err != nil {
		return nil, err
	}
	ts, err := wire.ReadTensors(activations, wire.TensorActivations)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	maps, err := featmap.FromTensor(ts[wire.TensorActivations])
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %w", wire.TensorActivations, err)
	}
	maps, set, err := meta.Evaluation(maps)
	if err != nil {
		return nil, err
	}
	res, err := Evaluate(maps, meta.Geometry, set, Options{
		Region:        params.Region,
		TopFraction:   params.TopFraction,
		IoUThreshold:  params.IoUThreshold,
		RegionSize:    params.RegionSize,
		Category:      meta.TargetCategory(),
		MultiCategory: meta.Task == plugin.TaskMulti,
	})
	if err != nil {
		return nil, err
	}
	out, err := json.Marshal(res)
	if err != nil {
		return nil, fmt.Errorf("encode result: %w", err)
	}
	return out, nil
}
