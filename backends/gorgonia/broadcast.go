package gorgonia

import "sync"

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

// planKey identifies a cached plan by what it was built from: a kind and
// up to three shapes (or axis lists) of at most maxPlanRank entries.
type planKey struct {
	kind uint8
	n    [3]uint8
	s    [3][maxPlanRank]int
}

const maxPlanRank = 8

// plans caches the plans of the broadcast and reduction kernels, which
// build the same few plans every step (a handful of allocations each).
// Plans are never modified after they are built.
var plans struct {
	sync.Mutex
	m map[planKey]plan
}

// cachedPlan returns the plan of kind for the given shapes, building it
// with build on first use; shapes of rank above maxPlanRank are not cached.
func cachedPlan(kind uint8, build func() plan, shapes ...[]int) plan {
	var key planKey
	key.kind = kind
	for i, s := range shapes {
		if len(s) > maxPlanRank {
			return build()
		}
		key.n[i] = uint8(len(s))
		copy(key.s[i][:], s)
	}
	plans.Lock()
	p, ok := plans.m[key]
	plans.Unlock()
	if ok {
		return p
	}
	p = build()
	plans.Lock()
	if plans.m == nil {
		plans.m = map[planKey]plan{}
	}
	plans.m[key] = p
	plans.Unlock()
	return p
}

// Kinds of cached plans.
const (
	planBroadcast uint8 = iota // out, a, b: both operands broadcast to out
	planSumInto                // src, dst: src walked with dst broadcast to it
	planReduce                 // in, axes
	planTranspose              // in, perm
)

// broadcastPlan walks out with operands of shapes a and b broadcast to it.
func broadcastPlan(out, a, b []int) plan {
	return cachedPlan(planBroadcast, func() plan {
		return newPlan(out, broadcastStrides(a, out), broadcastStrides(b, out))
	}, out, a, b)
}

// sumIntoPlan walks src with dst (src reduced by broadcasting) as the
// first secondary.
func sumIntoPlan(src, dst []int) plan {
	return cachedPlan(planSumInto, func() plan {
		return newPlan(src, broadcastStrides(dst, src), make([]int, len(src)))
	}, src, dst)
}

// numRows is how many innermost rows rows visits.
func (p plan) numRows() int {
	if len(p.shape) == 0 {
		return 0
	}
	return numElements(p.shape[:len(p.shape)-1])
}

// rowsIn is rows for rows [first, last) only, in the same order: rows
// split into ranges visit every row once with the offsets rows gives it.
func (p plan) rowsIn(first, last int, fn func(o, ia, ib, n, inca, incb int)) {
	r := len(p.shape) - 1
	n, inca, incb := p.shape[r], p.sa[r], p.sb[r]
	var small [maxPlanRank]int
	idx := small[:0]
	if r <= maxPlanRank {
		idx = small[:r]
	} else {
		idx = make([]int, r)
	}
	ia, ib := 0, 0
	rest := first
	for k := r - 1; k >= 0; k-- {
		idx[k] = rest % p.shape[k]
		rest /= p.shape[k]
		ia += idx[k] * p.sa[k]
		ib += idx[k] * p.sb[k]
	}
	o := first * n
	for row := first; row < last; row++ {
		fn(o, ia, ib, n, inca, incb)
		o += n
		for k := r - 1; k >= 0; k-- {
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
	}
}

// rows calls fn once per innermost row: the primary offset o, secondary
// offsets ia and ib, the row length n and the secondary strides along it.
func (p plan) rows(fn func(o, ia, ib, n, inca, incb int)) {
	p.rowsIn(0, p.numRows(), fn)
}
