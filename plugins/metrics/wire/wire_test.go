package wire

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/icnnlab/icnnlab/plugins/metrics/featmap"
	"github.com/icnnlab/icnnlab/sdk/parts"
	"github.com/icnnlab/icnnlab/sdk/plugin"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

func testSet() *parts.Set {
	mask := make([]uint8, 4*4)
	mask[5] = 1
	return &parts.Set{
		Categories: []string{"bird", "cat"},
		Groups:     []string{"background", "head"},
		Landmarks:  []string{"head"},
		Images: []parts.Image{
			{Width: 4, Height: 4, Category: 0, GroupMask: mask, Landmarks: []parts.Landmark{{Name: "head", X: 1.5, Y: 1.5, Visible: true}}},
			{Width: 4, Height: 4, Category: 1, GroupMask: make([]uint8, 16)},
			{Width: 4, Height: 4, Category: 0},
		},
	}
}

var testGeom = parts.Geometry{Size: 3, Jump: 2, Start: 1, ImageWidth: 4, ImageHeight: 4}

func TestMetaRoundTrip(t *testing.T) {
	for _, m := range []Meta{
		{Geometry: testGeom, Annotations: testSet(), Task: plugin.TaskSingle},
		{Geometry: testGeom, Annotations: testSet(), Task: plugin.TaskSingle, Categories: []string{"cat"}},
		{Geometry: testGeom, Annotations: testSet(), Task: plugin.TaskMulti, Categories: []string{"cat", "bird"}},
	} {
		data, err := EncodeMeta(m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeMeta(data)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(&m, got); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	}
}

func TestMetaLayout(t *testing.T) {
	data, err := EncodeMeta(Meta{Geometry: testGeom, Annotations: testSet(), Task: plugin.TaskSingle, Categories: []string{"bird"}})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]json.RawMessage
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"geometry":       `{"size":3,"jump":2,"start":1,"image_width":4,"image_height":4}`,
		"task":           `"single"`,
		"categories":     `1`,
		"category_names": `["bird"]`,
	}
	for k, v := range want {
		if string(got[k]) != v {
			t.Errorf("%s = %s, want %s", k, got[k], v)
		}
	}
	if _, err := parts.Parse(got["annotations"], nil); err != nil {
		t.Errorf("annotations is not an annotation file: %v", err)
	}
}

func TestDecodeMetaErrors(t *testing.T) {
	good, err := EncodeMeta(Meta{Geometry: testGeom, Annotations: testSet(), Task: plugin.TaskSingle})
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(m map[string]any)) json.RawMessage {
		var m map[string]any
		if err := json.Unmarshal(good, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		b, _ := json.Marshal(m)
		return b
	}
	tests := []struct {
		name string
		data json.RawMessage
		want string
	}{
		{"empty", nil, "meta is empty"},
		{"not an object", json.RawMessage(`[1]`), "meta:"},
		{"unknown field", edit(func(m map[string]any) { m["layer"] = "conv5" }), `unknown field "layer"`},
		{"no geometry", edit(func(m map[string]any) { delete(m, "geometry") }), `"geometry" is missing`},
		{"bad geometry", edit(func(m map[string]any) { m["geometry"].(map[string]any)["jump"] = 0 }), `"geometry"`},
		{"no annotations", edit(func(m map[string]any) { delete(m, "annotations") }), `"annotations" is missing`},
		{"bad annotations", edit(func(m map[string]any) { m["annotations"].(map[string]any)["format"] = "v0" }), `"annotations": annotations: format "v0"`},
		{"bad task", edit(func(m map[string]any) { m["task"] = "binary" }), `"task" is "binary"`},
		{"no categories", edit(func(m map[string]any) { delete(m, "categories") }), `"categories" is missing`},
		{"count mismatch", edit(func(m map[string]any) { m["categories"] = 2; m["category_names"] = []string{"cat"} }), `"categories" is 2 but "category_names" has 1`},
		{"unknown category", edit(func(m map[string]any) { m["categories"] = 1; m["category_names"] = []string{"dog"} }), `"category_names"[0]: "dog"`},
		{"two targets", edit(func(m map[string]any) { m["categories"] = 2; m["category_names"] = []string{"cat", "bird"} }), "at most one"},
		{"duplicate", edit(func(m map[string]any) {
			m["task"] = "multi"
			m["categories"] = 2
			m["category_names"] = []string{"cat", "cat"}
		}), "appears twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeMeta(tt.data)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestEvaluationSelectsCategories(t *testing.T) {
	data := make([]float32, 3*1*2*2)
	for i := range data {
		data[i] = float32(i)
	}
	maps, err := featmap.New(3, 1, 2, 2, data)
	if err != nil {
		t.Fatal(err)
	}
	m := &Meta{Geometry: testGeom, Annotations: testSet(), Task: plugin.TaskMulti, Categories: []string{"bird"}}
	got, set, err := m.Evaluation(maps)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]float32{0, 1, 2, 3, 8, 9, 10, 11}, got.Data); diff != "" || got.N != 2 {
		t.Errorf("bird images: N %d (-want +got data):\n%s", got.N, diff)
	}
	if len(set.Images) != 2 || set.Images[1].Category != 0 || set.Images[1].GroupMask != nil {
		t.Errorf("annotations of the bird images: %+v", set.Images)
	}
	// Single task: everything, the target is the package's business.
	m.Task = plugin.TaskSingle
	if got, _, _ := m.Evaluation(maps); got != maps || m.TargetCategory() != "bird" {
		t.Errorf("single task copied the maps or lost the target %q", m.TargetCategory())
	}
	short, _ := featmap.New(2, 1, 2, 2, data[:8])
	if _, _, err := m.Evaluation(short); err == nil || !strings.Contains(err.Error(), "3 annotated images for 2 activation maps") {
		t.Errorf("count mismatch: %v", err)
	}
}

func TestParams(t *testing.T) {
	for _, s := range []*plugin.Schema{PartInterpretabilitySchema(), LocationInstabilitySchema()} {
		if err := s.Check(); err != nil {
			t.Fatal(err)
		}
	}
	// What the host sends after validation decodes to the paper's defaults.
	resolved, err := plugin.ValidateParams(PartInterpretabilitySchema(), nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := DecodePartInterpretabilityParams(resolved)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(PartInterpretabilityParams{TopFraction: 0.005, Region: "upsample", IoUThreshold: 0.2}, p); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	resolved, err = plugin.ValidateParams(LocationInstabilitySchema(), json.RawMessage(`{"landmarks": ["head"]}`))
	if err != nil {
		t.Fatal(err)
	}
	q, err := DecodeLocationInstabilityParams(resolved)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(LocationInstabilityParams{TopImages: 100, Landmarks: []string{"head"}}, q); diff != "" {
		t.Errorf("instability params (-want +got):\n%s", diff)
	}

	tests := []struct {
		name  string
		err   error
		field string
	}{
		{"zero top fraction", second(DecodePartInterpretabilityParams(json.RawMessage(`{"top_fraction": 0}`))), "top_fraction"},
		{"zero IoU", second(DecodePartInterpretabilityParams(json.RawMessage(`{"iou_threshold": 0}`))), "iou_threshold"},
		{"region", second(DecodePartInterpretabilityParams(json.RawMessage(`{"region": "disc"}`))), "region"},
		{"region type", second(DecodePartInterpretabilityParams(json.RawMessage(`{"region": 3}`))), "region"},
		{"negative size", second(DecodePartInterpretabilityParams(json.RawMessage(`{"region_size": -1}`))), "region_size"},
		{"top images", second(DecodeLocationInstabilityParams(json.RawMessage(`{"top_images": 1}`))), "top_images"},
		{"accuracy", DecodeAccuracyParams(json.RawMessage(`{"k": 1}`)), "k"},
	}
	for _, tt := range tests {
		var pe *plugin.ParamError
		if tt.err == nil || !strings.Contains(tt.err.Error(), tt.field) {
			t.Errorf("%s: error %v, want one naming %q", tt.name, tt.err, tt.field)
		} else if tt.name != "accuracy" && !errors.As(tt.err, &pe) {
			t.Errorf("%s: %v is not a *plugin.ParamError", tt.name, tt.err)
		}
	}
}

func second[T any](_ T, err error) error { return err }

func TestReadTensors(t *testing.T) {
	x := tensor.MustFloat32(tensor.Shape{1}, []float32{1})
	nt := func(name string) plugin.NamedTensor { return plugin.NamedTensor{Name: name, Tensor: x} }
	got, err := ReadTensors(plugin.Tensors(nt("logits"), nt("labels")), "labels", "logits")
	if err != nil || len(got) != 2 || got["labels"] != x {
		t.Errorf("ReadTensors = %v, %v", got, err)
	}
	for _, tt := range []struct {
		in   []plugin.NamedTensor
		want string
	}{
		{[]plugin.NamedTensor{nt("logits")}, `tensor "labels" is missing`},
		{[]plugin.NamedTensor{nt("logits"), nt("labels"), nt("logits")}, `tensor "logits" sent twice`},
		{[]plugin.NamedTensor{nt("logits"), nt("conv5")}, `unexpected tensor "conv5"`},
	} {
		if _, err := ReadTensors(plugin.Tensors(tt.in...), "logits", "labels"); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("error %v, want %q", err, tt.want)
		}
	}
}
