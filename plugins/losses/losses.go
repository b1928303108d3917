// Package losses holds what every filter-loss variant shares: the request
// shape, the template matrix and priors of the paper's loss (Zhang, Wu, Zhu,
// CVPR 2018, §3.2), the batch or running estimate of the partition
// functions Z_T, the log-space terms of −MI(X;T), and the λ schedule. Each
// variant lives in its own subpackage (mi, mipapergrad, authorscode,
// spatialentropy, intercategory, none) with a Params struct and
//
//	Build(p Params, req LossShape) (*graph.Graph, error)
//
// returning a graph with inputs "features" [B,C,H,W] (the filters' maps
// after ReLU and before the mask, as in the paper, where x is the ReLU output
// the template explains) and "labels" [B,Classes], and a scalar loss (the sum
// over filters, not yet multiplied by λ) set with SetLoss.
package losses

import (
	"fmt"
	"math"

	"github.com/icnnlab/icnnlab/plugins/masks"
	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/plugin"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// Graph input names shared by the loss variants: the SDK's loss contract.
const (
	InputFeatures = plugin.LossFeatures
	InputLabels   = plugin.LossLabels
	// InputMask is the mask plugin's "mask" output (authors-code only).
	InputMask = plugin.LossMask
	// InputEpoch is the 1-based epoch as a float32 scalar (authors-code only).
	InputEpoch = plugin.LossEpoch
	// OutputNegMI is a monitoring output: the batch estimate of −MI(X;T)
	// summed over filters (variants whose loss is a gradient surrogate).
	OutputNegMI = "neg_mi"
)

// Tasks.
const (
	// TaskSingle: one target category; labels [B,1] in {0,1}; every filter
	// belongs to the target category.
	TaskSingle = "single"
	// TaskMulti: several categories; labels [B,Classes] one-hot (or
	// multi-hot); each filter is assigned the category that activates it most.
	TaskMulti = "multi"
)

// LossShape is what the host tells a loss builder about the layer.
type LossShape struct {
	Batch, Channels, H, W, Classes int
	Task                           string
}

// Validate names every bad field.
func (s LossShape) Validate() error {
	var errs masks.FieldErrors
	for _, d := range []struct {
		name string
		v    int
	}{{"batch", s.Batch}, {"channels", s.Channels}, {"h", s.H}, {"w", s.W}, {"classes", s.Classes}} {
		if d.v < 1 {
			errs.Addf(d.name, "%d must be at least 1", d.v)
		}
	}
	switch s.Task {
	case TaskSingle:
		if s.Classes != 1 {
			errs.Addf("classes", "%d: a single-category task has labels [B,1]", s.Classes)
		}
	case TaskMulti:
		if s.Classes < 2 {
			errs.Addf("classes", "%d: a multi-category task needs at least 2 classes", s.Classes)
		}
	default:
		errs.Addf("task", "%q is not one of %s, %s", s.Task, TaskSingle, TaskMulti)
	}
	return errs.Err("loss shape")
}

// Inputs declares the "features" and "labels" inputs of a loss graph.
func Inputs(g *graph.Graph, s LossShape) (features, labels *graph.Node) {
	features = g.Input(InputFeatures, tensor.Float32, s.Batch, s.Channels, s.H, s.W)
	labels = g.Input(InputLabels, tensor.Float32, s.Batch, s.Classes)
	return features, labels
}

// TemplateParams configure the loss's templates; zero values take the
// paper's constants.
type TemplateParams struct {
	Distance string  `json:"distance"` // "l1" (paper) or "l2" (thesis)
	Beta     float64 `json:"beta"`     // 4
	Tau      float64 `json:"tau"`      // 0 means 0.5/(H·W)
	Alpha    float64 `json:"alpha"`    // 0 means H·W/(1+H·W)
}

// DefaultTemplateParams are the paper's L1 templates.
func DefaultTemplateParams() TemplateParams {
	return TemplateParams{Distance: "l1", Beta: masks.PaperBeta}
}

// Check records bad fields.
func (p TemplateParams) Check(errs *masks.FieldErrors) {
	if _, err := masks.ParseDistance(p.Distance); err != nil {
		errs.Addf("distance", "%v", err)
	}
	if !(p.Beta > 0) {
		errs.Addf("beta", "%g must be positive", p.Beta)
	}
	if !(p.Tau >= 0) || math.IsInf(p.Tau, 0) {
		errs.Addf("tau", "%g must be 0 (paper default) or positive", p.Tau)
	}
	if !(p.Alpha >= 0 && p.Alpha < 1) {
		errs.Addf("alpha", "%g must be 0 (paper default) or in (0, 1)", p.Alpha)
	}
}

// Specs describes the template parameters.
func (p TemplateParams) Specs() []masks.ParamSpec {
	return []masks.ParamSpec{
		{Name: "distance", Type: "string", Default: p.Distance, Enum: []string{"l1", "l2"}, Description: "template distance: l1 (paper) or l2 (thesis)"},
		{Name: "beta", Type: "number", Default: p.Beta, Description: "template slope"},
		{Name: "tau", Type: "number", Default: p.Tau, Description: "template amplitude; 0 means the paper's 0.5/n²"},
		{Name: "alpha", Type: "number", Default: p.Alpha, Description: "prior mass of the positive templates; 0 means the paper's n²/(1+n²)"},
	}
}

// Templates are the loss's K = H·W + 1 templates: the positive template of
// every position (k = i·W + j) and the negative template T− last.
type Templates struct {
	H, W, K          int
	Tau, Beta, Alpha float64
	Distance         masks.Distance
	// Values[k][p] is template k at flat position p, in float64.
	Values [][]float64
	// LogPrior[k] is log p(T_k): log(alpha/n²) for positives, log(1-alpha) for T−.
	LogPrior []float64
}

// Resolve fills the paper defaults for an h×w map and computes the templates.
func (p TemplateParams) Resolve(h, w int) Templates {
	d, _ := masks.ParseDistance(p.Distance)
	t := Templates{H: h, W: w, K: h*w + 1, Tau: p.Tau, Beta: p.Beta, Alpha: p.Alpha, Distance: d}
	if t.Tau == 0 {
		t.Tau = masks.PaperTau(h, w)
	}
	if t.Alpha == 0 {
		t.Alpha = masks.PaperAlpha(h, w)
	}
	n := h * w
	t.Values = make([][]float64, t.K)
	t.LogPrior = make([]float64, t.K)
	for k := range n {
		t.Values[k] = make([]float64, n)
		for q := range n {
			t.Values[k][q] = masks.PositiveTemplateValue(d, t.Beta, t.Tau, h, w, q/w, q%w, k/w, k%w)
		}
		t.LogPrior[k] = math.Log(t.Alpha / float64(n))
	}
	t.Values[n] = make([]float64, n)
	for q := range n {
		t.Values[n][q] = -t.Tau
	}
	t.LogPrior[n] = math.Log(1 - t.Alpha)
	return t
}

// Matrix is the templates as a float32 tensor [H·W, K] (one column per
// template), so that tr(x·T_k) for all k is one MatMul of x [·, H·W].
func (t Templates) Matrix() *tensor.Tensor {
	n := t.H * t.W
	m := tensor.Zeros(tensor.Float32, n, t.K)
	for k, col := range t.Values {
		for q, v := range col {
			m.Float32s()[q*t.K+k] = float32(v)
		}
	}
	return m
}

// Rows is the templates as a float32 tensor [K, H·W].
func (t Templates) Rows() *tensor.Tensor {
	n := t.H * t.W
	m := tensor.Zeros(tensor.Float32, t.K, n)
	for k, col := range t.Values {
		for q, v := range col {
			m.Float32s()[k*n+q] = float32(v)
		}
	}
	return m
}

// LogPriorTensor is LogPrior as float32 [K].
func (t Templates) LogPriorTensor() *tensor.Tensor {
	v := make([]float32, t.K)
	for k, x := range t.LogPrior {
		v[k] = float32(x)
	}
	return tensor.MustFloat32(tensor.Shape{t.K}, v)
}

// IndexRange is an int64 tensor [n] holding lo, lo+1, …, lo+n-1 (for
// Gather-based slicing).
func IndexRange(lo, n int) *tensor.Tensor {
	v := make([]int64, n)
	for i := range v {
		v[i] = int64(lo + i)
	}
	t, _ := tensor.FromInt64(tensor.Shape{n}, v)
	return t
}

// CheckFloat32Index fails when flat indices computed in float32 would not
// be exact integers.
func CheckFloat32Index(n int) error {
	if n >= 1<<24 {
		return fmt.Errorf("channels·batch·templates = %d is too large for exact float32 indices (limit 2^24)", n)
	}
	return nil
}
