package bench

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/icnnlab/icnnlab/internal/pluginhost"
	"github.com/spf13/cobra"

	"github.com/icnnlab/icnnlab/internal/cmd/cmdutil"
	"github.com/icnnlab/icnnlab/internal/cmd/iostreams"
)

// newTestCmd wraps the bench command in a parent that carries the global
// --backend flag, as the root command does.
func newTestCmd(t *testing.T, runF func(*BenchOptions) error) (*cobra.Command, *cmdutil.Factory) {
	t.Helper()
	ios, _, _, _ := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: ios}
	parent := &cobra.Command{Use: "icnnlab", SilenceErrors: true, SilenceUsage: true}
	cmdutil.AddBackendFlag(parent.PersistentFlags(), f)
	parent.AddCommand(NewCmdBench(f, runF))
	parent.SetOut(&bytes.Buffer{})
	parent.SetErr(&bytes.Buffer{})
	return parent, f
}

func TestNewCmdBench(t *testing.T) {
	defaults := BenchOptions{Workload: "small64", Batch: 32, Warmup: 3, Steps: 20, Interpretable: "auto",
		PluginFlags: pluginhost.Flags{CallTimeout: pluginhost.DefaultCallTimeout}}
	tests := []struct {
		name        string
		args        string
		want        BenchOptions
		wantBackend string
		wantErr     string
	}{
		{name: "defaults", args: "", want: defaults},
		{
			name: "every flag",
			args: "--workload vgg16-224 --batch 8 --warmup 0 --steps 5 --threads 2 --device cpu --interpretable false --json --autocast bf16 --channels-last --cpuprofile p.prof",
			want: BenchOptions{Workload: "vgg16-224", Batch: 8, Warmup: 0, Steps: 5, Threads: 2, Device: "cpu", Interpretable: "false", JSON: true,
				Autocast: "bf16", ChannelsLast: true, CPUProfile: "p.prof",
				PluginFlags: pluginhost.Flags{CallTimeout: pluginhost.DefaultCallTimeout}},
		},
		{name: "global backend flag", args: "--backend gorgonia --steps 2", want: withSteps(defaults, 2), wantBackend: "gorgonia"},
		{name: "interpretable true parses", args: "--interpretable true", want: withInterpretable(defaults, "true")},
		{name: "bad autocast", args: "--autocast fp8", wantErr: `--autocast: "fp8" is not one of bf16, fp16`},
		{name: "unknown workload", args: "--workload resnet", wantErr: `--workload: "resnet" is not one of small64, vgg16-224`},
		{name: "bad interpretable", args: "--interpretable yes", wantErr: `--interpretable: "yes" is not one of auto, true, false`},
		{name: "zero steps", args: "--steps 0", wantErr: "--steps: 0; at least one timed step is needed"},
		{name: "zero batch", args: "--batch 0", wantErr: "--batch: 0 is not a positive batch size"},
		{name: "negative warmup", args: "--warmup -1", wantErr: "--warmup: -1 is negative"},
		{name: "negative threads", args: "--threads -2", wantErr: "--threads: -2 is negative"},
		{name: "positional argument", args: "small64", wantErr: `takes no arguments`},
		{name: "not a number", args: "--steps many", wantErr: `invalid argument "many" for "--steps"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *BenchOptions
			cmd, f := newTestCmd(t, func(o *BenchOptions) error { got = o; return nil })
			cmd.SetArgs(append([]string{"bench"}, strings.Fields(tt.args)...))
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
			if diff := cmp.Diff(tt.want, *got, cmpopts.IgnoreFields(BenchOptions{}, "IO", "Backend")); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
			if f.BackendName != tt.wantBackend {
				t.Errorf("Factory.BackendName = %q, want %q", f.BackendName, tt.wantBackend)
			}
		})
	}
}

func withSteps(o BenchOptions, steps int) BenchOptions { o.Steps = steps; return o }
func withInterpretable(o BenchOptions, v string) BenchOptions {
	o.Interpretable = v
	return o
}
