// Package authorscode is the filter-loss gradient rule of the authors'
// MATLAB code (conv_mask backward in our_vl_simplenn.m), injected as a
// gradient surrogate Σ stopgrad(g) ⊙ x. With α = 0.5, m⁺_bc = mean_ij(x∘mask),
// m_bc = mean_ij(x) and the filter's category deciding positives:
//
//	α·log Z⁺_c = α·log mean_b exp(mean_ij(x_bc ∘ mask_{B-1-b, C-1-c}) / α)   (mismatched masks)
//	α·log Z⁻_c = α·log mean_b exp(−m_bc / α)
//	positives: s = exp(m⁺/α)·(m⁺ − α log Z⁺ + α),  g = −mask · s/mean_pos(s) · w_pos · k
//	negatives: s = exp(−m/α)·(−m − α log Z⁻ + α),  g = +      s/mean_neg(s) · w_neg · k
//	k = scale · mag / (epoch · B)   (1e-5 · 0.1 / epoch, divided by the batch
//	    because MatConvNet divides the summed gradient by the batch size)
//
// Inputs: "features", "labels", "mask" (the mask plugin's mask output) and
// "epoch" (1-based, float32 scalar). docs/masks-and-losses.md lists every
// choice made where the code is ambiguous.
package authorscode

import (
	"math"

	"github.com/icnnlab/icnnlab/plugins/losses"
	"github.com/icnnlab/icnnlab/plugins/masks"
	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// Name is the variant's registry name.
const Name = "authors-code"

// Params are the constants of the authors' code.
type Params struct {
	Temperature      float64   `json:"temperature"`       // α = 0.5
	Scale            float64   `json:"scale"`             // 1e-5
	Mag              float64   `json:"mag"`               // l.mag = 0.1
	CategoryMomentum float64   `json:"category_momentum"` // 0.9
	CategoryFloor    float64   `json:"category_floor"`    // 0.1: first observation max(mean, 0.1)
	ClassDensity     []float64 `json:"class_density"`     // fraction of training images per class (≤10 classes); empty: 1/L
}

// Defaults are the authors' constants.
func Defaults() Params {
	return Params{Temperature: 0.5, Scale: 1e-5, Mag: 0.1, CategoryMomentum: 0.9, CategoryFloor: 0.1}
}

// Validate names every bad field.
func (p Params) Validate() error {
	var errs masks.FieldErrors
	if !(p.Temperature > 0) {
		errs.Addf("temperature", "%g must be positive", p.Temperature)
	}
	if !(p.Scale >= 0) {
		errs.Addf("scale", "%g must not be negative", p.Scale)
	}
	if !(p.Mag > 0) {
		errs.Addf("mag", "%g must be positive", p.Mag)
	}
	if !(p.CategoryMomentum >= 0 && p.CategoryMomentum < 1) {
		errs.Addf("category_momentum", "%g must be in [0, 1)", p.CategoryMomentum)
	}
	if !(p.CategoryFloor >= 0) {
		errs.Addf("category_floor", "%g must not be negative", p.CategoryFloor)
	}
	for i, d := range p.ClassDensity {
		if !(d > 0 && d < 1) {
			errs.Addf("class_density", "entry %d = %g must be in (0, 1)", i, d)
		}
	}
	return errs.Err(Name)
}

// Schema describes the parameters.
func Schema() []masks.ParamSpec {
	d := Defaults()
	return []masks.ParamSpec{
		{Name: "temperature", Type: "number", Default: d.Temperature, Description: "α in exp(m/α)(m − α log Z + α)"},
		{Name: "scale", Type: "number", Default: d.Scale, Description: "gradient scale (1e-5 in the authors' code)"},
		{Name: "mag", Type: "number", Default: d.Mag, Description: "the layer's mag: strengths are multiplied by mag/epoch"},
		{Name: "category_momentum", Type: "number", Default: d.CategoryMomentum, Description: "EMA momentum of the per-class mean of each image's max activation"},
		{Name: "category_floor", Type: "number", Default: d.CategoryFloor, Description: "floor of a class's first observed mean"},
		{Name: "class_density", Type: "number[]", Default: []float64{}, Description: "multi-category with ≤10 classes: fraction of training images of each class (w_pos = 0.5/density, w_neg = 0.5/(1−density)); empty means 1/classes"},
	}
}

// Parse decodes JSON params over the defaults and validates them.
func Parse(raw []byte) (Params, error) {
	p := Defaults()
	if err := masks.DecodeParams(raw, &p); err != nil {
		return p, err
	}
	return p, p.Validate()
}

// Build returns the loss graph: a gradient surrogate as "loss".
func Build(p Params, s losses.LossShape) (*graph.Graph, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if len(p.ClassDensity) > 0 && len(p.ClassDensity) != s.Classes {
		var errs masks.FieldErrors
		errs.Addf("class_density", "has %d entries for %d classes", len(p.ClassDensity), s.Classes)
		return nil, errs.Err(Name)
	}
	b, c := s.Batch, s.Channels
	alpha := p.Temperature
	g := graph.New("loss_" + Name)
	features, labels := losses.Inputs(g, s)
	maskIn := g.Input(losses.InputMask, tensor.Float32, b, c, s.H, s.W)
	epoch := g.Input(losses.InputEpoch, tensor.Float32)

	x := g.StopGradient(features)
	mask := g.StopGradient(maskIn)
	mPos := g.Mean(g.Mul(x, mask), 2, 3) // [B,C]
	mNeg := g.Mean(x, 2, 3)
	// Z⁺ uses the mask of another filter of another image: the authors
	// reverse the mask along both the channel and the batch axes.
	flipped := g.Gather(g.Gather(mask, g.Const(reversed(b)), 0), g.Const(reversed(c)), 1)
	mMis := g.Mean(g.Mul(x, flipped), 2, 3)
	logMeanB := -math.Log(float64(b))
	aLogZPos := g.MulScalar(g.AddScalar(g.LogSumExpKeep(g.MulScalar(mMis, 1/alpha), 0), logMeanB), alpha)  // [1,C]
	aLogZNeg := g.MulScalar(g.AddScalar(g.LogSumExpKeep(g.MulScalar(mNeg, -1/alpha), 0), logMeanB), alpha) // [1,C]

	positive, wPos, wNeg := assignment(g, p, s, x, labels)
	negative := g.Sub(g.Scalar(1), positive)

	sPos := normalisedStrength(g, mPos, g.Add(g.Sub(mPos, aLogZPos), g.Scalar(alpha)), positive, alpha)
	negM := g.Neg(mNeg)
	sNeg := normalisedStrength(g, negM, g.Add(g.Sub(negM, aLogZNeg), g.Scalar(alpha)), negative, alpha)

	k := g.Div(g.Scalar(p.Scale*p.Mag/float64(b)), epoch) // []
	pos4 := g.Reshape(g.Mul(g.Mul(sPos, wPos), k), b, c, 1, 1)
	neg4 := g.Reshape(g.Mul(g.Mul(sNeg, wNeg), k), b, c, 1, 1)
	grad := g.Sub(neg4, g.Mul(mask, pos4)) // negatives uniform, positives along the mask
	g.SetLoss(g.GradientSurrogate(features, grad))
	if err := g.Err(); err != nil {
		return nil, err
	}
	return g, nil
}

// normalisedStrength is s = exp(e/α)·lin on the selected images, divided by
// its mean over the selected images of each filter ([B,C] in, [B,C] out, 0
// where not selected). exp is shifted by the selected maximum, which the
// normalisation cancels, so large activations cannot overflow.
func normalisedStrength(g *graph.Graph, e, lin, selected *graph.Node, alpha float64) *graph.Node {
	const far = 1e30
	top := g.MaxKeep(g.Add(g.Mul(e, selected), g.MulScalar(g.Sub(selected, g.Scalar(1)), far)), 0) // [1,C]
	// Non-selected entries may sit far above top; clamping at 0 keeps exp finite before they are zeroed.
	w := g.Exp(g.Clamp(g.MulScalar(g.Sub(e, top), 1/alpha), math.Inf(-1), 0))
	s := g.Mul(g.Mul(w, lin), selected)
	count := g.SumKeep(selected, 0)
	mean := g.Div(g.SumKeep(s, 0), g.MaxScalar(count, 1))
	// A filter with nothing selected has s = 0 everywhere: divide by 1, not 0.
	mean = g.Add(mean, g.Sub(g.Scalar(1), g.Clamp(count, 0, 1)))
	return g.Div(s, mean)
}

// assignment returns positive [B,C] (image b is of filter c's category)
// and the class weights w_pos, w_neg ([1,C] or scalars).
func assignment(g *graph.Graph, p Params, s losses.LossShape, x, labels *graph.Node) (positive, wPos, wNeg *graph.Node) {
	b, c := s.Batch, s.Channels
	if s.Task == losses.TaskSingle {
		pos := g.Mul(g.StopGradient(labels), g.Const(ones(b, c)))
		return pos, g.Scalar(1), g.Scalar(1)
	}
	// Categories from the statistics before this batch (the authors update
	// them after the step); until a class has been seen, every labelled image
	// is positive for every filter with weights 1, as their first step does.
	cats := losses.CategoryStats(g, g.Max(x, 2, 3), labels, c, s.Classes, losses.CategoryOptions{
		Momentum: p.CategoryMomentum, FirstFloor: p.CategoryFloor, SkipZeros: true,
	})
	seenAny := g.Max(cats.SeenOld) // []
	notSeen := g.Sub(g.Scalar(1), seenAny)
	lab := g.StopGradient(labels)
	anyLabel := g.MaxKeep(lab, 1) // [B,1]
	category := g.ArgMax(cats.Old, 1)
	positive = g.Add(g.Mul(seenAny, g.Gather(lab, category, 1)), g.Mul(notSeen, anyLabel))

	wp, wn := classWeights(p, s.Classes)
	wPos = g.Add(g.Mul(seenAny, g.Reshape(g.Gather(g.Const(wp), category, 0), 1, c)), notSeen)
	wNeg = g.Add(g.Mul(seenAny, g.Reshape(g.Gather(g.Const(wn), category, 0), 1, c)), notSeen)
	return positive, wPos, wNeg
}

// classWeights: more than 10 classes w_pos = 0.5·L, w_neg = 0.5/(1 − 1/L);
// otherwise 0.5/density and 0.5/(1 − density).
func classWeights(p Params, classes int) (wPos, wNeg *tensor.Tensor) {
	wPos, wNeg = tensor.Zeros(tensor.Float32, classes), tensor.Zeros(tensor.Float32, classes)
	for i := range classes {
		d := 1 / float64(classes)
		if classes <= 10 && len(p.ClassDensity) == classes {
			d = p.ClassDensity[i]
		}
		wPos.Float32s()[i] = float32(0.5 / d)
		wNeg.Float32s()[i] = float32(0.5 / (1 - d))
	}
	return wPos, wNeg
}

func reversed(n int) *tensor.Tensor {
	v := make([]int64, n)
	for i := range v {
		v[i] = int64(n - 1 - i)
	}
	t, _ := tensor.FromInt64(tensor.Shape{n}, v)
	return t
}

func ones(b, c int) *tensor.Tensor {
	t := tensor.Zeros(tensor.Float32, b, c)
	for i := range t.Float32s() {
		t.Float32s()[i] = 1
	}
	return t
}
