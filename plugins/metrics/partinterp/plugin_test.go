package partinterp

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/icnnlab/icnnlab/internal/metricsrun/metricstest"
	"github.com/icnnlab/icnnlab/plugins/metrics/featmap"
	"github.com/icnnlab/icnnlab/plugins/metrics/wire"
	"github.com/icnnlab/icnnlab/sdk/plugin"
)

func TestPluginInfo(t *testing.T) {
	info := Plugin().Info()
	if err := info.Check(); err != nil {
		t.Fatal(err)
	}
	if info.Kind != plugin.KindMetric || info.Name != "part-interpretability" || info.Version != "1.0.0" {
		t.Errorf("info %s/%s %s", info.Kind, info.Name, info.Version)
	}
	// wire mirrors the package's constants (it cannot import them).
	if wire.DefaultTopFraction != DefaultTopFraction || wire.DefaultIoUThreshold != DefaultIoUThreshold ||
		wire.RegionUpsample != RegionUpsample || wire.RegionBox != RegionBox || wire.RegionRound != RegionRound {
		t.Error("plugins/metrics/wire's part-interpretability constants differ from the package's")
	}
}

func TestPluginEvaluate(t *testing.T) {
	ss, set := metricstest.World(8)
	acts := metricstest.PartActivations(ss, set)
	meta, err := wire.EncodeMeta(wire.Meta{Geometry: metricstest.Conv2, Annotations: set, Task: plugin.TaskSingle})
	if err != nil {
		t.Fatal(err)
	}
	stream := func(name string) plugin.TensorStream {
		return plugin.Tensors(plugin.NamedTensor{Name: name, Tensor: acts})
	}
	raw, err := Plugin().Evaluate(context.Background(), plugin.MetricRequest{Params: json.RawMessage(`{"region": "box"}`), Meta: meta}, stream("activations"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := featmap.FromTensor(acts)
	if err != nil {
		t.Fatal(err)
	}
	want, err := Evaluate(m, metricstest.Conv2, set, Options{Region: RegionBox})
	if err != nil {
		t.Fatal(err)
	}
	var got Result
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, &got); diff != "" {
		t.Errorf("plugin result (-package +plugin):\n%s", diff)
	}

	for _, tt := range []struct {
		name   string
		req    plugin.MetricRequest
		stream plugin.TensorStream
		want   string
	}{
		{"wrong tensor name", plugin.MetricRequest{Meta: meta}, stream("conv5"), `unexpected tensor "conv5"`},
		{"no meta", plugin.MetricRequest{}, stream("activations"), "meta is empty"},
		{"bad params", plugin.MetricRequest{Meta: meta, Params: json.RawMessage(`{"top_fraction": 0}`)}, stream("activations"), "top_fraction"},
	} {
		if _, err := Plugin().Evaluate(context.Background(), tt.req, tt.stream); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
	}
}
