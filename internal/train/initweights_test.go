package train

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/icnnlab/icnnlab/internal/weights"
	"github.com/icnnlab/icnnlab/internal/weights/torchvision"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// TestInitWeights starts a run from a weights file written from another
// seed's initial parameters: the session holds the file's values, the
// manifest records the file's SHA-256, and a file that does not fit fails
// before any run directory exists.
func TestInitWeights(t *testing.T) {
	cfg := tinyConfig()
	cfg.Epochs = 1
	donor := cfg
	donor.Seed = 99
	store := openStore(t)
	opts := options(t, store)
	src, err := Open(donor, opts)
	if err != nil {
		t.Fatal(err)
	}
	params := map[string]*tensor.Tensor{}
	for _, p := range src.Model.Graph.Params() {
		if params[p.Attrs().Name], err = src.Exec.Read(p.Attrs().Name); err != nil {
			t.Fatal(err)
		}
	}
	sd, err := torchvision.Export(src.Model, params)
	src.Close()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "donor.safetensors")
	if err := weights.Write(path, weights.FormatSafetensors, sd); err != nil {
		t.Fatal(err)
	}

	cfg.InitWeights = path
	sess, err := Open(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.LoadInitWeights(nil); err != nil {
		t.Fatal(err)
	}
	for name, want := range params {
		got, err := sess.Exec.Read(name)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Equal(want) {
			t.Errorf("%s was not loaded from the file", name)
		}
	}
	sess.Close()

	// Opening a session to evaluate a finished run does not read the file.
	gone := cfg
	gone.InitWeights = filepath.Join(t.TempDir(), "moved-away.pt")
	evalSess, err := Open(gone, opts)
	if err != nil {
		t.Fatalf("Open needs the weights file: %v", err)
	}
	evalSess.Close()

	res, err := Run(context.Background(), cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	w := res.Run.Manifest.Weights
	f, _ := weights.Read(path)
	if w == nil || w.SHA256 != f.SHA256 || w.Format != weights.FormatSafetensors || w.Loaded != len(sd.Names) {
		t.Errorf("manifest weights %+v, want sha256 %s and %d tensors loaded", w, f.SHA256, len(sd.Names))
	}

	// A file that does not fit: the class layer is fine to skip, but a
	// conv of the wrong shape is not.
	bad := weights.NewStateDict()
	for _, n := range sd.Names {
		bad.Add(n, sd.Tensors[n])
	}
	bad.Add("features.0.weight", tensor.Zeros(tensor.Float32, 3, 3, 3, 3))
	bad.Add("features.99.weight", tensor.Zeros(tensor.Float32, 1))
	badPath := filepath.Join(t.TempDir(), "bad.pt")
	if err := weights.Write(badPath, weights.FormatTorch, bad); err != nil {
		t.Fatal(err)
	}
	cfg.InitWeights = badPath
	before, _ := os.ReadDir(store.Root)
	_, err = Run(context.Background(), cfg, opts)
	if err == nil {
		t.Fatal("a mis-shaped weights file trained")
	}
	for _, want := range []string{"init_weights", badPath, "features.0.weight", "shape [3 3 3 3]", "features.99.weight"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	if after, _ := os.ReadDir(store.Root); len(after) != len(before) {
		t.Errorf("a failed load left a run directory behind (%d entries, was %d)", len(after), len(before))
	}
}
