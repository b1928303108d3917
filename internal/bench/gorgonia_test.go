package bench

import (
	"context"
	"math"
	"testing"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/backends/conformance"
	"github.com/icnnlab/icnnlab/backends/gorgonia"
	"github.com/icnnlab/icnnlab/sdk/graph"
)

// TestSmall64OnGorgonia runs the real workload for two steps at batch 2 and
// checks the first step's loss (computed before any update) against the
// plain-Go reference evaluator on the same weights and batch.
func TestSmall64OnGorgonia(t *testing.T) {
	b, err := backends.New(gorgonia.Name)
	if err != nil {
		t.Fatal(err)
	}
	const seed = 5
	cfg := Config{Workload: "small64", Batch: 2, Warmup: 1, Steps: 1, Threads: 1, Seed: seed}
	res, err := Run(context.Background(), b, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Backend != gorgonia.Name || res.Steps != 1 || res.Batch != 2 {
		t.Errorf("result echoes the config wrongly: %+v", res)
	}
	if !(res.ImagesPerSec > 0) || !(res.MsPerStep.Mean > 0) {
		t.Errorf("timing not measured: %v images/s, %+v ms/step", res.ImagesPerSec, res.MsPerStep)
	}
	if res.PeakRSSMiB == nil || *res.PeakRSSMiB <= 0 || res.GoHeapPeakMiB <= 0 {
		t.Errorf("memory not measured: rss %v, go heap %v", res.PeakRSSMiB, res.GoHeapPeakMiB)
	}
	if res.CPUMsPerStep == nil || !(*res.CPUMsPerStep > 0) {
		t.Errorf("CPU time per step not measured: %v", res.CPUMsPerStep)
	}
	if res.FirstLoss == res.LastLoss {
		t.Errorf("loss %v did not change between steps: the optimizer did not update", res.FirstLoss)
	}

	w, err := Lookup("small64")
	if err != nil {
		t.Fatal(err)
	}
	net, err := w.Build(cfg.Batch)
	if err != nil {
		t.Fatal(err)
	}
	feeds := randomFeeds(net.Graph, net.Labels, seed)
	ref, err := conformance.EvaluateOutputs(net.Graph, feeds, graph.InitParams(net.Graph, seed), graph.InitStates(net.Graph), backends.Train)
	if err != nil {
		t.Fatal(err)
	}
	want := ref[LossOutput].Float64At(0)
	if math.Abs(res.FirstLoss-want) > 1e-4*math.Max(1, math.Abs(want)) {
		t.Errorf("first-step loss %v, reference evaluator %v", res.FirstLoss, want)
	}
}
