package train

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// A fine-tuned run starts from the pretrained run's conv layers, with a
// fresh head and a fresh inserted conv, and records the pretrained run's
// key (never a path) in its identity.
func TestInitFromCopiesConvLayers(t *testing.T) {
	store := openStore(t)
	opts := options(t, store)
	pre, err := Run(context.Background(), tinyConfig(), opts)
	if err != nil {
		t.Fatal(err)
	}
	cfg := tinyConfig()
	cfg.Data.Task, cfg.Data.Target, cfg.Model.Loss = "single", "bird", "logistic"
	cfg.InitFrom = pre.Run.Dir // a directory is resolved to the run's key
	sess, err := Open(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	src, err := FindRun(store, cfg.InitFrom)
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := sess.Exec.Read("fc2/w")
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.initFrom(src); err != nil {
		t.Fatal(err)
	}
	ckpt, err := pre.Run.LoadCheckpoint()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"conv1/w", "conv1/b", "conv4/w"} {
		got, err := sess.Exec.Read(name)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Equal(ckpt[name]) {
			t.Errorf("%s was not copied from the pretrained run", name)
		}
	}
	if head, _ := sess.Exec.Read("fc2/w"); !head.Equal(fresh) {
		t.Errorf("the head changed: it must start fresh")
	}

	res, err := Run(context.Background(), cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(res.Run.Manifest.Config), `"init_from":"`+pre.Run.Manifest.Key+`"`) {
		t.Errorf("manifest config %s: want init_from = the pretrained run's key %s", res.Run.Manifest.Config, pre.Run.Manifest.Key)
	}
	// The key, the directory name and the directory all find the run.
	for _, ref := range []string{pre.Run.Manifest.Key, pre.Run.Dir} {
		if r, err := FindRun(store, ref); err != nil || r.Dir != pre.Run.Dir {
			t.Errorf("FindRun(%q) = %v, %v; want %s", ref, r, err, pre.Run.Dir)
		}
	}
	if _, err := FindRun(store, "no-such-run"); err == nil {
		t.Errorf("FindRun of an unknown run succeeded")
	}
}

// The authors' fine-tuning schedule: a log decay over DecayEpochs, then flat.
func TestLearningRateDecayThenFlat(t *testing.T) {
	o := OptimizerConfig{LR: 0.01, FinalLR: 0.001, Schedule: "log", DecayEpochs: 2}
	var got []float64
	for step := int64(0); step < 8; step++ {
		got = append(got, round6(o.LearningRateAt(step, 8, 2)))
	}
	// 4 decay steps from 0.01 to 0.001 geometrically, then 0.001.
	want := []float64{0.01, 0.004642, 0.002154, 0.001, 0.001, 0.001, 0.001, 0.001}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("learning rates (-want +got):\n%s", diff)
	}
	o.DecayEpochs = 0
	if lr := o.LearningRateAt(7, 8, 2); round6(lr) != 0.001 || round6(o.LearningRateAt(3, 8, 2)) == 0.001 {
		t.Errorf("without decay_epochs the decay must span all steps")
	}
}

func round6(v float64) float64 { return float64(int64(v*1e6+0.5)) / 1e6 }

// An executor that runs one planned run at a time finds a finished
// pretraining run by its config, and nothing for a config never trained.
func TestFinishedRun(t *testing.T) {
	store := openStore(t)
	opts := options(t, store)
	cfg := tinyConfig()
	if r, err := FinishedRun(cfg, opts); err != nil || r != nil {
		t.Fatalf("before training: %v, %v; want none", r, err)
	}
	res, err := Run(context.Background(), cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := FinishedRun(cfg, opts); err != nil || r == nil || r.Dir != res.Run.Dir {
		t.Errorf("after training: %v, %v; want %s", r, err, res.Run.Dir)
	}
	other := cfg
	other.Seed = 9
	if r, _ := FinishedRun(other, opts); r != nil {
		t.Errorf("another seed found %s", r.Dir)
	}
}

// An untrained control (epochs: 0) is a finished run whose checkpoint holds
// its initialisation: the pretrained conv layers as copied, the inserted
// conv and the head as the seed drew them, with both splits' accuracy of
// those weights and no history.
func TestUntrainedControlKeepsInitialWeights(t *testing.T) {
	store := openStore(t)
	opts := options(t, store)
	opts.Plugins = newPluginHost(t)
	pre, err := Run(context.Background(), tinyConfig(), opts)
	if err != nil {
		t.Fatal(err)
	}
	cfg := tinyConfig()
	cfg.Data.Task, cfg.Data.Target, cfg.Model.Loss = "single", "bird", "logistic"
	cfg.Interpretable.Enabled = true
	cfg.InitFrom = pre.Run.Manifest.Key
	cfg.Epochs = 0
	fresh, err := Open(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	freshHead, err := fresh.Exec.Read("fc2/w")
	if err != nil {
		t.Fatal(err)
	}

	res, err := Run(context.Background(), cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	ckpt, err := res.Run.LoadCheckpoint()
	if err != nil {
		t.Fatal(err)
	}
	pretrained, err := pre.Run.LoadCheckpoint()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"conv1/w", "conv4/w"} {
		if !ckpt[name].Equal(pretrained[name]) {
			t.Errorf("%s differs from the pretrained run's: the control must keep it as copied", name)
		}
	}
	if !ckpt["fc2/w"].Equal(freshHead) {
		t.Errorf("fc2/w differs from its initialisation: the control must not train")
	}
	m := res.Metrics
	if m.Steps != 0 || m.Epochs != 0 {
		t.Errorf("steps %d, epochs %d; want 0, 0", m.Steps, m.Epochs)
	}
	if m.TestImages != fresh.Test.Len() || m.TrainAccuracy <= 0 || m.TestAccuracy <= 0 || m.TrainLoss <= 0 {
		t.Errorf("metrics %+v: want both splits scored", m)
	}
	rows, err := res.Run.History().Read()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 0 {
		t.Errorf("history has %d rows, want none", len(rows))
	}
	again, err := Run(context.Background(), cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Reused || again.Metrics != m {
		t.Errorf("second run: reused %v, metrics %+v; want the first run reused with %+v", again.Reused, again.Metrics, m)
	}
}
