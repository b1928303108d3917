package main

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/icnnlab/icnnlab/internal/atomicfile"
	"github.com/icnnlab/icnnlab/internal/runstore"
	"github.com/icnnlab/icnnlab/internal/train"
)

// mountTmpfs mounts a tmpfs of sizeKiB on a fresh directory for the test,
// or skips the test where mounting is impossible.
func mountTmpfs(t *testing.T, sizeKiB int) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+strconv.Itoa(sizeKiB)+"k"); err != nil {
		t.Skipf("cannot mount a tmpfs to fill (%v): needs root with CAP_SYS_ADMIN on Linux (CI runs as root)", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}

// resizeTmpfs frees (or takes) space on a tmpfs mounted by mountTmpfs.
func resizeTmpfs(t *testing.T, dir string, sizeKiB int) {
	t.Helper()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_REMOUNT, "size="+strconv.Itoa(sizeKiB)+"k"); err != nil {
		t.Fatalf("resize the tmpfs: %v", err)
	}
}

// fill takes all but keepKiB of the free space of the file system of dir.
func fill(t *testing.T, dir string, keepKiB int) string {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	free := int64(st.Bavail)*int64(st.Bsize) - int64(keepKiB)<<10
	path := filepath.Join(dir, "filler")
	if err := os.WriteFile(path, make([]byte, max(free, 0)), 0o644); err != nil && !errors.Is(err, syscall.ENOSPC) {
		t.Fatal(err)
	}
	return path
}

// A run store on a full disk: the checkpoint that does not fit fails the
// run with an error naming the file and the cause, the last good
// checkpoint stays intact, and once space is freed the resumed run ends
// with exactly the metrics of an uninterrupted one.
func TestFullDiskMidCheckpoint(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a small network twice; skipped with -short")
	}
	whole := t.TempDir()
	if out, err := icnnlab(append(tinyRun, "--runs", whole)...).CombinedOutput(); err != nil {
		t.Fatalf("uninterrupted run: %v\n%s", err, out)
	}
	want := readMetrics(t, runDir(t, whole))
	ckpt, err := os.Stat(filepath.Join(runDir(t, whole), runstore.CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}

	// Room for the small files and one checkpoint, not for the next
	// one's temporary file beside it.
	size := int(ckpt.Size()>>10)*3/2 + 64
	store := mountTmpfs(t, size)
	out, err := icnnlab(append(tinyRun, "--runs", store)...).CombinedOutput()
	if err == nil {
		t.Fatalf("a run on a %d KiB disk succeeded; want it to run out of space:\n%s", size, out)
	}
	dir := runDir(t, store)
	for _, w := range []string{"no space left on device", runstore.CheckpointFile} {
		if !strings.Contains(string(out), w) {
			t.Errorf("the error does not say %q:\n%s", w, out)
		}
	}
	t.Logf("the error: %s", errorLine(out))
	run, err := runstore.Load(dir)
	if err != nil {
		t.Fatalf("the run directory after the failure: %v", err)
	}
	if _, err := run.LoadCheckpoint(); err != nil {
		t.Errorf("the last good checkpoint does not load: %v", err)
	}

	resizeTmpfs(t, store, 4*size)
	out, err = icnnlab("train", "--resume", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("resume after freeing space: %v\n%s", err, out)
	}
	if diff := cmp.Diff(want, readMetrics(t, dir), cmpopts.IgnoreFields(train.Metrics{}, "WallSeconds", "ImagesPerSec")); diff != "" {
		t.Errorf("resumed run differs from the uninterrupted one (-want +got):\n%s", diff)
	}
	assertNoTemps(t, dir)
}

// Reports on a full disk: writing the tables fails with an error naming
// the file and the cause, the tables of the previous invocation stay
// intact, and the rerun after space is freed writes the same tables.
func TestFullDiskMidReport(t *testing.T) {
	if testing.Short() {
		t.Skip("trains four small networks; skipped with -short")
	}
	runs := t.TempDir()
	out := filepath.Join(mountTmpfs(t, 1024), "tables")
	args := []string{"reproduce", "paper-tables", "--scale", "test", "--tables", "7", "--reports", "none", "--threads", "1", "--runs", runs, "--out", out}
	if b, err := icnnlab(args...).CombinedOutput(); err != nil {
		t.Fatalf("first invocation: %v\n%s", err, b)
	}
	want := tablesOf(t, out)

	filler := fill(t, out, 0)
	b, err := icnnlab(args...).CombinedOutput()
	if err == nil {
		t.Fatalf("writing the tables onto a full disk succeeded:\n%s", b)
	}
	for _, w := range []string{"no space left on device", "paper-tables."} {
		if !strings.Contains(string(b), w) {
			t.Errorf("the error does not say %q:\n%s", w, b)
		}
	}
	t.Logf("the error: %s", errorLine(b))
	if diff := cmp.Diff(want, tablesOf(t, out)); diff != "" {
		t.Errorf("the previous tables changed on a failed write (-want +got):\n%s", diff)
	}
	assertNoTemps(t, out)

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if b, err := icnnlab(args...).CombinedOutput(); err != nil {
		t.Fatalf("rerun after freeing space: %v\n%s", err, b)
	}
	if diff := cmp.Diff(want, tablesOf(t, out)); diff != "" {
		t.Errorf("tables after freeing space differ (-want +got):\n%s", diff)
	}
}

func assertNoTemps(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if atomicfile.IsTemp(e.Name()) {
			t.Errorf("temporary file %s left in %s", e.Name(), dir)
		}
	}
}

// errorLine is the line of a command's output that carries its error.
func errorLine(out []byte) string {
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "no space left") {
			return strings.TrimSpace(l)
		}
	}
	return ""
}
