package verdict

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/icnnlab/icnnlab/internal/data/catalog"
	"github.com/icnnlab/icnnlab/internal/reproduce/execute"
	"github.com/icnnlab/icnnlab/internal/reproduce/plan"
	"github.com/icnnlab/icnnlab/internal/reproduce/spec"
)

// Stat is a value over seeds.
type Stat struct {
	Mean float64 `json:"mean"`
	// Std is the sample standard deviation over seeds (0 for one seed).
	Std    float64   `json:"std"`
	N      int       `json:"n"`
	Values []float64 `json:"values"`
}

// NewStat summarises values.
func NewStat(values []float64) Stat {
	s := Stat{N: len(values), Values: values}
	if s.N == 0 {
		return s
	}
	for _, v := range values {
		s.Mean += v
	}
	s.Mean /= float64(s.N)
	if s.N > 1 {
		ss := 0.0
		for _, v := range values {
			ss += (v - s.Mean) * (v - s.Mean)
		}
		s.Std = math.Sqrt(ss / float64(s.N-1))
	}
	return s
}

// Row compares a treatment with the baseline on one architecture and column.
type Row struct {
	Metric spec.Metric `json:"metric"`
	// Dataset is the real dataset the row was measured on ("": the synthetic world).
	Dataset     string   `json:"dataset,omitempty"`
	Arch        string   `json:"arch"`
	Column      string   `json:"column"`
	PaperColumn string   `json:"paper_column"`
	Baseline    string   `json:"baseline"`
	Treatment   string   `json:"treatment"`
	Base        Stat     `json:"base"`
	Treat       Stat     `json:"treat"`
	PaperBase   *float64 `json:"paper_base,omitempty"`
	PaperTreat  *float64 `json:"paper_treat,omitempty"`
	// PaperNetwork is the paper's network of the paper numbers when it is
	// not Arch's (a spec's paper_networks).
	PaperNetwork string         `json:"paper_network,omitempty"`
	Direction    spec.Direction `json:"direction"`
	Tolerance    float64        `json:"tolerance,omitempty"`
	// Agrees: our means go the way the paper claims.
	Agrees bool `json:"agrees"`
	// Diff is treatment − baseline paired by seed; CI its 95 % interval
	// (Student's t over the seeds; absent with one seed).
	Diff Stat        `json:"paired_difference"`
	CI   *[2]float64 `json:"ci95,omitempty"`
	// Outcome is the row's verdict: holds (the interval lies where the
	// paper claims), contradicted (it lies on the other side), not shown
	// (it straddles the line, or one seed gives no interval) or not
	// measurable (a network did not learn; NotLearned says which).
	Outcome    string   `json:"outcome"`
	NotLearned []string `json:"not_learned,omitempty"`
	// Collapse says, for a part-interpretability row whose interval holds
	// but whose treatment's filters nearly all chose one part, what they
	// chose (e.g. "99 % of 192 filters on head"): such a row is
	// RowCollapsed, not RowHolds, because a gain in P from filters that all
	// see one part is not the paper's claim of filters standing for parts.
	Collapse string `json:"collapse,omitempty"`
	// Control marks a row whose treatment is an untrained control: its
	// Outcome is RowControl, and the table's verdict ignores it.
	Control bool `json:"control,omitempty"`
	// Region names the region rule of a sensitivity row ("": the scale's).
	Region string `json:"region,omitempty"`
	// Runs are the run directories behind the row relative to the run
	// store, baseline seeds first
	// (none for the average over columns).
	Runs []string `json:"runs,omitempty"`
	// BaseRuns is how many of Runs are the baseline's.
	BaseRuns int `json:"base_runs,omitempty"`
	// Report is the row's visualizer report (report.html comparing its
	// runs), relative to the reports' directory; "" when none was made.
	Report string `json:"report,omitempty"`
	// Purity is the pattern purity of the row's baseline and treatment
	// layers (each the mean over its runs), from the row's report; nil
	// without one.
	Purity *PurityPair `json:"pattern_purity,omitempty"`
}

// PurityPair is a row's pattern purity, ordinary beside interpretable.
type PurityPair struct {
	Base  float64 `json:"base"`
	Treat float64 `json:"treat"`
}

// MeanDiff is treatment minus baseline.
func (r Row) MeanDiff() float64 { return r.Treat.Mean - r.Base.Mean }

// IsAverage marks the row averaged over the columns.
func (r Row) IsAverage() bool { return r.Column == "avg" }

// Row outcomes.
const (
	RowHolds         = "holds"
	RowNotShown      = "not shown"
	RowContradicted  = "contradicted"
	RowNotMeasurable = "not measurable"
	// RowCollapsed: the interval lies on the claimed side, but the
	// treatment's filters collapsed onto one part (Row.Collapse).
	RowCollapsed = "collapsed"
	// RowControl: the treatment is an untrained control (spec.Variant
	// Untrained), shown beside the trained variants and never judged.
	RowControl = "control: untrained, not judged"
)

// tCritical975 is Student's t 0.975 quantile for 1..30 degrees of freedom.
var tCritical975 = []float64{12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
	2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
	2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042}

// CI95 is the 95 % interval of the mean of s (nil for fewer than 2 values).
func CI95(s Stat) *[2]float64 {
	if s.N < 2 {
		return nil
	}
	t := 1.96
	if df := s.N - 1; df <= len(tCritical975) {
		t = tCritical975[df-1]
	}
	h := t * s.Std / math.Sqrt(float64(s.N))
	return &[2]float64{s.Mean - h, s.Mean + h}
}

// Judge sets Agrees, the paired difference, its interval and the outcome.
// bv and tv are paired by seed.
func (r *Row) Judge() {
	d := r.MeanDiff()
	switch r.Direction {
	case spec.Higher:
		r.Agrees = d > 0
	case spec.Lower:
		r.Agrees = d < 0
	case spec.Preserved:
		r.Agrees = d >= -r.Tolerance
	case spec.Similar:
		r.Agrees = math.Abs(d) <= r.Tolerance
	}
	n := min(len(r.Base.Values), len(r.Treat.Values))
	diffs := make([]float64, n)
	for i := range diffs {
		diffs[i] = r.Treat.Values[i] - r.Base.Values[i]
	}
	r.Diff = NewStat(diffs)
	r.CI = CI95(r.Diff)
	switch {
	case len(r.NotLearned) > 0:
		r.Outcome = RowNotMeasurable
	case r.CI == nil:
		r.Outcome = RowNotShown
	default:
		r.Outcome = intervalOutcome(r.Direction, r.Tolerance, r.CI[0], r.CI[1])
	}
}

// intervalOutcome reads an interval [lo, hi] of treatment − baseline
// against the claimed direction.
func intervalOutcome(d spec.Direction, tol, lo, hi float64) string {
	switch d {
	case spec.Higher:
		if lo > 0 {
			return RowHolds
		}
		if hi < 0 {
			return RowContradicted
		}
	case spec.Lower:
		if hi < 0 {
			return RowHolds
		}
		if lo > 0 {
			return RowContradicted
		}
	case spec.Preserved:
		if lo >= -tol {
			return RowHolds
		}
		if hi < -tol {
			return RowContradicted
		}
	case spec.Similar:
		if lo >= -tol && hi <= tol {
			return RowHolds
		}
		if lo > tol || hi < -tol {
			return RowContradicted
		}
	}
	return RowNotShown
}

// Claimed is the direction in words, e.g. "interpretable > ordinary".
func (r Row) Claimed() string {
	if r.Control {
		return "none (control)"
	}
	switch r.Direction {
	case spec.Higher:
		return r.Treatment + " > " + r.Baseline
	case spec.Lower:
		return r.Treatment + " < " + r.Baseline
	case spec.Preserved:
		return fmt.Sprintf("%s ≥ %s − %s", r.Treatment, r.Baseline, formatTolerance(r.Metric, r.Tolerance))
	case spec.Similar:
		return fmt.Sprintf("%s ≈ %s (±%s)", r.Treatment, r.Baseline, formatTolerance(r.Metric, r.Tolerance))
	}
	return string(r.Direction)
}

func formatTolerance(m spec.Metric, t float64) string {
	if m == spec.Accuracy {
		return fmt.Sprintf("%.1f pts", 100*t)
	}
	return fmt.Sprintf("%.3f", t)
}

// Distribution is the per-filter values of one run group, for plots.
type Distribution struct {
	Metric  spec.Metric `json:"metric"`
	Arch    string      `json:"arch"`
	Column  string      `json:"column"`
	Variant string      `json:"variant"`
	Values  []float64   `json:"values"`
}

// Verdict is a table's conclusion.
type Verdict struct {
	// Outcome is holds, not-shown, contradicted, not-measurable (no
	// network learned) or not-measured.
	Outcome string `json:"outcome"`
	Agree   int    `json:"agree"`
	Total   int    `json:"total"`
	Text    string `json:"text"`
}

// Verdict outcomes.
const (
	Holds         = "holds"
	NotShown      = "not-shown"
	Contradicted  = "contradicted"
	NotMeasurable = "not-measurable"
	NotMeasured   = "not-measured"
)

// TableResult is one reproduced table.
type TableResult struct {
	ID            string         `json:"id"`
	Title         string         `json:"title"`
	StandsInFor   string         `json:"stands_in_for"`
	Claim         string         `json:"claim"`
	PaperSource   string         `json:"paper_source"`
	Scale         string         `json:"scale"`
	Seeds         int            `json:"seeds"`
	Rows          []Row          `json:"rows"`
	Verdict       Verdict        `json:"verdict"`
	Notes         []string       `json:"notes,omitempty"`
	Distributions []Distribution `json:"distributions,omitempty"`
	// Datasets are the real datasets the table ran on (none: the synthetic world).
	Datasets []string `json:"datasets,omitempty"`
	// Setup describes the runs' data and sizes on each real dataset, and
	// wherever a table's settings override the scale's.
	Setup []string `json:"setup,omitempty"`
	// NotApplicable are the metrics the table's data cannot give, in words.
	NotApplicable *spec.NotApplicable `json:"not_applicable,omitempty"`
	// Sensitivity are the part-interpretability rows under the scale's
	// alternative region rules (Row.Region names the rule).
	Sensitivity []Row `json:"region_sensitivity,omitempty"`
	// PartSpread is how each variant's filters spread over the parts.
	PartSpread []PartSpread `json:"part_spread,omitempty"`
}

// NotApplicableText says in words which metrics do not apply and why.
func (t *TableResult) NotApplicableText() string {
	if t.NotApplicable == nil {
		return ""
	}
	var ms []string
	for _, m := range t.NotApplicable.Metrics {
		ms = append(ms, string(m))
	}
	verb := "is"
	if len(ms) > 1 {
		verb = "are"
	}
	return fmt.Sprintf("%s %s not applicable and not measured: %s.", strings.Join(ms, " and "), verb, strings.TrimSuffix(t.NotApplicable.Reason, "."))
}

// BuildTable aggregates the runs of one table over seeds and judges it.
// results maps run keys to what they measured.
func BuildTable(tp plan.TablePlan, scale spec.Scale, results map[string]*execute.RunResult) (*TableResult, error) {
	s := tp.Spec
	t := &TableResult{ID: s.ID, Title: s.Title, StandsInFor: s.StandsInFor, Claim: s.Claim,
		PaperSource: s.Paper.Source, Scale: scale.Name, Seeds: tp.Seeds, NotApplicable: s.NotApplicable}
	sources := tp.Sources
	if len(sources) == 0 { // a plan made by hand: the synthetic world
		sources = []plan.TableSource{{Columns: tp.Runs.Columns, Landmarks: s.Landmarks}}
	}
	for _, src := range sources {
		if src.Dataset == "" {
			t.Notes = append(t.Notes, s.SyntheticNotes...)
		}
	}
	t.Notes = append(t.Notes, s.Notes...)
	for _, src := range sources {
		if src.Dataset == "" {
			continue
		}
		t.Datasets = append(t.Datasets, src.Dataset)
		t.Notes = append(t.Notes, s.Datasets[src.Dataset].Notes...)
		if !s.RealOnly {
			// The paper's own data: nothing stands in, no analogue.
			t.StandsInFor = ""
			t.Title = strings.TrimSuffix(t.Title, " analogue")
		}
	}
	base, err := spec.ParseVariant(s.Baseline)
	if err != nil {
		return nil, err
	}
	for _, src := range sources {
		if line := setupLine(tp, scale, src, results); line != "" {
			t.Setup = append(t.Setup, line)
		}
	}
	for _, m := range s.Metrics {
		for _, src := range sources {
			for _, arch := range tp.Runs.Archs {
				// collect gathers one variant's values on a column, by seed,
				// and says which of its networks did not learn.
				collect := func(v spec.Variant, col string) ([]float64, []float64, []string, []string, error) {
					var vals, filters []float64
					var dirs, notLearned []string
					for seed := 1; seed <= tp.Seeds; seed++ {
						key := plan.RunKey(src.Dataset, arch, v, col, seed)
						r, ok := results[key]
						if !ok {
							return nil, nil, nil, nil, fmt.Errorf("table %s: run %s has no result", s.ID, key)
						}
						meas, ok := r.Value(m, src.Landmarks)
						if !ok {
							return nil, nil, nil, nil, fmt.Errorf("table %s: run %s did not measure %s", s.ID, key, m)
						}
						vals = append(vals, meas.Mean)
						if r.RunDir != "" {
							dirs = append(dirs, r.RunDir)
						}
						if p := r.LearnedProblem(); p != "" && !v.Untrained {
							notLearned = append(notLearned, p)
						}
						if seed == 1 {
							filters = meas.Filters
						}
					}
					return vals, filters, dirs, notLearned, nil
				}
				for _, tname := range tp.Runs.Variants {
					treat, err := spec.ParseVariant(tname)
					if err != nil {
						return nil, err
					}
					baseAvg := make([]float64, tp.Seeds)
					treatAvg := make([]float64, tp.Seeds)
					var avgNotLearned []string
					for _, col := range src.Columns {
						bv, bf, bdirs, bnl, err := collect(base, col)
						if err != nil {
							return nil, err
						}
						tv, tf, tdirs, tnl, err := collect(treat, col)
						if err != nil {
							return nil, err
						}
						for i := range bv {
							baseAvg[i] += bv[i] / float64(len(src.Columns))
							treatAvg[i] += tv[i] / float64(len(src.Columns))
						}
						notLearned := append(bnl, tnl...)
						avgNotLearned = append(avgNotLearned, notLearned...)
						row := newRow(s, m, src.Dataset, arch, col, base, treat, bv, tv, notLearned)
						row.Runs, row.BaseRuns = append(bdirs, tdirs...), len(bdirs)
						t.Rows = append(t.Rows, row)
						if m != spec.Accuracy {
							dcol := col
							if src.Dataset != "" {
								dcol = src.Dataset + " " + col
							}
							if !t.hasDistribution(m, arch, dcol, base.Label()) {
								t.Distributions = append(t.Distributions, Distribution{m, arch, dcol, base.Label(), bf})
							}
							t.Distributions = append(t.Distributions, Distribution{m, arch, dcol, treat.Label(), tf})
						}
					}
					if len(src.Columns) > 1 {
						t.Rows = append(t.Rows, newRow(s, m, src.Dataset, arch, "avg", base, treat, baseAvg, treatAvg, avgNotLearned))
					}
				}
			}
		}
	}
	t.addPartDiversity(tp, results)
	t.markCollapsed(t.Rows)
	t.Verdict = judgeTable(t.Rows)
	if err := t.addRegionSensitivity(tp, scale, results); err != nil {
		return nil, err
	}
	t.markCollapsed(t.Sensitivity)
	return t, nil
}

// markCollapsed turns a holding part-interpretability row into
// RowCollapsed when its treatment's filters collapsed onto one part
// (PartSpread.Collapsed) on its column, or, for the average row, on any
// column.
func (t *TableResult) markCollapsed(rows []Row) {
	for i := range rows {
		r := &rows[i]
		if r.Metric != spec.PartInterpretability || r.Outcome != RowHolds {
			continue
		}
		for _, p := range t.PartSpread {
			if p.Arch != r.Arch || p.Dataset != r.Dataset || p.Variant != r.Treatment || !p.Collapsed() {
				continue
			}
			if p.Column == r.Column || r.IsAverage() {
				r.Outcome = RowCollapsed
				r.Collapse = fmt.Sprintf("%.0f %% of %d filters on %s", 100*p.TopShare, p.Filters, p.TopPart)
				if r.IsAverage() {
					r.Collapse = p.Column + ": " + r.Collapse
				}
				break
			}
		}
	}
}

// addRegionSensitivity repeats the part-interpretability rows under each
// of the scale's alternative region rules.
func (t *TableResult) addRegionSensitivity(tp plan.TablePlan, scale spec.Scale, results map[string]*execute.RunResult) error {
	s := tp.Spec
	if !slices.Contains(s.Metrics, spec.PartInterpretability) || len(scale.RegionAlternatives) == 0 {
		return nil
	}
	base, err := spec.ParseVariant(s.Baseline)
	if err != nil {
		return err
	}
	for _, src := range tp.Sources {
		if src.Dataset != "" {
			continue
		}
		for _, rule := range scale.RegionAlternatives {
			name := rule.Name()
			for _, arch := range tp.Runs.Archs {
				for _, tname := range tp.Runs.Variants {
					treat, err := spec.ParseVariant(tname)
					if err != nil {
						return err
					}
					for _, col := range src.Columns {
						var bv, tv []float64
						var notLearned []string
						for seed := 1; seed <= tp.Seeds; seed++ {
							for _, side := range []struct {
								v    spec.Variant
								vals *[]float64
							}{{base, &bv}, {treat, &tv}} {
								r, ok := results[plan.RunKey("", arch, side.v, col, seed)]
								if !ok {
									return fmt.Errorf("table %s: run %s has no result", s.ID, plan.RunKey("", arch, side.v, col, seed))
								}
								m, ok := r.PartInterpAlt[name]
								if !ok {
									return fmt.Errorf("table %s: run %s did not measure region %s", s.ID, r.Key, name)
								}
								*side.vals = append(*side.vals, m.Mean)
								if p := r.LearnedProblem(); p != "" && !side.v.Untrained {
									notLearned = append(notLearned, p)
								}
							}
						}
						row := newRow(s, spec.PartInterpretability, "", arch, col, base, treat, bv, tv, notLearned)
						row.Region = name
						t.Sensitivity = append(t.Sensitivity, row)
					}
				}
			}
		}
	}
	return nil
}

// PartSpread is how the filters of one variant's runs (all seeds pooled)
// spread their best parts over the parts.
type PartSpread struct {
	// Dataset is the real dataset of the runs ("": the synthetic world).
	Dataset string         `json:"dataset,omitempty"`
	Arch    string         `json:"arch"`
	Column  string         `json:"column"`
	Variant string         `json:"variant"`
	Filters int            `json:"filters"`
	Counts  map[string]int `json:"counts"`
	// Distinct is the number of parts that are some filter's best part;
	// TopPart and TopShare the most frequent one and its share.
	Distinct int     `json:"distinct"`
	TopPart  string  `json:"top_part"`
	TopShare float64 `json:"top_share"`
}

// Collapsed reports whether nearly every filter chose one part (a spread
// of no filters, e.g. runs measured without part annotations, is not).
func (p PartSpread) Collapsed() bool {
	return p.Filters > 0 && (p.Distinct <= 1 || p.TopShare >= CollapseShare)
}

// CollapseShare is the share of filters on one part that counts as a collapse.
const CollapseShare = 0.9

func (t *TableResult) addPartDiversity(tp plan.TablePlan, results map[string]*execute.RunResult) {
	s := tp.Spec
	if !slices.Contains(s.Metrics, spec.PartInterpretability) {
		return
	}
	variants := append([]string{s.Baseline}, tp.Runs.Variants...)
	for _, src := range tp.Sources {
		for _, arch := range tp.Runs.Archs {
			for _, col := range src.Columns {
				for _, vname := range variants {
					v, err := spec.ParseVariant(vname)
					if err != nil {
						continue
					}
					var pooled execute.Measure
					for seed := 1; seed <= tp.Seeds; seed++ {
						if r, ok := results[plan.RunKey(src.Dataset, arch, v, col, seed)]; ok && r.PartInterp != nil {
							pooled.BestParts = append(pooled.BestParts, r.PartInterp.BestParts...)
						}
					}
					counts, distinct, share := pooled.PartDiversity()
					top := ""
					for _, p := range slices.Sorted(maps.Keys(counts)) {
						if top == "" || counts[p] > counts[top] {
							top = p
						}
					}
					t.PartSpread = append(t.PartSpread, PartSpread{Dataset: src.Dataset, Arch: arch, Column: col, Variant: v.Label(), Filters: len(pooled.BestParts),
						Counts: counts, Distinct: distinct, TopPart: top, TopShare: share})
				}
			}
		}
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// setupLine describes the runs of a table on one source when they are not
// the scale's synthetic runs: the data, split and sizes of the first run.
func setupLine(tp plan.TablePlan, scale spec.Scale, src plan.TableSource, results map[string]*execute.RunResult) string {
	if src.Dataset == "" && tp.Runs.Settings == nil {
		return ""
	}
	var parts []string
	for _, col := range src.Columns {
		r, ok := results[plan.RunKey(src.Dataset, tp.Runs.Archs[0], spec.Variant{}, col, 1)]
		if !ok || r.Config == nil {
			continue
		}
		c := r.Config
		task := fmt.Sprintf("%s: single-category %s vs the other categories", col, c.Data.Target)
		if spec.IsMulti(col) {
			task = fmt.Sprintf("%s: %d categories", col, c.Data.Categories)
		}
		parts = append(parts, fmt.Sprintf("%s, %d training and %d test images", task, r.TrainImages, r.TestImages))
		if len(parts) == 1 {
			parts[0] = fmt.Sprintf("%s at width %g, %d px, %s, batch %d; ", spec.PaperNetwork(c.Model.Arch), c.Model.Width, c.Data.ImageSize, plural(c.Epochs, "epoch"), c.Batch) + parts[0]
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return fmt.Sprintf("On %s: %s.", catalog.Title(src.Dataset), strings.Join(parts, "; "))
}

func (t *TableResult) hasDistribution(m spec.Metric, arch, col, variant string) bool {
	return slices.ContainsFunc(t.Distributions, func(d Distribution) bool {
		return d.Metric == m && d.Arch == arch && d.Column == col && d.Variant == variant
	})
}

func newRow(s *spec.Spec, m spec.Metric, dataset, arch, col string, base, treat spec.Variant, bv, tv []float64, notLearned []string) Row {
	r := Row{Metric: m, Dataset: dataset, Arch: arch, Column: col, PaperColumn: s.PaperColumnOn(dataset, col),
		Baseline: base.Label(), Treatment: treat.Label(),
		Base: NewStat(bv), Treat: NewStat(tv), Direction: s.DirectionOf(m), Tolerance: s.Tolerance[m], NotLearned: notLearned}
	if n := s.PaperNetworkOf(arch); n != spec.PaperNetwork(arch) {
		r.PaperNetwork = n
	}
	if v, ok := s.PaperValue(m, arch, base.Name(), r.PaperColumn); ok {
		r.PaperBase = &v
	}
	if v, ok := s.PaperValue(m, arch, treat.Name(), r.PaperColumn); ok {
		r.PaperTreat = &v
	}
	r.Judge()
	if treat.Untrained {
		r.Control, r.Outcome = true, RowControl
	}
	return r
}

// judgeTable words a table's verdict from its per-column rows (the
// averages when a table has only those): holds when every measurable row
// holds, contradicted when some row is contradicted, not shown otherwise;
// not measurable when no row is measurable because a network did not learn.
// Control rows (an untrained variant) are never counted.
func judgeTable(rows []Row) Verdict {
	var counted []Row
	for _, r := range rows {
		if !r.IsAverage() && !r.Control {
			counted = append(counted, r)
		}
	}
	if len(counted) == 0 {
		return Verdict{Outcome: NotMeasured, Text: "nothing was measured"}
	}
	v := Verdict{Total: len(counted)}
	var measurable []Row
	var notLearned, contradicted, notShown, collapsed []string
	for _, r := range counted {
		name := fmt.Sprintf("%s %s/%s", r.Metric, r.Arch, r.Column)
		switch r.Outcome {
		case RowNotMeasurable:
			notLearned = append(notLearned, r.NotLearned...)
			continue
		case RowHolds:
			v.Agree++
		case RowContradicted:
			contradicted = append(contradicted, name)
		case RowCollapsed:
			collapsed = append(collapsed, fmt.Sprintf("%s (%s)", name, r.Collapse))
		default:
			notShown = append(notShown, name)
		}
		measurable = append(measurable, r)
	}
	if len(measurable) == 0 {
		v.Outcome = NotMeasurable
		v.Text = fmt.Sprintf("Not measurable: the network did not learn (%s).", strings.Join(notLearned, "; "))
		return v
	}
	var sizes []string
	for _, m := range MetricsOf(measurable) {
		sizes = append(sizes, differenceSummary(m, measurable))
	}
	seeds := measurable[0].Diff.N
	of := fmt.Sprintf("%d of %d measurable comparisons", v.Agree, len(measurable))
	switch {
	case len(contradicted) > 0:
		v.Outcome = Contradicted
		v.Text = fmt.Sprintf("Contradicted: the 95 %% interval of the paired difference lies against the claim for %s; %s hold; %s.",
			strings.Join(contradicted, ", "), of, strings.Join(sizes, "; "))
	case v.Agree == len(measurable):
		v.Outcome = Holds
		v.Text = fmt.Sprintf("The paper's claim holds on this data at this scale: in %s the 95 %% interval of the paired difference over %s lies on the claimed side; %s.",
			of, plural(seeds, "seed"), strings.Join(sizes, "; "))
	default:
		v.Outcome = NotShown
		var why []string
		if len(notShown) > 0 {
			w := fmt.Sprintf("the 95 %% interval over %s reaches across the claim's boundary (0, or the tolerance) for %s", plural(seeds, "seed"), strings.Join(notShown, ", "))
			if seeds < 2 {
				w = "one seed gives no interval"
			}
			why = append(why, w)
		}
		if len(collapsed) > 0 {
			why = append(why, fmt.Sprintf("the interval lies on the claimed side, but the interpretable filters collapsed onto one part for %s, so the gain does not show filters that stand for parts", strings.Join(collapsed, ", ")))
		}
		v.Text = fmt.Sprintf("Not shown: %s; %s hold; %s.", strings.Join(why, "; "), of, strings.Join(sizes, "; "))
	}
	if len(notLearned) > 0 {
		v.Text += fmt.Sprintf(" Not measurable, because the network did not learn: %s.", strings.Join(notLearned, "; "))
	}
	return v
}

// differenceSummary is the mean treatment−baseline difference of one
// metric's rows, next to the paper's where the paper has both numbers.
func differenceSummary(m spec.Metric, rows []Row) string {
	var ours, paper float64
	n, np := 0, 0
	for _, r := range rows {
		if r.Metric != m {
			continue
		}
		ours += r.MeanDiff()
		n++
		if r.PaperBase != nil && r.PaperTreat != nil {
			d := *r.PaperTreat - *r.PaperBase
			if m == spec.Accuracy {
				d /= 100 // the paper prints accuracy in %
			}
			paper += d
			np++
		}
	}
	s := fmt.Sprintf("%s: mean difference treatment − baseline %s", m, signedValue(m, ours/float64(n)))
	if np > 0 {
		s += fmt.Sprintf(" (paper, same cells: %s)", signedValue(m, paper/float64(np)))
	}
	return s
}

func signedValue(m spec.Metric, v float64) string {
	if m == spec.Accuracy {
		return fmt.Sprintf("%+.2f points", 100*v)
	}
	return fmt.Sprintf("%+.3f", v)
}

// FormatValue prints a metric value as the paper does (accuracy in %).
func FormatValue(m spec.Metric, v float64) string {
	if m == spec.Accuracy {
		return fmt.Sprintf("%.2f", 100*v)
	}
	return fmt.Sprintf("%.3f", v)
}

// MetricsOf lists the metrics of rows, in the order they first appear.
func MetricsOf(rows []Row) []spec.Metric {
	var ms []spec.Metric
	for _, r := range rows {
		if len(ms) == 0 || ms[len(ms)-1] != r.Metric {
			found := false
			for _, m := range ms {
				found = found || m == r.Metric
			}
			if !found {
				ms = append(ms, r.Metric)
			}
		}
	}
	return ms
}
