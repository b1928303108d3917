package investigate

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/icnnlab/icnnlab/backends"
	_ "github.com/icnnlab/icnnlab/backends/gorgonia"
	"github.com/icnnlab/icnnlab/internal/cmd/cmdutil"
	"github.com/icnnlab/icnnlab/internal/cmd/iostreams"
	"github.com/icnnlab/icnnlab/internal/pluginhost"
	"github.com/icnnlab/icnnlab/internal/runstore"
	trainpkg "github.com/icnnlab/icnnlab/internal/train"
	// The reference plugins as built-ins, as in the icnnlab binary.
	_ "github.com/icnnlab/icnnlab/plugins/reference"
)

// TestMain makes this test binary serve the built-in plugins when the
// plugin host re-executes it as `<binary> plugin serve KIND/NAME`, as the
// real binary does.
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

// execute runs the command line args; runF replaces the run step.
func execute(args []string, runF func(context.Context, *InvestigateOptions) error) (string, error) {
	ios, _, out, _ := iostreams.Test()
	cmd := NewCmdInvestigate(&cmdutil.Factory{IOStreams: ios}, runF)
	cmd.SetArgs(args)
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func TestFlags(t *testing.T) {
	cases := []struct {
		args    []string
		want    *InvestigateOptions
		wantErr string
	}{
		{args: []string{"scale"}, want: &InvestigateOptions{Name: Scale, Disc: 36, Pretrained: trainpkg.PretrainedOptions{Seed: 1}}},
		{args: []string{"parts", "runs/a", "runs/b"}, want: &InvestigateOptions{Name: Parts, RunDirs: []string{"runs/a", "runs/b"}, Disc: 36, Pretrained: trainpkg.PretrainedOptions{Seed: 1}}},
		{args: []string{"part-diversity", "--disc", "48", "runs/a"}, want: &InvestigateOptions{Name: PartDiversity, RunDirs: []string{"runs/a"}, Disc: 48, Pretrained: trainpkg.PretrainedOptions{Seed: 1}}},
		{args: []string{"pretrained", "--from", "runs/a", "--runs", "pre", "--seed", "2", "--variants", "ord,l1mi"},
			want: &InvestigateOptions{Name: Pretrained, Disc: 36, Pretrained: trainpkg.PretrainedOptions{Source: "runs/a", Store: "pre", Seed: 2, Variants: []string{"ord", "l1mi"}}}},
		{args: []string{}, wantErr: "investigate takes the name of an investigation: scale, first-steps, parts, part-diversity, pretrained"},
		{args: []string{"scales"}, wantErr: `investigation "scales" is not one of scale, first-steps, parts, part-diversity, pretrained`},
		{args: []string{"parts"}, wantErr: "investigation parts takes at least one run directory"},
		{args: []string{"first-steps", "runs/a"}, wantErr: `investigation first-steps takes no run directories, got ["runs/a"]`},
		{args: []string{"parts", "--disc", "48", "runs/a"}, wantErr: "--disc does not apply to investigation parts"},
		{args: []string{"scale", "--seed", "2"}, wantErr: "--seed does not apply to investigation scale"},
		{args: []string{"part-diversity", "--disc", "0", "runs/a"}, wantErr: "--disc: 0 is not a positive number of pixels"},
		{args: []string{"pretrained", "--runs", "pre"}, wantErr: "--from: investigation pretrained needs the run to copy conv1–conv5 from"},
		{args: []string{"pretrained", "--from", "runs/a"}, wantErr: "--runs: investigation pretrained needs a run store for the new runs"},
		{args: []string{"pretrained", "--from", "runs/a", "--runs", "pre", "--variants", "ord,l2"}, wantErr: `--variants: "l2" is not one of ord, l1mi, l1none`},
		{args: []string{"scale", "--disk", "3"}, wantErr: "unknown flag: --disk"},
	}
	for _, tc := range cases {
		var got *InvestigateOptions
		_, err := execute(tc.args, func(_ context.Context, o *InvestigateOptions) error { got = o; return nil })
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: error %v, want %q", tc.args, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%q: %v", tc.args, err)
		}
		got.IO, got.PluginFlags = nil, pluginhost.Flags{}
		if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%q: options (-want +got):\n%s", tc.args, diff)
		}
	}
}

// TestPartsOnTinyRun runs the cheapest investigation end to end on a tiny
// ordinary run: its line reports the run's own test accuracy and a part
// interpretability and location instability measured through the metric
// plugins, out of process.
func TestPartsOnTinyRun(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a tiny network; skipped with -short")
	}
	cfg := trainpkg.Defaults()
	cfg.Model = trainpkg.ModelConfig{Arch: "small64", Width: 0.25, Dropout: 0.5, Loss: "logistic"}
	cfg.Data.Train, cfg.Data.Test = 96, 45 // about a third of them show the target
	cfg.Batch, cfg.Epochs = 8, 2           // enough steps that train and test accuracy differ
	store, err := runstore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b, err := backends.New("gorgonia")
	if err != nil {
		t.Fatal(err)
	}
	res, err := trainpkg.Run(context.Background(), cfg, trainpkg.Options{Backend: b, Store: store, Device: "cpu", Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	out, err := execute([]string{"parts", res.Run.Dir}, nil)
	if err != nil {
		t.Fatalf("investigate parts: %v\n%s", err, out)
	}
	line := regexp.MustCompile(`^(\S+): test accuracy (\S+), train accuracy (\S+); (\S+): part interpretability (\S+), location instability (\S+)\n$`)
	m := line.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("output %q does not match %s", out, line)
	}
	if m[1] != filepath.Base(res.Run.Dir) {
		t.Errorf("run %q, want %q", m[1], filepath.Base(res.Run.Dir))
	}
	if want := fmt.Sprintf("%.4f", res.Metrics.TestAccuracy); m[2] != want {
		t.Errorf("test accuracy %s, the run recorded %s", m[2], want)
	}
	if want := fmt.Sprintf("%.4f", res.Metrics.TrainAccuracy); m[3] != want {
		t.Errorf("train accuracy %s, the run recorded %s", m[3], want)
	}
	if m[4] != "conv4" { // small64's top conv: an ordinary run has no inserted layer
		t.Errorf("layer %s, want conv4", m[4])
	}
	for _, field := range []struct {
		name string
		text string
	}{{"part interpretability", m[5]}, {"location instability", m[6]}} {
		v, err := strconv.ParseFloat(field.text, 64)
		if err != nil || v < 0 || (field.name == "part interpretability" && v > 1) {
			t.Errorf("%s %q: want a number (in [0,1] for part interpretability)", field.name, field.text)
		}
	}
}
