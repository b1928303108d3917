package conformance

import (
	"fmt"
	"math"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// FiniteDifferences returns g's loss and its central finite-difference
// derivatives with respect to the listed flat entries of one input, all in
// float64 on the reference evaluator (the suite's own gradient oracle),
// for tools that check a backend's or a plugin's gradient outside the
// suite. The outputs of ops without a gradient (argmax, stop_gradient, …)
// are held at their unperturbed values, so a gradient surrogate's
// derivative is the gradient it injects. params must hold every parameter
// the loss reads; a state missing from states takes its initial value.
func FiniteDifferences(g *graph.Graph, feeds, params, states map[string]*tensor.Tensor, mode backends.Mode, input string, entries []int) (loss float64, grad []float64, err error) {
	if g.Loss() == nil {
		return 0, nil, fmt.Errorf("finite differences: graph %q has no loss", g.Name())
	}
	leaves, err := leafValues(g, feeds, params, states, mode)
	if err != nil {
		return 0, nil, err
	}
	ev := evaluator{mode: mode}
	base, err := ev.run(g, leaves)
	if err != nil {
		return 0, nil, err
	}
	loss = base[g.Loss().ID()].data[0]
	grad = make([]float64, len(entries))
	x, used := leaves[input]
	if !used { // the loss does not read it: every derivative is 0
		if g.Leaf(input) == nil {
			return 0, nil, fmt.Errorf("finite differences: graph %q has no input %q", g.Name(), input)
		}
		return loss, grad, nil
	}
	ev.frozen = frozenNodes(g, base)
	at := func() (float64, error) {
		vals, err := ev.run(g, leaves)
		if err != nil {
			return 0, err
		}
		return vals[g.Loss().ID()].data[0], nil
	}
	for k, i := range entries {
		if i < 0 || i >= len(x.data) {
			return 0, nil, fmt.Errorf("finite differences: entry %d of input %q %v is out of range", i, input, x.shape)
		}
		orig := x.data[i]
		h := fdStep * math.Max(1, math.Abs(orig))
		x.data[i] = orig + h
		up, err := at()
		if err != nil {
			return 0, nil, err
		}
		x.data[i] = orig - h
		down, err := at()
		if err != nil {
			return 0, nil, err
		}
		x.data[i] = orig
		grad[k] = (up - down) / (2 * h)
	}
	return loss, grad, nil
}
