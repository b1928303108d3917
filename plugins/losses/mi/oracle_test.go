package mi_test

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/icnnlab/icnnlab/plugins/losses"
	"github.com/icnnlab/icnnlab/plugins/losses/internal/graphtest"
	"github.com/icnnlab/icnnlab/plugins/losses/mi"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// torchPython finds a Python with PyTorch (Debian's python3-torch lives
// under /usr/bin/python3), or skips.
func torchPython(t *testing.T) string {
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(py, "-c", "import torch, numpy").Run() == nil {
			return py
		}
	}
	t.Skip("PyTorch oracle skipped: no python3 with torch and numpy (Debian: apt-get install python3-torch)")
	return ""
}

// TestNegMIAgainstPyTorch compares the graph's −MI and its gradient (central
// finite differences of the reference evaluator) with PyTorch autograd.
func TestNegMIAgainstPyTorch(t *testing.T) {
	py := torchPython(t)
	s := losses.LossShape{Batch: 4, Channels: 2, H: 3, W: 4, Classes: 1, Task: losses.TaskSingle}
	p := mi.Defaults()
	p.Tau, p.Distance = 0.5, "l2"
	g, err := mi.Build(p, s)
	if err != nil {
		t.Fatal(err)
	}
	x := randomFeatures(99, s, 2)
	feeds := map[string]*tensor.Tensor{"features": x, "labels": singleLabels(s.Batch)}

	dir := t.TempDir()
	in, out := filepath.Join(dir, "x.f32"), filepath.Join(dir, "out.f64")
	raw := make([]byte, 4*x.Len())
	for i, v := range x.Float32s() {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	if err := os.WriteFile(in, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	tmpl := p.TemplateParams.Resolve(s.H, s.W)
	args := []string{"testdata/negmi_oracle.py", in}
	for _, v := range []int{s.Batch, s.Channels, s.H, s.W} {
		args = append(args, fmt.Sprint(v))
	}
	args = append(args, fmt.Sprint(tmpl.Tau), fmt.Sprint(tmpl.Beta), fmt.Sprint(tmpl.Alpha), p.Distance, out)
	// The oracle lives in plugins/losses/testdata; tests run in plugins/losses/mi.
	args[0] = filepath.Join("..", args[0])
	if msg, err := exec.Command(py, args...).CombinedOutput(); err != nil {
		t.Fatalf("oracle: %v\n%s", err, msg)
	}
	res, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 8*(1+x.Len()) {
		t.Fatalf("oracle wrote %d bytes, want %d", len(res), 8*(1+x.Len()))
	}
	at := func(i int) float64 { return math.Float64frombits(binary.LittleEndian.Uint64(res[8*i:])) }

	got, err := graphtest.Scalar(g, "loss", feeds, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := at(0); !relClose(got, want, 1e-5) {
		t.Errorf("−MI: graph %.9g, PyTorch %.9g", got, want)
	}
	fd, err := graphtest.FiniteDifferences(g, "loss", "features", feeds, nil, nil, 1.0/256)
	if err != nil {
		t.Fatal(err)
	}
	maxAbs, maxDiff := 0.0, 0.0
	for i, v := range fd {
		maxAbs = max(maxAbs, math.Abs(at(1+i)))
		maxDiff = max(maxDiff, math.Abs(v-at(1+i)))
	}
	t.Logf("largest |d −MI/dx| %.3g, largest finite-difference error %.3g", maxAbs, maxDiff)
	if maxAbs == 0 || maxDiff > 2e-3*maxAbs {
		t.Errorf("gradient: finite differences differ from PyTorch by %g (largest %g)", maxDiff, maxAbs)
	}
}
