package eval

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/spf13/cobra"

	"github.com/icnnlab/icnnlab/internal/cmd/cmdutil"
	"github.com/icnnlab/icnnlab/internal/cmd/iostreams"
	trainCmd "github.com/icnnlab/icnnlab/internal/cmd/train"
	"github.com/icnnlab/icnnlab/internal/pluginhost"
	trainpkg "github.com/icnnlab/icnnlab/internal/train"
	"github.com/icnnlab/icnnlab/sdk/tensor"

	_ "github.com/icnnlab/icnnlab/backends/gorgonia"
)

// newTestCmd wraps eval (and train, to make a run) in a parent with the
// global --backend flag, as the root command does.
func newTestCmd(runF func(*EvalOptions) error) (*cobra.Command, *bytes.Buffer, *bytes.Buffer) {
	ios, _, out, errOut := iostreams.Test()
	f := cmdutil.New("test")
	f.IOStreams = ios
	parent := &cobra.Command{Use: "icnnlab", SilenceErrors: true, SilenceUsage: true}
	cmdutil.AddBackendFlag(parent.PersistentFlags(), f)
	parent.AddCommand(NewCmdEval(f, runF), trainCmd.NewCmdTrain(f, nil))
	parent.SetOut(&bytes.Buffer{})
	parent.SetErr(&bytes.Buffer{})
	return parent, out, errOut
}

func TestNewCmdEval(t *testing.T) {
	defaults := EvalOptions{RunDir: "runs/r", Split: "test", PluginFlags: pluginhost.Flags{CallTimeout: pluginhost.DefaultCallTimeout}}
	with := func(edit func(o *EvalOptions)) EvalOptions {
		o := defaults
		edit(&o)
		return o
	}
	tests := []struct {
		name    string
		args    string
		want    EvalOptions
		wantErr string
	}{
		{name: "defaults", args: "runs/r", want: defaults},
		{
			name: "extract a layer",
			args: "runs/r --layer conv5 --out c.npy --split train --limit 8 --pre-mask --device cpu --json",
			want: with(func(o *EvalOptions) {
				o.Layer, o.Out, o.Split, o.Limit, o.PreMask, o.Device, o.JSON = "conv5", "c.npy", "train", 8, true, "cpu", true
			}),
		},
		{name: "global backend flag", args: "runs/r --backend gorgonia", want: with(func(o *EvalOptions) { o.BackendFlag = "gorgonia" })},
		{name: "no run", args: "", wantErr: "eval takes one run directory, got 0 arguments"},
		{name: "two runs", args: "a b", wantErr: "got 2 arguments"},
		{name: "layer without out", args: "runs/r --layer conv5", wantErr: "--layer and --out go together"},
		{name: "out without layer", args: "runs/r --out c.npy", wantErr: "--layer and --out go together"},
		{name: "pre-mask alone", args: "runs/r --pre-mask", wantErr: "--pre-mask needs --layer and --out"},
		{name: "bad split", args: "runs/r --split val", wantErr: `--split: "val" is not one of train, test`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *EvalOptions
			cmd, _, _ := newTestCmd(func(o *EvalOptions) error { got = o; return nil })
			cmd.SetArgs(append([]string{"eval"}, strings.Fields(tt.args)...))
			err := cmd.Execute()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				if got != nil {
					t.Error("run function was called despite the error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(&tt.want, got, cmpopts.IgnoreFields(EvalOptions{}, "IO", "NewBackend")); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
		})
	}
}

// End to end: train a tiny ordinary run, evaluate it (the metrics agree
// with the run's own) and extract a layer with its labels.
func TestEvalEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a tiny network; skipped with -short")
	}
	store := t.TempDir()
	cmd, trainOut, errOut := newTestCmd(nil)
	cmd.SetArgs([]string{"train", "--arch", "small64", "--width", "0.25", "--task", "multi", "--loss", "softmax",
		"--categories", "3", "--train-samples", "64", "--test-samples", "24", "--epochs", "1", "--batch", "16",
		"--name", "tiny", "--threads", "1", "--runs", store, "--json"})
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("train: %v\n%s", err, errOut)
	}
	var result struct {
		Run     string           `json:"run"`
		Metrics trainpkg.Metrics `json:"metrics"`
	}
	if err := json.Unmarshal(trainOut.Bytes(), &result); err != nil {
		t.Fatalf("train --json: %v\n%s", err, trainOut)
	}
	trained := result.Metrics
	runs, _ := filepath.Glob(filepath.Join(store, "tiny-*"))
	if len(runs) != 1 || runs[0] != result.Run {
		t.Fatalf("want the one run %s in %s, found %v", result.Run, store, runs)
	}

	out := filepath.Join(t.TempDir(), "conv4.npy")
	cmd, evalOut, errOut := newTestCmd(nil)
	cmd.SetArgs([]string{"eval", runs[0], "--layer", "conv4", "--out", out, "--limit", "10", "--json"})
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("eval: %v\n%s", err, errOut)
	}
	var got trainpkg.Metrics
	if err := json.Unmarshal(evalOut.Bytes(), &got); err != nil {
		t.Fatalf("eval --json: %v\n%s", err, evalOut)
	}
	if got.TestAccuracy != trained.TestAccuracy || got.TestLoss != trained.TestLoss || got.TestImages != 24 {
		t.Errorf("eval: accuracy %v, loss %v on %d images; training reported %v, %v on 24",
			got.TestAccuracy, got.TestLoss, got.TestImages, trained.TestAccuracy, trained.TestLoss)
	}
	acts, err := tensor.LoadNPY(out)
	if err != nil {
		t.Fatal(err)
	}
	if s := acts.Shape(); len(s) != 4 || s[0] != 10 {
		t.Errorf("activations %v, want [10,C,H,W]", s)
	}
	labels, err := tensor.LoadNPY(out + ".labels.npy")
	if err != nil {
		t.Fatal(err)
	}
	if labels.DType() != tensor.Int64 || labels.Len() != 10 {
		t.Errorf("labels %v %v, want int64 [10]", labels.DType(), labels.Shape())
	}
	if !strings.Contains(errOut.String(), "saved conv4 activations") {
		t.Errorf("stderr %q does not say what was saved", errOut)
	}
}
