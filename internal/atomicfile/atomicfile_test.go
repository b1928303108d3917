package atomicfile

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWriteFileReplacesAndLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "metrics.json")
	for _, content := range []string{"first\n", "second, longer content\n", ""} {
		if err := WriteFile(path, []byte(content)); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(content, string(got)); diff != "" {
			t.Errorf("content (-want +got):\n%s", diff)
		}
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm&0o044 == 0 {
		t.Errorf("mode %v: want group/other readable like os.WriteFile", perm)
	}
	if diff := cmp.Diff([]string{"metrics.json"}, names(t, dir)); diff != "" {
		t.Errorf("directory (-want +got):\n%s", diff)
	}
}

func TestWriteErrorKeepsOldContent(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ckpt.npz")
	if err := WriteFile(path, []byte("good")); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("encoder failed")
	err := Write(path, func(w io.Writer) error {
		if _, err := w.Write([]byte("half")); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want wrapped %v", err, boom)
	}
	got, _ := os.ReadFile(path)
	if string(got) != "good" {
		t.Errorf("content after failed write = %q, want the old %q", got, "good")
	}
	if diff := cmp.Diff([]string{"ckpt.npz"}, names(t, dir)); diff != "" {
		t.Errorf("directory (-want +got):\n%s", diff)
	}
}

func TestWriteJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.json")
	if err := WriteJSON(path, map[string]int{"b": 2, "a": 1}); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	if diff := cmp.Diff("{\n  \"a\": 1,\n  \"b\": 2\n}\n", string(got)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if err := WriteJSON(path, func() {}); err == nil {
		t.Error("encoding a func: want an error")
	}
}

func TestIsTemp(t *testing.T) {
	for _, tc := range []struct {
		name string
		want bool
	}{
		{".metrics.json.tmp-123-0123456789ab", true},
		{".a.tmp-b.tmp-7-0123456789ab", true},
		{"metrics.json", false},
		{".metrics.json.tmp-123-0123", false},
		{".metrics.json.tmp-x-0123456789ab", false},
		{".metrics.json.tmp-0-0123456789ab", false},
		{".metrics.json.tmp-12-0123456789zz", false},
		{"m.tmp-12-0123456789ab", false},
	} {
		if got := IsTemp(tc.name); got != tc.want {
			t.Errorf("IsTemp(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
	dir := t.TempDir()
	f, err := createTemp(dir, "x.json")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if !IsTemp(filepath.Base(f.Name())) {
		t.Errorf("IsTemp(%q) = false for a name createTemp made", f.Name())
	}
}

func TestRemoveStaleRemovesOnlyDeadWriters(t *testing.T) {
	dir := t.TempDir()
	// A process that has exited (and been reaped) stands for a writer
	// killed mid-write.
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Skipf("cannot run true to get a dead pid: %v", err)
	}
	deadName := ".ckpt.npz.tmp-" + strconv.Itoa(dead.Process.Pid) + "-0123456789ab"
	liveName := ".ckpt.npz.tmp-" + strconv.Itoa(os.Getpid()) + "-0123456789ab"
	for _, n := range []string{deadName, liveName, "ckpt.npz", ".hidden"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	removed, err := RemoveStale(dir)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{filepath.Join(dir, deadName)}, removed); diff != "" {
		t.Errorf("removed (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{".ckpt.npz.tmp-" + strconv.Itoa(os.Getpid()) + "-0123456789ab", ".hidden", "ckpt.npz"}, names(t, dir)); diff != "" {
		t.Errorf("left (-want +got):\n%s", diff)
	}
	if removed, err := RemoveStale(filepath.Join(dir, "missing")); err != nil || removed != nil {
		t.Errorf("missing dir: removed %v, err %v; want nothing", removed, err)
	}
}

func TestRemoveStaleTree(t *testing.T) {
	root := t.TempDir()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Skipf("cannot run true to get a dead pid: %v", err)
	}
	stale := ".report.html.tmp-" + strconv.Itoa(dead.Process.Pid) + "-0123456789ab"
	var want []string
	for _, d := range []string{"", "a", filepath.Join("a", "b")} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(root, d, stale)
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		want = append(want, p)
	}
	got, err := RemoveStaleTree(root)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("removed (-want +got):\n%s", diff)
	}
	if got, err := RemoveStaleTree(filepath.Join(root, "missing")); err != nil || got != nil {
		t.Errorf("missing root: %v, %v; want nothing", got, err)
	}
}

func TestWriteIntoMissingDirNamesThePath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "no", "such", "report.md")
	err := WriteFile(path, []byte("x"))
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("err = %v, want one naming %s", err, path)
	}
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func TestProcessAlive(t *testing.T) {
	exited := exec.Command("true")
	if err := exited.Run(); err != nil {
		t.Skipf("no true to run: %v", err)
	}
	tests := []struct {
		name string
		pid  int
		want bool
	}{
		{name: "this process", pid: os.Getpid(), want: true},
		{name: "init, which we may not signal", pid: 1, want: true},
		{name: "a child that exited and was reaped", pid: exited.Process.Pid, want: false},
	}
	for _, tt := range tests {
		if got := ProcessAlive(tt.pid); got != tt.want {
			t.Errorf("%s (pid %d): alive %v, want %v", tt.name, tt.pid, got, tt.want)
		}
	}
}
