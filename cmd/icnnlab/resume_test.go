package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/icnnlab/icnnlab/internal/runstore"
	"github.com/icnnlab/icnnlab/internal/train"
)

// TestMain lets the tests run this binary as the real icnnlab command:
// with ICNNLAB_TEST_AS_CLI=1 the test binary is icnnlab.
func TestMain(m *testing.M) {
	if os.Getenv("ICNNLAB_TEST_AS_CLI") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

func icnnlab(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "ICNNLAB_TEST_AS_CLI=1")
	return cmd
}

// tinyRun is a multi-category small64 run of 3 epochs × 4 steps with a
// checkpoint every 2 steps: a few seconds of training.
var tinyRun = []string{"train", "--arch", "small64", "--width", "0.25", "--task", "multi", "--loss", "softmax",
	"--categories", "3", "--train-samples", "128", "--test-samples", "48", "--epochs", "3",
	"--checkpoint-every", "2", "--name", "tiny", "--threads", "1"}

func runDir(t *testing.T, store string) string {
	t.Helper()
	dirs, _ := filepath.Glob(filepath.Join(store, "tiny-*"))
	if len(dirs) != 1 {
		t.Fatalf("want one run in %s, found %v", store, dirs)
	}
	return dirs[0]
}

func readMetrics(t *testing.T, dir string) train.Metrics {
	t.Helper()
	var m train.Metrics
	if err := runstore.ReadJSON(filepath.Join(dir, "metrics.json"), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// A run killed with SIGKILL mid-training resumes with `train --resume RUN`
// and ends with exactly the metrics of an uninterrupted run.
func TestKilledRunResumesToTheSameMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a small network twice; skipped with -short")
	}
	whole := t.TempDir()
	if out, err := icnnlab(append(tinyRun, "--runs", whole)...).CombinedOutput(); err != nil {
		t.Fatalf("uninterrupted run: %v\n%s", err, out)
	}
	want := readMetrics(t, runDir(t, whole))

	killed := t.TempDir()
	cmd := icnnlab(append(tinyRun, "--runs", killed)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it as soon as a checkpoint past the first epoch's middle exists.
	deadline := time.Now().Add(2 * time.Minute)
	var dir string
	for {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("no checkpoint appeared within 2 minutes")
		}
		time.Sleep(20 * time.Millisecond)
		dirs, _ := filepath.Glob(filepath.Join(killed, "tiny-*"))
		if len(dirs) != 1 {
			continue
		}
		dir = dirs[0]
		var st runstore.Status
		if runstore.ReadJSON(filepath.Join(dir, "status.json"), &st) == nil && st.LastGood >= 2 && st.LastGood < 12 {
			break
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	var st runstore.Status
	if err := runstore.ReadJSON(filepath.Join(dir, "status.json"), &st); err != nil {
		t.Fatal(err)
	}
	if st.State == runstore.Done {
		t.Skip("the run finished before it could be killed; nothing to resume")
	}

	out, err := icnnlab("train", "--resume", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("resume: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "resumed") {
		t.Errorf("resume output does not say it resumed:\n%s", out)
	}
	got := readMetrics(t, dir)
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(train.Metrics{}, "WallSeconds", "ImagesPerSec")); diff != "" {
		t.Errorf("resumed run differs from the uninterrupted one (-want +got):\n%s", diff)
	}
	var manifest runstore.Manifest
	runstore.ReadJSON(filepath.Join(dir, "manifest.json"), &manifest)
	b, _ := json.Marshal(manifest.Identity)
	if !strings.Contains(string(b), `"backend":"gorgonia"`) {
		t.Errorf("manifest identity %s does not record the backend", b)
	}
}
