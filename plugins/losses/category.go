package losses

import (
	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// State names of the filter → category statistics (multi-category tasks).
const (
	StateCategoryStats = "category_stats" // [C, Classes]
	StateCategorySeen  = "category_seen"  // [Classes]: 1 once a class has been seen
)

// CategoryOptions shape the per-class statistics update.
type CategoryOptions struct {
	Momentum float64 // weight of the old value
	// FirstFloor, if positive, floors the first observation of a class
	// (the authors' code uses max(mean, 0.1)).
	FirstFloor float64
	// SkipZeros keeps the old value where this batch's class mean is zero
	// (the authors' code does so).
	SkipZeros bool
}

// Categories are the filters' category statistics before and after this batch.
type Categories struct {
	Old, New *graph.Node // [C, Classes], no gradient
	SeenOld  *graph.Node // [1, Classes]
}

// CategoryStats keeps, per filter and class, an exponential moving average
// of the batch mean of stat [B,C] over the images labelled with the class
// (labels [B,Classes]). A class's first observation replaces the initial
// zeros; classes absent from a batch keep their value. The states and their
// updates are added to g.
func CategoryStats(g *graph.Graph, stat, labels *graph.Node, c, classes int, o CategoryOptions) Categories {
	stats := g.State(StateCategoryStats, tensor.Zeros(tensor.Float32, c, classes))
	seen := g.State(StateCategorySeen, tensor.Zeros(tensor.Float32, classes))
	old := g.StopGradient(stats)
	seenOld := g.Reshape(seen, 1, classes)
	lab := g.StopGradient(labels)
	count := g.SumKeep(lab, 0) // [1, Classes]
	mean := g.Div(g.MatMul(g.Transpose(g.StopGradient(stat), 1, 0), lab), g.MaxScalar(count, 1))
	present := g.Clamp(count, 0, 1)
	one := g.Scalar(1)
	firstW := g.Mul(present, g.Sub(one, seenOld))
	emaW := g.MulScalar(g.Mul(present, seenOld), 1-o.Momentum)
	if o.SkipZeros {
		// Activations are ReLU outputs, so mean ≥ 0; this is 1 unless mean < 1e-30.
		emaW = g.Mul(emaW, g.Clamp(g.MulScalar(mean, 1e30), 0, 1))
	}
	first := mean
	if o.FirstFloor > 0 {
		first = g.MaxScalar(mean, o.FirstFloor)
	}
	updated := g.Add(old, g.Add(g.Mul(firstW, g.Sub(first, old)), g.Mul(emaW, g.Sub(mean, old))))
	g.SetStateUpdate(stats, updated)
	g.SetStateUpdate(seen, g.Reshape(g.Clamp(g.Add(seenOld, present), 0, 1), classes))
	return Categories{Old: old, New: updated, SeenOld: seenOld}
}

// Positives is [B,C]: 1 where image b is labelled with filter c's category
// argmax_class stats[c, class].
func Positives(g *graph.Graph, stats, labels *graph.Node) *graph.Node {
	return g.Gather(labels, g.ArgMax(stats, 1), 1)
}
