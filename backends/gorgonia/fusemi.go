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
	return []*graph.Node{lq, lj, lpx, exp, diff, mul}
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
	return &fusedMI{scores: scores, logZ: logZ, prior: prior, sum: sum}
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
	return applyKernel(ctx, k, gt.Float32, nil,
		p.nodes[c.scores.ID()], p.nodes[c.logZ.ID()], p.nodes[c.prior.ID()])
}

// miRole is what an miCoreKernel computes.
type miRole uint8

const (
	miForward    miRole = iota // (s, lz, prior) -> Σ e^lj·(lq − lpx)
	miGradScores               // (y, dy) -> dy·h            [C,B,K]
	miGradLogZ                 // (y, dy) -> −dy·Σ_b h       [C,1,K]
)

// miCoreKernel is the fused −MI chain and its two gradients.
type miCoreKernel struct {
	role    miRole
	c, b, k int
	// st is shared by a chain's forward and gradient kernels and never
	// part of a hash: the gradients read the forward output too, so
	// gorgonia orders them after the forward pass.
	st *miState
}

// miState is what the forward pass leaves for the gradients.
type miState struct {
	h     []float32 // [C,B,K]: e^lj·(lq − lpx)
	hSum  []float32 // [C,K]: Σ_b h
	parts []float64 // [C]: per filter, Σ_{b,k} h
	rows  scratch   // per worker: one row of lj, then of e^lj
}

func (k miCoreKernel) name() string {
	return [...]string{"neg_mi_core", "neg_mi_core_grad_scores", "neg_mi_core_grad_logz"}[k.role]
}

func (k miCoreKernel) writeAttrs(w io.Writer) { attrWriter{w}.ints("cbk", k.c, k.b, k.k) }

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
		for i, h := range k.st.h {
			y[i] = dy * h
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
	}
	rows := make([][]float32, min(max(ctx.threads, 1), k.c))
	for w := range rows {
		rows[w] = scratchFor[float32](&st.rows, w, k.k)
	}
	parallelWorkers(len(rows), k.c, func(w, c int) {
		st.parts[c] = miFilter(k.b, k.k, s[c*k.b*k.k:(c+1)*k.b*k.k], lz[c*k.k:(c+1)*k.k], prior,
			st.h[c*k.b*k.k:(c+1)*k.b*k.k], st.hSum[c*k.k:(c+1)*k.k], rows[w])
	})
	total := 0.0
	for _, p := range st.parts {
		total += p
	}
	return float32(total)
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
			acc := 0.0
			em := exp32(m)
			for i, j := range lj[:nk] {
				e := exp32(j - m)
				acc += float64(e)
				lj[i] = e * em
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
	return []bool{true, true, false}
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
	gz := k
	gz.role = miGradLogZ
	dz, err := applyKernel(ctx, gz, gt.Float32, []int{k.c, 1, k.k}, output, grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{ds, dz, nil}, nil
}
