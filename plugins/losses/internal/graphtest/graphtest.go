// Package graphtest runs mask and loss graphs in tests with the plain-Go
// reference evaluator of backends/conformance: forward values, central
// finite differences, and the gradient a surrogate loss injects.
package graphtest

import (
	"fmt"
	"math"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/backends/conformance"
	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// Run evaluates g in evaluation mode and returns every needed node's value by ID.
func Run(g *graph.Graph, feeds, params, states map[string]*tensor.Tensor) (map[int]*tensor.Tensor, error) {
	return conformance.Evaluate(g, feeds, params, states, backends.Eval)
}

// Outputs evaluates g's named outputs.
func Outputs(g *graph.Graph, feeds, params, states map[string]*tensor.Tensor) (map[string]*tensor.Tensor, error) {
	return conformance.EvaluateOutputs(g, feeds, params, states, backends.Eval)
}

// Scalar evaluates the scalar output name.
func Scalar(g *graph.Graph, name string, feeds, params, states map[string]*tensor.Tensor) (float64, error) {
	out, err := Outputs(g, feeds, params, states)
	if err != nil {
		return 0, err
	}
	v, ok := out[name]
	if !ok || v.Len() != 1 {
		return 0, fmt.Errorf("output %q: %v is not a scalar", name, v)
	}
	return v.Float64At(0), nil
}

// FiniteDifferences returns d output/d feeds[input] by central differences
// with step h (float32 input: choose values and h exactly representable).
func FiniteDifferences(g *graph.Graph, output, input string, feeds, params, states map[string]*tensor.Tensor, h float64) ([]float64, error) {
	x := feeds[input]
	if x == nil || x.DType() != tensor.Float32 {
		return nil, fmt.Errorf("finite differences: feed %q must be float32", input)
	}
	grad := make([]float64, x.Len())
	shifted := map[string]*tensor.Tensor{}
	for k, v := range feeds {
		shifted[k] = v
	}
	for i := range grad {
		var at [2]float64
		for s, sign := range []float64{1, -1} {
			xc := x.Clone()
			xc.Float32s()[i] += float32(sign * h)
			shifted[input] = xc
			v, err := Scalar(g, output, shifted, params, states)
			if err != nil {
				return nil, err
			}
			at[s] = v
		}
		grad[i] = (at[0] - at[1]) / (2 * h)
	}
	return grad, nil
}

// InjectedGradient returns the gradient a surrogate Σ stopgrad(g) ⊙ x
// (graph.GradientSurrogate) feeds into x: the value of g. root is the
// surrogate node (a Sum of a Mul of a StopGradient and x).
func InjectedGradient(root *graph.Node, values map[int]*tensor.Tensor) (*tensor.Tensor, error) {
	if root.Op() != graph.OpSum || root.Inputs()[0].Op() != graph.OpMul {
		return nil, fmt.Errorf("%v is not a gradient surrogate", root)
	}
	sg := root.Inputs()[0].Inputs()[0]
	if sg.Op() != graph.OpStopGradient {
		return nil, fmt.Errorf("%v is not a gradient surrogate", root)
	}
	v, ok := values[sg.ID()]
	if !ok {
		return nil, fmt.Errorf("surrogate gradient %v was not evaluated", sg)
	}
	return v, nil
}

// Cosine is the cosine similarity of two vectors.
func Cosine(a, b []float64) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += a[i] * b[i]
		aa += a[i] * a[i]
		bb += b[i] * b[i]
	}
	if aa == 0 || bb == 0 {
		return 0
	}
	return ab / math.Sqrt(aa*bb)
}
