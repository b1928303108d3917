package conformance

import (
	"testing"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/sdk/graph"
)

// RunForward compares Run of every op case with the reference evaluator.
// It fails if an op of graph.AllOps has no case.
func RunForward(t *testing.T, newBackend func() (backends.Backend, error)) {
	be := newBackendOrFatal(t, newBackend)
	covered := map[graph.Op]bool{}
	for _, c := range opCases() {
		covered[c.op] = true
		t.Run(c.op.String()+"/"+c.name, func(t *testing.T) { checkForward(t, be, c) })
	}
	checkCoverage(t, "forward", covered, func(graph.Op) bool { return true })
}

func checkForward(t *testing.T, be backends.Backend, c opCase) {
	b := newCaseBuilder(c.op.String() + "/" + c.name)
	y := c.build(b)
	b.g.SetOutput("y", y)
	if !containsOp(b.g, c.op) {
		t.Fatalf("case graph has no %v node (a bug in the suite)", c.op)
	}
	exe := compile(t, be, b.g, backends.CompileOptions{Seed: caseSeed})
	got, err := exe.Run(b.feeds, "y")
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	want, err := EvaluateOutputs(b.g, b.feeds, graph.InitParams(b.g, caseSeed), nil, backends.Eval)
	if err != nil {
		t.Fatalf("reference: %v", err)
	}
	checkClose(t, c.op.String()+"/"+c.name+" output y", got["y"], want["y"], ForwardTolerance)
}
