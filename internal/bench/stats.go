package bench

import (
	"math"
	"slices"
	"time"
)

// StepStats summarises the wall time of the timed training steps, in
// milliseconds.
type StepStats struct {
	Mean   float64 `json:"mean"`
	Median float64 `json:"median"`
	P90    float64 `json:"p90"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

// summarise computes StepStats. Percentiles use linear interpolation
// between closest ranks (NumPy's default), so the PyTorch peer script,
// which uses numpy-free code with the same rule, reports comparable values.
func summarise(durations []time.Duration) StepStats {
	if len(durations) == 0 {
		return StepStats{}
	}
	ms := make([]float64, len(durations))
	sum := 0.0
	for i, d := range durations {
		ms[i] = float64(d) / float64(time.Millisecond)
		sum += ms[i]
	}
	slices.Sort(ms)
	return StepStats{
		Mean:   sum / float64(len(ms)),
		Median: percentile(ms, 50),
		P90:    percentile(ms, 90),
		Min:    ms[0],
		Max:    ms[len(ms)-1],
	}
}

// percentile of sorted values, p in [0, 100], interpolating linearly
// between the two closest ranks.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 1 {
		return sorted[0]
	}
	rank := p / 100 * float64(len(sorted)-1)
	lo := int(math.Floor(rank))
	hi := min(lo+1, len(sorted)-1)
	frac := rank - float64(lo)
	return sorted[lo] + frac*(sorted[hi]-sorted[lo])
}
