package metricsrun

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/go-hclog"

	"github.com/icnnlab/icnnlab/internal/metricsrun/metricstest"
	"github.com/icnnlab/icnnlab/internal/pluginhost"
	"github.com/icnnlab/icnnlab/plugins/metrics/accuracy"
	"github.com/icnnlab/icnnlab/plugins/metrics/featmap"
	"github.com/icnnlab/icnnlab/plugins/metrics/instability"
	"github.com/icnnlab/icnnlab/plugins/metrics/partinterp"
	_ "github.com/icnnlab/icnnlab/plugins/reference" // registers the built-ins this binary serves
	"github.com/icnnlab/icnnlab/sdk/parts"
	"github.com/icnnlab/icnnlab/sdk/plugin"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// envServe makes the test binary serve one built-in, as `icnnlab plugin
// serve` does in the real binary.
const envServe = "ICNNLAB_METRICSRUN_TEST_SERVE"

func TestMain(m *testing.M) {
	if ref := os.Getenv(envServe); ref != "" {
		if err := pluginhost.ServeBuiltin(ref, plugin.WithLogger(hclog.NewNullLogger())); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// newHost launches built-ins by re-executing this test binary; every
// metric therefore runs in another process.
func newHost(t *testing.T) *pluginhost.Host {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	host := pluginhost.New(pluginhost.Options{
		CallTimeout: 60 * time.Second,
		Logger:      hclog.NewNullLogger(),
		BuiltinCommand: func(ref plugin.Ref) (*exec.Cmd, error) {
			cmd := exec.Command(exe)
			cmd.Env = []string{envServe + "=" + ref.String()}
			return cmd, nil
		},
	})
	t.Cleanup(host.Close)
	return host
}

func maps(t *testing.T, acts *tensor.Tensor) *featmap.Maps {
	t.Helper()
	m, err := featmap.FromTensor(acts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// subset keeps the images of the named categories, as the multi task with
// category names does.
func subset(t *testing.T, acts *tensor.Tensor, set *parts.Set, names ...string) (*featmap.Maps, *parts.Set) {
	t.Helper()
	m := maps(t, acts)
	sub := &parts.Set{Categories: set.Categories, Groups: set.Groups, Landmarks: set.Landmarks}
	per := m.C * m.H * m.W
	var data []float32
	for n, im := range set.Images {
		for _, c := range names {
			if set.Categories[im.Category] == c {
				sub.Images = append(sub.Images, im)
				data = append(data, m.Data[n*per:(n+1)*per]...)
			}
		}
	}
	out, err := featmap.New(len(sub.Images), m.C, m.H, m.W, data)
	if err != nil {
		t.Fatal(err)
	}
	return out, sub
}

// The plugin, out of process, returns exactly what the package computes in
// process: same options, same numbers, bit for bit.
func TestPartInterpretabilityMatchesPackage(t *testing.T) {
	ss, set := metricstest.World(24)
	acts := metricstest.PartActivations(ss, set)
	target := set.Categories[set.Images[0].Category]
	other := set.Categories[set.Images[1].Category]
	host := newHost(t)
	tests := []struct {
		name       string
		task       string
		categories []string
		params     string
		maps       *featmap.Maps
		set        *parts.Set
		opt        partinterp.Options
	}{
		{name: "defaults", task: plugin.TaskSingle, opt: partinterp.Options{}},
		{name: "box region, wider top", task: plugin.TaskSingle, params: `{"region": "box", "top_fraction": 0.02, "iou_threshold": 0.15}`,
			opt: partinterp.Options{Region: partinterp.RegionBox, TopFraction: 0.02, IoUThreshold: 0.15}},
		{name: "round region of 5 px", task: plugin.TaskSingle, params: `{"region": "round", "region_size": 5, "top_fraction": 0.05}`,
			opt: partinterp.Options{Region: partinterp.RegionRound, RegionSize: 5, TopFraction: 0.05}},
		{name: "target category", task: plugin.TaskSingle, categories: []string{target}, params: `{"top_fraction": 0.05}`,
			opt: partinterp.Options{Category: target, TopFraction: 0.05}},
		{name: "multi", task: plugin.TaskMulti, params: `{"top_fraction": 0.05}`, opt: partinterp.Options{MultiCategory: true, TopFraction: 0.05}},
		{name: "multi, two categories", task: plugin.TaskMulti, categories: []string{target, other}, params: `{"top_fraction": 0.05}`,
			opt: partinterp.Options{MultiCategory: true, TopFraction: 0.05}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, s := maps(t, acts), set
			if tt.task == plugin.TaskMulti && len(tt.categories) > 0 {
				m, s = subset(t, acts, set, tt.categories...)
			}
			want, err := partinterp.Evaluate(m, metricstest.Conv2, s, tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			got, err := PartInterpretability(context.Background(), host, acts, set, metricstest.Conv2, tt.task, tt.categories, json.RawMessage(tt.params))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("out of process (-package +plugin):\n%s", diff)
			}
		})
	}
	// The oracle must score: otherwise equality above would prove little.
	got, err := PartInterpretability(context.Background(), host, acts, set, metricstest.Conv2, plugin.TaskSingle, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if h := got.Filters[0]; h.Score < 0.8 || h.BestPart != "head" {
		t.Errorf("head oracle: P_f %v on %q, want ≥ 0.8 on head", h.Score, h.BestPart)
	}
	if n := got.Filters[2]; n.Score > 0.2 {
		t.Errorf("noise filter: P_f %v, want ≤ 0.2", n.Score)
	}
}

func TestLocationInstabilityMatchesPackage(t *testing.T) {
	ss, set := metricstest.World(24)
	acts := metricstest.LandmarkActivations(ss)
	target := set.Categories[set.Images[0].Category]
	host := newHost(t)
	tests := []struct {
		name       string
		task       string
		categories []string
		params     string
		opt        instability.Options
	}{
		{name: "head, defaults", task: plugin.TaskSingle, params: `{"landmarks": ["head"]}`, opt: instability.Options{Landmarks: []string{"head"}}},
		{name: "all landmarks, top 10", task: plugin.TaskSingle, params: `{"top_images": 10}`, opt: instability.Options{TopImages: 10}},
		{name: "target category", task: plugin.TaskSingle, categories: []string{target}, params: `{"landmarks": ["head", "torso"]}`,
			opt: instability.Options{Category: target, Landmarks: []string{"head", "torso"}}},
		{name: "multi", task: plugin.TaskMulti, params: `{"landmarks": ["head"]}`, opt: instability.Options{MultiCategory: true, Landmarks: []string{"head"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := instability.Evaluate(maps(t, acts), metricstest.ConvInterp, set, tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			got, err := LocationInstability(context.Background(), host, acts, set, metricstest.ConvInterp, tt.task, tt.categories, json.RawMessage(tt.params))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("out of process (-package +plugin):\n%s", diff)
			}
		})
	}
	got, err := LocationInstability(context.Background(), host, acts, set, metricstest.ConvInterp, plugin.TaskSingle, nil, json.RawMessage(`{"landmarks": ["head"]}`))
	if err != nil {
		t.Fatal(err)
	}
	if o, r := got.Filters[0], got.Filters[1]; !o.Defined || o.Score > 1.0/32 || r.Score < 3*o.Score {
		t.Errorf("head oracle D %v (defined %v), random D %v: want oracle ≤ 1/32 and random ≥ 3× it", o.Score, o.Defined, r.Score)
	}
}

func TestAccuracyMatchesPackage(t *testing.T) {
	host := newHost(t)
	binary := tensor.MustFloat32(tensor.Shape{6, 1}, []float32{2, -1, 0, 0.5, -3, 1})
	binaryLabels := []int{1, 0, 1, 0, 0, 1}
	multi := tensor.MustFloat32(tensor.Shape{4, 3}, []float32{1, 2, 3, 5, 1, 1, 0, 0, 0, 1, 4, 2})
	multiLabels := []int{2, 0, 1, 1}

	wantBinary, err := accuracy.Binary(binary, binaryLabels)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Accuracy(context.Background(), host, binary, binaryLabels, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantBinary, got); diff != "" {
		t.Errorf("binary (-package +plugin):\n%s", diff)
	}
	if got.Correct != 4 || got.Total != 6 {
		t.Errorf("binary: %d of %d correct, want 4 of 6", got.Correct, got.Total)
	}

	wantMulti, err := accuracy.MultiClass(multi, multiLabels)
	if err != nil {
		t.Fatal(err)
	}
	got, err = Accuracy(context.Background(), host, multi, multiLabels, json.RawMessage(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantMulti, got); diff != "" {
		t.Errorf("multi-class (-package +plugin):\n%s", diff)
	}
	if got.Correct != 3 {
		t.Errorf("multi-class: %d correct, want 3 (the tie [0 0 0] goes to class 0)", got.Correct)
	}
}

func TestErrorsNameThePluginAndField(t *testing.T) {
	ss, set := metricstest.World(4)
	acts := metricstest.PartActivations(ss, set)
	host := newHost(t)
	ctx := context.Background()
	flat, err := acts.Reshape(4, 3, 32*32)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		run  func() error
		want []string
	}{
		{"unknown parameter", func() error {
			_, err := PartInterpretability(ctx, host, acts, set, metricstest.Conv2, plugin.TaskSingle, nil, json.RawMessage(`{"regoin": "box"}`))
			return err
		}, []string{"metrics/part-interpretability", "regoin", "unknown parameter"}},
		{"region not in the enum", func() error {
			_, err := PartInterpretability(ctx, host, acts, set, metricstest.Conv2, plugin.TaskSingle, nil, json.RawMessage(`{"region": "disc"}`))
			return err
		}, []string{"metrics/part-interpretability", "region", "disc"}},
		{"top_images below 2", func() error {
			_, err := LocationInstability(ctx, host, acts, set, metricstest.Conv2, plugin.TaskSingle, nil, json.RawMessage(`{"top_images": 1}`))
			return err
		}, []string{"metrics/location-instability", "top_images"}},
		{"activations of rank 3", func() error {
			_, err := PartInterpretability(ctx, host, flat, set, metricstest.Conv2, plugin.TaskSingle, nil, nil)
			return err
		}, []string{"metrics/part-interpretability", "activations", "[4 3 1024]"}},
		{"too few annotated images", func() error {
			short := *set
			short.Images = set.Images[:3]
			_, err := PartInterpretability(ctx, host, acts, &short, metricstest.Conv2, plugin.TaskSingle, nil, nil)
			return err
		}, []string{"metrics/part-interpretability", "3 annotated images for 4 activation maps"}},
		{"unknown task", func() error {
			_, err := LocationInstability(ctx, host, acts, set, metricstest.Conv2, "both", nil, nil)
			return err
		}, []string{"metrics/location-instability", `"task" is "both"`}},
		{"unknown category", func() error {
			_, err := PartInterpretability(ctx, host, acts, set, metricstest.Conv2, plugin.TaskSingle, []string{"unicorn"}, nil)
			return err
		}, []string{"metrics/part-interpretability", "category_names", "unicorn"}},
		{"geometry of another layer (checked by the plugin)", func() error {
			_, err := PartInterpretability(ctx, host, acts, set, metricstest.ConvInterp, plugin.TaskSingle, nil, nil)
			return err
		}, []string{"metrics/part-interpretability", "Evaluate", "outside the 64×64 image"}},
		{"unknown landmark (checked by the plugin)", func() error {
			_, err := LocationInstability(ctx, host, acts, set, metricstest.Conv2, plugin.TaskSingle, nil, json.RawMessage(`{"landmarks": ["wing"]}`))
			return err
		}, []string{"metrics/location-instability", `landmark "wing"`}},
		{"accuracy takes no parameters", func() error {
			_, err := Accuracy(ctx, host, tensor.MustFloat32(tensor.Shape{1}, []float32{1}), []int{1}, json.RawMessage(`{"k": 5}`))
			return err
		}, []string{"metrics/accuracy", "k"}},
		{"accuracy label out of range (checked by the plugin)", func() error {
			_, err := Accuracy(ctx, host, tensor.MustFloat32(tensor.Shape{1}, []float32{1}), []int{2}, nil)
			return err
		}, []string{"metrics/accuracy", "label 0 is 2"}},
		{"accuracy label count", func() error {
			_, err := Accuracy(ctx, host, tensor.MustFloat32(tensor.Shape{2}, []float32{1, 2}), []int{1}, nil)
			return err
		}, []string{"metrics/accuracy", "logits [2] for 1 labels"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run()
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}
