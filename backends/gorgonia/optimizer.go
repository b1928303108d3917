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

// updateGrain is the most elements of one parameter that one task of the
// parallel optimizer pass updates.
const updateGrain = 1 << 15

// updateChunk is a range of one parameter's elements.
type updateChunk struct{ param, lo, hi int }

// updater runs the optimizer pass over all parameters as parallel tasks
// of at most updateGrain elements. Every element's update depends only on
// its own weight, gradient and slots, so the split changes no bit. It is
// kept by the executable and handed to the helpers as an interface, so a
// step's pass allocates nothing.
type updater struct {
	e      *executable
	chunks []updateChunk
	grads  [][]float32 // this step's gradient of each parameter (nil: none)
}

func (u *updater) runTask(i int) {
	c := u.chunks[i]
	if g := u.grads[c.param]; g != nil {
		u.e.update(c.param, c.lo, c.hi, g)
	}
}

// applyUpdates updates every parameter that has a gradient in grads.
func (e *executable) applyUpdates(grads [][]float32) {
	u := &e.updates
	if u.e == nil {
		u.e = e
		for i, p := range e.paramNodes {
			n := p.Shape().NumElements()
			for lo := 0; lo < n; lo += updateGrain {
				u.chunks = append(u.chunks, updateChunk{param: i, lo: lo, hi: min(lo+updateGrain, n)})
			}
		}
	}
	if len(e.paramNodes) > 0 {
		e.slotData(0) // look the slots up before the tasks share them
	}
	u.grads = grads
	parallelTasks(e.ctx.threads, len(u.chunks), u)
	u.grads = nil
}

// update applies one optimizer step to elements [lo, hi) of the index-th
// parameter with gradient grad (the whole parameter's), in float32
// arithmetic with float64 scalars rounded once, as PyTorch does.
func (e *executable) update(index, lo, hi int, grad []float32) {
	p := e.paramNodes[index]
	name := p.Attrs().Name
	w := e.params[name].Float32s()[lo:hi]
	grad = grad[lo:hi]
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
		v := e.slotData(index)[0][lo:hi]
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
		m, v := e.slotData(index)[0][lo:hi], e.slotData(index)[1][lo:hi]
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
