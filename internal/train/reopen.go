package train

import (
	"encoding/json"
	"fmt"

	"github.com/icnnlab/icnnlab/internal/runstore"
)

// RunConfig is the config a run was trained with, as its manifest records
// it.
func RunConfig(run *runstore.Run) (Config, error) {
	var cfg Config
	if err := json.Unmarshal(run.Manifest.Config, &cfg); err != nil {
		return Config{}, fmt.Errorf("run %s: manifest config: %w", run.Dir, err)
	}
	return cfg, nil
}

// Reopen builds the network of run's config cfg on opts' backend and device
// and restores the run's last checkpoint into it: the session that eval,
// visualize and the investigations measure a trained run with. opts.Device
// "" means the device the run was trained on. The caller closes the
// session.
func Reopen(run *runstore.Run, cfg Config, opts Options) (*Session, error) {
	if opts.Device == "" {
		opts.Device = run.Manifest.Device
	}
	sess, err := Open(cfg, opts)
	if err != nil {
		return nil, err
	}
	if err := sess.Restore(run); err != nil {
		sess.Close()
		return nil, err
	}
	return sess, nil
}
