package partinterp

import (
	"context"
	"encoding/json"

	"github.com/icnnlab/icnnlab/plugins/metrics/featmap"
	"github.com/icnnlab/icnnlab/plugins/metrics/wire"
	"github.com/icnnlab/icnnlab/sdk/parts"
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
	return wire.EvaluateLayer(ctx, req, activations, func(maps *featmap.Maps, geom parts.Geometry, set *parts.Set, category string, multi bool) (any, error) {
		return Evaluate(maps, geom, set, Options{
			Region:        params.Region,
			TopFraction:   params.TopFraction,
			IoUThreshold:  params.IoUThreshold,
			RegionSize:    params.RegionSize,
			Category:      category,
			MultiCategory: multi,
		})
	})
}
