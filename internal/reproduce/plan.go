package reproduce

import (
	"fmt"
	"slices"
	"strings"

	"github.com/icnnlab/icnnlab/internal/data/synth"
	"github.com/icnnlab/icnnlab/internal/train"
)

// PlannedRun is one distinct training run and what must be measured on it.
type PlannedRun struct {
	// Key identifies the run within a scale: arch/variant/column/seed.
	Key     string
	Arch    string
	Variant Variant
	Column  string
	Seed    int
	Config  train.Config
	// Metrics are the measures some table needs from this run.
	Metrics []Metric
	// LandmarkSets are the distinct landmark lists of the instability tables.
	LandmarkSets [][]string
}

// TablePlan is a spec at a scale.
type TablePlan struct {
	Spec  *Spec
	Runs  ScaleRuns
	Seeds int
}

// Plan is the deduplicated set of runs that the selected tables need at one
// scale, in a stable order.
type Plan struct {
	Scale Scale
	Runs  []*PlannedRun
	// Tables lists the planned tables; Skipped the selected ones that have
	// no runs at this scale.
	Tables  []TablePlan
	Skipped []string
}

// RunKey names a run within a scale.
func RunKey(arch string, v Variant, column string, seed int) string {
	return fmt.Sprintf("%s/%s/%s/seed%d", arch, v.Name(), column, seed)
}

// MakePlan lists every run the specs need at scale, each once. seeds > 0
// overrides the specs' seed counts.
func MakePlan(specs []*Spec, scale Scale, seeds int) (*Plan, error) {
	p := &Plan{Scale: scale}
	byKey := map[string]*PlannedRun{}
	for _, s := range specs {
		sr, ok := s.Scales[scale.Name]
		if !ok {
			p.Skipped = append(p.Skipped, s.ID)
			continue
		}
		n := sr.Seeds
		if seeds > 0 {
			n = seeds
		}
		p.Tables = append(p.Tables, TablePlan{Spec: s, Runs: sr, Seeds: n})
		variants := append([]string{s.Baseline}, sr.Variants...)
		for _, arch := range sr.Archs {
			for _, col := range sr.Columns {
				for _, vname := range variants {
					if !IsMulti(col) && !slices.Contains(synth.CategoryNames[:scale.SingleCategories], col) {
						return nil, fmt.Errorf("table %s: scales.%s.columns: category %q is not among the scale's %d single-category world categories %v",
							s.ID, scale.Name, col, scale.SingleCategories, synth.CategoryNames[:scale.SingleCategories])
					}
					v, err := ParseVariant(vname)
					if err != nil {
						return nil, fmt.Errorf("table %s: %w", s.ID, err)
					}
					for seed := 1; seed <= n; seed++ {
						key := RunKey(arch, v, col, seed)
						r, ok := byKey[key]
						if !ok {
							r = &PlannedRun{Key: key, Arch: arch, Variant: v, Column: col, Seed: seed, Config: RunConfig(scale, arch, v, col, seed)}
							byKey[key] = r
							p.Runs = append(p.Runs, r)
						}
						for _, m := range s.Metrics {
							if !slices.Contains(r.Metrics, m) {
								r.Metrics = append(r.Metrics, m)
							}
						}
						if slices.Contains(s.Metrics, LocationInstability) && !slices.ContainsFunc(r.LandmarkSets, func(ls []string) bool { return slices.Equal(ls, s.Landmarks) }) {
							r.LandmarkSets = append(r.LandmarkSets, s.Landmarks)
						}
					}
				}
			}
		}
	}
	if len(p.Tables) == 0 {
		return nil, fmt.Errorf("scale %s: none of the selected tables (%s) has runs at this scale", scale.Name, strings.Join(p.Skipped, ", "))
	}
	return p, nil
}

// IsMulti reports whether a column is the multi-category task.
func IsMulti(column string) bool {
	return column == ColumnMultiLogistic || column == ColumnMultiSoftmax
}

// RunConfig is the training config of one run: the training defaults with
// the scale's sizes, the column's task and the variant's plugins. Seed 1
// with the default scale settings is exactly `icnnlab train`'s default run,
// so the run store shares it.
func RunConfig(scale Scale, arch string, v Variant, column string, seed int) train.Config {
	c := train.Defaults()
	c.Model.Arch = arch
	c.Model.Width = scale.Width
	c.Data.ImageSize = scale.ImageSize
	c.Data.Difficulty = scale.Difficulty
	c.Data.Test = scale.Test
	c.Epochs = scale.Epochs
	c.Batch = scale.Batch
	c.Seed = uint64(seed)
	if IsMulti(column) {
		c.Data.Task = "multi"
		c.Data.Target = ""
		c.Data.Categories = scale.MultiCategories
		c.Data.Train = scale.MultiTrain
		c.Model.Loss = strings.TrimPrefix(column, "multi-")
	} else {
		c.Data.Task = "single"
		c.Data.Target = column
		c.Data.Categories = scale.SingleCategories
		c.Data.Train = scale.SingleTrain
		c.Model.Loss = "logistic"
	}
	v.apply(&c)
	return c
}
