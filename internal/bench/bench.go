// Package bench times training steps of a benchmark workload on a backend:
// it builds the workload's graph, compiles it with the optimizer the
// paper's experiments use, feeds one fixed random batch, runs warm-up
// steps and then timed steps, and reports throughput and memory.
//
// One fixed batch keeps data loading out of the figure, as the PyTorch
// peer script (bench/pytorch_peer.py) does, so the two measure the same
// thing: forward, backward and optimizer update.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/internal/pluginhost"
	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// Optimizer is the update rule every workload is timed with: SGD with
// momentum 0.9 and learning rate 0.01, as in the PyTorch peer script.
var Optimizer = backends.Optimizer{Kind: backends.SGD, LearningRate: 0.01, Momentum: 0.9}

// DefaultSeed seeds parameter initialisation and the random batch.
const DefaultSeed = 1

// Notes say which variant was timed.
const (
	NoteOrdinary      = "the ordinary network (no masks, no filter loss)"
	NoteInterpretable = "the interpretable network: l1 masks and the exact -MI filter loss (plugins inlined into the graph), lambda 1"
)

// Config selects what to time.
type Config struct {
	Workload string
	Batch    int
	Warmup   int // untimed steps first (allocation, caches, lazy init)
	Steps    int // timed steps
	// Threads caps compute threads; 0 means GOMAXPROCS. It is passed to the
	// backend and also bounds GOMAXPROCS for the run, because pure-Go
	// backends parallelise with goroutines.
	Threads int
	Device  string
	Seed    uint64
	// Autocast ("", "bf16", "fp16") and ChannelsLast are passed to the
	// backend (backends.CompileOptions); only libtorch has them.
	Autocast     string
	ChannelsLast bool
	// Interpretable asks for the masked filter layer and the −MI loss,
	// built by the built-in mask and loss plugins through Plugins.
	Interpretable bool
	Plugins       *pluginhost.Host
	// Progress, when set, is called after every step (warm-up and timed)
	// with the number of steps done and the total.
	Progress func(done, total int)
	// CPUProfile, when set, receives a pprof CPU profile of the timed steps.
	CPUProfile io.Writer
}

// Validate names the first bad field by the name `icnnlab bench` gives its
// flag.
func (c Config) Validate() error {
	if _, err := Lookup(c.Workload); err != nil {
		return err
	}
	switch {
	case c.Batch < 1:
		return fmt.Errorf("batch: %d is not a positive batch size", c.Batch)
	case c.Warmup < 0:
		return fmt.Errorf("warmup: %d is negative", c.Warmup)
	case c.Steps < 1:
		return fmt.Errorf("steps: %d; at least one timed step is needed", c.Steps)
	case c.Threads < 0:
		return fmt.Errorf("threads: %d is negative (0 means GOMAXPROCS)", c.Threads)
	}
	return nil
}

// Result is one measurement. Its JSON keys are shared with the PyTorch
// peer script so that bench/compare.sh can read both.
type Result struct {
	Workload           string `json:"workload"`
	Backend            string `json:"backend"`
	BackendDescription string `json:"backend_description"`
	Device             string `json:"device"`
	Threads            int    `json:"threads"`
	// Params counts the network's trainable values; compare.sh checks
	// that the PyTorch peer's network has as many.
	Params       int       `json:"params"`
	Batch        int       `json:"batch"`
	Warmup       int       `json:"warmup"`
	Steps        int       `json:"steps"`
	ImagesPerSec float64   `json:"images_per_sec"`
	MsPerStep    StepStats `json:"ms_per_step"`
	// CPUMsPerStep is the process's CPU time (user + system, all threads)
	// per timed step; nil where the platform does not report it. On a
	// machine shared with other work it moves much less than wall time.
	CPUMsPerStep *float64 `json:"cpu_ms_per_step"`
	// PeakRSSMiB is the process's VmHWM; nil where /proc is unavailable.
	PeakRSSMiB *float64 `json:"peak_rss_mib"`
	// GoHeapPeakMiB is the largest Go heap in use (HeapInuse) seen after
	// any step. Backends that allocate outside the Go heap (cgo) show up
	// only in PeakRSSMiB.
	GoHeapPeakMiB float64 `json:"go_heap_peak_mib"`
	// GoAllocMiBPerStep is the Go heap allocated per timed step (all of
	// it garbage by the next step): what the garbage collector has to
	// reclaim. Null for PyTorch.
	GoAllocMiBPerStep float64 `json:"go_alloc_mib_per_step"`
	// FirstLoss and LastLoss are the training loss of the first and last
	// step; they show the steps really trained (and stayed finite).
	FirstLoss     float64 `json:"first_loss"`
	LastLoss      float64 `json:"last_loss"`
	Interpretable bool    `json:"interpretable"`
	// Autocast is the mixed-precision mode ("" is float32 throughout);
	// ChannelsLast whether 4-D tensors were kept NHWC.
	Autocast     string `json:"autocast"`
	ChannelsLast bool   `json:"channels_last"`
	Note         string `json:"note"`
}

// Run times cfg.Workload on b. It stops between steps when ctx is done.
func Run(ctx context.Context, b backends.Backend, cfg Config) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	w, _ := Lookup(cfg.Workload)
	if cfg.Interpretable {
		if cfg.Plugins == nil {
			return nil, fmt.Errorf("workload %s: the interpretable variant needs the plugin host (Config.Plugins)", cfg.Workload)
		}
		w = interpretableWorkload(ctx, cfg.Workload, cfg.Plugins)
	}

	threads := cfg.Threads
	if threads == 0 {
		threads = runtime.GOMAXPROCS(0)
	} else {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(threads))
	}

	net, err := w.Build(cfg.Batch)
	if err != nil {
		return nil, fmt.Errorf("workload %s: build graph: %w", cfg.Workload, err)
	}
	g := net.Graph
	if g.Output(LossOutput) == nil {
		return nil, fmt.Errorf("workload %s: graph %q has no %q output", cfg.Workload, g.Name(), LossOutput)
	}
	exe, err := b.Compile(g, backends.CompileOptions{
		Device:       cfg.Device,
		Seed:         cfg.Seed,
		Optimizer:    Optimizer,
		Threads:      threads,
		Autocast:     cfg.Autocast,
		ChannelsLast: cfg.ChannelsLast,
	})
	if err != nil {
		return nil, fmt.Errorf("workload %s: compile on backend %s: %w", cfg.Workload, b.Name(), err)
	}
	defer exe.Close()

	feeds := randomFeeds(g, net.Labels, cfg.Seed)

	total := cfg.Warmup + cfg.Steps
	durations := make([]time.Duration, 0, cfg.Steps)
	var heapPeak uint64
	var firstLoss, lastLoss float64
	var mem runtime.MemStats
	var allocBefore uint64
	var cpuBefore time.Duration
	cpuKnown := false
	profiling := false
	defer func() {
		if profiling {
			pprof.StopCPUProfile()
		}
	}()
	for step := range total {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("workload %s: stopped after %d of %d steps: %w", cfg.Workload, step, total, err)
		}
		if step == cfg.Warmup {
			runtime.ReadMemStats(&mem)
			allocBefore = mem.TotalAlloc
			cpuBefore, cpuKnown = processCPUTime()
			if cfg.CPUProfile != nil {
				if err := pprof.StartCPUProfile(cfg.CPUProfile); err != nil {
					return nil, fmt.Errorf("workload %s: start the CPU profile: %w", cfg.Workload, err)
				}
				profiling = true
			}
		}
		start := time.Now()
		out, err := exe.TrainStep(feeds, LossOutput)
		elapsed := time.Since(start)
		if err != nil {
			return nil, fmt.Errorf("workload %s: training step %d: %w", cfg.Workload, step+1, err)
		}
		loss, err := scalar(out[LossOutput])
		if err != nil {
			return nil, fmt.Errorf("workload %s: training step %d: output %q: %w", cfg.Workload, step+1, LossOutput, err)
		}
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return nil, fmt.Errorf("workload %s: training step %d: loss is %v", cfg.Workload, step+1, loss)
		}
		if step == 0 {
			firstLoss = loss
		}
		lastLoss = loss
		if step >= cfg.Warmup {
			durations = append(durations, elapsed)
		}
		// Read outside the timed region: ReadMemStats stops the world.
		runtime.ReadMemStats(&mem)
		heapPeak = max(heapPeak, mem.HeapInuse)
		if cfg.Progress != nil {
			cfg.Progress(step+1, total)
		}
	}

	cpuAfter, cpuAfterKnown := processCPUTime()
	if profiling {
		pprof.StopCPUProfile()
		profiling = false
	}
	allocPerStep := float64(mem.TotalAlloc-allocBefore) / float64(cfg.Steps) / (1 << 20)
	var timed time.Duration
	for _, d := range durations {
		timed += d
	}
	res := &Result{
		Workload:           cfg.Workload,
		Backend:            b.Name(),
		BackendDescription: b.Description(),
		Device:             deviceName(cfg.Device),
		Threads:            threads,
		Params:             paramCount(g),
		Batch:              cfg.Batch,
		Warmup:             cfg.Warmup,
		Steps:              cfg.Steps,
		ImagesPerSec:       float64(cfg.Batch*cfg.Steps) / timed.Seconds(),
		MsPerStep:          summarise(durations),
		GoHeapPeakMiB:      float64(heapPeak) / (1 << 20),
		GoAllocMiBPerStep:  allocPerStep,
		FirstLoss:          firstLoss,
		LastLoss:           lastLoss,
		Interpretable:      cfg.Interpretable,
		Autocast:           cfg.Autocast,
		ChannelsLast:       cfg.ChannelsLast,
		Note:               NoteOrdinary,
	}
	if cfg.Interpretable {
		res.Note = NoteInterpretable
	}
	if cpuKnown && cpuAfterKnown {
		ms := float64(cpuAfter-cpuBefore) / float64(time.Millisecond) / float64(cfg.Steps)
		res.CPUMsPerStep = &ms
	}
	if rss, err := peakRSSMiB(); err == nil {
		res.PeakRSSMiB = &rss
	}
	return res, nil
}

// deviceName reports the requested device; an empty request is the
// backend's default device, which Backend.Description names.
func deviceName(requested string) string {
	if requested == "" {
		return "default"
	}
	return requested
}

func paramCount(g *graph.Graph) int {
	n := 0
	for _, p := range g.Params() {
		n += p.Shape().NumElements()
	}
	return n
}

func scalar(t *tensor.Tensor) (float64, error) {
	if t == nil {
		return 0, errors.New("missing")
	}
	if t.Len() != 1 {
		return 0, fmt.Errorf("got shape %v, want a scalar", t.Shape())
	}
	return t.Float64At(0), nil
}

// randomFeeds draws one batch for every input of g: standard-normal values
// for images, and uniformly random {0,1} targets for the inputs named in
// labels (the logistic "target vs rest" task).
func randomFeeds(g *graph.Graph, labels map[string]bool, seed uint64) map[string]*tensor.Tensor {
	rng := rand.New(rand.NewPCG(seed, 0x6265_6e63_685f_6665)) // "bench_fe"
	feeds := map[string]*tensor.Tensor{}
	for _, in := range g.Inputs() {
		name := in.Attrs().Name
		t := tensor.Zeros(in.DType(), in.Shape()...)
		if in.Rank() == 0 { // scalar knobs such as the filter-loss weight λ and the epoch
			setElement(t, 0, 1)
			feeds[name] = t
			continue
		}
		for i := range t.Len() {
			v := rng.NormFloat64()
			if labels[name] {
				v = float64(rng.IntN(2))
			}
			setElement(t, i, v)
		}
		feeds[name] = t
	}
	return feeds
}

func setElement(t *tensor.Tensor, i int, v float64) {
	switch t.DType() {
	case tensor.Float32:
		t.Float32s()[i] = float32(v)
	case tensor.Float64:
		t.Float64s()[i] = v
	case tensor.Int32:
		t.Int32s()[i] = int32(v)
	case tensor.Int64:
		t.Int64s()[i] = int64(v)
	case tensor.Uint8:
		t.Uint8s()[i] = uint8(v)
	case tensor.Bool:
		t.Bools()[i] = v != 0
	}
}
