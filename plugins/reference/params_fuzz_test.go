package reference_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/icnnlab/icnnlab/plugins/builtin"
	_ "github.com/icnnlab/icnnlab/plugins/reference"
	"github.com/icnnlab/icnnlab/sdk/plugin"
)

// FuzzBuiltinParams feeds every built-in plugin parameter JSON as a user
// types it (--mask-params, --upconv-params, …). What the plugin server
// does with it is what this does: validate against the plugin's schema,
// then call the plugin with the resolved parameters. Nothing may panic;
// a mask or loss graph built from accepted parameters must meet its
// contract. Metrics and visualizers get no activations, so the call ends
// at their parameter and input checks.
func FuzzBuiltinParams(f *testing.F) {
	refs := builtin.Refs()
	plugins := make([]plugin.Plugin, len(refs))
	for i, r := range refs {
		p, ok := builtin.Lookup(r)
		if !ok {
			f.Fatalf("%s listed but not registered", r)
		}
		plugins[i] = p
		defaults, err := plugin.ValidateParams(p.Info().ParamSchema, nil)
		if err != nil {
			f.Fatalf("%s: defaults: %v", r, err)
		}
		for _, seed := range []string{string(defaults), "{}", "null", `{"beta": -1}`, `{"steps": 1e30}`, `[1]`} {
			f.Add(uint8(i), []byte(seed))
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, params []byte) {
		p := plugins[int(which)%len(plugins)]
		info := p.Info()
		resolved, err := plugin.ValidateParams(info.ParamSchema, json.RawMessage(params))
		if err != nil {
			return
		}
		ctx := context.Background()
		switch p := p.(type) {
		case plugin.Mask:
			req := plugin.MaskRequest{Params: resolved, Layer: "conv5", Batch: 2, Channels: 3, Height: 5, Width: 4}
			g, err := p.BuildMask(ctx, req)
			if err == nil {
				if err := plugin.CheckMaskGraph(req, g); err != nil {
					t.Fatalf("%s/%s with %s: %v", info.Kind.Plural(), info.Name, resolved, err)
				}
			}
		case plugin.Loss:
			for _, task := range []string{plugin.TaskSingle, plugin.TaskMulti} {
				req := plugin.LossRequest{Params: resolved, Layer: "conv5", Batch: 4, Channels: 3, Height: 5, Width: 5, Classes: 3, Task: task}
				g, err := p.BuildLoss(ctx, req)
				if err == nil {
					if err := plugin.CheckLossGraph(req, g); err != nil {
						t.Fatalf("%s/%s with %s (%s): %v", info.Kind.Plural(), info.Name, resolved, task, err)
					}
				}
			}
		case plugin.Metric:
			_, _ = p.Evaluate(ctx, plugin.MetricRequest{Params: resolved}, plugin.Tensors())
		case plugin.Visualizer:
			_, _ = p.Render(ctx, plugin.VisualizeRequest{Params: resolved}, plugin.Tensors())
		default:
			t.Fatalf("%s/%s: %T is no known plugin kind", info.Kind.Plural(), info.Name, p)
		}
	})
}
