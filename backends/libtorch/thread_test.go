//go:build cgo

package libtorch

import (
	"bytes"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/internal/zoo"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// Each executable runs with the thread count it was compiled with, even
// when executables with other counts run in between: the count is kept on
// the executable's own OS thread.
func TestExecutablesKeepTheirThreadCounts(t *testing.T) {
	be := newTestBackend(t)
	g := biasNet()
	exes := map[int]*executable{}
	for _, n := range []int{1, 2, 3} {
		exe, err := be.Compile(g, backends.CompileOptions{Threads: n})
		if err != nil {
			t.Fatal(err)
		}
		defer exe.Close()
		exes[n] = exe.(*executable)
	}
	for range 2 {
		for want, e := range exes {
			var got int
			e.call(true, func() { got = numThreads() })
			if got != want {
				t.Errorf("executable compiled with %d threads runs with %d", want, got)
			}
		}
	}
}

// Training steps start no threads. libtorch 1.13's at::set_num_threads
// replaces a thread pool (one new busy-waiting thread per call), which the
// backend once called before every step.
func TestTrainStepsStartNoThreads(t *testing.T) {
	if _, err := os.ReadDir("/proc/self/task"); err != nil {
		t.Skip("no /proc/self/task here")
	}
	be := newTestBackend(t)
	g := biasNet()
	exe, err := be.Compile(g, backends.CompileOptions{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer exe.Close()
	feeds := map[string]*tensor.Tensor{
		"x": tensor.Zeros(tensor.Float32, g.Leaf("x").Shape()...),
		"y": tensor.Zeros(tensor.Float32, g.Leaf("y").Shape()...),
	}
	step := func() {
		if _, err := exe.TrainStep(feeds, "loss"); err != nil {
			t.Fatal(err)
		}
	}
	step() // OpenMP's team and the Go runtime's threads start here
	before := tasks(t)
	const steps = 6
	started := map[string]bool{}
	for range steps {
		step()
		// Sampled after every step: a thread started by one step may be
		// gone by the end of the next.
		for id := range tasks(t) {
			if !before[id] {
				started[id] = true
			}
		}
	}
	// The Go runtime may start a thread of its own now and then; one per
	// step is the bug.
	if len(started) >= steps/2 {
		t.Errorf("%d training steps started %d threads", steps, len(started))
	}
}

func tasks(t *testing.T) map[string]bool {
	entries, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, e := range entries {
		ids[e.Name()] = true
	}
	return ids
}

// After warm-up a training step reuses the memory of the step before: it
// takes almost no page faults (glibc's defaults gave some 10,000 per
// small64 step at batch 32, each a zeroed page from the kernel).
func TestTrainStepsReuseMemory(t *testing.T) {
	be := newTestBackend(t)
	if !retainsFreedMemory {
		t.Skip("malloc is tuned by the environment here, or this is not glibc")
	}
	m, err := zoo.Small64(16, false, zoo.Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	exe, err := be.Compile(m.Graph, backends.CompileOptions{Threads: 2, Optimizer: backends.Optimizer{Kind: backends.SGD, LearningRate: 1e-3, Momentum: 0.9}})
	if err != nil {
		t.Fatal(err)
	}
	defer exe.Close()
	feeds := map[string]*tensor.Tensor{
		"images": tensor.Zeros(tensor.Float32, m.Input.Shape()...),
		"labels": tensor.Zeros(tensor.Float32, m.Labels.Shape()...),
	}
	step := func() {
		if _, err := exe.TrainStep(feeds, "loss"); err != nil {
			t.Fatal(err)
		}
	}
	// malloc's heap settles over the first few steps.
	for range 5 {
		step()
	}
	// The median step: a one-off fault burst elsewhere in the process (the
	// Go heap growing, say) is not what this is about.
	var faults []int
	for range 5 {
		before := minorFaults(t)
		step()
		faults = append(faults, minorFaults(t)-before)
	}
	slices.Sort(faults)
	// Without retained memory this graph takes about 5,000 per step.
	if faults[len(faults)/2] > 100 {
		t.Errorf("page faults of 5 training steps after warm-up: %v", faults)
	}
}

// minorFaults is the process's minor page fault count (/proc/self/stat field 10).
func minorFaults(t *testing.T) int {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Skip("no /proc/self/stat here")
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	n, err := strconv.Atoi(fields[7])
	if err != nil {
		t.Fatal(err)
	}
	return n
}
