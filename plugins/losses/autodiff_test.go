package losses_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/icnnlab/icnnlab/backends"
	_ "github.com/icnnlab/icnnlab/backends/gorgonia"
	"github.com/icnnlab/icnnlab/plugins/losses"
	"github.com/icnnlab/icnnlab/plugins/losses/authorscode"
	"github.com/icnnlab/icnnlab/plugins/losses/intercategory"
	"github.com/icnnlab/icnnlab/plugins/losses/internal/graphtest"
	"github.com/icnnlab/icnnlab/plugins/losses/mi"
	"github.com/icnnlab/icnnlab/plugins/losses/mipapergrad"
	"github.com/icnnlab/icnnlab/plugins/losses/spatialentropy"
	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// features on a 2^-10 grid so that finite-difference steps of 2^-8 are exact.
func gridFeatures(seed uint64, s losses.LossShape) *tensor.Tensor {
	rng := rand.New(rand.NewPCG(seed, 5))
	t := tensor.Zeros(tensor.Float32, s.Batch, s.Channels, s.H, s.W)
	for i := range t.Float32s() {
		if rng.Float64() < 0.2 {
			continue
		}
		t.Float32s()[i] = float32(math.Round(rng.Float64()*2.5*1024) / 1024)
	}
	return t
}

func backendGradient(t *testing.T, g *graph.Graph, feeds map[string]*tensor.Tensor) *tensor.Tensor {
	t.Helper()
	be, err := backends.New("gorgonia")
	if err != nil {
		t.Skipf("gorgonia backend unavailable: %v", err)
	}
	exe, err := be.Compile(g, backends.CompileOptions{})
	if err != nil {
		t.Fatalf("compile %s: %v", g.Name(), err)
	}
	out, err := exe.Gradients(backends.Train, feeds, losses.InputFeatures)
	if err != nil {
		t.Fatalf("gradients %s: %v", g.Name(), err)
	}
	return out[losses.InputFeatures]
}

// The backend's autodiff of the exact losses agrees with central finite
// differences of the plain-Go reference evaluator.
func TestAutodiffMatchesFiniteDifferences(t *testing.T) {
	s := losses.LossShape{Batch: 3, Channels: 2, H: 3, W: 3, Classes: 1, Task: losses.TaskSingle}
	base := losses.DefaultMIParams()
	base.Tau = 0.5
	running := base
	running.ZEstimate = losses.ZRunning
	scaleFree := base
	scaleFree.Normalize, scaleFree.NormalizedMax = losses.NormalizeBatchMax, 2
	floored := scaleFree
	floored.Floor = 1 // max(m_c, mean_c m_c): one of the two filters takes the floor
	builds := map[string]func() (*graph.Graph, error){
		"mi batch":           func() (*graph.Graph, error) { return mi.Build(base, s) },
		"mi batch-max":       func() (*graph.Graph, error) { return mi.Build(scaleFree, s) },
		"mi batch-max floor": func() (*graph.Graph, error) { return mi.Build(floored, s) },
		"mi running":         func() (*graph.Graph, error) { return mi.Build(running, s) },
		"spatial-entropy":    func() (*graph.Graph, error) { return spatialentropy.Build(base, s) },
		"inter-category":     func() (*graph.Graph, error) { return intercategory.Build(base, s) },
	}
	x := gridFeatures(3, s)
	feeds := map[string]*tensor.Tensor{"features": x, "labels": tensor.MustFloat32(tensor.Shape{3, 1}, []float32{1, 0, 1})}
	for name, build := range builds {
		t.Run(name, func(t *testing.T) {
			g, err := build()
			if err != nil {
				t.Fatal(err)
			}
			got := backendGradient(t, g, feeds)
			fd, err := graphtest.FiniteDifferences(g, "loss", "features", feeds, nil, nil, 1.0/256)
			if err != nil {
				t.Fatal(err)
			}
			maxAbs, maxDiff := 0.0, 0.0
			for i, v := range fd {
				maxAbs = max(maxAbs, math.Abs(v))
				maxDiff = max(maxDiff, math.Abs(got.Float64At(i)-v))
			}
			if maxAbs == 0 || maxDiff > 5e-3*maxAbs {
				t.Errorf("autodiff differs from finite differences by %g (largest %g)", maxDiff, maxAbs)
			}
		})
	}
}

// For the surrogate losses the backend's gradient is the injected rule.
func TestAutodiffOfSurrogates(t *testing.T) {
	s := losses.LossShape{Batch: 4, Channels: 3, H: 3, W: 3, Classes: 1, Task: losses.TaskSingle}
	x := gridFeatures(8, s)
	mask := tensor.Zeros(tensor.Float32, 4, 3, 3, 3)
	for i := range mask.Float32s() {
		mask.Float32s()[i] = float32(i%5)/2 - 1
	}
	labels := tensor.MustFloat32(tensor.Shape{4, 1}, []float32{1, 0, 1, 0})
	pg := mipapergrad.Defaults()
	pg.Tau = 0.4
	paper, err := mipapergrad.Build(pg, s)
	if err != nil {
		t.Fatal(err)
	}
	authors, err := authorscode.Build(authorscode.Defaults(), s)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		g     *graph.Graph
		feeds map[string]*tensor.Tensor
	}{
		{paper, map[string]*tensor.Tensor{"features": x, "labels": labels}},
		{authors, map[string]*tensor.Tensor{"features": x, "labels": labels, "mask": mask, "epoch": tensor.Scalar32(2)}},
	} {
		got := backendGradient(t, tc.g, tc.feeds)
		values, err := graphtest.Run(tc.g, tc.feeds, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		want, err := graphtest.InjectedGradient(tc.g.Loss(), values)
		if err != nil {
			t.Fatal(err)
		}
		if d, scale := got.MaxAbsDiff(want), want.MaxAbsDiff(tensor.Zeros(tensor.Float32, want.Shape()...)); scale == 0 || d > 1e-4*scale {
			t.Errorf("%s: backend gradient differs from the injected rule by %g (largest %g)", tc.g.Name(), d, scale)
		}
	}
}
