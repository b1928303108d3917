package weights_test

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/icnnlab/icnnlab/internal/runstore"
	"github.com/icnnlab/icnnlab/internal/weights"
	"github.com/icnnlab/icnnlab/internal/weights/weightstest"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// TestReadPyTorchFiles reads a state_dict that PyTorch saved (views,
// offsets, transposes, float16/bfloat16/float64/int64/bool, a scalar, an
// empty tensor) as torch zip, legacy torch.save and safetensors, and
// compares every value.
func TestReadPyTorchFiles(t *testing.T) {
	py := weightstest.Python(t)
	dir := t.TempDir()
	if out, err := exec.Command(py, "testdata/make_statedict.py", dir).CombinedOutput(); err != nil {
		t.Fatalf("make_statedict.py: %v\n%s", err, out)
	}
	want, err := runstore.ReadNPZ(filepath.Join(dir, "want.npz"))
	if err != nil {
		t.Fatal(err)
	}
	wantNames := []string{"conv.weight", "conv.bias", "transposed", "row_view", "base", "double", "half", "bf16", "count", "empty", "mask"}
	wantDTypes := map[string]string{"conv.weight": "float32", "conv.bias": "float32", "transposed": "float32", "row_view": "float32",
		"base": "float32", "double": "float64", "half": "float16", "bf16": "bfloat16", "count": "int64", "empty": "float32", "mask": "bool"}
	for _, tc := range []struct{ file, format string }{{"sd.pt", weights.FormatTorch}, {"sd-legacy.pt", weights.FormatTorchLegacy}, {"sd.safetensors", weights.FormatSafetensors}} {
		t.Run(tc.format, func(t *testing.T) {
			f, err := weights.Read(filepath.Join(dir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if f.Format != tc.format || len(f.SHA256) != 64 {
				t.Errorf("format %q sha %q", f.Format, f.SHA256)
			}
			// safetensors files are read in data-offset order, which the
			// oracle wrote in dict order.
			if diff := cmp.Diff(wantNames, f.Names); diff != "" {
				t.Errorf("names (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(wantDTypes, f.DTypes); diff != "" {
				t.Errorf("dtypes (-want +got):\n%s", diff)
			}
			for _, name := range wantNames {
				got, w := f.Tensors[name], want[name]
				if w.DType() == tensor.Float32 || w.DType() == tensor.Float64 {
					if !got.Shape().Equal(w.Shape()) || got.MaxAbsDiff(w) != 0 {
						t.Errorf("%s: got %v, want %v", name, got, w)
					}
					continue
				}
				if name == "count" { // a 0-d tensor; the .npy reader gives it shape [1]
					if got.Rank() != 0 || got.Int64s()[0] != 42 {
						t.Errorf("count: got %v, want the scalar 42", got)
					}
					continue
				}
				if !got.Equal(w) {
					t.Errorf("%s: got %v, want %v", name, got, w)
				}
			}
			if tc.format == weights.FormatSafetensors {
				if diff := cmp.Diff(map[string]string{"format": "pt", "who": "oracle"}, f.Metadata); diff != "" {
					t.Errorf("metadata (-want +got):\n%s", diff)
				}
			}
		})
	}
	// A module's state_dict carries _metadata (module versions); it is read
	// without error and holds no icnnlab metadata.
	f, err := weights.Read(filepath.Join(dir, "linear.pt"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"weight", "bias"}, f.Names); diff != "" || len(f.Metadata) != 0 {
		t.Errorf("linear.pt names (-want +got):\n%s\nmetadata %v", diff, f.Metadata)
	}
}

// TestWriteTorchLoadsInPyTorch writes a state_dict with icnnlab's writer
// and checks that torch.load returns the same tensors, in order, that
// load_state_dict accepts it and that the metadata travels.
func TestWriteTorchLoadsInPyTorch(t *testing.T) {
	py := weightstest.Python(t)
	dir := t.TempDir()
	sd := weights.NewStateDict()
	sd.Add("weight", tensor.MustFloat32(tensor.Shape{2, 3}, []float32{1, 2, 3, -4, 5.5, 1e-30}))
	sd.Add("bias", tensor.MustFloat32(tensor.Shape{2}, []float32{0.25, -0.5}))
	sd.Metadata["icnnlab.mask.kind"] = "l1"
	sd.Metadata["icnnlab.mask.beta"] = "4"
	path := filepath.Join(dir, "out.pt")
	if err := weights.Write(path, weights.FormatTorch, sd); err != nil {
		t.Fatal(err)
	}
	if err := runstore.WriteNPZ(filepath.Join(dir, "want.npz"), sd.Tensors); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, "testdata/load_statedict.py", path, filepath.Join(dir, "want.npz"), "--linear").CombinedOutput()
	if err != nil {
		t.Fatalf("load_statedict.py: %v\n%s", err, out)
	}
	var got struct {
		Keys     []string
		Metadata map[string]string
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if diff := cmp.Diff([]string{"weight", "bias"}, got.Keys); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(sd.Metadata, got.Metadata); diff != "" {
		t.Errorf("metadata (-want +got):\n%s", diff)
	}
	// And icnnlab reads its own file back.
	back, err := weights.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sd.Metadata, back.Metadata); diff != "" {
		t.Errorf("read back metadata (-want +got):\n%s", diff)
	}
	for _, name := range sd.Names {
		if !back.Tensors[name].Equal(sd.Tensors[name]) {
			t.Errorf("read back %s: %v, want %v", name, back.Tensors[name], sd.Tensors[name])
		}
	}
}
