package main

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// `eval --pre-mask` saves what a filter loss sees: the maps of an
// interpretable layer before its mask. Fed through the run's own mask
// plugin, they must give exactly the masked maps `eval --layer` saves.
func TestEvalPreMaskGivesTheMapsBeforeTheMask(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a small network; skipped with -short")
	}
	store, work := t.TempDir(), t.TempDir()
	short := append(append([]string{}, tinyInterpretable...), "--runs", store, "--epochs", "1")
	if out, err := icnnlab(short...).CombinedOutput(); err != nil {
		t.Fatalf("train: %v\n%s", err, out)
	}
	run := runDir(t, store)
	pre, post := filepath.Join(work, "pre.npy"), filepath.Join(work, "post.npy")
	for _, args := range [][]string{
		{"eval", run, "--layer", "conv_interp", "--pre-mask", "--out", pre, "--limit", "8"},
		{"eval", run, "--layer", "conv_interp", "--out", post, "--limit", "8"},
		{"plugins", "eval", "mask", "l1", "--features", pre, "--out", filepath.Join(work, "l1")},
	} {
		if out, err := icnnlab(args...).CombinedOutput(); err != nil {
			t.Fatalf("icnnlab %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	before, after := loadNPY(t, pre), loadNPY(t, post)
	remasked := loadNPY(t, filepath.Join(work, "l1", "masked.npy"))
	if !before.Shape().Equal(after.Shape()) || before.Shape()[0] != 8 {
		t.Fatalf("pre-mask %v, masked %v, want equal shapes of 8 images", before.Shape(), after.Shape())
	}
	differ := false
	for i, v := range before.Float32s() {
		if v < 0 {
			t.Fatalf("pre-mask entry %d is %g: the maps are after the ReLU", i, v)
		}
		w := after.Float32s()[i]
		differ = differ || v != w
		if r := remasked.Float32s()[i]; math.Abs(float64(r-w)) > 1e-5*max(1, math.Abs(float64(w))) {
			t.Fatalf("entry %d: masking the pre-mask maps gives %g, the run's masked map has %g", i, r, w)
		}
	}
	if !differ {
		t.Error("the pre-mask maps equal the masked ones: the mask changed nothing")
	}

	// An ordinary layer has no mask: --pre-mask says so.
	out, err := icnnlab("eval", run, "--layer", "conv1", "--pre-mask", "--out", filepath.Join(work, "x.npy")).CombinedOutput()
	if err == nil || !strings.Contains(string(out), `layer "conv1" has no mask (the masked layers are [conv4 conv_interp])`) {
		t.Errorf("--pre-mask on conv1: err %v\n%s", err, out)
	}
}

func loadNPY(t *testing.T, path string) *tensor.Tensor {
	t.Helper()
	x, err := tensor.LoadNPY(path)
	if err != nil {
		t.Fatal(err)
	}
	return x.AsFloat32()
}
