package eval

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/icnnlab/icnnlab/internal/cmd/cmdutil"
	"github.com/icnnlab/icnnlab/internal/cmd/iostreams"
	"github.com/icnnlab/icnnlab/internal/pluginhost"
)

func TestNewCmdEvalFlags(t *testing.T) {
	layer := "--activations a.npy --annotations ann.json --arch small64 --layer conv_interp"
	tests := []struct {
		name    string
		args    string
		want    EvalOptions
		wantErr string
	}{
		{name: "part interpretability, defaults", args: "part-interpretability " + layer,
			want: EvalOptions{Metric: "part-interpretability", Activations: "a.npy", Annotations: "ann.json", Arch: "small64", Layer: "conv_interp",
				ImageSize: 64, Width: 0.125, Task: "single"}},
		{name: "instability, everything", args: "location-instability " + layer + ` --image-size 224 --width 1 --task multi --categories bird,cat --params {"top_images":50} --json`,
			want: EvalOptions{Metric: "location-instability", Activations: "a.npy", Annotations: "ann.json", Arch: "small64", Layer: "conv_interp",
				ImageSize: 224, Width: 1, Task: "multi", Categories: []string{"bird", "cat"}, Params: json.RawMessage(`{"top_images":50}`), JSON: true}},
		{name: "target category", args: "part-interpretability " + layer + " --categories bird",
			want: EvalOptions{Metric: "part-interpretability", Activations: "a.npy", Annotations: "ann.json", Arch: "small64", Layer: "conv_interp",
				ImageSize: 64, Width: 0.125, Task: "single", Categories: []string{"bird"}}},
		{name: "accuracy", args: "accuracy --logits l.npy --labels y.npy",
			want: EvalOptions{Metric: "accuracy", Logits: "l.npy", Labels: "y.npy", ImageSize: 64, Width: 0.125, Task: "single"}},
		{name: "no metric", args: layer, wantErr: "want one metric name"},
		{name: "two metrics", args: "accuracy part-interpretability --logits l.npy --labels y.npy", wantErr: "got 2 arguments"},
		{name: "unknown metric", args: "iou " + layer, wantErr: `unknown metric "iou"`},
		{name: "no activations", args: "part-interpretability --annotations ann.json --arch small64 --layer conv4", wantErr: "--activations is required for part-interpretability"},
		{name: "no annotations", args: "location-instability --activations a.npy --arch small64 --layer conv4", wantErr: "--annotations is required"},
		{name: "no arch", args: "location-instability --activations a.npy --annotations ann.json --layer conv4", wantErr: "--arch is required"},
		{name: "no layer", args: "location-instability --activations a.npy --annotations ann.json --arch small64", wantErr: "--layer is required"},
		{name: "unknown arch", args: "part-interpretability --activations a.npy --annotations ann.json --arch resnet --layer conv4", wantErr: `--arch "resnet" is not one of`},
		{name: "bad task", args: "part-interpretability " + layer + " --task both", wantErr: `--task "both"`},
		{name: "two targets", args: "part-interpretability " + layer + " --categories bird,cat", wantErr: "single task takes one target category, got 2"},
		{name: "bad size", args: "part-interpretability " + layer + " --image-size 0", wantErr: "--image-size 0"},
		{name: "default-scale network", args: "part-interpretability " + layer + " --image-size 112 --min-top-map 12",
			want: EvalOptions{Metric: "part-interpretability", Activations: "a.npy", Annotations: "ann.json", Arch: "small64", Layer: "conv_interp",
				ImageSize: 112, Width: 0.125, MinTopMap: 12, Task: "single"}},
		{name: "bad min top map", args: "part-interpretability " + layer + " --min-top-map -1", wantErr: "--min-top-map -1"},
		{name: "min top map on accuracy", args: "accuracy --logits l.npy --labels y.npy --min-top-map 12", wantErr: "--min-top-map applies to part-interpretability"},
		{name: "bad width", args: "part-interpretability " + layer + " --width -1", wantErr: "--width -1"},
		{name: "bad params", args: "part-interpretability " + layer + " --params {region:box}", wantErr: "--params is not valid JSON"},
		{name: "logits on a layer metric", args: "part-interpretability " + layer + " --logits l.npy", wantErr: "--logits applies to accuracy only"},
		{name: "accuracy without labels", args: "accuracy --logits l.npy", wantErr: "--labels is required for accuracy"},
		{name: "accuracy with a layer", args: "accuracy --logits l.npy --labels y.npy --layer conv4", wantErr: "--layer applies to part-interpretability and location-instability"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, _ := iostreams.Test()
			f := &cmdutil.Factory{IOStreams: ios}
			var got *EvalOptions
			cmd := NewCmdEval(f, &pluginhost.Flags{}, func(o *EvalOptions) error { got = o; return nil })
			cmd.SetArgs(strings.Fields(tt.args))
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			err := cmd.Execute()
			if tt.wantErr != "" {
				var fe *cmdutil.FlagError
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.As(err, &fe) {
					t.Fatalf("error %v, want a FlagError containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.IO != ios || got.NewHost == nil {
				t.Error("IO or NewHost not set")
			}
			got.IO, got.NewHost = nil, nil
			if diff := cmp.Diff(&tt.want, got); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
		})
	}
}

func TestExtremes(t *testing.T) {
	for _, tt := range []struct {
		n, of       int
		best, worst []int
	}{
		{2, 5, []int{0, 1}, []int{3, 4}},
		{2, 3, []int{0, 1}, []int{2}},
		{5, 3, []int{0, 1, 2}, []int{}},
	} {
		items := make([]int, tt.of)
		for i := range items {
			items[i] = i
		}
		best, worst := extremes(items, tt.n)
		if !cmp.Equal(best, tt.best) || !cmp.Equal(worst, tt.worst) {
			t.Errorf("extremes(%d of %d) = %v, %v; want %v, %v", tt.n, tt.of, best, worst, tt.best, tt.worst)
		}
	}
}

// The default reproduction's VGG-M drops pool2 so that its interpreted maps
// are 12×12; without --min-top-map the zoo plans the smaller default map,
// and activations of a default-scale run would not match the layer.
func TestZooLayerMinTopMap(t *testing.T) {
	for _, tt := range []struct {
		minTopMap int
		wantSide  int
	}{{0, 6}, {12, 12}} {
		opts := &EvalOptions{Arch: "vgg-m", Layer: "conv_interp", ImageSize: 112, Width: 0.125, MinTopMap: tt.minTopMap}
		layer, _, err := zooLayer(opts)
		if err != nil {
			t.Fatalf("min top map %d: %v", tt.minTopMap, err)
		}
		if layer.Size != tt.wantSide {
			t.Errorf("min top map %d: conv_interp maps %d×%d, want %d×%d", tt.minTopMap, layer.Size, layer.Size, tt.wantSide, tt.wantSide)
		}
	}
}
