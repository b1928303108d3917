package conformance

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// TestSuiteOnReferenceBackend runs the whole suite against the reference
// backend: a correct backend must pass.
func TestSuiteOnReferenceBackend(t *testing.T) {
	Run(t, func() (backends.Backend, error) { return referenceBackend{}, nil })
}

// partialBackend is the reference backend declaring less than it does: no
// convolutions and no training. Its Compile refuses what it does not
// declare, as a real partial backend's would (backends.CheckCompile).
type partialBackend struct{ referenceBackend }

func (partialBackend) Capabilities() backends.Capabilities {
	ops := map[graph.Op]bool{}
	for _, op := range graph.AllOps() {
		ops[op] = op != graph.OpConv2D && op != graph.OpConvTranspose2D
	}
	return backends.Capabilities{Ops: ops, InferenceOnly: true}
}

func (b partialBackend) Compile(g *graph.Graph, opts backends.CompileOptions) (backends.Executable, error) {
	if _, err := backends.CheckCompile(b.Name(), b.Capabilities(), g, opts); err != nil {
		return nil, err
	}
	return b.referenceBackend.Compile(g, opts)
}

// TestSuiteOnPartialBackend: a backend that starts partial passes the
// suite on what its Capabilities declare; the rest is skipped, not failed.
func TestSuiteOnPartialBackend(t *testing.T) {
	Run(t, func() (backends.Backend, error) { return partialBackend{}, nil })
	var conv *graph.Node
	g := graph.New("conv")
	x := g.Input("x", tensor.Float32, 1, 1, 3, 3)
	conv = g.Conv2D(x, g.Input("w", tensor.Float32, 1, 1, 1, 1), graph.ConvOptions{})
	g.SetOutput("y", conv)
	_, err := partialBackend{}.Compile(g, backends.CompileOptions{})
	var unsupported *backends.UnsupportedOpError
	if !errors.As(err, &unsupported) || unsupported.Node != conv {
		t.Errorf("compiling a convolution on the partial backend: error %v, want an UnsupportedOpError naming the conv", err)
	}
}

// bugEnv selects the deliberate bug of the reference backend in the child
// process of TestSuiteCatchesBugs.
const bugEnv = "ICNNLAB_CONFORMANCE_BUG"

// TestBuggyBackendChild runs the suite against a deliberately broken
// backend; it only does so as the child process of TestSuiteCatchesBugs.
func TestBuggyBackendChild(t *testing.T) {
	bug := os.Getenv(bugEnv)
	if bug == "" {
		t.Skip("runs only as a child of TestSuiteCatchesBugs")
	}
	Run(t, func() (backends.Backend, error) { return referenceBackend{bug: bug}, nil })
}

// TestSuiteCatchesBugs shows that the suite can fail: each deliberate bug
// must make the named part of the suite fail.
func TestSuiteCatchesBugs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child test process per bug")
	}
	bugs := []struct {
		bug, part, wantFailing string
	}{
		{"output_noise", "forward", "--- FAIL: TestBuggyBackendChild/forward/conv2d/basic"},
		{"gradient_scale", "gradients", "--- FAIL: TestBuggyBackendChild/gradients/matmul/"},
		{"lr_mult_ignored", "training/sgd_momentum_weight_decay", "step 1: sgd param \"slow\""},
		{"mask_ignores_step", "training/dropout_masks", "the mask must depend on the step"},
		{"run_applies_updates", "training/state_updates", "must not apply updates"},
	}
	for _, b := range bugs {
		t.Run(b.bug, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestBuggyBackendChild$/^"+strings.ReplaceAll(b.part, "/", "$/^")+"$", "-test.v")
			cmd.Env = append(os.Environ(), bugEnv+"="+b.bug)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a backend with bug %q:\n%s", b.bug, tail(out))
			}
			if !strings.Contains(string(out), b.wantFailing) {
				t.Errorf("bug %q: output lacks %q:\n%s", b.bug, b.wantFailing, tail(out))
			}
		})
	}
}

func tail(out []byte) string {
	const keep = 3000
	if len(out) > keep {
		return "…" + string(out[len(out)-keep:])
	}
	return string(out)
}

// TestEveryOpHasCases fails as soon as an op is added to the IR without
// forward and gradient cases, even before any backend runs the suite.
func TestEveryOpHasCases(t *testing.T) {
	forward, gradient, blocked := map[graph.Op]bool{}, map[graph.Op]bool{}, map[graph.Op]bool{}
	for _, c := range opCases() {
		forward[c.op] = true
		if !c.forwardOnly {
			gradient[c.op] = true
		}
	}
	for _, c := range blockCases() {
		blocked[c.op] = true
	}
	for _, op := range graph.AllOps() {
		leaf := op == graph.OpInput || op == graph.OpParam || op == graph.OpState || op == graph.OpConst
		switch {
		case !forward[op]:
			t.Errorf("op %v has no forward case", op)
		case op.Differentiable() && !gradient[op]:
			t.Errorf("op %v is differentiable but has no gradient case", op)
		case !op.Differentiable() && !leaf && !blocked[op]:
			t.Errorf("op %v has no gradient but no case checks that it blocks gradients", op)
		}
	}
}
