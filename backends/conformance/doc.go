// Package conformance is the shared test suite every icnnlab backend must
// pass, in the spirit of gonum's blas/testblas: a backend's own test calls
//
//	func TestConformance(t *testing.T) {
//		conformance.Run(t, func() (backends.Backend, error) { return mybackend.New() })
//	}
//
// The suite checks every primitive op of graph.AllOps forward against a
// plain-Go reference evaluator (Evaluate), every gradient against central
// finite differences of that evaluator in float64, the training-step
// semantics documented in package backends (optimizers, state updates,
// dropout, snapshots, errors, determinism) and a tiny end-to-end training run.
// Adding an op to the IR without adding cases here makes the suite fail.
package conformance
