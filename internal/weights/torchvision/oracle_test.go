package torchvision_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/icnnlab/icnnlab/backends"
	_ "github.com/icnnlab/icnnlab/backends/gorgonia"
	"github.com/icnnlab/icnnlab/backends/libtorch"
	"github.com/icnnlab/icnnlab/internal/runstore"
	"github.com/icnnlab/icnnlab/internal/weights"
	"github.com/icnnlab/icnnlab/internal/weights/torchvision"
	"github.com/icnnlab/icnnlab/internal/weights/weightstest"
	"github.com/icnnlab/icnnlab/internal/zoo"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// testBackends returns gorgonia and, where its shim is built or can be
// (libtorch-dev installed, or CI set), libtorch on the CPU.
func testBackends(t *testing.T) []backends.Backend {
	t.Helper()
	g, err := backends.New("gorgonia")
	if err != nil {
		t.Fatal(err)
	}
	out := []backends.Backend{g}
	if _, err := libtorch.FindShim(); errors.Is(err, libtorch.ErrNoShim) {
		_, headers := os.Stat("/usr/include/torch/csrc/api/include/torch/version.h")
		if headers != nil && os.Getenv("LIBTORCH") == "" && os.Getenv("CI") == "" {
			t.Log("libtorch backend skipped: no libtorch here (install libtorch-dev) and CI is not set")
			return out
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		if _, err := libtorch.Build(ctx, libtorch.BuildOptions{}); err != nil {
			t.Fatalf("build the libtorch shim: %v", err)
		}
	} else if err != nil {
		t.Fatal(err)
	}
	lt, err := backends.New(libtorch.Name)
	if err != nil {
		t.Fatal(err)
	}
	return append(out, lt)
}

// oracle runs torchvision_oracle.py and returns its directory and the
// input batch and logits it wrote.
func oracle(t *testing.T, py, arch string, size, batch int) (dir string, x, logits *tensor.Tensor) {
	t.Helper()
	dir = t.TempDir()
	cmd := exec.Command(py, "testdata/torchvision_oracle.py", arch, fmt.Sprint(size), fmt.Sprint(batch), dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("torchvision_oracle.py: %v\n%s", err, out)
	}
	io, err := runstore.ReadNPZ(filepath.Join(dir, "io.npz"))
	if err != nil {
		t.Fatal(err)
	}
	return dir, io["x"], io["logits"]
}

// relDiff is max|got-want| / max|want|.
func relDiff(got, want *tensor.Tensor) float64 {
	scale := 0.0
	for _, v := range want.Float32s() {
		scale = max(scale, abs(float64(v)))
	}
	return got.MaxAbsDiff(want) / max(scale, 1e-30)
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

// logitsWith compiles spec on b, loads f and runs the batch.
func logitsWith(t *testing.T, b backends.Backend, spec zoo.Spec, f *weights.File, x *tensor.Tensor) (*tensor.Tensor, *torchvision.Import) {
	t.Helper()
	m, err := zoo.Build(spec, zoo.Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	imp, err := torchvision.Load(m, f)
	if err != nil {
		t.Fatal(err)
	}
	exec, err := b.Compile(m.Graph, backends.CompileOptions{Seed: 1, Device: "cpu"})
	if err != nil {
		t.Fatal(err)
	}
	defer exec.Close()
	if err := imp.Apply(exec); err != nil {
		t.Fatal(err)
	}
	labels := tensor.Zeros(tensor.Float32, spec.Batch, spec.Classes)
	out, err := exec.Run(map[string]*tensor.Tensor{"images": x, "labels": labels}, "logits")
	if err != nil {
		t.Fatal(err)
	}
	return out["logits"], imp
}

// TestTorchvisionLogits loads randomly initialised torchvision networks
// from both file formats and compares the logits with torchvision's on the
// same input, on every backend available. AlexNet runs at 224 px (the
// adaptive pool is the identity) and 128 px (it is folded into fc6);
// VGG-16 at 96 px (folded), small so the test stays fast.
func TestTorchvisionLogits(t *testing.T) {
	py := weightstest.Python(t, "torchvision")
	bs := testBackends(t)
	cases := []struct {
		torchArch, arch string
		size, batch     int
		folded          bool
	}{
		{"alexnet", zoo.ArchAlexNetTorchvision, 224, 2, false},
		{"alexnet", zoo.ArchAlexNetTorchvision, 128, 2, true},
		{"vgg16", zoo.ArchVGG16, 96, 1, true},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s@%d", tc.torchArch, tc.size), func(t *testing.T) {
			dir, x, want := oracle(t, py, tc.torchArch, tc.size, tc.batch)
			spec := zoo.Spec{Arch: tc.arch, InputSize: tc.size, Width: 1, Classes: 1000, Loss: zoo.LossLogistic, Batch: tc.batch}
			files := []string{"model.pt", "model.safetensors"}
			if tc.torchArch == "alexnet" {
				files = append(files, "model-legacy.pt")
			}
			for _, file := range files {
				f, err := weights.Read(filepath.Join(dir, file))
				if err != nil {
					t.Fatal(err)
				}
				for _, b := range bs {
					got, imp := logitsWith(t, b, spec, f, x)
					if d := relDiff(got, want); d > 1e-4 {
						t.Errorf("%s on %s: logits differ from torchvision's by %.3g relative (max |Δ| %.3g)", file, b.Name(), d, got.MaxAbsDiff(want))
					} else {
						t.Logf("%s on %s: relative difference %.2g", file, b.Name(), d)
					}
					if len(imp.Fresh) != 0 || len(imp.Loaded) != len(f.Names) {
						t.Errorf("loaded %d of %d tensors; fresh %v", len(imp.Loaded), len(f.Names), imp.Fresh)
					}
					if folded := len(imp.Notes) > 0; folded != tc.folded {
						t.Errorf("notes %q, want folding %v", imp.Notes, tc.folded)
					}
				}
				f = nil // let the VGG-16 tensors go before the next file
			}
		})
	}
}
