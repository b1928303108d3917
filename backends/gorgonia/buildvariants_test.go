package gorgonia

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestBuildVariantsVet type-checks the package, its tests included, in the
// builds that the default test run never compiles: OpenBLAS (a cgo
// package, which may not hold Go assembly), pure Go on amd64, and arm64.
// Each of them had been broken by an assembly file without its build
// constraint. Skipped when the go tool is not on PATH, and for OpenBLAS
// when its header is missing.
func TestBuildVariantsVet(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go vet three times")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool on PATH")
	}
	for _, v := range []struct {
		name string
		args []string
		env  []string
	}{
		{"openblas", []string{"-tags", "openblas"}, nil},
		{"purego", []string{"-tags", "purego"}, nil},
		{"arm64", nil, []string{"GOARCH=arm64", "CGO_ENABLED=0"}},
	} {
		t.Run(v.name, func(t *testing.T) {
			cmd := exec.Command(goTool, append(append([]string{"vet"}, v.args...), ".")...)
			cmd.Env = append(os.Environ(), v.env...)
			out, err := cmd.CombinedOutput()
			if err != nil {
				if v.name == "openblas" && strings.Contains(string(out), "cblas.h") {
					t.Skipf("OpenBLAS headers are not installed: %s", out)
				}
				t.Fatalf("go vet %s: %v\n%s", strings.Join(v.args, " "), err, out)
			}
		})
	}
}
