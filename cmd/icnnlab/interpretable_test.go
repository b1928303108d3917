package main

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/icnnlab/icnnlab/internal/runstore"
	"github.com/icnnlab/icnnlab/internal/train"
)

var tinyInterpretable = append(append([]string{}, tinyRun...), "--interpretable", "--mask", "l1", "--filter-loss", "mi")

// pluginChildren finds the plugin processes `icnnlab plugin serve …` that
// parent started.
func pluginChildren(t *testing.T, parent int) map[int]string {
	t.Helper()
	found := map[int]string{}
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		pid, _ := strconv.Atoi(filepath.Base(p))
		stat, err := os.ReadFile(filepath.Join(p, "stat"))
		if err != nil {
			continue
		}
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(fields) < 2 || fields[1] != strconv.Itoa(parent) {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join(p, "cmdline"))
		args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
		if len(args) >= 4 && args[1] == "plugin" && args[2] == "serve" {
			found[pid] = args[3]
		}
	}
	return found
}

// The interpretable CNN trains end to end with the reference plugins
// running out of process. Their subgraphs are compiled into the model, so
// killing the plugin processes mid-run changes nothing: the run finishes
// with exactly the numbers of an undisturbed one.
func TestInterpretableRunWithOutOfProcessPlugins(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a small network twice; skipped with -short")
	}
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs /proc to find the plugin processes")
	}
	whole := t.TempDir()
	out, err := icnnlab(append(tinyInterpretable, "--runs", whole)...).CombinedOutput()
	if err != nil {
		t.Fatalf("interpretable run: %v\n%s", err, out)
	}
	dir := runDir(t, whole)
	want := readMetrics(t, dir)
	var manifest runstore.Manifest
	if err := runstore.ReadJSON(filepath.Join(dir, "manifest.json"), &manifest); err != nil {
		t.Fatal(err)
	}
	var refs []string
	for _, p := range manifest.Plugins {
		refs = append(refs, p.Kind+"/"+p.Name+"@"+p.Version+" "+p.Source)
		if len(p.SHA256) != 64 {
			t.Errorf("plugin %s/%s: checksum %q is not a SHA-256", p.Kind, p.Name, p.SHA256)
		}
		if len(p.OutputSHA256) != 64 {
			t.Errorf("plugin %s/%s: output checksum %q is not a SHA-256", p.Kind, p.Name, p.OutputSHA256)
		}
	}
	if diff := cmp.Diff([]string{"mask/l1@1.0.0 builtin", "loss/mi@1.0.0 builtin"}, refs); diff != "" {
		t.Errorf("manifest plugins (-want +got):\n%s", diff)
	}
	history, err := os.ReadFile(filepath.Join(dir, "history.csv"))
	if err != nil || !strings.Contains(string(history), "lambda") {
		t.Errorf("history.csv lacks the λ column: %v\n%s", err, history)
	}
	// The history splits the loss: train_loss = classification + λ·filter.
	run, err := runstore.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := run.History().Read()
	if err != nil || len(rows) != 3 {
		t.Fatalf("history has %d rows (%v), want one per epoch", len(rows), err)
	}
	for _, row := range rows {
		v := map[string]float64{}
		for _, c := range []string{"lambda", "train_loss", "classification_loss", "filter_loss", "mean_max"} {
			if v[c], err = strconv.ParseFloat(row[c], 64); err != nil {
				t.Fatalf("history column %s: %v (row %v)", c, err, row)
			}
		}
		if sum := v["classification_loss"] + v["lambda"]*v["filter_loss"]; math.Abs(sum-v["train_loss"]) > 1e-5*(1+math.Abs(sum)) {
			t.Errorf("epoch %s: classification %g + λ %g · filter %g = %g, train_loss %g", row["epoch"],
				v["classification_loss"], v["lambda"], v["filter_loss"], sum, v["train_loss"])
		}
		if v["filter_loss"] > 0 || v["mean_max"] <= 0 {
			t.Errorf("epoch %s: filter loss %g (−MI is ≤ 0), mean max %g (want > 0)", row["epoch"], v["filter_loss"], v["mean_max"])
		}
	}

	// Again, killing the plugin processes once training is under way. The
	// run is stopped (SIGSTOP) from its first checkpoint until its plugins
	// are dead, so they are always killed mid-run, however fast it is.
	killedStore := t.TempDir()
	cmd := icnnlab(append(tinyInterpretable, "--runs", killedStore)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	checkpointed := func() bool {
		dirs, _ := filepath.Glob(filepath.Join(killedStore, "tiny-*", runstore.CheckpointFile))
		return len(dirs) > 0
	}
	for !checkpointed() {
		select {
		case err := <-exited:
			t.Fatalf("the run ended (%v) before its first checkpoint was seen\n%s", err, stderr.String())
		case <-time.After(5 * time.Millisecond):
		}
	}
	if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatalf("stop the run: %v", err)
	}
	killed := map[string]bool{}
	for pid, ref := range pluginChildren(t, cmd.Process.Pid) {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Errorf("kill plugin %s (pid %d): %v", ref, pid, err)
		}
		killed[ref] = true
	}
	if err := cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatalf("continue the run: %v", err)
	}
	if err := <-exited; err != nil {
		t.Fatalf("run with killed plugins failed: %v\n%s", err, stderr.String())
	}
	if len(killed) != 2 {
		t.Fatalf("killed plugin processes %v mid-run, want the mask and the loss", killed)
	}
	t.Logf("killed plugin processes %v mid-run", killed)
	if a, b := filepath.Base(dir), filepath.Base(runDir(t, killedStore)); a != b {
		t.Errorf("the same settings gave run keys %s and %s", a, b)
	}
	got := readMetrics(t, runDir(t, killedStore))
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(train.Metrics{}, "WallSeconds", "ImagesPerSec")); diff != "" {
		t.Errorf("killing plugins %v mid-run changed the result (-want +got):\n%s", killed, diff)
	}
}
