package execute

import (
	"fmt"
	"math"
	"strings"

	"github.com/icnnlab/icnnlab/internal/reproduce/spec"
	"github.com/icnnlab/icnnlab/internal/train"
)

// RunResult is what one trained run measured.
type RunResult struct {
	Key string `json:"key"`
	// Dataset is the real dataset ("": the synthetic world).
	Dataset string `json:"dataset,omitempty"`
	Arch    string `json:"arch"`
	Variant string `json:"variant"`
	Column  string `json:"column"`
	Seed    int    `json:"seed"`
	// RunDir is the run's directory relative to the run store (its name
	// there), so that results do not depend on where the store lives.
	RunDir string `json:"run_dir"`
	// RunKey is the run's key in the run store.
	RunKey string `json:"run_key,omitempty"`
	// Role is "pretrain" for a pretraining run, "" for a table run.
	Role   string `json:"role,omitempty"`
	Reused bool   `json:"reused"`
	// TrainSeconds is the run's own training time (also when reused).
	TrainSeconds float64 `json:"train_seconds"`
	// TrainImages and TestImages are the sizes of the run's datasets.
	TrainImages int `json:"train_images,omitempty"`
	TestImages  int `json:"test_images,omitempty"`
	// Config is the run's training config (plugin parameters resolved).
	Config *train.Config `json:"config,omitempty"`
	// Pretrain is the run key of the pretrained network whose conv layers
	// initialised this one ("" when trained from scratch).
	Pretrain string `json:"pretrain,omitempty"`
	// TrainAccuracy (last epoch, in training mode) and TestAccuracy
	// (evaluation mode) are the run's own figures; Chance is the test
	// accuracy of always answering the most frequent class.
	TrainAccuracy float64 `json:"train_accuracy"`
	TestAccuracy  float64 `json:"test_accuracy"`
	Chance        float64 `json:"chance"`
	// FilterLoss describes the interpretable layers' filter loss over the
	// epochs (nil for ordinary networks).
	FilterLoss *FilterLossHistory `json:"filter_loss,omitempty"`
	// Layer is the evaluated layer: the network's top conv-layer, which for
	// the interpretable CNN is the inserted interpretable conv.
	Layer      string         `json:"layer"`
	Accuracy   *float64       `json:"accuracy,omitempty"`
	PartInterp *FilterMeasure `json:"part_interpretability,omitempty"`
	// PartInterpAlt is part interpretability under the scale's alternative
	// region rules, by rule name (the sensitivity table).
	PartInterpAlt map[string]Measure `json:"part_interpretability_alternatives,omitempty"`
	Instability   map[string]Measure `json:"location_instability,omitempty"`
}

// Learning thresholds: a network learned when its training accuracy is at
// least MinTrainAccuracy and its test accuracy beats chance by more than
// MinAboveChance.
const (
	MinTrainAccuracy = 0.90
	MinAboveChance   = 0.10
)

// Untrained reports whether the run is an untrained control (a variant
// with spec.UntrainedSuffix): not learning is what it is for.
func (r *RunResult) Untrained() bool { return strings.HasSuffix(r.Variant, spec.UntrainedSuffix) }

// LearnedProblem says why the run's network did not learn ("" when it did).
func (r *RunResult) LearnedProblem() string {
	switch {
	case r.TrainAccuracy < MinTrainAccuracy:
		return fmt.Sprintf("%s: train accuracy %.1f %% < %.0f %%", r.Key, 100*r.TrainAccuracy, 100*MinTrainAccuracy)
	case r.TestAccuracy <= r.Chance+MinAboveChance:
		return fmt.Sprintf("%s: test accuracy %.1f %% within %.0f points of chance (%.1f %%)", r.Key, 100*r.TestAccuracy, 100*MinAboveChance, 100*r.Chance)
	}
	return ""
}

// FilterLossHistory is what the run's history says about its filter loss,
// per epoch, with flags for a loss that did nothing or ran away.
type FilterLossHistory struct {
	MeanMax   []float64 `json:"mean_max"`
	Lambda    []float64 `json:"lambda"`
	Loss      []float64 `json:"loss"`
	GradRatio []float64 `json:"grad_ratio"`
	// Inert: the gradient ratio stayed below InertGradRatio in every epoch.
	// Runaway: the ratio exceeded RunawayGradRatio in some epoch, or the
	// mean max activation grew more than RunawayGrowth-fold.
	Inert   bool `json:"inert"`
	Runaway bool `json:"runaway"`
}

// Filter-loss flags.
const (
	InertGradRatio   = 1e-3
	RunawayGradRatio = 100
	RunawayGrowth    = 100
)

// flag sets Inert and Runaway from the per-epoch values.
func (h *FilterLossHistory) flag() {
	if len(h.GradRatio) == 0 {
		return
	}
	h.Inert = true
	for _, g := range h.GradRatio {
		if g >= InertGradRatio {
			h.Inert = false
		}
		if g > RunawayGradRatio || math.IsInf(g, 0) || math.IsNaN(g) {
			h.Runaway = true
		}
	}
	if first, last := h.MeanMax[0], h.MeanMax[len(h.MeanMax)-1]; first > 0 && last > RunawayGrowth*first {
		h.Runaway = true
	}
}

// FilterMeasure is a layer score with its per-filter values.
type FilterMeasure = Measure

// Measure is a layer's score (the paper's number) and the per-filter
// values it averages (P_f, or D_f of the defined filters).
type Measure struct {
	Mean    float64   `json:"mean"`
	Filters []float64 `json:"filters"`
	// BestParts is each filter's best part (part interpretability only;
	// "" where a filter hit no part).
	BestParts []string `json:"best_parts,omitempty"`
}

// PartDiversity counts the filters per best part, and the share of the
// most frequent part among the filters that hit one: a collapse of every
// filter onto one part shows as a share near 1.
func (m Measure) PartDiversity() (counts map[string]int, distinct int, topShare float64) {
	counts = map[string]int{}
	n, top := 0, 0
	for _, p := range m.BestParts {
		if p == "" {
			continue
		}
		counts[p]++
		n++
		top = max(top, counts[p])
	}
	if n == 0 {
		return counts, 0, 0
	}
	return counts, len(counts), float64(top) / float64(n)
}

// LandmarkKey names a landmark set.
func LandmarkKey(landmarks []string) string { return strings.Join(landmarks, ",") }

// Value returns a run's number for a metric (landmarks for instability).
func (r *RunResult) Value(m spec.Metric, landmarks []string) (Measure, bool) {
	switch m {
	case spec.Accuracy:
		if r.Accuracy == nil {
			return Measure{}, false
		}
		return Measure{Mean: *r.Accuracy}, true
	case spec.PartInterpretability:
		if r.PartInterp == nil {
			return Measure{}, false
		}
		return *r.PartInterp, true
	case spec.LocationInstability:
		v, ok := r.Instability[LandmarkKey(landmarks)]
		return v, ok
	}
	return Measure{}, false
}
