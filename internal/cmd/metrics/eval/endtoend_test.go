package eval_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/icnnlab/icnnlab/internal/cmd/cmdutil"
	"github.com/icnnlab/icnnlab/internal/cmd/iostreams"
	"github.com/icnnlab/icnnlab/internal/cmd/root"
	"github.com/icnnlab/icnnlab/internal/metricsrun/metricstest"
	"github.com/icnnlab/icnnlab/plugins/metrics/accuracy"
	"github.com/icnnlab/icnnlab/plugins/metrics/featmap"
	"github.com/icnnlab/icnnlab/plugins/metrics/instability"
	"github.com/icnnlab/icnnlab/plugins/metrics/partinterp"
	"github.com/icnnlab/icnnlab/sdk/parts"
	"github.com/icnnlab/icnnlab/sdk/tensor"

	// The metrics (and the reference masks and losses) as built-ins, as in
	// the icnnlab binary.
	_ "github.com/icnnlab/icnnlab/plugins/reference"
)

// TestMain makes this test binary behave like icnnlab when the plugin host
// re-executes it as `<binary> plugin serve metrics/NAME`, so the metrics
// run out of process exactly as they do from the real binary.
func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == "plugin" && os.Args[2] == "serve" {
		os.Exit(root.Run(context.Background(), cmdutil.New("test"), "test", os.Args[1:]))
	}
	os.Exit(m.Run())
}

func icnnlab(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ios, _, out, errOut := iostreams.Test()
	f := cmdutil.New("test")
	f.IOStreams = ios
	code = root.Run(context.Background(), f, "test", args)
	return code, out.String(), errOut.String()
}

// padFilters appends silent (all-zero) filters so the activations have the
// zoo layer's channel count.
func padFilters(t *testing.T, acts *tensor.Tensor, channels int) *tensor.Tensor {
	t.Helper()
	s := acts.Shape()
	per := s[1] * s[2] * s[3]
	data := make([]float32, 0, s[0]*channels*s[2]*s[3])
	for n := range s[0] {
		data = append(data, acts.Float32s()[n*per:(n+1)*per]...)
		data = append(data, make([]float32, (channels-s[1])*s[2]*s[3])...)
	}
	return tensor.MustFloat32(tensor.Shape{s[0], channels, s[2], s[3]}, data)
}

type files struct {
	dir, annotations, parts, landmarks string
	set                                *parts.Set
	partActs, landmarkActs             *tensor.Tensor
}

func writeFiles(t *testing.T) files {
	t.Helper()
	ss, set := metricstest.World(16)
	fs := files{dir: t.TempDir(), set: set}
	data, err := parts.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	fs.annotations = filepath.Join(fs.dir, "ann.json")
	if err := os.WriteFile(fs.annotations, data, 0o644); err != nil {
		t.Fatal(err)
	}
	// small64 at width 0.125: conv2 has 8 filters of 32×32, conv_interp 16 of 8×8.
	fs.partActs = padFilters(t, metricstest.PartActivations(ss, set), 8)
	fs.landmarkActs = padFilters(t, metricstest.LandmarkActivations(ss), 16)
	fs.parts = filepath.Join(fs.dir, "conv2.npy")
	fs.landmarks = filepath.Join(fs.dir, "conv_interp.npy")
	for path, x := range map[string]*tensor.Tensor{fs.parts: fs.partActs, fs.landmarks: fs.landmarkActs} {
		if err := tensor.SaveNPY(path, x); err != nil {
			t.Fatal(err)
		}
	}
	return fs
}

func mapsOf(t *testing.T, x *tensor.Tensor) *featmap.Maps {
	t.Helper()
	m, err := featmap.FromTensor(x)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// decodeOutput reads --json output, its result into result.
func decodeOutput(t *testing.T, stdout string, result any) map[string]json.RawMessage {
	t.Helper()
	var out map[string]json.RawMessage
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("--json output does not decode: %v\n%s", err, stdout)
	}
	if err := json.Unmarshal(out["result"], result); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestEndToEnd(t *testing.T) {
	fs := writeFiles(t)

	t.Run("part interpretability table", func(t *testing.T) {
		code, stdout, stderr := icnnlab(t, "metrics", "eval", "part-interpretability", "--activations", fs.parts, "--annotations", fs.annotations,
			"--arch", "small64", "--layer", "conv2", "--params", `{"region": "box"}`)
		if code != 0 {
			t.Fatalf("exit %d, stderr:\n%s", code, stderr)
		}
		want, err := partinterp.Evaluate(mapsOf(t, fs.partActs), metricstest.Conv2, fs.set, partinterp.Options{Region: partinterp.RegionBox})
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range []string{
			"part-interpretability 1.0.0\n",
			"layer conv2 of small64 at 64 px, width 0.125: 16 images, 8 filters of 32×32; RF 8 px, jump 2, first centre 1\n",
			`task single; params {"iou_threshold":0.2,"region":"box","region_size":0,"top_fraction":0.005}` + "\n",
			fmt.Sprintf("part interpretability (mean P_f over 8 filters): %.4f\n", want.Mean),
			fmt.Sprintf("0       %.4f  head", want.Filters[0].Score),
		} {
			if !strings.Contains(stdout, line) {
				t.Errorf("stdout lacks %q:\n%s", line, stdout)
			}
		}
		t.Logf("\n%s", stdout)
	})

	t.Run("part interpretability json, target category", func(t *testing.T) {
		target := fs.set.Categories[fs.set.Images[0].Category]
		code, stdout, stderr := icnnlab(t, "metrics", "eval", "part-interpretability", "--activations", fs.parts, "--annotations", fs.annotations,
			"--arch", "small64", "--layer", "conv2", "--categories", target, "--params", `{"top_fraction": 0.05}`, "--json")
		if code != 0 {
			t.Fatalf("exit %d, stderr:\n%s", code, stderr)
		}
		var got partinterp.Result
		out := decodeOutput(t, stdout, &got)
		want, err := partinterp.Evaluate(mapsOf(t, fs.partActs), metricstest.Conv2, fs.set, partinterp.Options{TopFraction: 0.05, Category: target})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, &got); diff != "" {
			t.Errorf("result (-package +command):\n%s", diff)
		}
		var geom bytes.Buffer
		if err := json.Compact(&geom, out["geometry"]); err != nil {
			t.Fatal(err)
		}
		if geom.String() != `{"size":8,"jump":2,"start":1,"image_width":64,"image_height":64}` || string(out["version"]) != `"1.0.0"` {
			t.Errorf("geometry %s, version %s", geom.String(), out["version"])
		}
	})

	t.Run("location instability json, multi", func(t *testing.T) {
		code, stdout, stderr := icnnlab(t, "metrics", "eval", "location-instability", "--activations", fs.landmarks, "--annotations", fs.annotations,
			"--arch", "small64", "--layer", "conv_interp", "--task", "multi", "--params", `{"landmarks": ["head"], "top_images": 8}`, "--json")
		if code != 0 {
			t.Fatalf("exit %d, stderr:\n%s", code, stderr)
		}
		var got instability.Result
		decodeOutput(t, stdout, &got)
		want, err := instability.Evaluate(mapsOf(t, fs.landmarkActs), metricstest.ConvInterp, fs.set,
			instability.Options{Landmarks: []string{"head"}, TopImages: 8, MultiCategory: true})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, &got); diff != "" {
			t.Errorf("result (-package +command):\n%s", diff)
		}
	})

	t.Run("location instability table", func(t *testing.T) {
		code, stdout, stderr := icnnlab(t, "metrics", "eval", "location-instability", "--activations", fs.landmarks, "--annotations", fs.annotations,
			"--arch", "small64", "--layer", "conv_interp", "--params", `{"landmarks": ["head", "torso"]}`)
		if code != 0 {
			t.Fatalf("exit %d, stderr:\n%s", code, stderr)
		}
		for _, want := range []string{"location instability (mean over ", "landmarks: head, torso; top 100 images", "most stable", "FILTER  D       CATEGORY  HEAD"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("stdout lacks %q:\n%s", want, stdout)
			}
		}
		t.Logf("\n%s", stdout)
	})

	t.Run("accuracy", func(t *testing.T) {
		logits := filepath.Join(fs.dir, "logits.npy")
		labels := filepath.Join(fs.dir, "labels.npy")
		if err := tensor.SaveNPY(logits, tensor.MustFloat32(tensor.Shape{4, 3}, []float32{1, 2, 3, 5, 1, 1, 0, 0, 0, 1, 4, 2})); err != nil {
			t.Fatal(err)
		}
		y, _ := tensor.FromInt64(tensor.Shape{4}, []int64{2, 0, 1, 1})
		if err := tensor.SaveNPY(labels, y); err != nil {
			t.Fatal(err)
		}
		code, stdout, stderr := icnnlab(t, "metrics", "eval", "accuracy", "--logits", logits, "--labels", labels)
		if code != 0 {
			t.Fatalf("exit %d, stderr:\n%s", code, stderr)
		}
		for _, want := range []string{"accuracy: 75.00% (3 of 4)", "     0  1  2\n  0  1  0  0\n  1  1  1  0\n  2  0  0  1\n"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("stdout lacks %q:\n%s", want, stdout)
			}
		}
		code, stdout, stderr = icnnlab(t, "metrics", "eval", "accuracy", "--logits", logits, "--labels", labels, "--json")
		if code != 0 {
			t.Fatalf("exit %d, stderr:\n%s", code, stderr)
		}
		var got accuracy.Result
		decodeOutput(t, stdout, &got)
		if diff := cmp.Diff(accuracy.Result{Correct: 3, Total: 4, Accuracy: 0.75, Confusion: [][]int{{1, 0, 0}, {1, 1, 0}, {0, 0, 1}}}, got); diff != "" {
			t.Errorf("accuracy (-want +got):\n%s", diff)
		}
	})
}

func TestEndToEndErrors(t *testing.T) {
	fs := writeFiles(t)
	short := filepath.Join(fs.dir, "short.json")
	shortSet := *fs.set
	shortSet.Images = fs.set.Images[:5]
	data, err := parts.Marshal(&shortSet)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(short, data, 0o644); err != nil {
		t.Fatal(err)
	}
	badLabels := filepath.Join(fs.dir, "labels.npy")
	if err := tensor.SaveNPY(badLabels, tensor.MustFloat32(tensor.Shape{2}, []float32{0, 0.5})); err != nil {
		t.Fatal(err)
	}
	logits := filepath.Join(fs.dir, "logits.npy")
	logits3 := filepath.Join(fs.dir, "logits3.npy")
	goodLabels := filepath.Join(fs.dir, "good.npy")
	y, _ := tensor.FromInt64(tensor.Shape{2}, []int64{0, 1})
	for path, x := range map[string]*tensor.Tensor{logits: tensor.MustFloat32(tensor.Shape{2}, []float32{1, -1}),
		logits3: tensor.MustFloat32(tensor.Shape{3}, []float32{1, -1, 2}), goodLabels: y} {
		if err := tensor.SaveNPY(path, x); err != nil {
			t.Fatal(err)
		}
	}
	layer := func(acts, ann, name string, extra ...string) []string {
		return append([]string{"metrics", "eval", "part-interpretability", "--activations", acts, "--annotations", ann, "--arch", "small64", "--layer", name}, extra...)
	}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"missing activations file", layer(filepath.Join(fs.dir, "nope.npy"), fs.annotations, "conv2"), []string{"--activations", "nope.npy"}},
		{"activations of another layer", layer(fs.parts, fs.annotations, "conv_interp"),
			[]string{"conv2.npy: shape [16 8 32 32], but conv_interp of small64 at 64 px, width 0.125 has 16 channels of 8×8"}},
		{"unknown layer", layer(fs.parts, fs.annotations, "conv9"), []string{`--layer "conv9"`, "conv1, pool1, conv2"}},
		{"image count", layer(fs.parts, short, "conv2"), []string{"short.json has 5 images but --activations", "holds 16"}},
		{"image size", layer(fs.parts, fs.annotations, "conv2", "--image-size", "96"), []string{"ann.json: image 0 is 64×64, but the network input is 96×96"}},
		{"unknown category", layer(fs.parts, fs.annotations, "conv2", "--categories", "unicorn"), []string{`--categories: "unicorn" is not a category of`}},
		{"params the schema refuses", layer(fs.parts, fs.annotations, "conv2", "--params", `{"region": "disc"}`),
			[]string{"metrics/part-interpretability: --params", `"region"`, "disc"}},
		{"annotations that are not a file of ours", layer(fs.parts, fs.parts, "conv2"), []string{"--annotations", "conv2.npy", "annotations:"}},
		{"activations as logits", []string{"metrics", "eval", "accuracy", "--logits", fs.parts, "--labels", badLabels}, []string{"--logits", "want float [N] or [N, K]"}},
		{"fractional labels", []string{"metrics", "eval", "accuracy", "--logits", logits, "--labels", badLabels}, []string{"--labels", "labels.npy: label 1 is 0.5, not a class index"}},
		{"label count", []string{"metrics", "eval", "accuracy", "--logits", logits3, "--labels", goodLabels}, []string{"logits3.npy has 3 rows (shape [3]) but --labels", "has 2 labels"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := icnnlab(t, tt.args...)
			if code == 0 {
				t.Fatalf("exit 0, stdout:\n%s", stdout)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
		})
	}
}
