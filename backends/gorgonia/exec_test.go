package gorgonia

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	G "gorgonia.org/gorgonia"
	gt "gorgonia.org/tensor"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// keepAliveKernel reads its operands and writes a NaN. Gorgonia's tape
// machine may hand the register of a value that no later instruction
// reads to another op, so a final reader of every value we compare keeps
// those values intact to the end of the tape.
type keepAliveKernel struct{ noGradient }

func (keepAliveKernel) name() string         { return "keep_alive" }
func (keepAliveKernel) writeAttrs(io.Writer) {}
func (keepAliveKernel) forward(_ *runContext, _ []G.Value, out G.Value) error {
	dataOf[float32](out)[0] = float32(math.NaN())
	return nil
}

// executorCase is a graph and the feeds of one training step.
type executorCase struct {
	name  string
	g     *graph.Graph
	feeds map[string]*tensor.Tensor
}

func executorCases(t *testing.T) []executorCase {
	cases := []executorCase{
		{name: "small CNN with dropout", g: squaresGraph(6, 0.5), feeds: squaresBatch(rand.New(rand.NewPCG(4, 4)), 6)},
	}
	for _, mc := range miCases() {
		cases = append(cases, executorCase{name: "-MI " + mc.name, g: mc.build(t), feeds: mc.feeds()})
	}
	// A convolution output read twice: its gradient is a sum of two terms.
	bc := blockCase{name: "conv read twice", dt: tensor.Float32, c: 3, o: 4, h: 7, w: 6, k: 3,
		conv: graph.ConvOptions{Padding: [2]int{1, 1}}, bias: true, relu: true, pool: true, extraReader: true}
	rng := rand.New(rand.NewPCG(5, 6))
	cases = append(cases, executorCase{name: bc.name, g: bc.build(3), feeds: map[string]*tensor.Tensor{"x": randomTensor(tensor.Float32, rng, 3, 3, 7, 6)}})
	return cases
}

// TestExecutorMatchesTapeMachine runs each training program once on the
// executor and once on gorgonia's tape machine (what programs ran on
// before) and requires the loss, the outputs, the state updates and every
// parameter gradient to be the same bits, at 1 and 2 threads.
func TestExecutorMatchesTapeMachine(t *testing.T) {
	for _, threads := range []int{1, 2} {
		for _, c := range executorCases(t) {
			t.Run(fmt.Sprintf("%s/threads=%d", c.name, threads), func(t *testing.T) {
				exe := compileOrFatal(t, c.g, backends.CompileOptions{Seed: 5, Threads: threads}).(*executable)
				var outputs []string
				for _, o := range c.g.Outputs() {
					outputs = append(outputs, o.Name)
				}
				req, err := exe.trainRequest(outputs)
				if err != nil {
					t.Fatal(err)
				}
				p := req.p
				var compared G.Nodes
				for _, n := range append([]*graph.Node{c.g.Loss()}, req.nodes...) {
					compared = append(compared, p.nodes[n.ID()])
				}
				for _, u := range c.g.StateUpdates() {
					compared = append(compared, p.nodes[u.Value.ID()])
				}
				sums := 0
				for i, gr := range p.grads {
					if gr == nil {
						t.Fatalf("parameter %v gets no gradient", exe.paramNodes[i])
					}
					compared = append(compared, gr)
				}
				for _, st := range p.x.steps {
					if st.sum != nil {
						sums++
					}
				}
				if err := exe.execute(p, c.feeds); err != nil {
					t.Fatal(err)
				}
				var fromExecutor [][]uint64
				for _, n := range compared {
					fromExecutor = append(fromExecutor, valueBits(p.x.value(n)))
				}

				for id, leaf := range p.leaves {
					v, err := p.leafValue(id, exe.leafTensor(c.g.Nodes()[id], c.feeds))
					if err != nil {
						t.Fatal(err)
					}
					if err := G.Let(leaf, v); err != nil {
						t.Fatal(err)
					}
				}
				if _, err := applyKernel(exe.ctx, keepAliveKernel{}, gt.Float32, nil, dedupe(compared)...); err != nil {
					t.Fatal(err)
				}
				vm := G.NewTapeMachine(p.eg)
				defer vm.Close()
				if err := vm.RunAll(); err != nil {
					t.Fatal(err)
				}
				for i, n := range compared {
					if got := valueBits(n.Value()); !slices.Equal(got, fromExecutor[i]) {
						t.Errorf("%v: the executor's value differs from the tape machine's", n)
					}
				}
				t.Logf("%d values compared, %d gradient sums", len(compared), sums)
			})
		}
	}
}

func tensorValue(x []float32) G.Value {
	return gt.New(gt.WithShape(len(x)), gt.WithBacking(x))
}

// TestExecutorSumsSplitEvenly checks the gradient sums' kernel against a
// plain loop at lengths around its parallel grain, at 1, 2 and 3 threads.
func TestExecutorSumsSplitEvenly(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	for _, n := range []int{1, 7, sumGrain - 1, 2*sumGrain + 3, 5*sumGrain + 1} {
		a, b := make([]float32, n), make([]float32, n)
		for i := range a {
			a[i], b[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64()*1e-3)
		}
		for _, threads := range []int{1, 2, 3} {
			s := &sumStep{dtype: gt.Float32, shape: []int{n}, out: newValue(gt.Float32, []int{n})}
			fillNaN(s.out)
			s.run(&runContext{threads: threads}, tensorValue(a), tensorValue(b))
			out := dataOf[float32](s.out)
			for i := range out {
				if want := a[i] + b[i]; math.Float32bits(out[i]) != math.Float32bits(want) {
					t.Fatalf("n=%d threads=%d: out[%d] = %v, want %v", n, threads, i, out[i], want)
				}
			}
		}
	}
}

// TestTrainStepAllocations counts the Go allocations of a steady-state
// training step (a count, not a timing). All that a step allocates is its
// result: the map of outputs and each output tensor with its data.
func TestTrainStepAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	mc := miCases()[2] // running Z: the step updates a state
	if !mc.runningZ() {
		t.Fatal("the running-Z case has no running Z")
	}
	type stepCase struct {
		name    string
		g       *graph.Graph
		feeds   map[string]*tensor.Tensor
		outputs []string
		// parallelAllocs is what the kernels may allocate per step at two
		// threads: a parallel loop's job comes from a sync.Pool, which a
		// garbage collection during the measured steps empties, and then
		// each loop of the next step takes a new job (or a late helper
		// still holds one). At one thread the loops run inline and the
		// kernels allocate nothing.
		parallelAllocs int
	}
	cases := []stepCase{
		{name: "small CNN", g: squaresGraph(8, 0.5), feeds: squaresBatch(rand.New(rand.NewPCG(1, 1)), 8), outputs: []string{"logit"}, parallelAllocs: 12},
		{name: "-MI with a running Z", g: mc.build(t), feeds: mc.feeds(), parallelAllocs: 2},
	}
	optimizers := []backends.Optimizer{
		{Kind: backends.SGD, LearningRate: 0.01, Momentum: 0.9, WeightDecay: 1e-4},
		{Kind: backends.Adam, LearningRate: 1e-3, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-8},
	}
	for _, c := range cases {
		for _, opt := range optimizers {
			for _, threads := range []int{1, 2} {
				t.Run(fmt.Sprintf("%s/%v/threads=%d", c.name, opt.Kind, threads), func(t *testing.T) {
					exe := compileOrFatal(t, c.g, backends.CompileOptions{Seed: 2, Threads: threads, Optimizer: opt})
					step := func() {
						if _, err := exe.TrainStep(c.feeds, c.outputs...); err != nil {
							t.Fatal(err)
						}
					}
					for range 3 {
						step()
					}
					// The result: its map (header and slots), and per output
					// a tensor, its shape and its data.
					resultAllocs := 2 + 3*len(c.outputs)
					allocs := testing.AllocsPerRun(20, step)
					t.Logf("%v allocations per step", allocs)
					kernelAllocs := 0
					if threads > 1 {
						kernelAllocs = c.parallelAllocs
					}
					if allocs > float64(resultAllocs+kernelAllocs) {
						t.Errorf("%v allocations per step, want at most %d for the result and %d in the kernels", allocs, resultAllocs, kernelAllocs)
					}
				})
			}
		}
	}
}

// TestDropoutMaskFollowsRandFloat64 checks the dropout kernel, which draws
// from its PCG source directly, against the same source behind a
// rand.Rand: the kept elements and their scaling must be the same.
func TestDropoutMaskFollowsRandFloat64(t *testing.T) {
	step := int64(7)
	ctx := &runContext{threads: 1, seed: 99, step: &step}
	k := dropoutKernel{rate: 0.3, nodeID: 12}
	x := make([]float64, 1001)
	for i := range x {
		x[i] = float64(i%17) - 8.5
	}
	y := make([]float64, len(x))
	dropout(ctx, k, x, y)
	rng := rand.New(rand.NewPCG(ctx.seed^0x5851f42d4c957f2d, uint64(step)*0x9e3779b97f4a7c15^uint64(k.nodeID)))
	kept := 0
	for i, v := range x {
		want := 0.0
		if rng.Float64() >= k.rate {
			want = v * (1 / (1 - k.rate))
			kept++
		}
		if math.Float64bits(y[i]) != math.Float64bits(want) {
			t.Fatalf("y[%d] = %v, want %v", i, y[i], want)
		}
	}
	if kept < 600 || kept > 800 {
		t.Errorf("%d of %d kept at rate 0.3", kept, len(x))
	}
}

// TestOptimizerPassSplitsParameters checks the parallel optimizer pass on
// parameters several tasks long (and one shorter than a task): after three
// steps the weights must be the bits of a plain float32 loop over each
// parameter, at 1 and 3 threads, for SGD with momentum and Adam.
func TestOptimizerPassSplitsParameters(t *testing.T) {
	sizes := map[string]int{"long": 3*updateGrain + 5, "short": 7}
	g := graph.New("long linear")
	loss := (*graph.Node)(nil)
	xs := map[string][]float32{}
	feeds := map[string]*tensor.Tensor{}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, name := range []string{"long", "short"} {
		n := sizes[name]
		x := g.Input("x_"+name, tensor.Float32, n)
		w := g.Param(name, graph.Constant(0.25), []int{n})
		term := g.Sum(g.Mul(w, x))
		if loss == nil {
			loss = term
		} else {
			loss = g.Add(loss, term)
		}
		xs[name] = make([]float32, n)
		for i := range xs[name] {
			xs[name][i] = float32(rng.NormFloat64())
		}
		feeds["x_"+name] = tensor.MustFloat32(tensor.Shape{n}, xs[name])
	}
	g.SetLoss(loss)
	const lr, wd = 0.05, 0.01
	opts := []backends.Optimizer{
		{Kind: backends.SGD, LearningRate: lr, Momentum: 0.9, WeightDecay: wd},
		{Kind: backends.Adam, LearningRate: lr, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-8, WeightDecay: wd},
	}
	for _, opt := range opts {
		// The reference: each element's float32 update, as the pass's
		// arithmetic, in one loop per parameter.
		want := map[string][]float32{}
		for name, x := range xs {
			w := make([]float32, len(x))
			m, v := make([]float32, len(x)), make([]float32, len(x))
			for i := range w {
				w[i] = 0.25
			}
			for step := range 3 {
				for i := range w {
					gr := x[i] + float32(wd)*w[i]
					if opt.Kind == backends.SGD {
						v[i] = float32(0.9)*v[i] + gr
						w[i] -= float32(lr) * v[i]
						continue
					}
					tt := float64(step + 1)
					stepSize := float32(lr / (1 - math.Pow(0.9, tt)))
					bc2Sqrt := float32(math.Sqrt(1 - math.Pow(0.999, tt)))
					m[i] += (gr - m[i]) * float32(1-0.9)
					v[i] = v[i]*float32(0.999) + float32(1-0.999)*gr*gr
					denom := float32(math.Sqrt(float64(v[i])))/bc2Sqrt + float32(1e-8)
					w[i] -= stepSize * (m[i] / denom)
				}
			}
			want[name] = w
		}
		for _, threads := range []int{1, 3} {
			exe := compileOrFatal(t, g, backends.CompileOptions{Threads: threads, Optimizer: opt})
			for range 3 {
				if _, err := exe.TrainStep(feeds); err != nil {
					t.Fatal(err)
				}
			}
			for name, w := range want {
				got, err := exe.Read(name)
				if err != nil {
					t.Fatal(err)
				}
				for i, v := range got.Float32s() {
					if math.Float32bits(v) != math.Float32bits(w[i]) {
						t.Fatalf("%v, %d threads: %s[%d] = %v, want %v", opt.Kind, threads, name, i, v, w[i])
					}
				}
			}
		}
	}
}
