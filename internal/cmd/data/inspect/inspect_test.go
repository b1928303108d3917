package inspect

import (
	"bytes"
	"image/png"
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

func newTestCmd(runF func(*InspectOptions) error) (*cobra.Command, *bytes.Buffer) {
	ios, _, out, _ := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: ios}
	parent := &cobra.Command{Use: "icnnlab", SilenceErrors: true, SilenceUsage: true}
	parent.AddCommand(NewCmdInspect(f, runF))
	parent.SetOut(&bytes.Buffer{})
	parent.SetErr(&bytes.Buffer{})
	return parent, out
}

func TestNewCmdInspect(t *testing.T) {
	d := synth.DefaultConfig()
	defaults := world.Flags{Size: d.Size, Categories: d.Categories, Difficulty: d.Difficulty, Clutter: -1, Occlusion: -1, Seed: d.Seed}
	tests := []struct {
		name    string
		args    string
		want    InspectOptions
		wantErr string
	}{
		{name: "defaults", args: "", want: InspectOptions{World: defaults, Out: "contact-sheet.png", N: 24, Cols: 4}},
		{
			name: "every flag",
			args: "--out s.png --n 6 --cols 3 --start 10 --crop --size 48 --seed 2",
			want: InspectOptions{World: withSizeSeed(defaults, 48, 2), Out: "s.png", N: 6, Cols: 3, Start: 10, Crop: true},
		},
		{name: "zero samples", args: "--n 0", wantErr: "--n: 0 must be at least 1"},
		{name: "zero columns", args: "--cols 0", wantErr: "--cols: 0 must be at least 1"},
		{name: "negative start", args: "--start -1", wantErr: "--start: -1 is negative"},
		{name: "positional argument", args: "sheet.png", wantErr: "takes no arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *InspectOptions
			cmd, _ := newTestCmd(func(o *InspectOptions) error { got = o; return nil })
			cmd.SetArgs(append([]string{"inspect"}, strings.Fields(tt.args)...))
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
			if diff := cmp.Diff(&tt.want, got, cmpopts.IgnoreFields(InspectOptions{}, "IO")); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
		})
	}
}

func withSizeSeed(w world.Flags, size int, seed uint64) world.Flags {
	w.Size, w.Seed = size, seed
	return w
}

func TestInspectDrawsASheet(t *testing.T) {
	sheet := filepath.Join(t.TempDir(), "sub", "sheet.png")
	cmd, out := newTestCmd(nil)
	cmd.SetArgs([]string{"inspect", "--out", sheet, "--n", "3", "--cols", "2", "--size", "32", "--crop"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(sheet)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil {
		t.Fatal(err)
	}
	if want := "wrote " + sheet; !strings.HasPrefix(out.String(), want) || !strings.Contains(out.String(), "3 samples") {
		t.Errorf("stdout %q, want %q … 3 samples", out.String(), want)
	}
	if cfg.Width == 0 || cfg.Height == 0 || cfg.Height >= cfg.Width*2 {
		t.Errorf("sheet is %dx%d: want two columns of cells, wider than half its height", cfg.Width, cfg.Height)
	}
}
