// Package lossref computes the filter losses in plain float64 Go, straight
// from the formulas, as the oracle of the graph builders' tests. It favours
// obviousness over speed and numerical care: inputs are small.
package lossref

import (
	"math"

	"github.com/icnnlab/icnnlab/plugins/losses"
)

// Maps reorders features [B,C,H,W] (row-major data) into x[c][b][q].
func Maps(data []float32, b, c, n int) [][][]float64 {
	x := make([][][]float64, c)
	for ci := range c {
		x[ci] = make([][]float64, b)
		for bi := range b {
			x[ci][bi] = make([]float64, n)
			for q := range n {
				x[ci][bi][q] = float64(data[(bi*c+ci)*n+q])
			}
		}
	}
	return x
}

// Trace is tr(x·T) = Σ_ij x_ij t_ij.
func Trace(x, t []float64) float64 {
	s := 0.0
	for q := range x {
		s += x[q] * t[q]
	}
	return s
}

// Filter holds, for one filter, the probabilities of eq. 1 over a set X of maps.
type Filter struct {
	PT  []float64   // p(T_k)
	PXT [][]float64 // p(x_b | T_k), [b][k]
	PX  []float64   // p(x_b)
}

// NewFilter evaluates p(x|T) = exp(tr(x·T))/Z_T with Z_T = Σ_x exp(tr(x·T))
// (or Z_T = |X|·exp(logZbar[k]) when logZbar is given) and p(x) = Σ_T p(T)p(x|T).
func NewFilter(maps [][]float64, t losses.Templates, logZbar []float64) Filter {
	f := Filter{PT: make([]float64, t.K), PXT: make([][]float64, len(maps)), PX: make([]float64, len(maps))}
	z := make([]float64, t.K)
	for k := range t.K {
		f.PT[k] = math.Exp(t.LogPrior[k])
		if logZbar != nil {
			z[k] = float64(len(maps)) * math.Exp(logZbar[k])
			continue
		}
		for _, x := range maps {
			z[k] += math.Exp(Trace(x, t.Values[k]))
		}
	}
	for b, x := range maps {
		f.PXT[b] = make([]float64, t.K)
		for k := range t.K {
			f.PXT[b][k] = math.Exp(Trace(x, t.Values[k])) / z[k]
			f.PX[b] += f.PT[k] * f.PXT[b][k]
		}
	}
	return f
}

// MI is eq. 1: Σ_T p(T) Σ_x p(x|T) log(p(x|T)/p(x)).
func (f Filter) MI() float64 {
	mi := 0.0
	for k, pt := range f.PT {
		for b := range f.PX {
			mi += pt * f.PXT[b][k] * math.Log(f.PXT[b][k]/f.PX[b])
		}
	}
	return mi
}

// posterior is p(T_k | x_b) = p(T_k) p(x_b|T_k) / p(x_b).
func (f Filter) posterior(b, k int) float64 { return f.PT[k] * f.PXT[b][k] / f.PX[b] }

// InterCategory is H(T'={T−,T+} | X) = Σ_x p(x) H(T'|x); T− is the last template.
func (f Filter) InterCategory() float64 {
	h := 0.0
	neg := len(f.PT) - 1
	for b := range f.PX {
		pn := f.posterior(b, neg)
		pp := 1 - pn
		h -= f.PX[b] * (pp*math.Log(pp) + pn*math.Log(pn))
	}
	return h
}

// Spatial is Σ_x p(T+, x) H(T+ | X = x) with p(T_mu | T+, x) ∝ p(T_mu) p(x|T_mu).
func (f Filter) Spatial() float64 {
	h := 0.0
	neg := len(f.PT) - 1
	for b := range f.PX {
		joint := 0.0 // p(T+, x)
		for k := range neg {
			joint += f.PT[k] * f.PXT[b][k]
		}
		ent := 0.0
		for k := range neg {
			q := f.PT[k] * f.PXT[b][k] / joint
			if q > 0 {
				ent -= q * math.Log(q)
			}
		}
		h += joint * ent
	}
	return h
}

// NegMI is Σ_c −MI(X_c; T) with Z from the maps themselves.
func NegMI(x [][][]float64, t losses.Templates) float64 {
	total := 0.0
	for _, maps := range x {
		total -= NewFilter(maps, t, nil).MI()
	}
	return total
}

// RunningLogZ is the bias-corrected EMA update of log mean_x exp(tr(x·T))
// after `step` steps (1-based), from the previous value old [K].
func RunningLogZ(maps [][]float64, t losses.Templates, old []float64, step int, m float64) []float64 {
	a := (m - math.Pow(m, float64(step))) / (1 - math.Pow(m, float64(step)))
	out := make([]float64, t.K)
	for k := range t.K {
		mean := 0.0
		for _, x := range maps {
			mean += math.Exp(Trace(x, t.Values[k]))
		}
		mean /= float64(len(maps))
		out[k] = math.Log(a*math.Exp(old[k]) + (1-a)*mean)
	}
	return out
}

// ArgMax is the first position of the largest value.
func ArgMax(x []float64) int {
	best := 0
	for q := range x {
		if x[q] > x[best] {
			best = q
		}
	}
	return best
}

// PaperGradient is the paper's single-template gradient for one filter's
// maps: for map b with target template k̂ (its argmax position when
// positive[b], T− otherwise),
// g_bq = −p(T̂)·t̂_q·exp(tr(x·T̂))/Z_T̂·(tr(x·T̂) − log Z_T̂ − log p(x_b)),
// with Z_T = |X|·exp(logZbar[k]) and p(x) = Σ_T p(T) exp(tr(x·T))/Z_T.
func PaperGradient(maps [][]float64, t losses.Templates, logZbar []float64, positive []bool) [][]float64 {
	f := NewFilter(maps, t, logZbar)
	neg := t.K - 1
	out := make([][]float64, len(maps))
	for b, x := range maps {
		k := neg
		if positive[b] {
			k = ArgMax(x)
		}
		s := Trace(x, t.Values[k])
		logZ := math.Log(float64(len(maps))) + logZbar[k]
		coef := -f.PT[k] * math.Exp(s-logZ) * (s - logZ - math.Log(f.PX[b]))
		out[b] = make([]float64, len(x))
		for q := range x {
			out[b][q] = coef * t.Values[k][q]
		}
	}
	return out
}

// BatchLogZbar is log mean_x exp(tr(x·T_k)) over the maps.
func BatchLogZbar(maps [][]float64, t losses.Templates) []float64 {
	out := make([]float64, t.K)
	for k := range t.K {
		sum := 0.0
		for _, x := range maps {
			sum += math.Exp(Trace(x, t.Values[k]))
		}
		out[k] = math.Log(sum / float64(len(maps)))
	}
	return out
}
