package train

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/icnnlab/icnnlab/internal/cmd/cmdutil"
	"github.com/icnnlab/icnnlab/internal/cmd/iostreams"
)

// Mask and filter-loss options configure the interpretable CNN only:
// without --interpretable they are an error naming them, never silently
// ignored while an ordinary network trains.
func TestInterpretableOptionsNeedInterpretable(t *testing.T) {
	dir := t.TempDir()
	sweep := filepath.Join(dir, "sweep.yaml")
	if err := os.WriteFile(sweep, []byte("interpretable:\n  lambda: 0.5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	enabled := filepath.Join(dir, "enabled.yaml")
	if err := os.WriteFile(enabled, []byte("interpretable:\n  enabled: true\n  lambda: 0.5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		wantErr string // "" means accepted
	}{
		{"loss and bad params", []string{"--filter-loss", "peakiness", "--filter-loss-params", `{"bogus": 1}`},
			"--filter-loss, --filter-loss-params configure the interpretable CNN's masks and filter loss, which this network does not have: add --interpretable"},
		{"mask", []string{"--mask", "l1"}, "--mask configure"},
		{"mask params", []string{"--mask-params", `{"beta": 2}`}, "--mask-params configure"},
		{"lambda", []string{"--lambda", "0.5", "--lambda-schedule", "constant"}, "--lambda, --lambda-schedule configure"},
		{"config file", []string{"--config", sweep}, "interpretable.lambda (config) configure"},
		{"config file enabled", []string{"--config", enabled}, ""},
		{"interpretable", []string{"--interpretable", "--filter-loss", "peakiness", "--filter-loss-params", `{"bogus": 1}`}, ""},
		{"ordinary", []string{"--epochs", "2"}, ""},
		{"invalid JSON", []string{"--interpretable", "--filter-loss-params", `{bad}`}, `--filter-loss-params: "{bad}" is not valid JSON`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, _ := iostreams.Test()
			var got *TrainOptions
			cmd := NewCmdTrain(&cmdutil.Factory{IOStreams: ios}, func(o *TrainOptions) error { got = o; return nil })
			cmd.SetArgs(tt.args)
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			err := cmd.Execute()
			if tt.wantErr == "" {
				if err != nil || got == nil {
					t.Fatalf("error %v, want the options accepted", err)
				}
				return
			}
			var fe *cmdutil.FlagError
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.As(err, &fe) {
				t.Fatalf("error %v, want a FlagError containing %q", err, tt.wantErr)
			}
			if got != nil {
				t.Error("the run step was called")
			}
		})
	}
}
