package accuracy

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/icnnlab/icnnlab/sdk/plugin"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

func TestPluginInfo(t *testing.T) {
	info := Plugin().Info()
	if err := info.Check(); err != nil {
		t.Fatal(err)
	}
	if info.Kind != plugin.KindMetric || info.Name != "accuracy" || info.Version != "1.0.0" || info.ParamSchema != nil {
		t.Errorf("info %s/%s %s, schema %v", info.Kind, info.Name, info.Version, info.ParamSchema)
	}
}

func TestPluginEvaluate(t *testing.T) {
	labels := tensor.Zeros(tensor.Int64, 3)
	copy(labels.Int64s(), []int64{1, 0, 2})
	nt := func(name string, t *tensor.Tensor) plugin.NamedTensor {
		return plugin.NamedTensor{Name: name, Tensor: t}
	}
	binaryLabels := tensor.Zeros(tensor.Int64, 3)
	copy(binaryLabels.Int64s(), []int64{1, 0, 0})
	tests := []struct {
		name    string
		tensors []plugin.NamedTensor
		meta    string
		want    *Result
		wantErr string
	}{
		{name: "binary [N]", tensors: []plugin.NamedTensor{nt("logits", tensor.MustFloat32(tensor.Shape{3}, []float32{1, -1, 0})), nt("labels", binaryLabels)},
			want: &Result{Correct: 3, Total: 3, Accuracy: 1, Confusion: [][]int{{2, 0}, {0, 1}}}},
		{name: "binary [N,1], empty meta", meta: `{}`,
			tensors: []plugin.NamedTensor{nt("labels", binaryLabels), nt("logits", tensor.MustFloat32(tensor.Shape{3, 1}, []float32{-1, 1, 1}))},
			want:    &Result{Correct: 0, Total: 3, Accuracy: 0, Confusion: [][]int{{0, 2}, {1, 0}}}},
		{name: "multi-class", tensors: []plugin.NamedTensor{nt("logits", tensor.MustFloat32(tensor.Shape{3, 3}, []float32{0, 1, 0, 1, 0, 0, 0, 2, 1})), nt("labels", labels)},
			want: &Result{Correct: 2, Total: 3, Accuracy: 2.0 / 3, Confusion: [][]int{{1, 0, 0}, {0, 1, 0}, {0, 1, 0}}}},
		{name: "float labels", tensors: []plugin.NamedTensor{nt("logits", tensor.MustFloat32(tensor.Shape{1}, []float32{1})), nt("labels", tensor.MustFloat32(tensor.Shape{1}, []float32{1}))},
			wantErr: `tensor "labels" is float32 [1], want int64 [N]`},
		{name: "no labels", tensors: []plugin.NamedTensor{nt("logits", tensor.MustFloat32(tensor.Shape{1}, []float32{1}))}, wantErr: `tensor "labels" is missing`},
		{name: "meta", meta: `{"task": "single"}`, tensors: []plugin.NamedTensor{nt("logits", tensor.MustFloat32(tensor.Shape{3}, []float32{1, -1, 0})), nt("labels", binaryLabels)},
			wantErr: "accuracy takes no meta"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := Plugin().Evaluate(context.Background(), plugin.MetricRequest{Meta: json.RawMessage(tt.meta)}, plugin.Tensors(tt.tensors...))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got Result
			if err := json.Unmarshal(raw, &got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, &got); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
		})
	}
}
