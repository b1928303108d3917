package train

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"

	"github.com/icnnlab/icnnlab/internal/cmd/cmdutil"
	"github.com/icnnlab/icnnlab/internal/cmd/iostreams"
	trainpkg "github.com/icnnlab/icnnlab/internal/train"
)

// newTestCmd wraps the command in a parent with the global --backend flag,
// as the root command does.
func newTestCmd(runF func(*TrainOptions) error) *cobra.Command {
	ios, _, _, _ := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: ios}
	parent := &cobra.Command{Use: "icnnlab", SilenceErrors: true, SilenceUsage: true}
	cmdutil.AddBackendFlag(parent.PersistentFlags(), f)
	parent.AddCommand(NewCmdTrain(f, runF))
	parent.SetOut(&bytes.Buffer{})
	parent.SetErr(&bytes.Buffer{})
	return parent
}

func TestNewCmdTrain(t *testing.T) {
	dir := t.TempDir()
	configFile := filepath.Join(dir, "run.yaml")
	if err := os.WriteFile(configFile, []byte("epochs: 2\nbatch: 8\nmodel:\n  arch: small64\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	with := func(edit func(c *trainpkg.Config)) trainpkg.Config {
		c := trainpkg.Defaults()
		edit(&c)
		return c
	}
	tests := []struct {
		name        string
		args        string
		want        trainpkg.Config
		wantRuns    string
		wantBackend string
		wantErr     string
	}{
		{name: "defaults", args: "", want: trainpkg.Defaults()},
		{
			name: "flags set their fields",
			args: "--arch small64 --width 0.25 --task multi --loss softmax --categories 3 --epochs 3 --batch 16 --lr 0.02 --seed 7 --name tiny --runs " + dir,
			want: with(func(c *trainpkg.Config) {
				c.Model.Arch, c.Model.Width, c.Data.Task, c.Model.Loss, c.Data.Categories = "small64", 0.25, "multi", "softmax", 3
				c.Epochs, c.Batch, c.Optimizer.LR, c.Seed, c.Name = 3, 16, 0.02, 7, "tiny"
				c.Data.Target = "" // a multi-category task has no target
			}),
			wantRuns: dir,
		},
		{
			name: "flags override the config file",
			args: "--config " + configFile + " --epochs 5",
			want: with(func(c *trainpkg.Config) { c.Epochs, c.Batch, c.Model.Arch = 5, 8, "small64" }),
		},
		{
			name: "interpretable with plugin parameters",
			args: `--interpretable --mask euclidean --mask-params {"beta":2} --lambda 0.5`,
			want: with(func(c *trainpkg.Config) {
				c.Interpretable.Enabled, c.Interpretable.Mask, c.Interpretable.Lambda = true, "euclidean", 0.5
				c.Interpretable.MaskParams = json.RawMessage(`{"beta":2}`)
			}),
		},
		{name: "global backend flag", args: "--backend gorgonia", want: trainpkg.Defaults(), wantBackend: "gorgonia"},
		{name: "mask without interpretable", args: "--mask l1", wantErr: "--mask configure the interpretable CNN's masks and filter loss"},
		{name: "parameters are not JSON", args: "--interpretable --mask-params {beta", wantErr: `--mask-params: "{beta" is not valid JSON`},
		{name: "missing config file", args: "--config " + filepath.Join(dir, "none.yaml"), wantErr: "none.yaml"},
		{name: "resume a directory that is no run", args: "--resume " + dir, wantErr: "--resume"},
		{name: "positional argument", args: "extra", wantErr: "takes no arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *TrainOptions
			cmd := newTestCmd(func(o *TrainOptions) error { got = o; return nil })
			cmd.SetArgs(append([]string{"train"}, strings.Fields(tt.args)...))
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
			if diff := cmp.Diff(tt.want, got.Config); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
			if got.RunsDir != tt.wantRuns || got.BackendFlag != tt.wantBackend {
				t.Errorf("runs %q, backend %q; want %q, %q", got.RunsDir, got.BackendFlag, tt.wantRuns, tt.wantBackend)
			}
		})
	}
}

func TestFlagErrorsAreUsageErrors(t *testing.T) {
	cmd := newTestCmd(func(*TrainOptions) error { return nil })
	cmd.SetArgs([]string{"train", "--mask", "l1"})
	var flagErr *cmdutil.FlagError
	if err := cmd.Execute(); !errors.As(err, &flagErr) {
		t.Errorf("error %v (%T), want a *cmdutil.FlagError so the usage is shown", err, err)
	}
}
