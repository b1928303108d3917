package gorgonia

import (
	"fmt"
	"io"
	"math"
	"slices"

	G "gorgonia.org/gorgonia"
	gt "gorgonia.org/tensor"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// The −MI filter loss of eq. 1 (plugins/losses: Terms.NegMI) reaches the
// backend as a dozen generic ops over [C,B,K] (filters, images, templates):
//
//	lq  = Sub(s, lz)              s [C,B,K] scores, lz [C,1,K] log Z_T
//	lj  = Add(lq, prior)          prior [K] log p(T), a constant
//	lpx = LogSumExpKeep(lj, 2)    [C,B,1]
//	mi  = Sum(Mul(Exp(lj), Sub(lq, lpx)))
//
// Run one by one, with their gradients and gorgonia's sums of gradient
// terms, that is about 25 passes over C·B·K values and four of them
// through exp, per interpreted layer and step. Lowering recognises the
// chain and runs it as one miCoreKernel: one pass computes each row's lpx
// and its terms h = e^lj·(lq − lpx) and keeps h for the gradient, which
// is then a scaling of h, because
//
//	∂mi/∂lq_bk = e^lj_bk·(lq_bk − lpx_b)        (the lpx terms cancel)
//	∂mi/∂s = ∂mi/∂lq,   ∂mi/∂lz_k = −Σ_b ∂mi/∂lq_bk.
//
// The log Z_T that feeds it (a log-sum-exp over the batch, or the running
// estimate) stays an ordinary op, so every Z estimate fuses the same way.

// fuseMI turns the −MI fusion on; tests turn it off to compare with the
// unfused ops.
var fuseMI = true

// fusedMI is one recognised −MI chain.
type fusedMI struct {
	scores, logZ, prior *graph.Node
	sum                 *graph.Node // the chain's last node, a full Sum
	// batchShift is set when log Z is the batch estimate
	// Add(LogSumExpKeep(scores, 1), shift) with a scalar constant shift
	// (−log B) read only by the chain: the kernel then computes log Z
	// itself, logZ is that Add, and batchShift the constant.
	batchShift *graph.Node
}

// miPlan maps each fused chain's Sum node to the chain and marks the
// chain's other nodes, which are not lowered on their own.
type miPlan struct {
	chains   map[int]*fusedMI
	absorbed map[int]bool
}

// planMIFusion finds the −MI chains among the needed nodes. Each
// intermediate must be read only inside its chain and not be requested.
func planMIFusion(g *graph.Graph, mode backends.Mode, needed map[int]bool, roots []*graph.Node) miPlan {
	plan := miPlan{chains: map[int]*fusedMI{}, absorbed: map[int]bool{}}
	readers := readersOf(g, mode, needed)
	isRoot := map[int]bool{}
	for _, r := range roots {
		isRoot[r.ID()] = true
	}
	// readBy reports whether n is not requested and read exactly by want.
	readBy := func(n *graph.Node, want ...*graph.Node) bool {
		if isRoot[n.ID()] || len(readers[n.ID()]) != len(want) {
			return false
		}
		for _, r := range readers[n.ID()] {
			if !slices.Contains(want, r) {
				return false
			}
		}
		return true
	}
	for _, sum := range g.Nodes() {
		if !needed[sum.ID()] {
			continue
		}
		if c := matchMI(sum, readBy); c != nil {
			plan.chains[sum.ID()] = c
			for _, n := range c.inner() {
				plan.absorbed[n.ID()] = true
			}
		}
	}
	return plan
}

// readersOf maps each needed node to the needed nodes that read it in mode.
func readersOf(g *graph.Graph, mode backends.Mode, needed map[int]bool) map[int][]*graph.Node {
	readers := map[int][]*graph.Node{}
	for _, n := range g.Nodes() {
		if !needed[n.ID()] {
			continue
		}
		for _, in := range backends.LiveInputs(n, mode) {
			readers[in.ID()] = append(readers[in.ID()], n)
		}
	}
	return readers
}

// inner lists the chain's absorbed nodes; recomputed from the sum.
func (c *fusedMI) inner() []*graph.Node {
	mul := c.sum.Inputs()[0]
	exp, diff := mul.Inputs()[0], mul.Inputs()[1]
	if exp.Op() != graph.OpExp {
		exp, diff = diff, exp
	}
	lj := exp.Inputs()[0]
	lq, lpx := diff.Inputs()[0], diff.Inputs()[1]
	nodes := []*graph.Node{lq, lj, lpx, exp, diff, mul}
	if c.batchShift != nil {
		lse := c.logZ.Inputs()[0]
		if lse == c.batchShift {
			lse = c.logZ.Inputs()[1]
		}
		nodes = append(nodes, c.logZ, lse)
	}
	return nodes
}

// matchMI returns the −MI chain that ends at sum, or nil.
func matchMI(sum *graph.Node, readBy func(n *graph.Node, want ...*graph.Node) bool) *fusedMI {
	if sum.Op() != graph.OpSum || len(sum.Shape()) != 0 || sum.DType() != tensor.Float32 {
		return nil
	}
	mul := sum.Inputs()[0]
	if mul.Op() != graph.OpMul || len(mul.Shape()) != 3 || !readBy(mul, sum) {
		return nil
	}
	exp, diff := mul.Inputs()[0], mul.Inputs()[1]
	if exp.Op() != graph.OpExp {
		exp, diff = diff, exp
	}
	if exp.Op() != graph.OpExp || diff.Op() != graph.OpSub || exp == diff {
		return nil
	}
	shape := mul.Shape() // [C,B,K]
	c, k := shape[0], shape[2]
	lj := exp.Inputs()[0]
	lq, lpx := diff.Inputs()[0], diff.Inputs()[1]
	if !exp.Shape().Equal(shape) || !diff.Shape().Equal(shape) || !lq.Shape().Equal(shape) || !lj.Shape().Equal(shape) {
		return nil
	}
	if lpx.Op() != graph.OpLogSumExp || lpx.Inputs()[0] != lj || !lpx.Attrs().KeepDims ||
		!slices.Equal(lpx.Attrs().Axes, []int{2}) {
		return nil
	}
	if lj.Op() != graph.OpAdd || lq.Op() != graph.OpSub {
		return nil
	}
	prior := lj.Inputs()[1]
	if lj.Inputs()[0] != lq {
		if lj.Inputs()[1] != lq {
			return nil
		}
		prior = lj.Inputs()[0]
	}
	if prior.Op() != graph.OpConst || prior.DType() != tensor.Float32 || !isTemplateVector(prior.Shape(), k) {
		return nil
	}
	scores, logZ := lq.Inputs()[0], lq.Inputs()[1]
	if !scores.Shape().Equal(shape) || !logZ.Shape().Equal(tensor.Shape{c, 1, k}) ||
		scores.DType() != tensor.Float32 || logZ.DType() != tensor.Float32 {
		return nil
	}
	if !readBy(exp, mul) || !readBy(diff, mul) || !readBy(lpx, diff) || !readBy(lj, exp, lpx) || !readBy(lq, lj, diff) {
		return nil
	}
	chain := &fusedMI{scores: scores, logZ: logZ, prior: prior, sum: sum}
	if logZ.Op() == graph.OpAdd && readBy(logZ, lq) {
		lse, shift := logZ.Inputs()[0], logZ.Inputs()[1]
		if lse.Op() != graph.OpLogSumExp {
			lse, shift = shift, lse
		}
		if lse.Op() == graph.OpLogSumExp && lse.Inputs()[0] == scores && lse.Attrs().KeepDims &&
			slices.Equal(lse.Attrs().Axes, []int{1}) && readBy(lse, logZ) &&
			shift.Op() == graph.OpConst && len(shift.Shape()) == 0 && shift.DType() == tensor.Float32 {
			chain.batchShift = shift
		}
	}
	return chain
}

// isTemplateVector reports whether shape broadcasts against [C,B,K] as one
// value per template: [K], [1,K] or [1,1,K].
func isTemplateVector(shape []int, k int) bool {
	if len(shape) == 0 || len(shape) > 3 || shape[len(shape)-1] != k {
		return false
	}
	for _, d := range shape[:len(shape)-1] {
		if d != 1 {
			return false
		}
	}
	return true
}

// lowerMI lowers a fused −MI chain whose operands are lowered.
func (p *program) lowerMI(ctx *runContext, c *fusedMI) (*G.Node, error) {
	s := c.scores.Shape()
	k := miCoreKernel{c: s[0], b: s[1], k: s[2], st: &miState{}}
	z := c.logZ
	if c.batchShift != nil {
		k.batchZ, z = true, c.batchShift
	}
	return applyKernel(ctx, k, gt.Float32, nil, p.nodes[c.scores.ID()], p.nodes[z.ID()], p.nodes[c.prior.ID()])
}

// miRole is what an miCoreKernel computes.
type miRole uint8

const (
	miForward    miRole = iota // (s, lz or shift, prior) -> Σ e^lj·(lq − lpx)
	miGradScores               // (y, dy) -> dy·h, or dy·(h − σ·Σ_b h) with batch Z   [C,B,K]
	miGradLogZ                 // (y, dy) -> −dy·Σ_b h                                  [C,1,K]
)

// miCoreKernel is the fused −MI chain and its two gradients.
type miCoreKernel struct {
	role    miRole
	c, b, k int
	// batchZ: the kernel computes lz = logsumexp over the batch of s +
	// shift itself (its second operand is the scalar shift), and the
	// scores' gradient includes the path through lz:
	//
	//	∂mi/∂s_bk = h_bk − σ_bk·Σ_b' h_b'k,   σ_bk = e^(s_bk − logsumexp_b s_bk).
	batchZ bool
	// st is shared by a chain's forward and gradient kernels and never
	// part of a hash: the gradients read the forward output too, so
	// gorgonia orders them after the forward pass.
	st *miState
}

// miState is what the forward pass leaves for the gradients.
type miState struct {
	sigma []float32   // [C,B,K], batch Z only: softmax of s over the batch
	h     []float32   // [C,B,K]: e^lj·(lq − lpx)
	hSum  []float32   // [C,K]: Σ_b h
	parts []float64   // [C]: per filter, Σ_{b,k} h
	lz    []float32   // [C,K], batch Z only
	lj    [][]float32 // per worker: one row of lj, then of e^lj
	acc   [][]float64 // per worker, batch Z only: [K] sums over the batch
	// the forward pass's parallel loop over filters, kept across runs (a
	// closure over the call's operands would be a new object per run)
	fwd miForwardLoop
}

// miForwardLoop is miForwardPass's loop over filters with its operands.
type miForwardLoop struct {
	k            miCoreKernel
	s, lz, prior []float32
	body         func(w, c int)
}

// run computes filter c's term as worker w.
func (l *miForwardLoop) run(w, c int) {
	k, st, s, lz := l.k, l.k.st, l.s, l.lz
	bk := k.b * k.k
	sc, z := s[c*bk:(c+1)*bk], lz
	if k.batchZ {
		z = st.lz[c*k.k : (c+1)*k.k]
		batchLogZ(k.b, k.k, sc, lz[0], z, st.sigma[c*bk:(c+1)*bk], st.acc[w])
	} else {
		z = lz[c*k.k : (c+1)*k.k]
	}
	st.parts[c] = miFilter(k.b, k.k, sc, z, l.prior, st.h[c*bk:(c+1)*bk], st.hSum[c*k.k:(c+1)*k.k], st.lj[w])
}

func (k miCoreKernel) name() string {
	return [...]string{"neg_mi_core", "neg_mi_core_grad_scores", "neg_mi_core_grad_logz"}[k.role]
}

func (k miCoreKernel) writeAttrs(w io.Writer) {
	batch := 0
	if k.batchZ {
		batch = 1
	}
	attrWriter{w}.ints("cbkz", k.c, k.b, k.k, batch)
}

// overwrites: every role writes each element of its output.
func (miCoreKernel) overwrites() bool { return true }

func (k miCoreKernel) forward(ctx *runContext, in []G.Value, out G.Value) error {
	if out.Dtype() != gt.Float32 {
		return fmt.Errorf("dtype %v is not float32", out.Dtype())
	}
	y := dataOf[float32](out)
	switch k.role {
	case miForward:
		y[0] = miForwardPass(ctx, k, dataOf[float32](in[0]), dataOf[float32](in[1]), dataOf[float32](in[2]))
	case miGradScores:
		dy := dataOf[float32](in[1])[0]
		if !k.batchZ {
			for i, h := range k.st.h {
				y[i] = dy * h
			}
			break
		}
		bk := k.b * k.k
		for c := range k.c {
			hs := k.st.hSum[c*k.k : (c+1)*k.k]
			for b := range k.b {
				at := c*bk + b*k.k
				h, sg, out := k.st.h[at:at+k.k], k.st.sigma[at:at+k.k], y[at:at+k.k]
				for i := range out {
					out[i] = dy * (h[i] - sg[i]*hs[i])
				}
			}
		}
	case miGradLogZ:
		dy := dataOf[float32](in[1])[0]
		for i, h := range k.st.hSum {
			y[i] = -dy * h
		}
	}
	return nil
}

// miForwardPass computes Σ e^lj·(lq − lpx) and keeps h and Σ_b h. The
// per-element arithmetic is the unfused ops' (float32, lpx from a float64
// sum of e^(lj − max)), each filter's sum is accumulated in float64 on its
// own, and the filters' sums are added in order, so the result does not
// depend on the thread count.
func miForwardPass(ctx *runContext, k miCoreKernel, s, lz, prior []float32) float32 {
	st := k.st
	n := k.c * k.b * k.k
	if len(st.h) != n {
		st.h = make([]float32, n)
		st.hSum = make([]float32, k.c*k.k)
		st.parts = make([]float64, k.c)
		if k.batchZ {
			st.sigma = make([]float32, n)
			st.lz = make([]float32, k.c*k.k)
		}
	}
	workers := min(max(ctx.threads, 1), k.c)
	for len(st.lj) < workers {
		st.lj = append(st.lj, make([]float32, k.k))
		st.acc = append(st.acc, make([]float64, k.k))
	}
	l := &st.fwd
	l.k, l.s, l.lz, l.prior = k, s, lz, prior
	if l.body == nil {
		l.body = l.run
	}
	parallelWorkers(workers, k.c, l.body)
	l.s, l.lz, l.prior = nil, nil, nil // the kernel outlives the call's operands
	total := 0.0
	for _, p := range st.parts {
		total += p
	}
	return float32(total)
}

// batchLogZ sets lz_k = logsumexp_b s_bk + shift and sigma_bk =
// e^(s_bk − logsumexp_b s_bk) for one filter's scores s [B,K], as the
// logsumexp kernel and its gradient do (max first, float64 sum of
// e^(s − max); an infinite max is the result), with acc [K] as scratch.
func batchLogZ(nb, nk int, s []float32, shift float32, lz, sigma []float32, acc []float64) {
	m := lz // the column maxima, overwritten by lz below
	for i := range m {
		m[i] = float32(math.Inf(-1))
	}
	for b := range nb {
		for i, v := range s[b*nk : (b+1)*nk] {
			if v > m[i] || v != v {
				m[i] = v
			}
		}
	}
	clear(acc[:nk])
	for b := range nb {
		row, e := s[b*nk:(b+1)*nk], sigma[b*nk:(b+1)*nk]
		for i, v := range row {
			e[i] = v - m[i]
		}
		expSlice(e, e)
		for i, x := range e {
			acc[i] += float64(x)
		}
	}
	for i := range m {
		if math.IsInf(float64(m[i]), 0) {
			// lse is the infinite maximum, and sigma e^(s − lse) as in
			// the unfused gradient (NaN where s is that infinity).
			for b := range nb {
				sigma[b*nk+i] = exp32(s[b*nk+i] - m[i])
			}
			lz[i] = m[i] + shift
			continue
		}
		lse := float32(float64(m[i]) + math.Log(acc[i]))
		inv := float32(1 / acc[i])
		for b := range nb {
			sigma[b*nk+i] *= inv
		}
		lz[i] = lse + shift
	}
}

// miFilter is one filter's share: s, h [B,K], lz, hSum, lj [K] (scratch).
func miFilter(nb, nk int, s, lz, prior, h, hSum, lj []float32) float64 {
	clear(hSum)
	part := 0.0
	for b := range nb {
		row, hrow := s[b*nk:(b+1)*nk], h[b*nk:(b+1)*nk]
		m := float32(math.Inf(-1))
		for i, v := range row {
			q := v - lz[i]
			j := q + prior[i]
			lj[i] = j
			if j > m || j != j { // NaN propagates, as in the max of logsumexp
				m = j
			}
		}
		// e^lj = e^(lj − m)·e^m: one exp per element serves both the sum
		// and the weights. With batch Z, m ≤ log B (lq ≤ log B, log p(T)
		// ≤ 0); other inputs take two exps where e^m would leave the
		// range in which the product keeps float32 precision.
		var lpx float32
		switch {
		case math.IsInf(float64(m), 0):
			lpx = m
			for i, j := range lj[:nk] {
				lj[i] = exp32(j)
			}
		case m > -60 && m < 60:
			e := lj[:nk]
			for i := range e {
				e[i] -= m
			}
			expSlice(e, e)
			acc := 0.0
			em := exp32(m)
			for i, v := range e {
				acc += float64(v)
				e[i] = v * em
			}
			lpx = float32(float64(m) + math.Log(acc))
		default: // large, tiny or NaN
			acc := 0.0
			for _, j := range lj[:nk] {
				acc += float64(exp32(j - m))
			}
			lpx = float32(float64(m) + math.Log(acc))
			for i, j := range lj[:nk] {
				lj[i] = exp32(j)
			}
		}
		for i, w := range lj[:nk] {
			q := row[i] - lz[i]
			v := w * (q - lpx)
			hrow[i] = v
			hSum[i] += v
			part += float64(v)
		}
	}
	return part
}

func (k miCoreKernel) diffWRT(n int) []bool {
	if k.role != miForward {
		return make([]bool, n)
	}
	return []bool{true, !k.batchZ, false}
}

func (k miCoreKernel) symDiff(ctx *runContext, inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	if k.role != miForward {
		return nil, fmt.Errorf("second derivatives of %s are not supported", k.name())
	}
	gs := k
	gs.role = miGradScores
	ds, err := applyKernel(ctx, gs, gt.Float32, []int{k.c, k.b, k.k}, output, grad)
	if err != nil {
		return nil, err
	}
	if k.batchZ {
		return G.Nodes{ds, nil, nil}, nil
	}
	gz := k
	gz.role = miGradLogZ
	dz, err := applyKernel(ctx, gz, gt.Float32, []int{k.c, 1, k.k}, output, grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{ds, dz, nil}, nil
}
