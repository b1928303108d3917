package train

import (
	"fmt"
	"io"
	"strings"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/internal/runstore"
	"github.com/icnnlab/icnnlab/internal/weights"
	"github.com/icnnlab/icnnlab/internal/weights/torchvision"
	"github.com/icnnlab/icnnlab/internal/zoo"
)

// LoadInitWeights writes the file of Config.InitWeights (if any) into the
// session's parameters and records it in s.Weights. Run calls it before
// training; a session opened to evaluate a run restores its checkpoint
// instead and needs no weights file.
func (s *Session) LoadInitWeights(log io.Writer) error {
	if s.Config.InitWeights == "" {
		return nil
	}
	ref, err := loadInitWeights(s.Model, s.Exec, s.Config.InitWeights, log)
	if err != nil {
		return err
	}
	s.Weights = ref
	return nil
}

// loadInitWeights reads a torch.save or safetensors file, maps it onto the
// model by torchvision's names and writes it into the compiled
// parameters. It checks everything before writing anything; log (may be
// nil) gets one line about what was loaded and what starts fresh.
func loadInitWeights(m *zoo.Model, exec backends.Executable, path string, log io.Writer) (*runstore.WeightsRef, error) {
	f, err := weights.Read(path)
	if err != nil {
		return nil, fmt.Errorf("config field init_weights: %w", err)
	}
	imp, err := torchvision.Load(m, f)
	if err != nil {
		return nil, fmt.Errorf("config field init_weights: %w", err)
	}
	if err := imp.Apply(exec); err != nil {
		return nil, fmt.Errorf("config field init_weights: %s: %w", path, err)
	}
	if log != nil {
		fmt.Fprintf(log, "init weights %s (%s, sha256 %.12s): %d tensors loaded", path, f.Format, f.SHA256, len(imp.Loaded))
		if len(imp.Fresh) > 0 {
			fmt.Fprintf(log, "; starting fresh: %s", strings.Join(imp.Fresh, ", "))
		}
		fmt.Fprintln(log)
		for _, n := range imp.Notes {
			fmt.Fprintf(log, "init weights: %s\n", n)
		}
	}
	return &runstore.WeightsRef{Path: path, Format: f.Format, SHA256: f.SHA256, Loaded: len(imp.Loaded), Fresh: imp.Fresh, Notes: imp.Notes}, nil
}
