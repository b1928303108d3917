package plan

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/icnnlab/icnnlab/internal/data/catalog"
	"github.com/icnnlab/icnnlab/internal/data/synth"
	"github.com/icnnlab/icnnlab/internal/reproduce/spec"
	"github.com/icnnlab/icnnlab/internal/train"
)

// PlannedRun is one distinct training run and what must be measured on it.
type PlannedRun struct {
	// Key identifies the run within a scale: [dataset:]arch/variant/column/seed.
	Key string
	// Dataset is the real dataset the run trains and is measured on ("":
	// the synthetic world).
	Dataset string
	Arch    string
	Variant spec.Variant
	Column  string
	Seed    int
	Config  train.Config
	// Metrics are the measures some table needs from this run.
	Metrics []spec.Metric
	// LandmarkSets are the distinct landmark lists of the instability tables.
	LandmarkSets [][]string
	// NotApplicable are metrics a table declares not applicable on the
	// run's data; measuring checks that the data has no part annotations.
	NotApplicable []spec.Metric
	// Role is RolePretrain for a pretraining run, "" for a table run.
	Role string
	// Pretrain is the key of the planned pretraining run whose conv layers
	// initialise this run ("": from scratch). The executor sets
	// Config.InitFrom to that run's run-store key once it is trained.
	Pretrain string
}

// RolePretrain marks a pretraining run.
const RolePretrain = "pretrain"

// PretrainKey names the pretraining run of an architecture.
func PretrainKey(arch string) string { return "pretrain/" + arch }

// PretrainConfig is the ordinary network trained on the disjoint
// multi-category world that stands in for ImageNet.
func PretrainConfig(scale spec.Scale, arch string) train.Config {
	p := scale.Pretrain
	c := train.Defaults()
	c.Name = "pretrain-" + arch
	c.Model.Arch = arch
	c.Model.Width = scale.Width
	c.Model.MinTopMap = scale.MinTopMap
	c.Model.Dropout = p.Dropout
	c.Model.Loss = "softmax"
	c.Data.Task = "multi"
	c.Data.Target = ""
	c.Data.Categories = p.Categories
	c.Data.ImageSize = scale.ImageSize
	c.Data.Difficulty = scale.Difficulty
	c.Data.Train = p.Train
	c.Data.Test = p.Test
	c.Data.Seed = p.WorldSeed
	c.Epochs = p.Epochs
	c.Batch = scale.Batch
	c.Seed = uint64(p.Seed)
	c.Optimizer.LR = p.LR
	c.Optimizer.FinalLR = p.FinalLR
	if p.Optimizer != "" {
		c.Optimizer.Kind = p.Optimizer
	}
	c.Interpretable = train.DefaultInterpretable()
	return c
}

// TableSource is the data one table runs on and its columns there.
type TableSource struct {
	// Dataset is a real dataset's name, "" for the synthetic world.
	Dataset   string
	Columns   []string
	Landmarks []string
}

// TablePlan is a spec at a scale.
type TablePlan struct {
	Spec  *spec.Spec
	Runs  spec.ScaleRuns
	Seeds int
	// Sources are the data the table runs on: the synthetic world, or the
	// real datasets given that the paper measured the table on.
	Sources []TableSource
}

// Plan is the deduplicated set of runs that the selected tables need at one
// scale, in a stable order.
type Plan struct {
	Scale spec.Scale
	Runs  []*PlannedRun
	// Tables lists the planned tables; Skipped the selected ones that have
	// no runs at this scale.
	Tables  []TablePlan
	Skipped []string
}

// PlanOptions are MakePlan's choices beyond the specs and the scale.
type PlanOptions struct {
	// Seeds > 0 overrides the specs' seed counts.
	Seeds int
	// Datasets are the real datasets given (--data): the tables measured
	// on them run there instead of on the synthetic world.
	Datasets []string
	// WorldSeed > 0 and Difficulty ≥ 0 (when DifficultySet) override the
	// scale's evaluation world.
	WorldSeed     uint64
	Difficulty    float64
	DifficultySet bool
}

// RunKey names a run within a scale; dataset "" is the synthetic world.
func RunKey(dataset, arch string, v spec.Variant, column string, seed int) string {
	k := fmt.Sprintf("%s/%s/%s/seed%d", arch, v.Name(), column, seed)
	if dataset != "" {
		k = dataset + ":" + k
	}
	return k
}

// tableSources is the data a table runs on at a scale, given the real
// datasets: the given datasets that the table has columns on at this
// scale, else the synthetic world. ok is false when the table runs on
// given datasets but none has a column at this scale (it is skipped).
func tableSources(s *spec.Spec, sr spec.ScaleRuns, given []string) (sources []TableSource, ok bool, err error) {
	onGiven := false
	for _, info := range catalog.Datasets {
		d, has := s.Datasets[info.Name]
		if !has || !slices.Contains(given, info.Name) {
			continue
		}
		onGiven = true
		var cols []string
		for _, c := range sr.Columns {
			if slices.Contains(d.Columns, c) {
				cols = append(cols, c)
			}
		}
		if len(cols) > 0 {
			sources = append(sources, TableSource{Dataset: info.Name, Columns: cols, Landmarks: d.Landmarks})
		}
	}
	switch {
	case len(sources) > 0:
		return sources, true, nil
	case onGiven:
		return nil, false, nil
	case s.RealOnly:
		return nil, false, fmt.Errorf("table %s runs only on %s: give --data %s", s.ID, strings.Join(slices.Sorted(maps.Keys(s.Datasets)), " or "), slices.Sorted(maps.Keys(s.Datasets))[0])
	}
	return []TableSource{{Columns: sr.Columns, Landmarks: s.Landmarks}}, true, nil
}

// MakePlan lists every run the specs need at scale, each once.
func MakePlan(specs []*spec.Spec, scale spec.Scale, opts PlanOptions) (*Plan, error) {
	if opts.WorldSeed > 0 {
		scale.WorldSeed = opts.WorldSeed
	}
	if opts.DifficultySet {
		scale.Difficulty = opts.Difficulty
	}
	if err := scale.Validate(); err != nil {
		return nil, fmt.Errorf("scale %s: %w", scale.Name, err)
	}
	p := &Plan{Scale: scale}
	pretrained := map[string]bool{}
	byKey := map[string]*PlannedRun{}
	for _, s := range specs {
		sr, ok := s.Scales[scale.Name]
		if !ok {
			p.Skipped = append(p.Skipped, s.ID)
			continue
		}
		sources, ok, err := tableSources(s, sr, opts.Datasets)
		if err != nil {
			return nil, err
		}
		if !ok {
			p.Skipped = append(p.Skipped, s.ID)
			continue
		}
		n := sr.Seeds
		if opts.Seeds > 0 {
			n = opts.Seeds
		}
		p.Tables = append(p.Tables, TablePlan{Spec: s, Runs: sr, Seeds: n, Sources: sources})
		variants := append([]string{s.Baseline}, sr.Variants...)
		for _, src := range sources {
			info, _ := catalog.DatasetByName(src.Dataset)
			for _, arch := range sr.Archs {
				for _, col := range src.Columns {
					if src.Dataset == "" && !spec.IsMulti(col) && !slices.Contains(synth.CategoryNames[:scale.SingleCategories], col) {
						return nil, fmt.Errorf("table %s: scales.%s.columns: category %q is not among the scale's %d single-category world categories %v",
							s.ID, scale.Name, col, scale.SingleCategories, synth.CategoryNames[:scale.SingleCategories])
					}
					for _, vname := range variants {
						v, err := spec.ParseVariant(vname)
						if err != nil {
							return nil, fmt.Errorf("table %s: %w", s.ID, err)
						}
						for seed := 1; seed <= n; seed++ {
							key := RunKey(src.Dataset, arch, v, col, seed)
							cfg, err := runConfig(scale, info, sr.Settings, arch, v, col, seed)
							if err != nil {
								return nil, fmt.Errorf("table %s: run %s: %w", s.ID, key, err)
							}
							r, ok := byKey[key]
							if !ok {
								r = &PlannedRun{Key: key, Dataset: src.Dataset, Arch: arch, Variant: v, Column: col, Seed: seed, Config: cfg}
								if scale.Pretrain != nil && src.Dataset == "" {
									r.Pretrain = PretrainKey(arch)
									if !pretrained[arch] {
										pretrained[arch] = true
										pre := &PlannedRun{Key: r.Pretrain, Arch: arch, Column: spec.ColumnMultiSoftmax, Seed: scale.Pretrain.Seed,
											Config: PretrainConfig(scale, arch), Role: RolePretrain}
										byKey[pre.Key] = pre
										p.Runs = append(p.Runs, pre)
									}
								}
								byKey[key] = r
								p.Runs = append(p.Runs, r)
							} else if !reflect.DeepEqual(r.Config, cfg) {
								return nil, fmt.Errorf("table %s: run %s is also planned by another table with other settings (scales.%s.settings differ)", s.ID, key, scale.Name)
							}
							for _, m := range s.Metrics {
								if !slices.Contains(r.Metrics, m) {
									r.Metrics = append(r.Metrics, m)
								}
							}
							if slices.Contains(s.Metrics, spec.LocationInstability) && !slices.ContainsFunc(r.LandmarkSets, func(ls []string) bool { return slices.Equal(ls, src.Landmarks) }) {
								r.LandmarkSets = append(r.LandmarkSets, src.Landmarks)
							}
							if s.NotApplicable != nil {
								for _, m := range s.NotApplicable.Metrics {
									if !slices.Contains(r.NotApplicable, m) {
										r.NotApplicable = append(r.NotApplicable, m)
									}
								}
							}
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

// Datasets lists the real datasets the plan's runs use.
func (p *Plan) Datasets() []string {
	var out []string
	for _, r := range p.Runs {
		if r.Dataset != "" && !slices.Contains(out, r.Dataset) {
			out = append(out, r.Dataset)
		}
	}
	return out
}

// RunConfig is the training config of one run: the training defaults with
// the scale's sizes, the column's task and the variant's plugins. Seed 1
// with the default scale settings is exactly `icnnlab train`'s default run,
// so the run store shares it.
func RunConfig(scale spec.Scale, arch string, v spec.Variant, column string, seed int) train.Config {
	c := train.Defaults()
	c.Model.Arch = arch
	c.Model.Width = scale.Width
	c.Data.ImageSize = scale.ImageSize
	c.Data.Difficulty = scale.Difficulty
	c.Data.Seed = scale.EvalWorldSeed()
	c.Model.MinTopMap = scale.MinTopMap
	c.Data.Test = scale.Test
	c.Epochs = scale.Epochs
	c.Batch = scale.Batch
	c.Seed = uint64(seed)
	if spec.IsMulti(column) {
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
	if f := scale.FineTune; f != nil && scale.Pretrain != nil {
		c.Optimizer.LR, c.Optimizer.FinalLR = f.LR, f.FinalLR
		c.Optimizer.DecayEpochs, c.Optimizer.TopLRMult = f.DecayEpochs, f.TopLRMult
		c.Model.Dropout = f.Dropout
	}
	v.Apply(&c)
	if fl := scale.FilterLoss; fl != nil && v.Interpretable && slices.Contains(spec.MIFamily, v.Loss) {
		if fl.Lambda > 0 {
			c.Interpretable.Lambda = fl.Lambda
		}
		if len(fl.MIParams) > 0 {
			// Plain YAML values (strings, numbers, bools) always marshal.
			c.Interpretable.LossParams, _ = json.Marshal(fl.MIParams)
		}
	}
	return c
}

// runConfig is RunConfig on a real dataset (info nil: the synthetic
// world) with a table's settings. On a real dataset the data.source is the
// dataset's name, a single-category column's target is the dataset's
// category for it, and the single-category task has as many images as the
// synthetic one keeps (the target's share 1/k of the world range plus as
// many negatives, 2/k); settings then override any size.
func runConfig(scale spec.Scale, info *catalog.DatasetInfo, st *spec.RunSettings, arch string, v spec.Variant, column string, seed int) (train.Config, error) {
	c := RunConfig(scale, arch, v, column, seed)
	limit := len(synth.CategoryNames)
	if info != nil {
		// Real data trains from scratch, with the training defaults'
		// optimiser and geometry (the pretraining world is synthetic).
		d := train.Defaults()
		c.Optimizer, c.Model.MinTopMap, c.Data.Seed, c.Model.Dropout = d.Optimizer, 0, d.Data.Seed, d.Model.Dropout
		v.Apply(&c) // the paper's λ and loss parameters, not the scale's
		limit = len(info.Categories)
		c.Data.Source = info.Name
		if spec.IsMulti(column) {
			c.Data.Categories = min(c.Data.Categories, limit)
		} else {
			c.Data.Target = info.Category(column)
			c.Data.Categories = min(c.Data.Categories, limit)
			c.Data.Train = max(1, 2*scale.SingleTrain/scale.SingleCategories)
			c.Data.Test = max(1, 2*scale.Test/scale.SingleCategories)
		}
	}
	if st != nil {
		set := func(dst *int, v int) {
			if v > 0 {
				*dst = v
			}
		}
		if st.Width > 0 {
			c.Model.Width = st.Width
		}
		set(&c.Data.ImageSize, st.ImageSize)
		if spec.IsMulti(column) {
			set(&c.Data.Categories, st.Categories)
		}
		set(&c.Data.Train, st.Train)
		set(&c.Data.Test, st.Test)
		set(&c.Epochs, st.Epochs)
		set(&c.Batch, st.Batch)
	}
	if c.Data.Categories > limit {
		return c, fmt.Errorf("settings.categories: %d, the data has %d categories", c.Data.Categories, limit)
	}
	return c, nil
}

// UseInitWeights points the runs of each architecture named in files at its
// weights file and says how many runs each file starts; an architecture no
// planned run uses counts 0. Pretrained weights have the published widths,
// so the plan's scale must build full-width networks.
func (p *Plan) UseInitWeights(files map[string]string) (map[string]int, error) {
	if len(files) > 0 && p.Scale.Width != 1 {
		return nil, fmt.Errorf("pretrained weights need full-width networks, and scale %s has width %g: use --scale full", p.Scale.Name, p.Scale.Width)
	}
	counts := make(map[string]int, len(files))
	for arch := range files {
		counts[arch] = 0
	}
	for _, r := range p.Runs {
		if path, ok := files[r.Config.Model.Arch]; ok {
			r.Config.InitWeights = path
			counts[r.Config.Model.Arch]++
		}
	}
	return counts, nil
}
