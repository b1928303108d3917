// Package metricsrun runs the paper's metrics for the host: each call
// launches the built-in metric plugin out of process through a
// pluginhost.Host, validates the parameters against the schema the plugin
// declares, streams the tensors, and decodes the plugin's JSON answer back
// into the metric package's result type. `icnnlab metrics eval` and
// `icnnlab reproduce` use it, so every number in a report went through the
// same plugin boundary a third-party metric would.
package metricsrun

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/icnnlab/icnnlab/internal/pluginhost"
	"github.com/icnnlab/icnnlab/plugins/metrics/accuracy"
	"github.com/icnnlab/icnnlab/plugins/metrics/featmap"
	"github.com/icnnlab/icnnlab/plugins/metrics/instability"
	"github.com/icnnlab/icnnlab/plugins/metrics/partinterp"
	"github.com/icnnlab/icnnlab/plugins/metrics/wire"
	"github.com/icnnlab/icnnlab/sdk/parts"
	"github.com/icnnlab/icnnlab/sdk/plugin"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// PartInterpretability runs metrics/part-interpretability on one layer's
// activations acts (float32 [N,C,H,W]) with geometry geom; set annotates
// the N images in order. task is "single" (categories: at most the target
// category) or "multi" (categories: those to evaluate on, none for all);
// see plugins/metrics/wire. params are the plugin's parameters (nil: the
// paper's defaults).
func PartInterpretability(ctx context.Context, host *pluginhost.Host, acts *tensor.Tensor, set *parts.Set, geom parts.Geometry, task string, categories []string, params json.RawMessage) (*partinterp.Result, error) {
	var res partinterp.Result
	if err := runLayerMetric(ctx, host, wire.PartInterpretability, acts, set, geom, task, categories, params, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// LocationInstability runs metrics/location-instability; the arguments are
// those of PartInterpretability.
func LocationInstability(ctx context.Context, host *pluginhost.Host, acts *tensor.Tensor, set *parts.Set, geom parts.Geometry, task string, categories []string, params json.RawMessage) (*instability.Result, error) {
	var res instability.Result
	if err := runLayerMetric(ctx, host, wire.LocationInstability, acts, set, geom, task, categories, params, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// Accuracy runs metrics/accuracy on logits ([N] or [N,1]: binary, positive
// iff > 0; [N,K]: multi-class argmax) against labels.
func Accuracy(ctx context.Context, host *pluginhost.Host, logits *tensor.Tensor, labels []int, params json.RawMessage) (*accuracy.Result, error) {
	ref := metricRef(wire.Accuracy)
	if logits == nil {
		return nil, fmt.Errorf("%s: nil logits", ref)
	}
	if !logits.DType().IsFloat() {
		return nil, fmt.Errorf("%s: logits are %v %v, want a float dtype", ref, logits.DType(), logits.Shape())
	}
	if n := logits.Shape(); len(n) == 0 || n[0] != len(labels) {
		return nil, fmt.Errorf("%s: logits %v for %d labels", ref, logits.Shape(), len(labels))
	}
	y := make([]int64, len(labels))
	for i, l := range labels {
		y[i] = int64(l)
	}
	yt, err := tensor.FromInt64(tensor.Shape{len(y)}, y)
	if err != nil {
		return nil, fmt.Errorf("%s: labels: %w", ref, err)
	}
	var res accuracy.Result
	err = run(ctx, host, ref, nil, params, &res,
		plugin.NamedTensor{Name: wire.TensorLogits, Tensor: logits},
		plugin.NamedTensor{Name: wire.TensorLabels, Tensor: yt})
	if err != nil {
		return nil, err
	}
	return &res, nil
}

func metricRef(name string) plugin.Ref { return plugin.Ref{Kind: plugin.KindMetric, Name: name} }

func runLayerMetric(ctx context.Context, host *pluginhost.Host, name string, acts *tensor.Tensor, set *parts.Set, geom parts.Geometry, task string, categories []string, params json.RawMessage, out any) error {
	ref := metricRef(name)
	if acts == nil {
		return fmt.Errorf("%s: nil activations", ref)
	}
	// Check here what the plugin would refuse, to fail before launching it
	// and with the caller's words.
	maps, err := featmap.FromTensor(acts)
	if err != nil {
		return fmt.Errorf("%s: activations: %w", ref, err)
	}
	if set == nil {
		return fmt.Errorf("%s: nil annotations", ref)
	}
	if len(set.Images) != maps.N {
		return fmt.Errorf("%s: %d annotated images for %d activation maps (activations %v)", ref, len(set.Images), maps.N, acts.Shape())
	}
	meta, err := wire.EncodeMeta(wire.Meta{Geometry: geom, Annotations: set, Task: task, Categories: categories})
	if err != nil {
		return fmt.Errorf("%s: %w", ref, err)
	}
	return run(ctx, host, ref, meta, params, out, plugin.NamedTensor{Name: wire.TensorActivations, Tensor: acts})
}

// run launches ref, validates params against its declared schema, sends
// the request and decodes the JSON result into out. Every error names ref.
func run(ctx context.Context, host *pluginhost.Host, ref plugin.Ref, meta, params json.RawMessage, out any, tensors ...plugin.NamedTensor) error {
	if host == nil {
		return fmt.Errorf("%s: nil plugin host", ref)
	}
	// The host's errors name the plugin and where it came from already.
	d, err := host.Describe(ctx, ref)
	if err != nil {
		return err
	}
	resolved, err := plugin.ValidateParams(d.Info.ParamSchema, params)
	if err != nil {
		return fmt.Errorf("%s: parameters: %w", ref, err)
	}
	m, err := host.Metric(ctx, ref)
	if err != nil {
		return err
	}
	raw, err := m.Evaluate(ctx, plugin.MetricRequest{Params: resolved, Meta: meta}, plugin.Tensors(tensors...))
	if err != nil {
		return err
	}
	if err := decodeResult(raw, out); err != nil {
		return fmt.Errorf("%s (version %s): result: %w", ref, d.Info.Version, err)
	}
	return nil
}

// decodeResult decodes exactly one JSON object with only known fields: a
// plugin whose result format changed must not yield zero values silently.
func decodeResult(raw json.RawMessage, out any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("trailing data after the result object")
	}
	return nil
}
