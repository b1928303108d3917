package losses

import (
	"math"

	"github.com/icnnlab/icnnlab/plugins/masks"
	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// Z estimates.
const (
	// ZBatch: Z_T = Σ_{x in batch} exp(tr(x·T)); the loss is eq. 1 with X = the batch.
	ZBatch = "batch"
	// ZRunning: Z_T/|X| is a bias-corrected exponential moving average of
	// mean_x exp(tr(x·T)) over training steps, kept in log space in a state.
	ZRunning = "running"
)

// State names of the running estimate.
const (
	StateLogZ  = "log_z"   // [C, K]: log of the running mean of exp(tr(x·T))
	StateSteps = "z_steps" // []: training steps folded into log_z
)

// ZParams choose how the partition functions Z_T are estimated.
type ZParams struct {
	ZEstimate string  `json:"z_estimate"`
	Momentum  float64 `json:"momentum"` // weight of the old running value (running only)
}

// Check records bad fields.
func (p ZParams) Check(errs *masks.FieldErrors) {
	switch p.ZEstimate {
	case ZBatch, ZRunning:
	default:
		errs.Addf("z_estimate", "%q is not one of %s, %s", p.ZEstimate, ZBatch, ZRunning)
	}
	if !(p.Momentum > 0 && p.Momentum < 1) {
		errs.Addf("momentum", "%g must be in (0, 1)", p.Momentum)
	}
}

// Specs describes the Z parameters.
func (p ZParams) Specs() []masks.ParamSpec {
	return []masks.ParamSpec{
		{Name: "z_estimate", Type: "string", Default: p.ZEstimate, Enum: []string{ZBatch, ZRunning},
			Description: "Z_T from the batch alone, or a running (EMA, bias-corrected) estimate that includes the batch"},
		{Name: "momentum", Type: "number", Default: p.Momentum, Description: "EMA momentum of the running Z_T estimate"},
	}
}

// Terms are the log-space pieces of the paper's loss for every filter c,
// image b and template k, laid out [C, B, K]. With m_k = mean over the
// batch-or-running estimate of exp(s_k):
//
//	Scores = s_cbk = tr(x_cb · T_k)
//	LogZ   = log m_ck                   [C,1,K]
//	LogQ   = s - LogZ                   = log(B·p(x_b|T_k))
//	LogJ   = LogQ + log p(T_k)          = log(B·p(T_k, x_b))
//	LogPX  = logsumexp_k LogJ           = log(B·p(x_b))        [C,B,1]
//
// The factors B cancel in every ratio; sums over x carry an explicit 1/B.
type Terms struct {
	Scores, LogZ, LogQ, LogJ, LogPX *graph.Node
	T                               Templates
	Batch                           int
}

// BuildTerms adds the scores and the Z estimate of features [B,C,H,W] to g,
// with the running-estimate states and their updates when asked.
func BuildTerms(g *graph.Graph, features *graph.Node, s LossShape, t Templates, z ZParams) *Terms {
	b, c, n := s.Batch, s.Channels, s.H*s.W
	xs := g.Reshape(g.Transpose(features, 1, 0, 2, 3), c*b, n)
	scores := g.Reshape(g.MatMul(xs, g.Const(t.Matrix())), c, b, t.K)
	batchLogZ := g.AddScalar(g.LogSumExpKeep(scores, 1), -math.Log(float64(b))) // [C,1,K]
	logZ := batchLogZ
	if z.ZEstimate == ZRunning {
		logZ = runningLogZ(g, batchLogZ, c, t.K, z.Momentum)
	}
	logQ := g.Sub(scores, logZ)
	logJ := g.Add(logQ, g.Const(t.LogPriorTensor()))
	return &Terms{Scores: scores, LogZ: logZ, LogQ: logQ, LogJ: logJ, LogPX: g.LogSumExpKeep(logJ, 2), T: t, Batch: b}
}

// runningLogZ folds the batch estimate into the running one. Stored is the
// bias-corrected EMA of mean_x exp(s), so after t steps
//
//	Zc_t = a_t·Zc_{t-1} + (1-a_t)·Zbatch_t,   a_t = (m - m^t)/(1 - m^t)
//
// (a_1 = 0: the first step uses the batch alone). The value returned — and
// stored after the step — includes this batch; only the batch part carries
// a gradient.
func runningLogZ(g *graph.Graph, batchLogZ *graph.Node, c, k int, m float64) *graph.Node {
	logZ := g.State(StateLogZ, tensor.Zeros(tensor.Float32, c, k))
	steps := g.State(StateSteps, tensor.Zeros(tensor.Float32))
	step := g.AddScalar(steps, 1)
	mt := g.Exp(g.MulScalar(step, math.Log(m)))                // m^t
	a := g.Div(g.Sub(g.Scalar(m), mt), g.Sub(g.Scalar(1), mt)) // []
	old := g.StopGradient(logZ)                                // [C,K]
	cur := g.Reshape(batchLogZ, c, k)                          // [C,K]
	shift := g.StopGradient(g.Max(g.Concat(2, g.Reshape(old, c, k, 1), g.Reshape(cur, c, k, 1)), 2))
	mixed := g.Add(g.Mul(a, g.Exp(g.Sub(old, shift))), g.Mul(g.Sub(g.Scalar(1), a), g.Exp(g.Sub(cur, shift))))
	updated := g.Add(shift, g.Log(mixed))
	g.SetStateUpdate(logZ, g.StopGradient(updated))
	g.SetStateUpdate(steps, step)
	return g.Reshape(updated, c, 1, k)
}

// NegMI is −MI(X;T) summed over filters (eq. 1):
// −Σ_c (1/B) Σ_{b,k} exp(LogJ)·(LogQ − LogPX).
func (t *Terms) NegMI(g *graph.Graph) *graph.Node {
	mi := g.Sum(g.Mul(g.Exp(t.LogJ), g.Sub(t.LogQ, t.LogPX)))
	return g.MulScalar(mi, -1/float64(t.Batch))
}

// positiveLogJ returns LogJ restricted to the positive templates [C,B,n²]
// and their log-sum-exp log(B·p(T+, x_b)) [C,B,1].
func (t *Terms) positiveLogJ(g *graph.Graph) (lj, lse *graph.Node) {
	lj = g.Gather(t.LogJ, g.Const(IndexRange(0, t.T.K-1)), 2)
	return lj, g.LogSumExpKeep(lj, 2)
}

// SpatialEntropy is Σ_c Σ_x p(T+, x)·H(T+ | X = x), the last term of the
// eq. 5 decomposition: the entropy of the template position given that x is
// explained by a positive template.
func (t *Terms) SpatialEntropy(g *graph.Graph) *graph.Node {
	lj, lpos := t.positiveLogJ(g)
	logq := g.Sub(lj, lpos) // log p(T_mu | T+, x)
	h := g.Neg(g.SumKeep(g.Mul(g.Exp(logq), logq), 2))
	return g.MulScalar(g.Sum(g.Mul(g.Exp(lpos), h)), 1/float64(t.Batch))
}

// InterCategoryEntropy is Σ_c H(T' = {T−, T+} | X), the middle term of eq. 5.
func (t *Terms) InterCategoryEntropy(g *graph.Graph) *graph.Node {
	_, lpos := t.positiveLogJ(g)
	lneg := g.Gather(t.LogJ, g.Const(IndexRange(t.T.K-1, 1)), 2) // [C,B,1]
	lp := g.Sub(lpos, t.LogPX)                                   // log p(T+|x)
	ln := g.Sub(lneg, t.LogPX)                                   // log p(T−|x)
	h := g.Neg(g.Add(g.Mul(g.Exp(lp), lp), g.Mul(g.Exp(ln), ln)))
	return g.MulScalar(g.Sum(g.Mul(g.Exp(t.LogPX), h)), 1/float64(t.Batch))
}

// PriorEntropy is H(T) of the template prior (a constant): −MI equals
// −H(T) + InterCategoryEntropy + SpatialEntropy per filter.
func (t Templates) PriorEntropy() float64 {
	h := 0.0
	for _, lp := range t.LogPrior {
		h -= math.Exp(lp) * lp
	}
	return h
}
