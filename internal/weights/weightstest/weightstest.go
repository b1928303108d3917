// Package weightstest finds the PyTorch oracle for the weights tests.
package weightstest

import (
	"os"
	"os/exec"
	"testing"
)

// Python returns a python3 that imports torch, numpy and the given extra
// modules (e.g. "torchvision"). Without one the test is skipped with the
// reason, except when CI is set: there the oracle must run, so it fails.
func Python(t testing.TB, modules ...string) string {
	t.Helper()
	imports := "import torch, numpy"
	for _, m := range modules {
		imports += ", " + m
	}
	var last []byte
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		out, err := exec.Command(py, "-c", imports).CombinedOutput()
		if err == nil {
			return py
		}
		last = out
	}
	msg := "PyTorch oracle: no python3 that can `" + imports + "` (Debian: apt-get install python3-torch python3-torchvision): " + string(last)
	if os.Getenv("CI") != "" {
		t.Fatal(msg + " (CI is set, so the oracle must run)")
	}
	t.Skip(msg)
	return ""
}
