package train

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/icnnlab/icnnlab/backends"
	_ "github.com/icnnlab/icnnlab/backends/gorgonia"
	"github.com/icnnlab/icnnlab/internal/runstore"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// tinyConfig trains in a couple of seconds: small64 at width 1/4 on a
// multi-category task of 128 world samples, 4 steps per epoch.
func tinyConfig() Config {
	c := Defaults()
	c.Model = ModelConfig{Arch: "small64", Width: 0.25, Dropout: 0.5, Loss: "softmax"}
	c.Data.Task, c.Data.Target, c.Data.Categories = "multi", "", 3
	c.Data.Train, c.Data.Test = 128, 48
	c.Batch, c.Epochs = 32, 3
	c.Optimizer.LR, c.Optimizer.FinalLR = 0.02, 0.002
	return c
}

func options(t *testing.T, store *runstore.Store) Options {
	t.Helper()
	b, err := backends.New("gorgonia")
	if err != nil {
		t.Fatal(err)
	}
	return Options{Backend: b, Store: store, Device: "cpu"}
}

func openStore(t *testing.T) *runstore.Store {
	t.Helper()
	s, err := runstore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// ignoreTiming drops the fields that measure the machine, not the run.
var ignoreTiming = cmpopts.IgnoreFields(Metrics{}, "WallSeconds", "ImagesPerSec")

func TestSameConfigGivesSameNumbersAndIsReused(t *testing.T) {
	cfg := tinyConfig()
	a, err := Run(context.Background(), cfg, options(t, openStore(t)))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Run(context.Background(), cfg, options(t, openStore(t)))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a.Metrics, b.Metrics, ignoreTiming); diff != "" {
		t.Errorf("two fresh runs of one config differ (-first +second):\n%s", diff)
	}
	ca, _ := a.Run.LoadCheckpoint()
	cb, _ := b.Run.LoadCheckpoint()
	for name, ta := range ca {
		if tb := cb[name]; tb == nil || !ta.Equal(tb) {
			t.Errorf("checkpoint tensor %s differs between identical runs", name)
		}
	}
	if a.Metrics.Steps != 12 {
		t.Errorf("steps = %d, want 3 epochs × 4", a.Metrics.Steps)
	}

	// The same config in the same store is reused, not retrained.
	store := openStore(t)
	first, err := Run(context.Background(), cfg, options(t, store))
	if err != nil {
		t.Fatal(err)
	}
	again, err := Run(context.Background(), cfg, options(t, store))
	if err != nil {
		t.Fatal(err)
	}
	if !again.Reused || again.Run.Dir != first.Run.Dir {
		t.Errorf("second run: reused=%v dir=%s, want reuse of %s", again.Reused, again.Run.Dir, first.Run.Dir)
	}
	if diff := cmp.Diff(first.Metrics, again.Metrics); diff != "" {
		t.Errorf("reused metrics differ:\n%s", diff)
	}
}

func TestInterruptedRunResumesToTheSameResult(t *testing.T) {
	cfg := tinyConfig()
	cfg.CheckpointEvery = 2
	want, err := Run(context.Background(), cfg, options(t, openStore(t)))
	if err != nil {
		t.Fatal(err)
	}

	store := openStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	opts := options(t, store)
	opts.AfterStep = func(step int64) {
		if step == 7 { // mid-epoch, one step after the checkpoint at 6
			cancel()
		}
	}
	if _, err := Run(ctx, cfg, opts); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: err = %v, want context.Canceled", err)
	}
	got, err := Run(context.Background(), cfg, options(t, store))
	if err != nil {
		t.Fatal(err)
	}
	if !got.Resumed {
		t.Error("second run did not resume from the checkpoint")
	}
	if diff := cmp.Diff(want.Metrics, got.Metrics, ignoreTiming); diff != "" {
		t.Errorf("resumed run differs from the uninterrupted one (-want +got):\n%s", diff)
	}
	rows, err := got.Run.History("step").Read()
	if err != nil || len(rows) != 3 {
		t.Errorf("history has %d rows (%v), want one per epoch", len(rows), err)
	}
}

func TestInvalidConfigFailsBeforeWork(t *testing.T) {
	store := openStore(t)
	cfg := tinyConfig()
	cfg.Model.Arch = "resnet"
	_, err := Run(context.Background(), cfg, options(t, store))
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "model.arch" {
		t.Fatalf("err = %v, want a FieldError on model.arch", err)
	}
	entries, _ := os.ReadDir(store.Root)
	if len(entries) != 0 {
		t.Errorf("an invalid config created %d run directories", len(entries))
	}
}

func TestLoadConfigFileRejectsUnknownFields(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("epochs: 2\nmodel:\n  arch: vgg-s\n"), 0o644)
	cfg, err := LoadConfigFile(good, Defaults())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Epochs != 2 || cfg.Model.Arch != "vgg-s" || cfg.Batch != Defaults().Batch {
		t.Errorf("loaded %+v", cfg)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"epocs": 2}`), 0o644)
	if _, err := LoadConfigFile(bad, Defaults()); err == nil {
		t.Error("a misspelt field was accepted")
	}
}

func TestNonFiniteLossStopsTheRunAndKeepsTheLastCheckpoint(t *testing.T) {
	cfg := tinyConfig()
	cfg.CheckpointEvery = 1
	cfg.Optimizer.Schedule, cfg.Optimizer.LR = "constant", 1e30 // diverges within a few steps
	store := openStore(t)
	_, err := Run(context.Background(), cfg, options(t, store))
	if !errors.Is(err, ErrNonFinite) {
		t.Fatalf("err = %v, want ErrNonFinite", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "at step") || !strings.Contains(msg, "last good checkpoint") {
		t.Errorf("message %q should name the step and the last good checkpoint", msg)
	}
	runs, _ := store.List()
	if len(runs) != 1 {
		t.Fatalf("%d runs", len(runs))
	}
	st, _ := runs[0].Status()
	if st.State != runstore.Failed || st.Error == "" {
		t.Errorf("status = %+v, want failed with the error", st)
	}
	if st.LastGood > 0 {
		ckpt, err := runs[0].LoadCheckpoint()
		if err != nil {
			t.Fatalf("the last good checkpoint is gone: %v", err)
		}
		for name, v := range ckpt {
			if v.DType() == tensor.Float32 {
				for _, x := range v.Float32s() {
					if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
						t.Fatalf("checkpoint tensor %s holds %v: it is not a good checkpoint", name, x)
					}
				}
			}
		}
	}
}

// A session handed over by Run (Options.KeepOpen) holds the run's final
// weights: its logits on the test split equal those of a session opened
// afresh and restored from the run's checkpoint, for a trained run and for
// a reused one.
func TestKeepOpenHandsTheRunsFinalWeights(t *testing.T) {
	cfg := tinyConfig()
	store := openStore(t)
	opts := options(t, store)
	opts.KeepOpen = true
	logits := func(s *Session) []float32 {
		t.Helper()
		out, _, err := s.ExtractOutput("logits", s.Test, 0)
		if err != nil {
			t.Fatal(err)
		}
		return out.Float32s()
	}
	fresh := func(run *runstore.Run) []float32 {
		t.Helper()
		s, err := Open(cfg, options(t, store))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.Restore(run); err != nil {
			t.Fatal(err)
		}
		return logits(s)
	}
	for _, want := range []struct {
		name   string
		reused bool
	}{{"trained", false}, {"reused", true}} {
		res, err := Run(context.Background(), cfg, opts)
		if err != nil {
			t.Fatal(err)
		}
		if res.Reused != want.reused || res.Session == nil {
			t.Fatalf("%s: reused %v, session %v; want reused %v and a session", want.name, res.Reused, res.Session, want.reused)
		}
		got := logits(res.Session)
		res.Session.Close()
		if diff := cmp.Diff(fresh(res.Run), got); diff != "" {
			t.Errorf("%s: handed-over session's logits differ from a restored session's (-restored +handed):\n%s", want.name, diff)
		}
	}
}

// TestReopenGivesTheTrainedNetwork checks that a run reopened from the store
// (on the device its manifest names) computes what the trained session did,
// and that the config read back from the manifest is the network trained.
func TestReopenGivesTheTrainedNetwork(t *testing.T) {
	cfg := tinyConfig()
	store := openStore(t)
	opts := options(t, store)
	opts.KeepOpen = true
	res, err := Run(context.Background(), cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := res.Session.ExtractOutput("logits", res.Session.Test, 0)
	res.Session.Close()
	if err != nil {
		t.Fatal(err)
	}
	run, err := runstore.Load(res.Run.Dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := RunConfig(run)
	if err != nil {
		t.Fatal(err)
	}
	// The manifest holds the run's identity, which leaves out the settings
	// of an interpretable network this one does not have; compare the rest.
	type network struct {
		Model ModelConfig
		Data  DataConfig
		Seed  uint64
	}
	if diff := cmp.Diff(network{cfg.Model, cfg.Data, cfg.Seed}, network{got.Model, got.Data, got.Seed}); diff != "" {
		t.Errorf("manifest config (-trained +read):\n%s", diff)
	}
	reopenOpts := options(t, store)
	reopenOpts.Device = ""
	sess, err := Reopen(run, got, reopenOpts)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	logits, _, err := sess.ExtractOutput("logits", sess.Test, 0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want.Float32s(), logits.Float32s()); diff != "" {
		t.Errorf("reopened logits differ from the trained session's (-trained +reopened):\n%s", diff)
	}
}
