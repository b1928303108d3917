package mipapergrad_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/icnnlab/icnnlab/plugins/losses"
	"github.com/icnnlab/icnnlab/plugins/losses/internal/graphtest"
	"github.com/icnnlab/icnnlab/plugins/losses/internal/lossref"
	"github.com/icnnlab/icnnlab/plugins/losses/mi"
	"github.com/icnnlab/icnnlab/plugins/losses/mipapergrad"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

func randomFeatures(seed uint64, s losses.LossShape, scale float64) *tensor.Tensor {
	rng := rand.New(rand.NewPCG(seed, 3))
	t := tensor.Zeros(tensor.Float32, s.Batch, s.Channels, s.H, s.W)
	for i := range t.Float32s() {
		if rng.Float64() < 0.25 {
			continue
		}
		t.Float32s()[i] = float32(math.Round(rng.Float64()*scale*1024) / 1024)
	}
	return t
}

// oneHot labels image b with class b % classes (single task: b even is positive).
func oneHot(s losses.LossShape) *tensor.Tensor {
	t := tensor.Zeros(tensor.Float32, s.Batch, s.Classes)
	for b := range s.Batch {
		if s.Task == losses.TaskSingle {
			if b%2 == 0 {
				t.Float32s()[b] = 1
			}
			continue
		}
		t.Float32s()[b*s.Classes+b%s.Classes] = 1
	}
	return t
}

func TestInjectedGradientMatchesFormula(t *testing.T) {
	tests := []struct {
		name  string
		shape losses.LossShape
		tau   float64
	}{
		{"single 3x3 paper tau", losses.LossShape{Batch: 4, Channels: 3, H: 3, W: 3, Classes: 1, Task: losses.TaskSingle}, 0},
		{"single 3x4 strong", losses.LossShape{Batch: 5, Channels: 2, H: 3, W: 4, Classes: 1, Task: losses.TaskSingle}, 0.5},
		{"multi 4x4", losses.LossShape{Batch: 6, Channels: 4, H: 4, W: 4, Classes: 3, Task: losses.TaskMulti}, 0.3},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.shape
			p := mipapergrad.Defaults()
			p.Tau = tc.tau
			g, err := mipapergrad.Build(p, s)
			if err != nil {
				t.Fatal(err)
			}
			x := randomFeatures(uint64(10+i), s, 3)
			labels := oneHot(s)
			// A running Z state after a few steps, so that Z is not the batch's.
			tmpl := p.TemplateParams.Resolve(s.H, s.W)
			oldZ := tensor.Zeros(tensor.Float32, s.Channels, tmpl.K)
			for j := range oldZ.Float32s() {
				oldZ.Float32s()[j] = float32(0.1 * math.Sin(float64(j)))
			}
			states := map[string]*tensor.Tensor{losses.StateLogZ: oldZ, losses.StateSteps: tensor.Scalar32(4)}
			values, err := graphtest.Run(g, map[string]*tensor.Tensor{"features": x, "labels": labels}, nil, states)
			if err != nil {
				t.Fatal(err)
			}
			got, err := graphtest.InjectedGradient(g.Loss(), values)
			if err != nil {
				t.Fatal(err)
			}

			n := s.H * s.W
			maps := lossref.Maps(x.Float32s(), s.Batch, s.Channels, n)
			// Filter categories (multi): argmax over classes of the mean Σ_ij x
			// of the class's images (first observation of every class).
			category := make([]int, s.Channels)
			if s.Task == losses.TaskMulti {
				for c := range s.Channels {
					best := math.Inf(-1)
					for cls := range s.Classes {
						sum, count := 0.0, 0.0
						for b := range s.Batch {
							if labels.Float32s()[b*s.Classes+cls] == 1 {
								for _, v := range maps[c][b] {
									sum += v
								}
								count++
							}
						}
						if sum/count > best {
							best, category[c] = sum/count, cls
						}
					}
				}
			}
			maxAbs, maxDiff := 0.0, 0.0
			for c := range s.Channels {
				old := make([]float64, tmpl.K)
				for k := range old {
					old[k] = float64(oldZ.Float32s()[c*tmpl.K+k])
				}
				logZ := lossref.RunningLogZ(maps[c], tmpl, old, 5, p.Momentum)
				positive := make([]bool, s.Batch)
				for b := range s.Batch {
					positive[b] = labels.Float32s()[b*s.Classes+category[c]] == 1
				}
				want := lossref.PaperGradient(maps[c], tmpl, logZ, positive)
				for b := range s.Batch {
					for q := range n {
						gv := got.Float64At((b*s.Channels+c)*n + q)
						maxAbs = max(maxAbs, math.Abs(want[b][q]))
						maxDiff = max(maxDiff, math.Abs(gv-want[b][q]))
					}
				}
			}
			if maxAbs == 0 || maxDiff > 1e-4*maxAbs {
				t.Errorf("injected gradient differs from the formula by %g (largest |g| %g)", maxDiff, maxAbs)
			}
		})
	}
}

// The approximation should point the way the exact −MI gradient does: a
// check of the sign this package adds to the quoted formula.
func TestApproximationFollowsExactGradient(t *testing.T) {
	s := losses.LossShape{Batch: 6, Channels: 2, H: 3, W: 3, Classes: 1, Task: losses.TaskSingle}
	pg := mipapergrad.Defaults()
	pg.Tau = 0.5
	g, err := mipapergrad.Build(pg, s)
	if err != nil {
		t.Fatal(err)
	}
	pm := mi.Defaults()
	pm.Tau = 0.5
	exact, err := mi.Build(pm, s)
	if err != nil {
		t.Fatal(err)
	}
	x := randomFeatures(42, s, 3)
	// Every image positive: the approximation keeps each map's own best
	// positive template, the exact loss sees all templates.
	labels := tensor.Zeros(tensor.Float32, s.Batch, 1)
	for i := range labels.Float32s() {
		labels.Float32s()[i] = 1
	}
	feeds := map[string]*tensor.Tensor{"features": x, "labels": labels}
	values, err := graphtest.Run(g, feeds, nil, nil) // first step: Z from the batch
	if err != nil {
		t.Fatal(err)
	}
	approx, err := graphtest.InjectedGradient(g.Loss(), values)
	if err != nil {
		t.Fatal(err)
	}
	fd, err := graphtest.FiniteDifferences(exact, "loss", "features", feeds, nil, nil, 1.0/256)
	if err != nil {
		t.Fatal(err)
	}
	a := make([]float64, approx.Len())
	for i := range a {
		a[i] = approx.Float64At(i)
	}
	cos := graphtest.Cosine(a, fd)
	t.Logf("cosine(paper approximation, exact −MI gradient) = %.3f", cos)
	if cos < 0.3 {
		t.Errorf("cosine %.3f: the approximation does not follow the exact gradient", cos)
	}
	// And the neg_mi monitor equals the exact loss at the first step.
	negMI, err := graphtest.Scalar(g, losses.OutputNegMI, feeds, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, err := graphtest.Scalar(exact, "loss", feeds, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(negMI-want) > 1e-5*math.Abs(want) {
		t.Errorf("neg_mi %g, exact −MI %g", negMI, want)
	}
}
