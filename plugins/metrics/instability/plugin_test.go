package instability

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
	if info.Kind != plugin.KindMetric || info.Name != "location-instability" || info.Version != "1.0.0" {
		t.Errorf("info %s/%s %s", info.Kind, info.Name, info.Version)
	}
	if wire.DefaultTopImages != DefaultTopImages {
		t.Errorf("wire.DefaultTopImages %d, package %d", wire.DefaultTopImages, DefaultTopImages)
	}
}

func TestPluginEvaluate(t *testing.T) {
	ss, set := metricstest.World(12)
	acts := metricstest.LandmarkActivations(ss)
	meta, err := wire.EncodeMeta(wire.Meta{Geometry: metricstest.ConvInterp, Annotations: set, Task: plugin.TaskMulti})
	if err != nil {
		t.Fatal(err)
	}
	stream := func(name string) plugin.TensorStream {
		return plugin.Tensors(plugin.NamedTensor{Name: name, Tensor: acts})
	}
	raw, err := Plugin().Evaluate(context.Background(),
		plugin.MetricRequest{Params: json.RawMessage(`{"landmarks": ["head", "tail"], "top_images": 5}`), Meta: meta}, stream("activations"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := featmap.FromTensor(acts)
	if err != nil {
		t.Fatal(err)
	}
	want, err := Evaluate(m, metricstest.ConvInterp, set, Options{Landmarks: []string{"head", "tail"}, TopImages: 5, MultiCategory: true})
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
		{"no activations", plugin.MetricRequest{Meta: meta}, plugin.Tensors(), `tensor "activations" is missing`},
		{"bad meta", plugin.MetricRequest{Meta: json.RawMessage(`{"geometry": 3}`)}, stream("activations"), "meta:"},
		{"unknown landmark", plugin.MetricRequest{Meta: meta, Params: json.RawMessage(`{"landmarks": ["wing"]}`)}, stream("activations"), `"wing"`},
	} {
		if _, err := Plugin().Evaluate(context.Background(), tt.req, tt.stream); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
	}
}
