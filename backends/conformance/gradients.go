package conformance

import (
	"fmt"
	"math"
	"testing"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// fdStep is the relative step of the central finite differences. They are
// taken in float64 on the reference evaluator, so the step can be small:
// the truncation error is O(step²) and the rounding error O(1e-16/step).
const fdStep = 1e-5

// RunGradients checks Gradients of loss = Sum(y ⊙ R), R a fixed random
// constant, for every differentiable op case against central finite
// differences of the reference evaluator in float64, with respect to every
// float input and parameter. Ops without a gradient (round, cast, argmax,
// stop_gradient) must contribute exactly nothing. It fails if an op has no
// gradient case.
func RunGradients(t *testing.T, newBackend func() (backends.Backend, error)) {
	be := newBackendOrFatal(t, newBackend)
	skipInferenceOnly(t, be)
	covered := map[graph.Op]bool{}
	for _, c := range opCases() {
		if c.forwardOnly {
			continue
		}
		covered[c.op] = true
		t.Run(c.op.String()+"/"+c.name, func(t *testing.T) { checkGradient(t, be, c) })
	}
	blocked := map[graph.Op]bool{}
	for _, c := range blockCases() {
		blocked[c.op] = true
		t.Run("no_gradient/"+c.op.String()+"/"+c.name, func(t *testing.T) { checkBlocked(t, be, c) })
	}
	checkCoverage(t, "gradient", covered, graph.Op.Differentiable)
	checkCoverage(t, "no-gradient", blocked, func(op graph.Op) bool {
		switch op {
		case graph.OpInput, graph.OpParam, graph.OpState, graph.OpConst:
			return false // leaves: their gradients are what every case checks
		}
		return !op.Differentiable()
	})
}

func checkGradient(t *testing.T, be backends.Backend, c opCase) {
	b := newCaseBuilder(c.op.String() + "/" + c.name)
	y := c.build(b)
	if !containsOp(b.g, c.op) {
		t.Fatalf("case graph has no %v node (a bug in the suite)", c.op)
	}
	r := b.g.Const(b.randomTensor(y.DType(), y.Shape()))
	b.g.SetLoss(b.g.Sum(b.g.Mul(y, r)))
	wrt := differentiableLeaves(b.g)
	if len(wrt) == 0 {
		t.Fatal("case has no float input or parameter to differentiate (a bug in the suite: mark it forwardOnly)")
	}
	exe := compile(t, be, b.g, backends.CompileOptions{Seed: caseSeed})
	got, err := exe.Gradients(c.gradMode, b.feeds, wrt...)
	if err != nil {
		t.Fatalf("Gradients(%v, wrt %v): %v", c.gradMode, wrt, err)
	}
	want, err := finiteDifferences(b.g, b.feeds, graph.InitParams(b.g, caseSeed), c.gradMode, wrt)
	if err != nil {
		t.Fatalf("reference: %v", err)
	}
	checkClose(t, "loss", got["loss"], want["loss"], ForwardTolerance)
	for _, name := range wrt {
		checkClose(t, fmt.Sprintf("%s/%s: d loss / d %s (%v mode)", c.op, c.name, name, c.gradMode), got[name], want[name], GradientTolerance)
	}
}

// finiteDifferences returns the loss of g (under "loss") and its central
// finite-difference gradient with respect to each named input or parameter,
// all computed in float64 by the reference evaluator. The outputs of ops
// without a gradient are held at their unperturbed values.
func finiteDifferences(g *graph.Graph, feeds, params map[string]*tensor.Tensor, mode backends.Mode, wrt []string) (map[string]*tensor.Tensor, error) {
	leaves, err := leafValues(g, feeds, params, nil, mode)
	if err != nil {
		return nil, err
	}
	ev := evaluator{mode: mode}
	base, err := ev.run(g, leaves)
	if err != nil {
		return nil, err
	}
	l := base[g.Loss().ID()].data[0]
	ev.frozen = frozenNodes(g, base)
	loss := func() (float64, error) {
		vals, err := ev.run(g, leaves)
		if err != nil {
			return 0, err
		}
		return vals[g.Loss().ID()].data[0], nil
	}
	out := map[string]*tensor.Tensor{"loss": tensorOf(value{dtype: g.Loss().DType(), shape: tensor.Shape{}, data: []float64{l}})}
	for _, name := range wrt {
		leaf := g.Leaf(name)
		grad := newValue(leaf.DType(), leaf.Shape())
		x := leaves[name] // absent, and so with a zero gradient, when the loss does not use it
		for i := range x.data {
			orig := x.data[i]
			h := fdStep * math.Max(1, math.Abs(orig))
			x.data[i] = orig + h
			up, err := loss()
			if err != nil {
				return nil, err
			}
			x.data[i] = orig - h
			down, err := loss()
			if err != nil {
				return nil, err
			}
			x.data[i] = orig
			grad.data[i] = (up - down) / (2 * h)
		}
		out[name] = tensorOf(grad)
	}
	return out, nil
}

func checkBlocked(t *testing.T, be backends.Backend, c blockCase) {
	b := newCaseBuilder("no_gradient/" + c.op.String() + "/" + c.name)
	x := b.distinct("x", 3, 4)
	blocked := c.block(b, x)
	if !containsOp(b.g, c.op) {
		t.Fatalf("case graph has no %v node (a bug in the suite)", c.op)
	}
	r := b.randomTensor(tensor.Float32, x.Shape())
	r2 := b.randomTensor(tensor.Float32, blocked.Shape())
	b.g.SetLoss(b.g.Add(b.g.Sum(b.g.Mul(x, b.g.Const(r))), b.g.Sum(b.g.Mul(blocked, b.g.Const(r2)))))
	exe := compile(t, be, b.g, backends.CompileOptions{Seed: caseSeed})
	got, err := exe.Gradients(backends.Eval, b.feeds, "x")
	if err != nil {
		t.Fatalf("Gradients: %v", err)
	}
	want, err := EvaluateOutputs(b.g, b.feeds, nil, nil, backends.Eval)
	if err != nil {
		t.Fatalf("reference: %v", err)
	}
	checkClose(t, "loss", got["loss"], want["loss"], ForwardTolerance)
	checkClose(t, fmt.Sprintf("d loss / d x through %v (must be R: %v passes no gradient)", c.op, c.op), got["x"], r, GradientTolerance)
}
