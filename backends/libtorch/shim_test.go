package libtorch

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The Go side and build.sh must name the same cache directory, or a built
// shim would never be found.
func TestSourceHashMatchesBuildScript(t *testing.T) {
	h := sha256.New()
	for _, name := range sourceFiles {
		b, err := os.ReadFile(filepath.Join("csrc", name))
		if err != nil {
			t.Fatal(err)
		}
		h.Write(b)
	}
	if got, want := SourceHash(), hex.EncodeToString(h.Sum(nil))[:12]; got != want {
		t.Errorf("SourceHash() = %s, want %s (the embedded sources differ from csrc/)", got, want)
	}
	if _, err := exec.LookPath("sha256sum"); err != nil {
		t.Skip("no sha256sum to run build.sh's hash")
	}
	out, err := exec.Command("bash", "-c", "cd csrc && cat build.sh icnn_torch.cpp icnn_torch.h | sha256sum | cut -c1-12").Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != SourceHash() {
		t.Errorf("build.sh's hash %s, Go's %s", got, SourceHash())
	}
}

func TestFindShimWithoutOneSaysHowToBuild(t *testing.T) {
	t.Setenv(ShimEnv, "")
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	_, err := FindShim()
	if err == nil {
		t.Fatal("FindShim found a shim in an empty cache")
	}
	if !strings.Contains(err.Error(), BuildHint) {
		t.Errorf("error %q does not say to run %q", err, BuildHint)
	}
}

func TestFindShimPicksTheCurrentSourceHash(t *testing.T) {
	cache := t.TempDir()
	t.Setenv(ShimEnv, "")
	t.Setenv("XDG_CACHE_HOME", cache)
	stale := filepath.Join(cache, "icnnlab", "libtorch", "1.13.0-000000000000", ShimFile)
	current := filepath.Join(cache, "icnnlab", "libtorch", "1.13.0-"+SourceHash(), ShimFile)
	for _, p := range []string{stale, current} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := FindShim()
	if err != nil {
		t.Fatal(err)
	}
	if got != current {
		t.Errorf("FindShim() = %s, want %s", got, current)
	}
}
