package plugin_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestModuleGraphIsSmall keeps the SDK module light for plugin authors: a
// plugin that requires only the SDK must not pull in the host's CLI,
// training or backend dependencies. The host module replaces the SDK with
// ./sdk, so a forbidden import would only show up here, in the SDK's own
// module graph.
func TestModuleGraphIsSmall(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go command not found")
	}
	cmd := exec.Command("go", "list", "-m", "all")
	cmd.Dir = "../" // the SDK module's root
	cmd.Env = append(cmd.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list -m all: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if got := strings.Fields(lines[0]); len(got) == 0 || got[0] != "github.com/icnnlab/icnnlab/sdk" {
		t.Fatalf("first module is %q, want the SDK module", lines[0])
	}
	for _, line := range lines[1:] {
		mod := strings.Fields(line)[0]
		if hostOnlyModule(mod) {
			t.Errorf("the SDK's module graph holds %s (%s): a plugin would depend on it", mod, line)
		}
	}
}

// hostOnlyModule reports whether a module belongs to the host alone: the
// host module itself (its libtorch backend included), its CLI library and
// its gorgonia backend.
func hostOnlyModule(mod string) bool {
	switch {
	case mod == "github.com/icnnlab/icnnlab",
		strings.HasPrefix(mod, "github.com/spf13/"),
		mod == "gorgonia.org" || strings.HasPrefix(mod, "gorgonia.org/"),
		strings.Contains(mod, "libtorch"):
		return true
	}
	return false
}
