package train

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/icnnlab/icnnlab/internal/runstore"
	"github.com/icnnlab/icnnlab/internal/zoo"
)

// FindRun resolves a run reference: a run directory, a directory name in
// the store, or a run key.
func FindRun(store *runstore.Store, ref string) (*runstore.Run, error) {
	if ref == "" {
		return nil, fmt.Errorf("find run: empty reference")
	}
	if _, err := os.Stat(filepath.Join(ref, "manifest.json")); err == nil {
		return runstore.Load(ref)
	}
	if store == nil {
		return nil, fmt.Errorf("find run %q: not a run directory, and no run store to look in", ref)
	}
	if _, err := os.Stat(filepath.Join(store.Root, ref, "manifest.json")); err == nil {
		return runstore.Load(filepath.Join(store.Root, ref))
	}
	runs, err := store.List()
	if err != nil {
		return nil, fmt.Errorf("find run %q: %w", ref, err)
	}
	for _, r := range runs {
		if r.Manifest.Key == ref {
			return r, nil
		}
	}
	return nil, fmt.Errorf("find run %q: no run directory, directory name or run key in %s matches", ref, store.Root)
}

// initFrom copies the conv layers of a finished run into the session's
// network: every conv-layer of the base network (not the inserted
// interpretable conv), weights and biases. The fully connected head and the
// inserted conv keep their fresh (He-normal) initialisation.
func (s *Session) initFrom(src *runstore.Run) error {
	st, err := src.Status()
	if err != nil {
		return fmt.Errorf("init_from %s: %w", src.Dir, err)
	}
	if st.State != runstore.Done {
		return fmt.Errorf("init_from %s: the run is %s, not done", src.Dir, st.State)
	}
	ckpt, err := src.LoadCheckpoint()
	if err != nil {
		return fmt.Errorf("init_from %s: %w", src.Dir, err)
	}
	copied := 0
	for _, l := range s.Model.Layers {
		if l.Kind != zoo.KindConv || l.Inserted {
			continue
		}
		for _, name := range []string{l.Name + "/w", l.Name + "/b"} {
			v, ok := ckpt[name]
			if !ok {
				return fmt.Errorf("init_from %s: its checkpoint has no %s (is it a %s?)", src.Dir, name, s.Config.Model.Arch)
			}
			if err := s.Exec.Write(name, v); err != nil {
				return fmt.Errorf("init_from %s: %s: %w (same architecture and width?)", src.Dir, name, err)
			}
			copied++
		}
	}
	if copied == 0 {
		return fmt.Errorf("init_from %s: the network has no conv-layers to initialise", src.Dir)
	}
	return nil
}

// FinishedRun returns the finished run of cfg in opts.Store without
// training anything (nil when there is none yet): an executor that runs
// one planned run at a time finds the pretrained network it depends on.
func FinishedRun(cfg Config, opts Options) (*runstore.Run, error) {
	trainSet, _, err := openDatasets(cfg, opts.Data)
	if err != nil {
		return nil, err
	}
	var plugins []runstore.PluginRef
	if cfg.Interpretable.Enabled {
		return nil, fmt.Errorf("finished run: only ordinary networks are looked up without building them")
	}
	id, err := Identity(cfg, trainSet, opts.Backend.Name(), opts.Device, plugins)
	if err != nil {
		return nil, err
	}
	key, err := id.Key()
	if err != nil {
		return nil, err
	}
	r, err := FindRun(opts.Store, key)
	if err != nil {
		return nil, nil
	}
	if st, err := r.Status(); err != nil || st.State != runstore.Done {
		return nil, nil
	}
	return r, nil
}
