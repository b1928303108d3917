package visualize_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/spf13/cobra"

	"github.com/icnnlab/icnnlab/internal/cmd/cmdutil"
	"github.com/icnnlab/icnnlab/internal/cmd/iostreams"
	trainCmd "github.com/icnnlab/icnnlab/internal/cmd/train"
	"github.com/icnnlab/icnnlab/internal/cmd/visualize"
	"github.com/icnnlab/icnnlab/internal/pluginhost"
	"github.com/icnnlab/icnnlab/internal/runstore"
	viz "github.com/icnnlab/icnnlab/internal/visualize"
	"github.com/icnnlab/icnnlab/plugins/visualizers/receptivefield"
	"github.com/icnnlab/icnnlab/plugins/visualizers/upconv"

	// The gorgonia backend, and the reference masks, losses and the
	// visualizers as built-ins, as in the icnnlab binary.
	"github.com/icnnlab/icnnlab/backends"
	_ "github.com/icnnlab/icnnlab/backends/gorgonia"
	"github.com/icnnlab/icnnlab/internal/data/synth"
	"github.com/icnnlab/icnnlab/internal/metricsrun"
	"github.com/icnnlab/icnnlab/internal/reproduce/execute"
	"github.com/icnnlab/icnnlab/internal/train"
	"github.com/icnnlab/icnnlab/plugins/metrics/partinterp"
	_ "github.com/icnnlab/icnnlab/plugins/reference"
)

// TestMain makes this test binary serve the built-in plugins when the
// plugin host re-executes it as `<binary> plugin serve KIND/NAME`, so the
// visualizers (and an interpretable run's mask and loss) run out of
// process exactly as they do from the real binary.
func TestMain(m *testing.M) {
	if len(os.Args) > 3 && os.Args[1] == "plugin" && os.Args[2] == "serve" {
		if err := pluginhost.ServeBuiltin(os.Args[3]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// newTestCmd wraps the command (and train, to make runs) in a parent that
// carries the global --backend flag, as the root command does.
func newTestCmd(t *testing.T, runF func(*visualize.VisualizeOptions) error) (*cobra.Command, *cmdutil.Factory, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	ios, _, out, errOut := iostreams.Test()
	f := cmdutil.New("test")
	f.IOStreams = ios
	parent := &cobra.Command{Use: "icnnlab", SilenceErrors: true, SilenceUsage: true}
	cmdutil.AddBackendFlag(parent.PersistentFlags(), f)
	parent.AddCommand(visualize.NewCmdVisualize(f, runF), trainCmd.NewCmdTrain(f, nil))
	parent.SetOut(&bytes.Buffer{})
	parent.SetErr(&bytes.Buffer{})
	return parent, f, out, errOut
}

func TestNewCmdVisualize(t *testing.T) {
	defaults := visualize.VisualizeOptions{Runs: []string{"runs/a"}, Out: "viz", Images: 300, TrainImages: 0, Filters: 8,
		PluginFlags: pluginhost.Flags{CallTimeout: 15 * time.Minute}}
	with := func(change func(*visualize.VisualizeOptions)) visualize.VisualizeOptions {
		o := defaults
		change(&o)
		return o
	}
	tests := []struct {
		name        string
		args        string
		want        visualize.VisualizeOptions
		wantBackend string
		wantErr     string
	}{
		{name: "defaults", args: "runs/a", want: defaults},
		{name: "several runs", args: "runs/a runs/b runs/c", want: with(func(o *visualize.VisualizeOptions) { o.Runs = []string{"runs/a", "runs/b", "runs/c"} })},
		{
			name: "every flag",
			args: `runs/a --out report --layer conv3 --images 0 --train-images 40 --filters 3 --device cpu --no-upconv` +
				` --rf-params {"top_images":4} --upconv-params {"steps":5} --plugin-dir /tmp/p --plugin-timeout 2m`,
			want: visualize.VisualizeOptions{Runs: []string{"runs/a"}, Out: "report", Layer: "conv3", Images: 0, TrainImages: 40, Filters: 3,
				Device: "cpu", NoUpconv: true, RFParams: `{"top_images":4}`, UpconvParam: `{"steps":5}`,
				PluginFlags: pluginhost.Flags{Dir: "/tmp/p", CallTimeout: 2 * time.Minute}},
		},
		{name: "global backend flag", args: "--backend gorgonia runs/a", want: with(func(o *visualize.VisualizeOptions) { o.BackendFlag = "gorgonia" }), wantBackend: "gorgonia"},
		{name: "no run", args: "", wantErr: "visualize takes at least one run directory"},
		{name: "zero filters", args: "runs/a --filters 0", wantErr: "--filters: 0, want at least 1"},
		{name: "negative images", args: "runs/a --images -1", wantErr: "--images: -1 is negative (0 means all)"},
		{name: "negative train images", args: "runs/a --train-images -5", wantErr: "--train-images: -5 is negative"},
		{name: "rf params not JSON", args: "runs/a --rf-params {top_images:4}", wantErr: "--rf-params: not valid JSON: {top_images:4}"},
		{name: "upconv params not JSON", args: "runs/a --upconv-params steps=5", wantErr: "--upconv-params: not valid JSON: steps=5"},
		{name: "not a number", args: "runs/a --filters many", wantErr: `invalid argument "many" for "--filters"`},
		{name: "unknown flag", args: "runs/a --colour red", wantErr: "unknown flag: --colour"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *visualize.VisualizeOptions
			cmd, f, _, _ := newTestCmd(t, func(o *visualize.VisualizeOptions) error { got = o; return nil })
			cmd.SetArgs(append([]string{"visualize"}, strings.Fields(tt.args)...))
			err := cmd.Execute()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				if got != nil {
					t.Errorf("run function was called despite the error")
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if got == nil {
				t.Fatal("run function was not called")
			}
			if diff := cmp.Diff(tt.want, *got, cmpopts.IgnoreFields(visualize.VisualizeOptions{}, "IO", "NewBackend")); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
			if got.IO == nil || got.NewBackend == nil {
				t.Errorf("IO (nil %v) and NewBackend (nil %v) not taken from the factory", got.IO == nil, got.NewBackend == nil)
			}
			if f.BackendName != tt.wantBackend {
				t.Errorf("Factory.BackendName = %q, want %q", f.BackendName, tt.wantBackend)
			}
		})
	}
}

// The flag errors are usage errors, which the root command answers with
// a hint to --help.
func TestFlagErrorsAreUsageErrors(t *testing.T) {
	cmd, _, _, _ := newTestCmd(t, func(*visualize.VisualizeOptions) error { t.Error("ran"); return nil })
	cmd.SetArgs([]string{"visualize", "runs/a", "--filters", "0"})
	var fe *cmdutil.FlagError
	if err := cmd.Execute(); !errors.As(err, &fe) {
		t.Errorf("err = %v (%T), want a *cmdutil.FlagError", err, err)
	}
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// A run directory that is missing, not a run, or not finished fails with
// an error naming the path, before anything is drawn.
func TestVisualizeBadRunDirs(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope-0123456789ab")
	file := filepath.Join(dir, "a-file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	notRun := filepath.Join(dir, "empty")
	if err := os.Mkdir(notRun, 0o755); err != nil {
		t.Fatal(err)
	}
	running := filepath.Join(dir, "running-0123456789ab")
	writeJSON(t, filepath.Join(running, "manifest.json"), map[string]any{"name": "running"})
	writeJSON(t, filepath.Join(running, "status.json"), runstore.Status{State: runstore.Running, Step: 12})
	failed := filepath.Join(dir, "failed-0123456789ab")
	writeJSON(t, filepath.Join(failed, "manifest.json"), map[string]any{"name": "failed"})
	writeJSON(t, filepath.Join(failed, "status.json"), runstore.Status{State: runstore.Failed, Step: 3, Error: "loss is NaN"})
	noStatus := filepath.Join(dir, "nostatus-0123456789ab")
	writeJSON(t, filepath.Join(noStatus, "manifest.json"), map[string]any{"name": "nostatus"})

	for _, tc := range []struct {
		name string
		run  string
		want []string
	}{
		{"missing", missing, []string{"visualize " + missing + ": no run directory", missing, "no such file or directory"}},
		{"a file", file, []string{file + " is not a run directory but a file"}},
		{"no manifest", notRun, []string{"not a run directory", filepath.Join(notRun, "manifest.json")}},
		{"no status", noStatus, []string{"run status", filepath.Join(noStatus, "status.json")}},
		{"running", running, []string{"run is not finished", filepath.Join(running, "status.json") + ` says state "running" at step 12`,
			"icnnlab train --resume " + running}},
		{"failed", failed, []string{filepath.Join(failed, "status.json") + ` says state "failed" at step 3: loss is NaN`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "viz")
			cmd, _, stdout, _ := newTestCmd(t, nil)
			cmd.SetArgs([]string{"visualize", tc.run, "--out", out})
			err := cmd.Execute()
			if err == nil {
				t.Fatalf("visualize %s succeeded: %s", tc.run, stdout)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if _, err := os.Stat(filepath.Join(out, viz.ReportFile)); err == nil {
				t.Errorf("a report was written despite the error")
			}
		})
	}
}

// tinyInterpretable is an interpretable small64 run of 2 epochs × 4 steps
// on the multi-category synthetic world: a few seconds.
var tinyInterpretable = []string{"train", "--arch", "small64", "--width", "0.25", "--task", "multi", "--loss", "softmax",
	"--categories", "3", "--train-samples", "128", "--test-samples", "48", "--epochs", "2", "--name", "tiny",
	"--threads", "1", "--interpretable", "--mask", "l1", "--filter-loss", "mi"}

var imgSrc = regexp.MustCompile(`<img src="([^"]+)"`)

// End to end: train a tiny interpretable run, visualize it with a tiny
// decoder, and check that the report and every picture it shows exist and
// that the plugins' summaries hold what the report says.
func TestVisualizeEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a tiny network; skipped with -short")
	}
	store := t.TempDir()
	cmd, _, _, errOut := newTestCmd(t, nil)
	cmd.SetArgs(append(tinyInterpretable, "--runs", store))
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("train: %v\n%s", err, errOut)
	}
	runs, _ := filepath.Glob(filepath.Join(store, "tiny-*"))
	if len(runs) != 1 {
		t.Fatalf("want one run in %s, found %v", store, runs)
	}
	run := runs[0]

	out := filepath.Join(t.TempDir(), "viz")
	cmd, _, stdout, errOut := newTestCmd(t, nil)
	cmd.SetArgs([]string{"visualize", run, "--out", out, "--filters", "2", "--images", "24", "--train-images", "32",
		"--rf-params", `{"top_images": 3}`,
		"--upconv-params", `{"steps": 3, "batch": 8, "hidden": 8, "peaks": 8, "patterns": 2, "patches": 2, "examples": 2}`})
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("visualize: %v\nstderr:\n%s", err, errOut)
	}
	report := filepath.Join(out, viz.ReportFile)
	if got, want := stdout.String(), "wrote "+report+"\n"; got != want {
		t.Errorf("stdout %q, want %q", got, want)
	}
	html, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	page := string(html)
	name := filepath.Base(run)
	for _, want := range []string{
		"<title>icnnlab visualization: " + name + "</title>",
		"interpretable (mask l1, loss mi) small64, multi, seed 1",
		"<h3>Layer conv_interp</h3>",
		"24 test images (held out from the decoder), 32 training images for the decoder",
		"32 images and their mirror images, 3 Adam steps, backend gorgonia",
		`<svg xmlns="http://www.w3.org/2000/svg" class="coverage"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if n := strings.Count(page, `<div class="card"`); n != 2 {
		t.Errorf("%d filter cards, want 2 (--filters 2)", n)
	}
	// Each card counts the categories of its 3 top images.
	if n := len(regexp.MustCompile(`top images: [a-z]+ [123](, [a-z]+ [12])*( &middot;|</div>)`).FindAllString(page, -1)); n != 2 {
		t.Errorf("%d cards say which categories their top images are, want 2", n)
	}
	// Every picture the page shows is a PNG next to it.
	srcs := imgSrc.FindAllStringSubmatch(page, -1)
	for _, m := range srcs {
		f, err := os.Open(filepath.Join(out, filepath.FromSlash(m[1])))
		if err != nil {
			t.Errorf("report shows a missing image: %v", err)
			continue
		}
		if _, err := png.DecodeConfig(f); err != nil {
			t.Errorf("%s: %v", m[1], err)
		}
		f.Close()
	}

	var rf receptivefield.Summary
	if err := runstore.ReadJSON(filepath.Join(out, name, receptivefield.Dir, "summary.json"), &rf); err != nil {
		t.Fatal(err)
	}
	if len(rf.Filters) != 32 || len(rf.Drawn) != 2 || rf.TopImages != 3 || rf.Heatmap == "" {
		t.Errorf("receptive-field summary: %d filters, drawn %v, top images %d, heat map %q; want 32, 2 drawn, 3, a heat map",
			len(rf.Filters), rf.Drawn, rf.TopImages, rf.Heatmap)
	}
	// Reconstructions, mean image, 2 cards × (overlays, patterns, top
	// patches of a filter that fires), and the gallery's patch strips.
	pu := rf.Purity
	if pu == nil || pu.Peaks != 20 || len(pu.Filters) != 32 {
		t.Fatalf("receptive-field summary's purity %+v, want 32 filters scored on 20 peaks", pu)
	}
	want := 2 + 2*2
	for _, f := range rf.Drawn {
		if pu.Filters[f].Image != "" {
			want++
		}
	}
	for _, part := range pu.Parts {
		for _, f := range part.Filters {
			if pu.Filters[f].Image != "" {
				want++
			}
		}
	}
	if len(srcs) != want {
		t.Errorf("%d images in the report, want %d", len(srcs), want)
	}
	var nums viz.Numbers
	if err := runstore.ReadJSON(filepath.Join(out, viz.NumbersFile), &nums); err != nil {
		t.Fatal(err)
	}
	if len(nums.Runs) != 1 || nums.Runs[0].PatternPurity == nil || *nums.Runs[0].PatternPurity != pu.Mean ||
		nums.Runs[0].Decoder == nil || nums.Runs[0].Decoder.Steps != 3 || len(nums.Runs[0].Decoder.Losses) != 3 || nums.Runs[0].Decoder.LossEvery != 1 {
		t.Errorf("%s: %+v, want one run with the summary's purity %v and a 3-step decoder with its 3 losses", viz.NumbersFile, nums, pu.Mean)
	} else if d := nums.Runs[0].Decoder; d.Object == nil || d.Background == nil || math.Abs(d.Object.Share+d.Background.Share-1) > 1e-9 || !d.Mirrored {
		t.Errorf("%s: decoder error on the object %+v and the background %+v, mirrored %v; want both, their shares adding to 1, trained on the mirror images too (the default)", viz.NumbersFile, d.Object, d.Background, d.Mirrored)
	}
	if !strings.Contains(page, fmt.Sprintf("<td>%.3f (%d filters fire, K = 20)</td>", pu.Mean, pu.Firing)) {
		t.Errorf("the report does not show the summary's pattern purity %.3f", pu.Mean)
	}
	for _, f := range rf.Drawn {
		if !strings.Contains(page, fmt.Sprintf(`id="run-0-filter-%d"`, f)) || !strings.Contains(page, fmt.Sprintf(`href="#run-0-filter-%d"`, f)) {
			t.Errorf("filter %d is drawn but has no card linked from the coverage map", f)
		}
	}
	var up upconv.Summary
	if err := runstore.ReadJSON(filepath.Join(out, name, upconv.Dir, "summary.json"), &up); err != nil {
		t.Fatal(err)
	}
	if up.HeldOut.Images != 24 || up.TrainImages != 32 || up.Steps != 3 || len(up.Filters) != 2 {
		t.Errorf("upconv summary: %d held out, %d training images, %d steps, %d filters; want 24, 32, 3, 2",
			up.HeldOut.Images, up.TrainImages, up.Steps, len(up.Filters))
	}
	if !(up.HeldOut.MSE > 0 && up.HeldOut.BaselineMSE > 0) || math.IsInf(up.HeldOut.MSE, 0) {
		t.Errorf("held-out MSE %v, baseline %v: want positive and finite", up.HeldOut.MSE, up.HeldOut.BaselineMSE)
	}
	if !strings.Contains(page, fmt.Sprintf("%.4f on 24 images", up.HeldOut.MSE)) {
		t.Errorf("the report does not show the summary's held-out MSE %.4f", up.HeldOut.MSE)
	}
	// conv_interp is read after its mask: the page says what that leaves
	// the decoder, with the summary's share of zero values.
	if z := up.HeldOut.ZeroFeatures; !(z > 0 && z < 1) || !strings.Contains(page, fmt.Sprintf("which silences each filter away from its strongest place (%.0f %% of the held-out values are zero)", 100*z)) {
		t.Errorf("the report does not say what the masked layer leaves the decoder (%v zeros)", z)
	}
	// The report scores through the metric plugins on the whole test split
	// as the tables do (reproduce's measure): the same P_f for every filter.
	var reported partinterp.Result
	if err := runstore.ReadJSON(filepath.Join(out, name, viz.ScoresFile), &reported); err != nil {
		t.Fatal(err)
	}
	tables := tablesPartInterpretability(t, run)
	if diff := cmp.Diff(tables, &reported); diff != "" {
		t.Errorf("the report's part interpretability differs from the tables' (-tables +report):\n%s", diff)
	}
	if !strings.Contains(page, fmt.Sprintf("<td>%.3f</td>", tables.Mean)) {
		t.Errorf("the report does not show the tables' mean P_f %.3f", tables.Mean)
	}
	// A finished run is read, never written.
	var st runstore.Status
	if err := runstore.ReadJSON(filepath.Join(run, "status.json"), &st); err != nil || st.State != runstore.Done {
		t.Errorf("run status after visualize: %+v, %v", st, err)
	}
}

// tablesPartInterpretability measures a run's part interpretability the
// way reproduce's tables do: the evaluated layer on the whole test split,
// through the out-of-process metric plugin, with the plugin's default
// parameters (visualize's without a scale).
func tablesPartInterpretability(t *testing.T, dir string) *partinterp.Result {
	t.Helper()
	run, err := runstore.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	var cfg train.Config
	if err := json.Unmarshal(run.Manifest.Config, &cfg); err != nil {
		t.Fatal(err)
	}
	b, err := backends.New(run.Manifest.Backend)
	if err != nil {
		t.Fatal(err)
	}
	host := pluginhost.New(pluginhost.Options{})
	defer host.Close()
	sess, err := train.Open(cfg, train.Options{Backend: b, Plugins: host})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	if err := sess.Restore(run); err != nil {
		t.Fatal(err)
	}
	layer := execute.EvaluatedLayer(sess)
	info, _ := sess.Model.Layer(layer)
	acts, _, err := sess.Extract(layer, sess.Test, 0)
	if err != nil {
		t.Fatal(err)
	}
	task := sess.Test.(*synth.Task)
	samples := make([]*synth.Sample, task.Len())
	for i := range samples {
		if samples[i], err = task.Sample(i); err != nil {
			t.Fatal(err)
		}
	}
	size := sess.Test.ImageSize()
	res, err := metricsrun.PartInterpretability(context.Background(), host, acts, synth.Annotations(samples),
		info.RF.Geometry(size, size), cfg.Data.Task, sess.Test.ClassNames(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}
