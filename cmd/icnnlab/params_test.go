package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// With --interpretable, the filter loss's parameters are checked against
// its schema before any training, and every bad one is named at once.
func TestTrainChecksFilterLossParams(t *testing.T) {
	store := t.TempDir()
	out, err := icnnlab(append(append([]string{}, tinyRun...), "--runs", store, "--interpretable", "--filter-loss", "mi",
		"--filter-loss-params", `{"bogus": 1, "z_estimate": "ema"}`)...).CombinedOutput()
	if err == nil {
		t.Fatalf("trained with bad parameters:\n%s", out)
	}
	for _, want := range []string{`parameter "bogus": unknown parameter`, `parameter "z_estimate": "ema" is not one of`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if ckpts, _ := filepath.Glob(filepath.Join(store, "*", "checkpoint.npz")); len(ckpts) > 0 {
		t.Errorf("a checkpoint was written: %v", ckpts)
	}
}
