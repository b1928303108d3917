package train

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/icnnlab/icnnlab/internal/runstore"
)

// flipByte flips one byte in the middle of a file.
func flipByte(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x01
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// A flipped byte in any file of a finished run is never reused silently:
// a corrupt checkpoint is set aside and the run trains again, corrupt
// metrics are measured again from the checkpoint, a corrupt manifest is
// refused with the file named. Each gives the numbers of the intact run.
func TestCorruptRunFilesAreNeverReused(t *testing.T) {
	cfg := tinyConfig()
	cfg.Epochs = 1
	store := openStore(t)
	first, err := Run(context.Background(), cfg, options(t, store))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		file        string
		wantReused  bool
		wantResumed bool
		wantWarning string
		wantError   string
	}{
		{runstore.MetricsFile, false, true, "corrupt metrics", ""},
		{runstore.CheckpointFile, false, false, "corrupt checkpoint", ""},
		{runstore.ManifestFile, false, false, "", "corrupt manifest " + first.Run.Path(runstore.ManifestFile)},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			if tt.file == runstore.CheckpointFile {
				// Metrics must look corrupt too, or the run is reused
				// without its checkpoint being read.
				flipByte(t, first.Run.Path(runstore.MetricsFile))
			}
			flipByte(t, first.Run.Path(tt.file))
			var log strings.Builder
			opts := options(t, store)
			opts.Log = &log
			got, err := Run(context.Background(), cfg, opts)
			if tt.wantError != "" {
				if err == nil || !errors.Is(err, runstore.ErrCorrupt) || !strings.Contains(err.Error(), tt.wantError) {
					t.Fatalf("error %v, want %q", err, tt.wantError)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Reused != tt.wantReused || got.Resumed != tt.wantResumed || !strings.Contains(log.String(), tt.wantWarning) {
				t.Errorf("reused %v resumed %v, log %q; want reused %v resumed %v and %q", got.Reused, got.Resumed, log.String(),
					tt.wantReused, tt.wantResumed, tt.wantWarning)
			}
			if diff := cmp.Diff(first.Metrics, got.Metrics, ignoreTiming); diff != "" {
				t.Errorf("numbers after recovery differ (-intact +recovered):\n%s", diff)
			}
			if tt.file == runstore.CheckpointFile {
				aside, _ := filepath.Glob(first.Run.Path(runstore.CheckpointFile + ".corrupt-*"))
				if len(aside) != 1 {
					t.Errorf("corrupt checkpoint kept as %v, want one file", aside)
				}
			}
			var m Metrics
			if err := got.Run.ReadMetrics(&m); err != nil {
				t.Errorf("metrics after recovery: %v", err)
			}
		})
	}
}
