package eval

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/backends/conformance"
	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/plugin"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// Gradient check defaults (--grad-samples, --grad-tolerance).
const (
	DefaultGradSamples   = 32
	DefaultGradTolerance = 1e-2
	// gradFloorFraction sets the smallest scale an error is measured
	// against, as a fraction of the largest derivative in the sample: a
	// derivative a hundred times smaller than the largest is compared on
	// that absolute scale, where the float32 rounding of the backend's
	// gradient dominates (about 1e-4 of the largest on the reference -MI
	// loss, whose value is a small difference of large terms).
	gradFloorFraction = 1e-2
	// gradSeed fixes the sample, so a check is reproducible.
	gradSeed = 1
)

// GradCheck is the gradient check's result, in summary.json.
type GradCheck struct {
	Entries     []GradEntry `json:"entries"`
	MaxRelError Number      `json:"max_rel_error"`
	Tolerance   float64     `json:"tolerance"`
	Pass        bool        `json:"pass"`
}

// GradEntry compares one derivative.
type GradEntry struct {
	Index    []int  `json:"index"` // [b, c, i, j]
	Feature  Number `json:"feature"`
	Plugin   Number `json:"plugin"`            // the backend's d loss / d x of the plugin's graph
	FiniteD  Number `json:"finite_difference"` // central, float64
	RelError Number `json:"rel_error"`
}

// Number is a float64 that survives JSON when it is NaN or infinite (as
// the strings "NaN", "+Inf", "-Inf"): a gradient check reports exactly
// those.
type Number float64

func (n Number) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return json.Marshal(strconv.FormatFloat(f, 'g', -1, 64))
	}
	return json.Marshal(f)
}

func (n *Number) UnmarshalJSON(data []byte) error {
	var s string
	if json.Unmarshal(data, &s) == nil {
		f, err := strconv.ParseFloat(s, 64)
		*n = Number(f)
		return err
	}
	var f float64
	err := json.Unmarshal(data, &f)
	*n = Number(f)
	return err
}

// checkGradient compares grad, the backend's d loss / d features of g,
// with central finite differences of g in float64 (the reference
// evaluator of backends/conformance) on samples entries (sampleEntries).
// The error of an entry is |plugin − fd| / max(|plugin|, |fd|, floor),
// with floor gradFloorFraction of the largest finite derivative seen, and
// +Inf where either is NaN or infinite.
func checkGradient(g *graph.Graph, exe backends.Executable, feeds map[string]*tensor.Tensor, grad *tensor.Tensor, samples int, tol float64) (*GradCheck, error) {
	params := map[string]*tensor.Tensor{}
	for _, p := range g.Params() {
		v, err := exe.Read(p.Attrs().Name)
		if err != nil {
			return nil, fmt.Errorf("gradient check: read parameter %q: %w", p.Attrs().Name, err)
		}
		params[p.Attrs().Name] = v
	}
	entries := sampleEntries(grad, samples)
	_, fd, err := conformance.FiniteDifferences(g, feeds, params, nil, backends.Eval, plugin.LossFeatures, entries)
	if err != nil {
		return nil, fmt.Errorf("gradient check: %w", err)
	}
	scale := 0.0
	for k, i := range entries {
		for _, v := range []float64{grad.Float64At(i), fd[k]} {
			if finite(v) {
				scale = max(scale, math.Abs(v))
			}
		}
	}
	floor := max(gradFloorFraction*scale, math.SmallestNonzeroFloat64)
	shape := grad.Shape()
	x := feeds[plugin.LossFeatures]
	gc := &GradCheck{Tolerance: tol}
	for k, i := range entries {
		a, n := grad.Float64At(i), fd[k]
		rel := math.Inf(1)
		if finite(a) && finite(n) {
			rel = math.Abs(a-n) / max(math.Abs(a), math.Abs(n), floor)
		}
		gc.Entries = append(gc.Entries, GradEntry{Index: unflatten(i, shape), Feature: Number(x.Float64At(i)), Plugin: Number(a), FiniteD: Number(n), RelError: Number(rel)})
		gc.MaxRelError = max(gc.MaxRelError, Number(rel))
	}
	gc.Pass = float64(gc.MaxRelError) <= tol
	return gc, nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// sampleEntries picks up to n flat indices of t: first a NaN or infinite
// entry if there is one, else the largest |t|, then a seeded random sample
// of the rest, in index order.
func sampleEntries(t *tensor.Tensor, n int) []int {
	total := t.Len()
	largest := 0
	for i := range total {
		v, best := t.Float64At(i), t.Float64At(largest)
		if !finite(best) {
			break
		}
		if !finite(v) || math.Abs(v) > math.Abs(best) {
			largest = i
		}
	}
	rest := make([]int, 0, total-1)
	for i := range total {
		if i != largest {
			rest = append(rest, i)
		}
	}
	rng := rand.New(rand.NewPCG(gradSeed, gradSeed))
	rng.Shuffle(len(rest), func(i, j int) { rest[i], rest[j] = rest[j], rest[i] })
	rest = rest[:min(len(rest), max(n-1, 0))]
	slices.Sort(rest)
	return append([]int{largest}, rest...)
}

func unflatten(i int, shape tensor.Shape) []int {
	idx := make([]int, len(shape))
	for d := len(shape) - 1; d >= 0; d-- {
		idx[d] = i % shape[d]
		i /= shape[d]
	}
	return idx
}

// print writes the comparison table and the verdict line.
func (gc *GradCheck) print(w io.Writer) {
	fmt.Fprintf(w, "%-16s %12s %14s %14s %10s\n", "ENTRY [b c i j]", "FEATURE", "PLUGIN", "FINITE DIFF", "REL ERROR")
	for _, e := range gc.Entries {
		fmt.Fprintf(w, "%-16s %12.5g %14.6g %14.6g %10.2e\n", fmt.Sprint(e.Index), float64(e.Feature), float64(e.Plugin), float64(e.FiniteD), float64(e.RelError))
	}
	verdict := "PASS"
	if !gc.Pass {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "gradient check: max relative error %.3g over %d entries (tolerance %g): %s\n", float64(gc.MaxRelError), len(gc.Entries), gc.Tolerance, verdict)
}
