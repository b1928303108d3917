// Package world holds the synthetic world's flags, shared by the verbs of
// `icnnlab data`.
package world

import (
	"github.com/spf13/pflag"

	"github.com/icnnlab/icnnlab/internal/cmd/cmdutil"
	"github.com/icnnlab/icnnlab/internal/data/synth"
)

// Flags are the synthetic world's knobs, shared by the data verbs.
type Flags struct {
	Size       int
	Categories int
	Difficulty float64
	Clutter    float64
	Occlusion  float64
	Seed       uint64
}

// Register adds the flags to fl with the world's defaults.
func (w *Flags) Register(fl *pflag.FlagSet) {
	d := synth.DefaultConfig()
	fl.IntVar(&w.Size, "size", d.Size, "image side in pixels (64 for CPU work, 224 for GPU)")
	fl.IntVar(&w.Categories, "categories", d.Categories, "number of categories, the first k of bird, cat, cow, dog, horse, sheep")
	fl.Float64Var(&w.Difficulty, "difficulty", d.Difficulty, "pose range, articulation and colour jitter in [0,1]")
	fl.Float64Var(&w.Clutter, "clutter", -1, "background texture and distractors in [0,1] (default: the difficulty)")
	fl.Float64Var(&w.Occlusion, "occlusion", -1, "occluder chance and size in [0,1] (default: the difficulty)")
	fl.Uint64Var(&w.Seed, "seed", d.Seed, "world seed")
}

// Config is the world the flags describe; a bad value is a flag error.
func (w *Flags) Config() (synth.Config, error) {
	cfg := synth.NewConfig(w.Size, w.Categories, w.Difficulty, w.Seed)
	if w.Clutter >= 0 {
		cfg.Clutter = w.Clutter
	}
	if w.Occlusion >= 0 {
		cfg.Occlusion = w.Occlusion
	}
	if err := cfg.Validate(); err != nil {
		return cfg, cmdutil.FlagErrorf("%v", err)
	}
	return cfg, nil
}
