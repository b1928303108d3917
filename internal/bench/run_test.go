package bench

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// recordingBackend compiles to an executable that records what the runner
// asks of it and returns a scripted loss, so the runner's bookkeeping
// (warm-up excluded, progress, loss, errors) can be checked without
// depending on a real backend's speed.
type recordingBackend struct {
	losses   []float64 // loss returned by step i (repeats the last)
	compiled *backends.CompileOptions
	graph    *graph.Graph
	exe      *recordingExecutable
}

func (b *recordingBackend) Name() string        { return "recording" }
func (b *recordingBackend) Description() string { return "records calls" }
func (b *recordingBackend) Compile(g *graph.Graph, opts backends.CompileOptions) (backends.Executable, error) {
	b.compiled, b.graph = &opts, g
	b.exe = &recordingExecutable{losses: b.losses}
	return b.exe, nil
}

type recordingExecutable struct {
	backends.Executable // methods the runner must not call panic (nil)
	losses              []float64
	feeds               []map[string]*tensor.Tensor
	closed              bool
}

func (e *recordingExecutable) TrainStep(inputs map[string]*tensor.Tensor, outputs ...string) (map[string]*tensor.Tensor, error) {
	if len(outputs) != 1 || outputs[0] != LossOutput {
		return nil, errors.New("runner asked for outputs other than loss")
	}
	e.feeds = append(e.feeds, inputs)
	loss := e.losses[min(len(e.feeds)-1, len(e.losses)-1)]
	return map[string]*tensor.Tensor{LossOutput: tensor.Scalar32(float32(loss))}, nil
}

func (e *recordingExecutable) Close() error { e.closed = true; return nil }

func TestRunBookkeeping(t *testing.T) {
	b := &recordingBackend{losses: []float64{0.75, 0.5, 0.25}}
	var progress [][2]int
	res, err := Run(context.Background(), b, Config{
		Workload: "small64", Batch: 2, Warmup: 2, Steps: 3, Threads: 1, Seed: 7,
		Progress: func(done, total int) { progress = append(progress, [2]int{done, total}) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(b.exe.feeds), 5; got != want {
		t.Errorf("TrainStep called %d times, want warm-up + steps = %d", got, want)
	}
	if !b.exe.closed {
		t.Error("executable was not closed")
	}
	wantOpts := backends.CompileOptions{Seed: 7, Optimizer: Optimizer, Threads: 1}
	if diff := cmp.Diff(wantOpts, *b.compiled); diff != "" {
		t.Errorf("compile options (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([][2]int{{1, 5}, {2, 5}, {3, 5}, {4, 5}, {5, 5}}, progress); diff != "" {
		t.Errorf("progress calls (-want +got):\n%s", diff)
	}
	// Every step gets the same batch: random labels in {0,1}, images not all equal.
	labels := b.exe.feeds[0]["labels"].Float32s()
	for _, v := range labels {
		if v != 0 && v != 1 {
			t.Fatalf("label %v is not 0 or 1", v)
		}
	}
	images := b.exe.feeds[0]["images"]
	if got, want := images.Shape(), (tensor.Shape{2, 3, 64, 64}); !got.Equal(want) {
		t.Errorf("images shape %v, want %v", got, want)
	}
	if images.Float32s()[0] == images.Float32s()[1] {
		t.Error("images look constant, want random noise")
	}
	if b.exe.feeds[4]["images"] != images {
		t.Error("the batch changed between steps; the bench times one fixed batch")
	}
	if res.FirstLoss != 0.75 || res.LastLoss != 0.25 {
		t.Errorf("losses first %v last %v, want 0.75 and 0.25", res.FirstLoss, res.LastLoss)
	}
	if res.Steps != 3 || res.Warmup != 2 || res.Batch != 2 || res.Threads != 1 || res.Backend != "recording" {
		t.Errorf("result echoes the config wrongly: %+v", res)
	}
	if !(res.ImagesPerSec > 0) || math.IsInf(res.ImagesPerSec, 0) || !(res.MsPerStep.Median > 0) {
		t.Errorf("timing not measured: %v images/s, %+v", res.ImagesPerSec, res.MsPerStep)
	}
	if res.Interpretable || res.Note != NoteOrdinary {
		t.Errorf("interpretable %v, note %q", res.Interpretable, res.Note)
	}
}

func TestRunSameSeedSameBatch(t *testing.T) {
	first := &recordingBackend{losses: []float64{1}}
	second := &recordingBackend{losses: []float64{1}}
	cfg := Config{Workload: "small64", Batch: 1, Steps: 1, Seed: 3}
	for _, b := range []*recordingBackend{first, second} {
		if _, err := Run(context.Background(), b, cfg); err != nil {
			t.Fatal(err)
		}
	}
	if !first.exe.feeds[0]["images"].Equal(second.exe.feeds[0]["images"]) {
		t.Error("the same seed drew different batches")
	}
}

func TestRunErrors(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		losses  []float64
		cfg     Config
		wantErr string
	}{
		{"interpretable without plugins", context.Background(), []float64{1},
			Config{Workload: "small64", Batch: 1, Steps: 1, Interpretable: true},
			"the interpretable variant needs the plugin host"},
		{"unknown workload", context.Background(), []float64{1},
			Config{Workload: "tiny", Batch: 1, Steps: 1}, `workload: "tiny" is not one of small64, vgg16-224`},
		{"no timed steps", context.Background(), []float64{1},
			Config{Workload: "small64", Batch: 1}, "steps: 0; at least one timed step is needed"},
		{"loss diverged", context.Background(), []float64{1, math.NaN()},
			Config{Workload: "small64", Batch: 1, Steps: 3}, "training step 2: loss is NaN"},
		{"cancelled", cancelled, []float64{1},
			Config{Workload: "small64", Batch: 1, Steps: 3}, "stopped after 0 of 3 steps: context canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Run(tt.ctx, &recordingBackend{losses: tt.losses}, tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}
