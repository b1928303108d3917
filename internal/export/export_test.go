package export_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/icnnlab/icnnlab/backends"
	_ "github.com/icnnlab/icnnlab/backends/gorgonia"
	"github.com/icnnlab/icnnlab/internal/export"
	"github.com/icnnlab/icnnlab/internal/runstore"
	"github.com/icnnlab/icnnlab/internal/train"
	"github.com/icnnlab/icnnlab/internal/weights"
	"github.com/icnnlab/icnnlab/internal/weights/torchvision"
	"github.com/icnnlab/icnnlab/internal/weights/weightstest"
	"github.com/icnnlab/icnnlab/internal/zoo"
	"github.com/icnnlab/icnnlab/plugins/masks"
	"github.com/icnnlab/icnnlab/plugins/masks/euclidean"
	"github.com/icnnlab/icnnlab/plugins/masks/l1"
	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// maskHook inlines the l1 or euclidean mask graph in process, as the
// plugin host does with the plugin's graph.
func maskHook(t *testing.T, name string, p l1.Params) zoo.MaskFunc {
	return func(g *graph.Graph, layer string, x *graph.Node) *graph.Node {
		s := x.Shape()
		build := l1.Build
		if name == "euclidean" {
			build = euclidean.Build
		}
		sub, err := build(p, s[0], s[1], s[2], s[3])
		if err != nil {
			t.Fatal(err)
		}
		outs, err := g.Inline(sub, "mask/"+layer, map[string]*graph.Node{masks.InputFeatures: x})
		if err != nil {
			t.Fatal(err)
		}
		return outs[masks.OutputMasked]
	}
}

// TestExportRoundTrip: icnnlab computes logits, exports the network in
// both formats, and the documented PyTorch module (testdata/icnnlab_module.py,
// the code in docs/weights.md) loads each file strictly and reproduces the
// logits. Cases cover the interpretable layers with both template kinds
// and both amplitudes, a pool dropped at a small input, and an ordinary network.
func TestExportRoundTrip(t *testing.T) {
	py := weightstest.Python(t)
	b, err := backends.New("gorgonia")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		arch        string
		size        int
		width       float64
		mask        string
		amplitude   string
		classes     int
		wantDropped bool
	}{
		{zoo.ArchAlexNetTorchvision, 64, 0.25, "l1", masks.AmplitudeUnit, 3, true},
		{zoo.ArchVGG16, 64, 0.125, "euclidean", masks.AmplitudeTau, 1, true},
		{zoo.ArchSmall64, 64, 0.25, "", "", 2, false},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s@%d-%s", tc.arch, tc.size, tc.mask), func(t *testing.T) {
			spec := zoo.Spec{Arch: tc.arch, InputSize: tc.size, Width: tc.width, Classes: tc.classes, Loss: zoo.LossLogistic, Dropout: 0.5, Batch: 2}
			info := export.Info{Run: "test-run", Dropout: 0.5}
			hooks := zoo.Hooks{}
			if tc.mask != "" {
				p := l1.Params{Beta: 4, Amplitude: tc.amplitude}
				hooks = zoo.Hooks{Interpretable: true, Mask: maskHook(t, tc.mask, p)}
				raw, _ := json.Marshal(p)
				info.Mask, info.MaskParams = tc.mask, raw
			}
			m, err := zoo.Build(spec, hooks)
			if err != nil {
				t.Fatal(err)
			}
			if got := len(m.DroppedPools) > 0; got != tc.wantDropped {
				t.Fatalf("dropped pools %v", m.DroppedPools)
			}
			ex, err := b.Compile(m.Graph, backends.CompileOptions{Seed: 3})
			if err != nil {
				t.Fatal(err)
			}
			defer ex.Close()
			params := map[string]*tensor.Tensor{}
			for _, p := range m.Graph.Params() {
				v, err := ex.Read(p.Attrs().Name)
				if err != nil {
					t.Fatal(err)
				}
				// Non-zero biases, so a bias in the wrong place shows.
				if strings.HasSuffix(p.Attrs().Name, "/b") {
					r := rand.New(rand.NewPCG(uint64(len(params)), 5))
					for i := range v.Float32s() {
						v.Float32s()[i] = float32(r.NormFloat64() * 0.05)
					}
					if err := ex.Write(p.Attrs().Name, v); err != nil {
						t.Fatal(err)
					}
				}
				params[p.Attrs().Name] = v
			}
			r := rand.New(rand.NewPCG(1, 2))
			x := tensor.Zeros(tensor.Float32, 2, 3, tc.size, tc.size)
			for i := range x.Float32s() {
				x.Float32s()[i] = float32(r.NormFloat64())
			}
			out, err := ex.Run(map[string]*tensor.Tensor{"images": x, "labels": tensor.Zeros(tensor.Float32, 2, tc.classes)}, "logits")
			if err != nil {
				t.Fatal(err)
			}
			want := out["logits"]

			sd, err := export.StateDict(m, params, info)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := runstore.WriteNPZ(filepath.Join(dir, "x.npz"), map[string]*tensor.Tensor{"x": x}); err != nil {
				t.Fatal(err)
			}
			for _, format := range weights.Formats {
				path := filepath.Join(dir, "net."+format)
				if err := weights.Write(path, format, sd); err != nil {
					t.Fatal(err)
				}
				res := filepath.Join(dir, "logits-"+format+".npz")
				if out, err := exec.Command(py, "testdata/roundtrip.py", path, filepath.Join(dir, "x.npz"), res).CombinedOutput(); err != nil {
					t.Fatalf("roundtrip.py %s: %v\n%s", format, err, out)
				}
				got, err := runstore.ReadNPZ(res)
				if err != nil {
					t.Fatal(err)
				}
				scale := 0.0
				for _, v := range want.Float32s() {
					scale = max(scale, float64(v), -float64(v))
				}
				if d := got["logits"].MaxAbsDiff(want) / scale; d > 1e-4 {
					t.Errorf("%s: PyTorch's logits %v differ from icnnlab's %v by %.3g relative", format, got["logits"], want, d)
				} else {
					t.Logf("%s: PyTorch reproduces icnnlab's logits within %.2g relative", format, d)
				}

				// icnnlab reads its export back into the same network.
				f, err := weights.Read(path)
				if err != nil {
					t.Fatal(err)
				}
				imp, err := torchvision.Load(m, f)
				if err != nil {
					t.Fatal(err)
				}
				if len(imp.Fresh) != 0 {
					t.Errorf("re-import left %v fresh", imp.Fresh)
				}
			}
		})
	}
}

// TestDocsHoldTheModule: docs/weights.md shows the module the round trip
// runs, verbatim.
func TestDocsHoldTheModule(t *testing.T) {
	module, err := os.ReadFile("testdata/icnnlab_module.py")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../../docs/weights.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), "```python\n"+string(module)+"```\n") {
		t.Error("docs/weights.md does not show internal/export/testdata/icnnlab_module.py verbatim in a ```python block")
	}
}

// TestFromRunInterpretable exports an interpretable run from its manifest
// and checkpoint alone (no plugins): interp is named, the mask described.
func TestFromRunInterpretable(t *testing.T) {
	cfg := train.Defaults()
	cfg.Model = train.ModelConfig{Arch: zoo.ArchVGG16, Width: 0.125, Dropout: 0.5, Loss: "logistic"}
	cfg.Data.ImageSize = 64
	cfg.Interpretable.Enabled = true
	cfg.Interpretable.MaskParams = json.RawMessage(`{"amplitude":"tau","beta":4}`)
	spec := zoo.Spec{Arch: zoo.ArchVGG16, InputSize: 64, Width: 0.125, Classes: 1, Loss: zoo.LossLogistic, Dropout: 0.5, Batch: 1}
	m, err := zoo.Build(spec, zoo.Hooks{Interpretable: true})
	if err != nil {
		t.Fatal(err)
	}
	ckpt := map[string]*tensor.Tensor{"step": tensor.Scalar32(10)}
	for i, p := range m.Graph.Params() {
		v := tensor.Zeros(tensor.Float32, p.Shape()...)
		v.Float32s()[0] = float32(i + 1)
		ckpt[p.Attrs().Name] = v
		ckpt["opt/"+p.Attrs().Name] = v
	}
	ckpt["mask/conv5_3/beta"] = tensor.MustFloat32(tensor.Shape{2}, []float32{2, 3})
	store, err := runstore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cb, _ := json.Marshal(cfg)
	run, _, err := store.Create("vgg-16-single-icnn", runstore.Identity{Kind: "train", Config: cb}, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := run.SaveCheckpoint(ckpt); err != nil {
		t.Fatal(err)
	}
	sd, done, err := export.FromRun(run)
	if err != nil {
		t.Fatal(err)
	}
	if done {
		t.Error("a running run reported as done")
	}
	for _, name := range []string{"features.0.weight", "features.28.bias", "interp.weight", "interp.bias", "classifier.0.weight", "classifier.6.bias", "mask.conv5_3.beta"} {
		if sd.Tensors[name] == nil {
			t.Errorf("no tensor %s in %v", name, sd.Names)
		}
	}
	if got := sd.Tensors["features.0.weight"].Float32s()[0]; got != ckpt["conv1_1/w"].Float32s()[0] {
		t.Errorf("features.0.weight holds %v, the checkpoint's conv1_1/w %v", got, ckpt["conv1_1/w"].Float32s()[0])
	}
	want := map[string]string{
		export.KeyInterp: "true", export.KeyMaskPlugin: "l1", export.KeyMaskTemplate: "l1", export.KeyMaskBeta: "4",
		export.KeyMaskTau:    "0.0078125", // 0.5 / (8·8): the top map is 8×8 at 64 px
		export.KeyMaskLayers: "conv5_3,interp", export.KeyTopIndex: "29", export.KeyRun: filepath.Base(run.Dir),
	}
	for k, v := range want {
		if sd.Metadata[k] != v {
			t.Errorf("metadata %s = %q, want %q", k, sd.Metadata[k], v)
		}
	}
	if !strings.Contains(sd.Metadata[export.KeyFeatures], `"name":"pool4","kind":"pool","padding":0,"dropped":true`) {
		t.Errorf("features %s do not mark pool4 dropped", sd.Metadata[export.KeyFeatures])
	}
}

// TestFromRunMinTopMap exports a run whose config drops pools to keep the
// top map at least min_top_map wide (the default scale's VGG-M at 112 px
// drops pool2): the export must rebuild the same network, or every layer
// above the dropped pool has another shape than the checkpoint's.
func TestFromRunMinTopMap(t *testing.T) {
	cfg := train.Defaults()
	cfg.Model = train.ModelConfig{Arch: zoo.ArchVGGM, Width: 0.125, Loss: "logistic", MinTopMap: 12}
	cfg.Data.ImageSize = 112
	spec := zoo.Spec{Arch: zoo.ArchVGGM, InputSize: 112, Width: 0.125, Classes: 1, Loss: zoo.LossLogistic, Batch: 1, MinTopMap: 12}
	m, err := zoo.Build(spec, zoo.Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"pool2"}, m.DroppedPools); diff != "" {
		t.Fatalf("dropped pools (-want +got):\n%s", diff)
	}
	ckpt := map[string]*tensor.Tensor{"step": tensor.Scalar32(10)}
	for _, p := range m.Graph.Params() {
		ckpt[p.Attrs().Name] = tensor.Zeros(tensor.Float32, p.Shape()...)
	}
	store, err := runstore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cb, _ := json.Marshal(cfg)
	run, _, err := store.Create("vgg-m-single", runstore.Identity{Kind: "train", Config: cb}, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := run.SaveCheckpoint(ckpt); err != nil {
		t.Fatal(err)
	}
	sd, _, err := export.FromRun(run)
	if err != nil {
		t.Fatalf("export a run with min_top_map 12: %v", err)
	}
	if !strings.Contains(sd.Metadata[export.KeyFeatures], `"name":"pool2","kind":"pool","padding":0,"dropped":true`) {
		t.Errorf("features %s do not mark pool2 dropped", sd.Metadata[export.KeyFeatures])
	}
}
