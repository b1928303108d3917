// Package mipapergrad is the paper's single-template gradient approximation
// of the filter loss (§3.2): for image x and its target template T̂ (T_mû,
// mû = argmax position, if x belongs to the filter's category; T− if not)
//
//	∂Loss_f/∂x_ij ≈ −p(T̂)·t̂_ij·exp(tr(x·T̂))/Z_T̂ · {tr(x·T̂) − log Z_T̂ − log p(x)}
//
// with Z_T running estimates (state) and p(x) = Σ_T p(T) exp(tr(x·T))/Z_T
// from them. The leading minus makes this the gradient of −MI: the quoted
// formula omits it, and without it descent would lower the activations the
// template explains (docs/masks-and-losses.md derives it). The rule is
// injected as a gradient surrogate Σ stopgrad(g) ⊙ x, so the "loss" value
// is not a loss; the "neg_mi" output reports the batch −MI for monitoring.
package mipapergrad

import (
	"github.com/icnnlab/icnnlab/plugins/losses"
	"github.com/icnnlab/icnnlab/plugins/masks"
	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// Name is the variant's registry name.
const Name = "mi-paper-grad"

// Params: templates, the Z estimate (running by default) and the momentum
// of the filter-category statistics.
type Params struct {
	losses.TemplateParams
	losses.ZParams
	CategoryMomentum float64 `json:"category_momentum"`
}

// Defaults: the paper's templates, running Z (momentum 0.9), category EMA 0.9.
func Defaults() Params {
	return Params{
		TemplateParams:   losses.DefaultTemplateParams(),
		ZParams:          losses.ZParams{ZEstimate: losses.ZRunning, Momentum: 0.9},
		CategoryMomentum: 0.9,
	}
}

// Validate names every bad field.
func (p Params) Validate() error {
	var errs masks.FieldErrors
	p.TemplateParams.Check(&errs)
	p.ZParams.Check(&errs)
	if !(p.CategoryMomentum >= 0 && p.CategoryMomentum < 1) {
		errs.Addf("category_momentum", "%g must be in [0, 1)", p.CategoryMomentum)
	}
	return errs.Err(Name)
}

// Schema describes the parameters.
func Schema() []masks.ParamSpec {
	d := Defaults()
	return append(append(d.TemplateParams.Specs(), d.ZParams.Specs()...), masks.ParamSpec{
		Name: "category_momentum", Type: "number", Default: d.CategoryMomentum,
		Description: "EMA momentum of the per-class mean Σ_ij x_ij that assigns each filter its category (multi-category tasks)",
	})
}

// Parse decodes JSON params over the defaults and validates them.
func Parse(raw []byte) (Params, error) {
	p := Defaults()
	if err := masks.DecodeParams(raw, &p); err != nil {
		return p, err
	}
	return p, p.Validate()
}

// Build returns the loss graph (inputs "features", "labels"; outputs
// "loss", the gradient surrogate, and "neg_mi").
func Build(p Params, s losses.LossShape) (*graph.Graph, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	b, c, n := s.Batch, s.Channels, s.H*s.W
	t := p.TemplateParams.Resolve(s.H, s.W)
	if err := losses.CheckFloat32Index(c * b * t.K); err != nil {
		return nil, err
	}
	g := graph.New("loss_" + Name)
	features, labels := losses.Inputs(g, s)
	terms := losses.BuildTerms(g, features, s, t, p.ZParams)
	g.SetOutput(losses.OutputNegMI, terms.NegMI(g))

	// Is image b of filter c's category? [C,B]
	var positive *graph.Node
	if s.Task == losses.TaskSingle {
		positive = g.Transpose(labels, 1, 0) // [1,B], every filter belongs to the class
	} else {
		sums := g.Sum(features, 2, 3) // [B,C]: Σ_ij x_ij
		cats := losses.CategoryStats(g, sums, labels, c, s.Classes, losses.CategoryOptions{Momentum: p.CategoryMomentum})
		positive = g.Transpose(losses.Positives(g, cats.New, labels), 1, 0)
	}

	// Target template index k̂ [C,B]: the argmax position or T− (index n).
	xs := g.Reshape(g.Transpose(g.StopGradient(features), 1, 0, 2, 3), c, b, n)
	argmax := g.Cast(g.ArgMax(xs, 2), tensor.Float32)
	kHat := g.Add(g.Mul(positive, argmax), g.MulScalar(g.Sub(g.Scalar(1), positive), float64(n)))
	kHat = g.Mul(kHat, g.Const(onesCB(c, b))) // broadcasts a single-task [1,B] to [C,B]
	kIdx := g.Cast(kHat, tensor.Int64)
	flat := g.Cast(g.Add(g.Const(rowOffsets(c, b, t.K)), kHat), tensor.Int64)

	logQ := g.Gather(g.Reshape(terms.LogQ, c*b*t.K), flat, 0) // [C,B]: tr(x·T̂) − log Z̄_T̂
	logPrior := g.Gather(g.Const(t.LogPriorTensor()), kIdx, 0)
	logPX := g.Reshape(terms.LogPX, c, b)
	coef := g.MulScalar(g.Mul(g.Exp(g.Add(logPrior, logQ)), g.Sub(logQ, logPX)), -1/float64(b))
	rows := g.Gather(g.Const(t.Rows()), kIdx, 0) // [C,B,n]
	grad := g.Mul(g.Reshape(coef, c, b, 1), rows)
	grad = g.Transpose(g.Reshape(grad, c, b, s.H, s.W), 1, 0, 2, 3)
	g.SetLoss(g.GradientSurrogate(features, grad))
	if err := g.Err(); err != nil {
		return nil, err
	}
	return g, nil
}

// rowOffsets is c·B·K + b·K for every (c, b), as float32 [C,B].
func rowOffsets(c, b, k int) *tensor.Tensor {
	t := tensor.Zeros(tensor.Float32, c, b)
	for i := range c {
		for j := range b {
			t.Float32s()[i*b+j] = float32((i*b + j) * k)
		}
	}
	return t
}

func onesCB(c, b int) *tensor.Tensor {
	t := tensor.Zeros(tensor.Float32, c, b)
	for i := range t.Float32s() {
		t.Float32s()[i] = 1
	}
	return t
}
