package train

import "math"

// LearningRate is the schedule's rate at step (0-based) of total steps.
// "log" interpolates geometrically from LR to FinalLR, as the authors'
// MatConvNet setup does (logspace(-4, -5) over the epochs); "linear"
// interpolates arithmetically; "cosine" anneals from LR to FinalLR.
//
// With DecayEpochs > 0 the decay spans the first DecayEpochs epochs
// (perEpoch steps each) and the rate stays at FinalLR afterwards.
func (o OptimizerConfig) LearningRate(step, total int64) float64 {
	return o.LearningRateAt(step, total, 0)
}

// LearningRateAt is LearningRate with the epoch length, for DecayEpochs.
func (o OptimizerConfig) LearningRateAt(step, total, perEpoch int64) float64 {
	if o.DecayEpochs > 0 && perEpoch > 0 {
		total = min(total, int64(o.DecayEpochs)*perEpoch)
		if step >= total && o.Schedule != "constant" && o.Schedule != "" {
			return o.FinalLR
		}
	}
	if total <= 1 || o.Schedule == "constant" || o.Schedule == "" {
		return o.LR
	}
	f := float64(step) / float64(total-1)
	f = math.Min(math.Max(f, 0), 1)
	switch o.Schedule {
	case "linear":
		return o.LR + f*(o.FinalLR-o.LR)
	case "log":
		return math.Exp(math.Log(o.LR) + f*(math.Log(o.FinalLR)-math.Log(o.LR)))
	case "cosine":
		return o.FinalLR + 0.5*(o.LR-o.FinalLR)*(1+math.Cos(math.Pi*f))
	}
	return o.LR
}
