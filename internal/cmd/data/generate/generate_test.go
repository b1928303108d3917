package generate

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/spf13/cobra"

	"github.com/icnnlab/icnnlab/internal/cmd/cmdutil"
	"github.com/icnnlab/icnnlab/internal/cmd/data/world"
	"github.com/icnnlab/icnnlab/internal/cmd/iostreams"
	"github.com/icnnlab/icnnlab/internal/data/synth"
)

func newTestCmd(runF func(*GenerateOptions) error) (*cobra.Command, *bytes.Buffer) {
	ios, _, out, _ := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: ios}
	parent := &cobra.Command{Use: "icnnlab", SilenceErrors: true, SilenceUsage: true}
	parent.AddCommand(NewCmdGenerate(f, runF))
	parent.SetOut(&bytes.Buffer{})
	parent.SetErr(&bytes.Buffer{})
	return parent, out
}

func TestNewCmdGenerate(t *testing.T) {
	d := synth.DefaultConfig()
	defaults := world.Flags{Size: d.Size, Categories: d.Categories, Difficulty: d.Difficulty, Clutter: -1, Occlusion: -1, Seed: d.Seed}
	tests := []struct {
		name    string
		args    string
		want    GenerateOptions
		wantErr string
	}{
		{name: "defaults", args: "--out w", want: GenerateOptions{World: defaults, Out: "w", N: 64}},
		{
			name: "every flag",
			args: "--out w --n 3 --size 32 --categories 2 --difficulty 0.2 --clutter 0.1 --occlusion 0 --seed 9",
			want: GenerateOptions{World: world.Flags{Size: 32, Categories: 2, Difficulty: 0.2, Clutter: 0.1, Occlusion: 0, Seed: 9}, Out: "w", N: 3},
		},
		{name: "no out", args: "", wantErr: "--out is required"},
		{name: "zero samples", args: "--out w --n 0", wantErr: "--n: 0 must be at least 1"},
		{name: "positional argument", args: "--out w extra", wantErr: "takes no arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *GenerateOptions
			cmd, _ := newTestCmd(func(o *GenerateOptions) error { got = o; return nil })
			cmd.SetArgs(append([]string{"generate"}, strings.Fields(tt.args)...))
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
			if diff := cmp.Diff(&tt.want, got, cmpopts.IgnoreFields(GenerateOptions{}, "IO")); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGenerateWritesTheWorld(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "world")
	cmd, out := newTestCmd(nil)
	cmd.SetArgs([]string{"generate", "--out", dir, "--n", "2", "--size", "32", "--categories", "2"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if want := "wrote 2 samples to " + dir; !strings.Contains(out.String(), want) {
		t.Errorf("stdout %q, want it to contain %q", out.String(), want)
	}
	for _, f := range []string{"annotations.json", "annotations.csv", "images/000000.png", "images/000001.png", "masks/000001.png", "labels/000001.png"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s missing or empty: %v", f, err)
		}
	}
}

func TestGenerateRefusesABadWorld(t *testing.T) {
	cmd, _ := newTestCmd(nil)
	cmd.SetArgs([]string{"generate", "--out", t.TempDir(), "--difficulty", "2"})
	err := cmd.Execute()
	var flagErr *cmdutil.FlagError
	if err == nil || !strings.Contains(err.Error(), "difficulty") || !errors.As(err, &flagErr) {
		t.Errorf("error %v, want a flag error naming the difficulty", err)
	}
}
