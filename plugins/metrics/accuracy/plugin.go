package accuracy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/icnnlab/icnnlab/plugins/metrics/wire"
	"github.com/icnnlab/icnnlab/sdk/plugin"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// PluginVersion is the version the plugin reports; bump it when the
// metric's numbers change, so that reports tell results apart.
const PluginVersion = "1.0.0"

// PluginDescription is what `icnnlab plugins info metrics/accuracy` shows.
const PluginDescription = "Classification accuracy with confusion matrix: logits [N] or [N,1] are scored as binary (positive iff logit > 0), [N,K] as multi-class (argmax, lowest class on ties). Inputs: logits (float) and labels [N] int64."

// metricPlugin serves Binary and MultiClass as a plugin.Metric.
type metricPlugin struct{}

// Plugin returns accuracy as a metric plugin.
func Plugin() plugin.Metric { return metricPlugin{} }

// Info implements plugin.Plugin.
func (metricPlugin) Info() plugin.Info {
	return plugin.Info{Kind: plugin.KindMetric, Name: wire.Accuracy, Version: PluginVersion, Description: PluginDescription}
}

// Evaluate implements plugin.Metric: the result is Result as JSON.
func (metricPlugin) Evaluate(ctx context.Context, req plugin.MetricRequest, activations plugin.TensorStream) (json.RawMessage, error) {
	if err := wire.DecodeAccuracyParams(req.Params); err != nil {
		return nil, err
	}
	if m := bytes.TrimSpace(req.Meta); len(m) > 0 && string(m) != "null" && string(m) != "{}" {
		return nil, fmt.Errorf("accuracy takes no meta, got %d bytes", len(m))
	}
	ts, err := wire.ReadTensors(activations, wire.TensorLogits, wire.TensorLabels)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	labels, err := LabelsFromTensor(ts[wire.TensorLabels])
	if err != nil {
		return nil, err
	}
	res, err := Score(ts[wire.TensorLogits], labels)
	if err != nil {
		return nil, err
	}
	out, err := json.Marshal(res)
	if err != nil {
		return nil, fmt.Errorf("encode result: %w", err)
	}
	return out, nil
}

// LabelsFromTensor reads class labels from an int64 [N] tensor.
func LabelsFromTensor(t *tensor.Tensor) ([]int, error) {
	if t.DType() != tensor.Int64 || t.Rank() != 1 {
		return nil, fmt.Errorf("tensor %q is %v %v, want int64 [N]", wire.TensorLabels, t.DType(), t.Shape())
	}
	labels := make([]int, t.Len())
	for i, v := range t.Int64s() {
		labels[i] = int(v)
	}
	return labels, nil
}
