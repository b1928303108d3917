package wire

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/icnnlab/icnnlab/plugins/metrics/featmap"
	"github.com/icnnlab/icnnlab/sdk/parts"
	"github.com/icnnlab/icnnlab/sdk/plugin"
)

// LayerScore scores one layer's activations maps, restricted to the images
// the request evaluates (set annotates them in order), with the request's
// geometry, target category ("" for every image, or the multi task) and
// whether filters are assigned categories (the multi task).
type LayerScore func(maps *featmap.Maps, geom parts.Geometry, set *parts.Set, category string, multi bool) (any, error)

// EvaluateLayer is what part-interpretability and location-instability do
// with a request once their parameters are decoded: read the Meta and the
// "activations" tensor, keep the evaluated images, score them and encode
// the result as JSON.
func EvaluateLayer(ctx context.Context, req plugin.MetricRequest, activations plugin.TensorStream, score LayerScore) (json.RawMessage, error) {
	meta, err := DecodeMeta(req.Meta)
	if err != nil {
		return nil, err
	}
	ts, err := ReadTensors(activations, TensorActivations)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	maps, err := featmap.FromTensor(ts[TensorActivations])
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %w", TensorActivations, err)
	}
	maps, set, err := meta.Evaluation(maps)
	if err != nil {
		return nil, err
	}
	res, err := score(maps, meta.Geometry, set, meta.TargetCategory(), meta.Task == plugin.TaskMulti)
	if err != nil {
		return nil, err
	}
	out, err := json.Marshal(res)
	if err != nil {
		return nil, fmt.Errorf("encode result: %w", err)
	}
	return out, nil
}
