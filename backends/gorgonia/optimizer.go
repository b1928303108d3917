package gorgonia

import (
	"math"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// Optimizer slots are named "opt/<slot>/<param>" in snapshots.
func slotName(slot, param string) string { return "opt/" + slot + "/" + param }

// initSlots creates zeroed optimizer state for every parameter.
func (e *executable) initSlots() {
	var slots []string
	switch e.opt.Kind {
	case backends.SGD:
		if e.opt.Momentum != 0 {
			slots = []string{"momentum"}
		}
	case backends.Adam:
		slots = []string{"adam_m", "adam_v"}
	}
	for _, p := range e.g.Params() {
		for _, s := range slots {
			e.slots[slotName(s, p.Attrs().Name)] = tensor.Zeros(tensor.Float32, p.Shape()...)
		}
	}
}

// multipliers returns a parameter's learning-rate and weight-decay multipliers.
func multipliers(p *graph.Node) (lrMult, decayMult float64) {
	return p.Attrs().LRMult, p.Attrs().DecayMult
}

// update applies one optimizer step to parameter p with gradient grad, in
// float32 arithmetic with float64 scalars rounded once, as PyTorch does.
func (e *executable) update(p *graph.Node, grad []float32) {
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
		v := e.slots[slotName("momentum", name)].Float32s()
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
		m := e.slots[slotName("adam_m", name)].Float32s()
		v := e.slots[slotName("adam_v", name)].Float32s()
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
