package gorgonia

import (
	"math"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// Optimizer slots are named "opt/<slot>/<param>" in snapshots.
func slotName(slot, param string) string { return "opt/" + slot + "/" + param }

// slotKinds are the optimizer's slots per parameter, in a fixed order.
func (e *executable) slotKinds() []string {
	switch e.opt.Kind {
	case backends.SGD:
		if e.opt.Momentum != 0 {
			return []string{"momentum"}
		}
	case backends.Adam:
		return []string{"adam_m", "adam_v"}
	}
	return nil
}

// initSlots creates zeroed optimizer state for every parameter.
func (e *executable) initSlots() {
	for _, p := range e.paramNodes {
		for _, s := range e.slotKinds() {
			e.slots[slotName(s, p.Attrs().Name)] = tensor.Zeros(tensor.Float32, p.Shape()...)
		}
	}
}

// slotData returns the i-th parameter's slot slices in slotKinds order,
// looked up by name once and then cached: building the names on every
// step cost an allocation per parameter and slot.
func (e *executable) slotData(i int) [][]float32 {
	if e.slotsOf == nil {
		kinds := e.slotKinds()
		e.slotsOf = make([][][]float32, len(e.paramNodes))
		for j, p := range e.paramNodes {
			for _, s := range kinds {
				e.slotsOf[j] = append(e.slotsOf[j], e.slots[slotName(s, p.Attrs().Name)].Float32s())
			}
		}
	}
	return e.slotsOf[i]
}

// multipliers returns a parameter's learning-rate and weight-decay multipliers.
func multipliers(p *graph.Node) (lrMult, decayMult float64) {
	return p.Attrs().LRMult, p.Attrs().DecayMult
}

// update applies one optimizer step to parameter p (the index-th of the graph)
// with gradient grad, in float32 arithmetic with float64 scalars rounded
// once, as PyTorch does.
func (e *executable) update(index int, p *graph.Node, grad []float32) {
	name := p.Attrs().Name
	w := e.params[name].Float32s()
	lrMult, decayMult := multipliers(p)
	lr := float32(e.lr * lrMult)
	wd := float32(e.opt.WeightDecay * decayMult)
	// The weight decay is added inside each update loop, one pass over
	// the weights with nothing allocated, instead of a decayed copy of the
	// gradient first; the arithmetic (grad + wd·w, rounded to float32) is
	// the same.
	switch e.opt.Kind {
	case backends.SGD:
		if e.opt.Momentum == 0 {
			for i := range w {
				g := grad[i]
				if wd != 0 {
					g += wd * w[i]
				}
				w[i] -= lr * g
			}
			return
		}
		v := e.slotData(index)[0]
		mom := float32(e.opt.Momentum)
		// The buffer starts at zero, so the first step sets it to g exactly,
		// as PyTorch's clone of the first gradient does.
		for i := range w {
			g := grad[i]
			if wd != 0 {
				g += wd * w[i]
			}
			v[i] = mom*v[i] + g
			w[i] -= lr * v[i]
		}
	case backends.Adam:
		m, v := e.slotData(index)[0], e.slotData(index)[1]
		b1, b2 := e.opt.Beta1, e.opt.Beta2
		t := float64(e.step + 1)
		stepSize := float32(e.lr * lrMult / (1 - math.Pow(b1, t)))
		bc2Sqrt := float32(math.Sqrt(1 - math.Pow(b2, t)))
		eps := float32(e.opt.Epsilon)
		oneMinusB1, b2f, oneMinusB2 := float32(1-b1), float32(b2), float32(1-b2)
		for i := range w {
			g := grad[i]
			if wd != 0 {
				g += wd * w[i]
			}
			m[i] += (g - m[i]) * oneMinusB1
			v[i] = v[i]*b2f + oneMinusB2*g*g
			denom := float32(math.Sqrt(float64(v[i])))/bc2Sqrt + eps
			w[i] -= stepSize * (m[i] / denom)
		}
	}
}
