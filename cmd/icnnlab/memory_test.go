package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A run that cannot fit in memory stops before its first step with the
// estimate, instead of being killed by the OOM killer part-way: once
// against the machine's real memory (VGG-16 at 224 px and batch 2048
// needs terabytes), once against a budget set in the environment.
func TestTrainTooLargeForMemoryFailsEarly(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		budget string
		want   []string
	}{
		{"machine", []string{"--arch", "vgg-16", "--width", "1", "--image-size", "224", "--batch", "2048", "--train-samples", "2048"}, "",
			[]string{"vgg-16 (width 1, 224 px) at batch 2048 does not fit in memory", "TiB", "available memory is", "lower the batch size"}},
		{"budget", []string{"--arch", "vgg-m", "--batch", "64"}, "16MiB",
			[]string{"vgg-m (width 0.125, 64 px) at batch 64 does not fit in memory", "$ICNNLAB_MEMORY_BUDGET is 16.0 MiB"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := t.TempDir()
			cmd := icnnlab(append([]string{"train", "--runs", store, "--train-samples", "64", "--test-samples", "32", "--epochs", "1"}, tc.args...)...)
			cmd.Env = append(cmd.Env, "ICNNLAB_MEMORY_BUDGET="+tc.budget)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("train succeeded; want a refusal\n%s", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			ckpts, _ := filepath.Glob(filepath.Join(store, "*", "checkpoint.npz"))
			if len(ckpts) > 0 {
				t.Errorf("a refused run wrote checkpoints %v", ckpts)
			}
		})
	}
	if _, err := os.Stat("/proc/meminfo"); err != nil {
		t.Log("no /proc/meminfo: the machine case relied on the budget only")
	}
}
