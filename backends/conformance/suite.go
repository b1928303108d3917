package conformance

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// Run is the whole suite: forward, gradients, training semantics and a small
// end-to-end training run, each as a subtest.
func Run(t *testing.T, newBackend func() (backends.Backend, error)) {
	t.Run("forward", func(t *testing.T) { RunForward(t, newBackend) })
	t.Run("gradients", func(t *testing.T) { RunGradients(t, newBackend) })
	t.Run("training", func(t *testing.T) { RunTraining(t, newBackend) })
	t.Run("end_to_end", func(t *testing.T) { RunEndToEnd(t, newBackend) })
}

// Tolerance bounds a float comparison: |got - want| ≤ Abs + Rel·|want|.
type Tolerance struct{ Rel, Abs float64 }

var (
	// ForwardTolerance compares backend outputs with the float64 reference.
	ForwardTolerance = Tolerance{Rel: 1e-4, Abs: 1e-5}
	// GradientTolerance compares backend gradients with float64 finite differences.
	GradientTolerance = Tolerance{Rel: 1e-3, Abs: 1e-4}
)

// maxReported caps the mismatching elements listed per comparison.
const maxReported = 5

// checkClose reports (with t.Errorf) every way got differs from want beyond
// tol, naming what is compared, the element's index and both values. Integer
// and bool tensors must match exactly. It returns whether they matched.
func checkClose(t testing.TB, what string, got, want *tensor.Tensor, tol Tolerance) bool {
	t.Helper()
	if got == nil {
		t.Errorf("%s: backend returned no tensor, want %v", what, want)
		return false
	}
	if got.DType() != want.DType() || !got.Shape().Equal(want.Shape()) {
		t.Errorf("%s: got %v%v, want %v%v", what, got.DType(), got.Shape(), want.DType(), want.Shape())
		return false
	}
	if !want.DType().IsFloat() {
		tol = Tolerance{}
	}
	var lines []string
	bad := 0
	for i := range want.Len() {
		g, w := got.Float64At(i), want.Float64At(i)
		if closeEnough(g, w, tol) {
			continue
		}
		bad++
		if len(lines) < maxReported {
			lines = append(lines, fmt.Sprintf("  element %d %v: got %.9g, want %.9g (|diff| %.3g > %.3g)",
				i, unravel(i, want.Shape()), g, w, math.Abs(g-w), tol.Abs+tol.Rel*math.Abs(w)))
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d elements differ (tolerance rel %g, abs %g):\n%s", what, bad, want.Len(), tol.Rel, tol.Abs, strings.Join(lines, "\n"))
		return false
	}
	return true
}

func closeEnough(got, want float64, tol Tolerance) bool {
	switch {
	case math.IsNaN(want) || math.IsNaN(got):
		return math.IsNaN(want) && math.IsNaN(got)
	case math.IsInf(want, 0) || math.IsInf(got, 0):
		return got == want
	}
	return math.Abs(got-want) <= tol.Abs+tol.Rel*math.Abs(want)
}

// checkIdentical reports unless got and want are bit-for-bit equal.
func checkIdentical(t testing.TB, what string, got, want *tensor.Tensor) bool {
	t.Helper()
	if got == nil || want == nil {
		t.Errorf("%s: missing tensor (got %v, want %v)", what, got, want)
		return false
	}
	if got.Equal(want) {
		return true
	}
	if !got.Shape().Equal(want.Shape()) || got.DType() != want.DType() {
		t.Errorf("%s: got %v%v, want identical %v%v", what, got.DType(), got.Shape(), want.DType(), want.Shape())
		return false
	}
	for i := range want.Len() {
		if g, w := got.Float64At(i), want.Float64At(i); g != w && !(math.IsNaN(g) && math.IsNaN(w)) {
			t.Errorf("%s: not bit-identical: element %d %v is %.9g, want %.9g", what, i, unravel(i, want.Shape()), g, w)
			return false
		}
	}
	return true
}

// newBackendOrFatal builds the backend under test.
// skipUnsupported skips the test when g uses an op the backend does not
// declare in its Capabilities: a partial backend is checked on what it
// claims to do.
func skipUnsupported(t *testing.T, be backends.Backend, g *graph.Graph) {
	t.Helper()
	caps := backends.CapabilitiesOf(be)
	for _, n := range g.Nodes() {
		if !caps.Supports(n.Op()) {
			t.Skipf("%s does not declare op %v in its Capabilities", be.Name(), n.Op())
		}
	}
}

// skipInferenceOnly skips training and gradient checks of a backend that
// declares itself inference-only.
func skipInferenceOnly(t *testing.T, be backends.Backend) {
	t.Helper()
	if backends.CapabilitiesOf(be).InferenceOnly {
		t.Skipf("%s declares itself inference-only in its Capabilities", be.Name())
	}
}

func newBackendOrFatal(t *testing.T, newBackend func() (backends.Backend, error)) backends.Backend {
	t.Helper()
	be, err := newBackend()
	if err != nil {
		t.Fatalf("constructing the backend: %v", err)
	}
	if be == nil {
		t.Fatal("the backend constructor returned nil without an error")
	}
	return be
}

// compile compiles g (which must be valid) and closes the executable when the test ends.
func compile(t *testing.T, be backends.Backend, g *graph.Graph, opts backends.CompileOptions) backends.Executable {
	t.Helper()
	if err := g.Err(); err != nil {
		t.Fatalf("the suite built an invalid graph (a bug in the suite): %v", err)
	}
	skipUnsupported(t, be, g)
	exe, err := be.Compile(g, opts)
	if err != nil {
		t.Fatalf("%s: compile graph %q: %v", be.Name(), g.Name(), err)
	}
	t.Cleanup(func() {
		if err := exe.Close(); err != nil {
			t.Errorf("close executable of graph %q: %v", g.Name(), err)
		}
	})
	return exe
}

// containsOp reports whether g has a node with op.
func containsOp(g *graph.Graph, op graph.Op) bool {
	return slices.ContainsFunc(g.Nodes(), func(n *graph.Node) bool { return n.Op() == op })
}

// checkCoverage fails for every op in graph.AllOps that want selects but no case covers.
func checkCoverage(t *testing.T, what string, covered map[graph.Op]bool, want func(graph.Op) bool) {
	t.Helper()
	for _, op := range graph.AllOps() {
		if want(op) && !covered[op] {
			t.Errorf("op %v has no %s case: add one to package conformance", op, what)
		}
	}
}

// differentiableLeaves are the float inputs and the parameters of g, by name.
func differentiableLeaves(g *graph.Graph) []string {
	var names []string
	for _, n := range g.Nodes() {
		if (n.Op() == graph.OpInput || n.Op() == graph.OpParam) && n.DType().IsFloat() {
			names = append(names, n.Attrs().Name)
		}
	}
	return names
}
