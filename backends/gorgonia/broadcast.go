package gorgonia

// Broadcasting walks a contiguous "primary" array of shape `shape` together
// with two secondary arrays addressed through strides (0 on broadcast axes).
// Adjacent axes with the same stride pattern are merged first, so the usual
// cases (bias over [N,C,H,W], scalar operands, per-row reductions) run as a
// few long contiguous rows.

// broadcastStrides returns the strides of an array of shape `from` read as
// `to` under NumPy broadcasting (from is right-aligned, size-1 axes get 0).
func broadcastStrides(from, to []int) []int {
	out := make([]int, len(to))
	fs := stridesOf(from)
	off := len(to) - len(from)
	for i := range to {
		j := i - off
		if j < 0 || from[j] == 1 {
			continue
		}
		out[i] = fs[j]
	}
	return out
}

// plan is a broadcast iteration with merged axes.
type plan struct {
	shape  []int
	sa, sb []int
}

func newPlan(shape, sa, sb []int) plan {
	p := plan{}
	for i := range shape {
		if shape[i] == 1 {
			continue
		}
		k := len(p.shape) - 1
		// Axis i merges into the previous kept axis k when, for both operands,
		// stepping k by one equals stepping i by its full extent.
		if k >= 0 && p.sa[k] == sa[i]*shape[i] && p.sb[k] == sb[i]*shape[i] {
			p.shape[k] *= shape[i]
			p.sa[k] = sa[i]
			p.sb[k] = sb[i]
			continue
		}
		p.shape = append(p.shape, shape[i])
		p.sa = append(p.sa, sa[i])
		p.sb = append(p.sb, sb[i])
	}
	if len(p.shape) == 0 {
		p.shape, p.sa, p.sb = []int{1}, []int{0}, []int{0}
	}
	return p
}

// rows calls fn once per innermost row: the primary offset o, secondary
// offsets ia and ib, the row length n and the secondary strides along it.
func (p plan) rows(fn func(o, ia, ib, n, inca, incb int)) {
	r := len(p.shape) - 1
	n, inca, incb := p.shape[r], p.sa[r], p.sb[r]
	idx := make([]int, r)
	o, ia, ib := 0, 0, 0
	for {
		fn(o, ia, ib, n, inca, incb)
		o += n
		k := r - 1
		for ; k >= 0; k-- {
			idx[k]++
			ia += p.sa[k]
			ib += p.sb[k]
			if idx[k] < p.shape[k] {
				break
			}
			ia -= p.sa[k] * p.shape[k]
			ib -= p.sb[k] * p.shape[k]
			idx[k] = 0
		}
		if k < 0 {
			return
		}
	}
}
