package reproduce

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/icnnlab/icnnlab/internal/train"
)

// RunResult is what one trained run measured.
type RunResult struct {
	Key string `json:"key"`
	// Dataset is the real dataset ("": the synthetic world).
	Dataset string `json:"dataset,omitempty"`
	Arch    string `json:"arch"`
	Variant string `json:"variant"`
	Column  string `json:"column"`
	Seed    int    `json:"seed"`
	// RunDir is the run's directory relative to the run store (its name
	// there), so that results do not depend on where the store lives.
	RunDir string `json:"run_dir"`
	Reused bool   `json:"reused"`
	// TrainSeconds is the run's own training time (also when reused).
	TrainSeconds float64 `json:"train_seconds"`
	// TrainImages and TestImages are the sizes of the run's datasets.
	TrainImages int `json:"train_images,omitempty"`
	TestImages  int `json:"test_images,omitempty"`
	// Config is the run's training config (plugin parameters resolved).
	Config *train.Config `json:"config,omitempty"`
	// Layer is the evaluated layer: the network's top conv-layer, which for
	// the interpretable CNN is the inserted interpretable conv.
	Layer       string             `json:"layer"`
	Accuracy    *float64           `json:"accuracy,omitempty"`
	PartInterp  *FilterMeasure     `json:"part_interpretability,omitempty"`
	Instability map[string]Measure `json:"location_instability,omitempty"`
}

// FilterMeasure is a layer score with its per-filter values.
type FilterMeasure = Measure

// Measure is a layer's score (the paper's number) and the per-filter
// values it averages (P_f, or D_f of the defined filters).
type Measure struct {
	Mean    float64   `json:"mean"`
	Filters []float64 `json:"filters"`
}

// LandmarkKey names a landmark set.
func LandmarkKey(landmarks []string) string { return strings.Join(landmarks, ",") }

// Value returns a run's number for a metric (landmarks for instability).
func (r *RunResult) Value(m Metric, landmarks []string) (Measure, bool) {
	switch m {
	case Accuracy:
		if r.Accuracy == nil {
			return Measure{}, false
		}
		return Measure{Mean: *r.Accuracy}, true
	case PartInterpretability:
		if r.PartInterp == nil {
			return Measure{}, false
		}
		return *r.PartInterp, true
	case LocationInstability:
		v, ok := r.Instability[LandmarkKey(landmarks)]
		return v, ok
	}
	return Measure{}, false
}

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
	Metric Metric `json:"metric"`
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
	PaperNetwork string    `json:"paper_network,omitempty"`
	Direction    Direction `json:"direction"`
	Tolerance    float64   `json:"tolerance,omitempty"`
	// Agrees: our means go the way the paper claims.
	Agrees bool `json:"agrees"`
	// Clear: the difference exceeds the seeds' spread (Base.Std + Treat.Std);
	// never with one seed.
	Clear bool `json:"clear"`
	// Runs are the run directories behind the row relative to the run
	// store, baseline seeds first
	// (none for the average over columns).
	Runs []string `json:"runs,omitempty"`
	// Report is the row's visualizer report (report.html comparing its
	// runs), relative to the reports' directory; "" when none was made.
	Report string `json:"report,omitempty"`
}

// Diff is treatment minus baseline.
func (r Row) Diff() float64 { return r.Treat.Mean - r.Base.Mean }

// IsAverage marks the row averaged over the columns.
func (r Row) IsAverage() bool { return r.Column == "avg" }

// Judge sets Agrees and Clear.
func (r *Row) Judge() {
	d := r.Diff()
	switch r.Direction {
	case Higher:
		r.Agrees = d > 0
	case Lower:
		r.Agrees = d < 0
	case Preserved:
		r.Agrees = d >= -r.Tolerance
	case Similar:
		r.Agrees = math.Abs(d) <= r.Tolerance
	}
	spread := r.Base.Std + r.Treat.Std
	r.Clear = r.Base.N > 1 && r.Treat.N > 1 && math.Abs(d) > spread
}

// Claimed is the direction in words, e.g. "interpretable > ordinary".
func (r Row) Claimed() string {
	switch r.Direction {
	case Higher:
		return r.Treatment + " > " + r.Baseline
	case Lower:
		return r.Treatment + " < " + r.Baseline
	case Preserved:
		return fmt.Sprintf("%s ≥ %s − %s", r.Treatment, r.Baseline, formatTolerance(r.Metric, r.Tolerance))
	case Similar:
		return fmt.Sprintf("%s ≈ %s (±%s)", r.Treatment, r.Baseline, formatTolerance(r.Metric, r.Tolerance))
	}
	return string(r.Direction)
}

func formatTolerance(m Metric, t float64) string {
	if m == Accuracy {
		return fmt.Sprintf("%.1f pts", 100*t)
	}
	return fmt.Sprintf("%.3f", t)
}

// Distribution is the per-filter values of one run group, for plots.
type Distribution struct {
	Metric  Metric    `json:"metric"`
	Arch    string    `json:"arch"`
	Column  string    `json:"column"`
	Variant string    `json:"variant"`
	Values  []float64 `json:"values"`
}

// Verdict is a table's conclusion.
type Verdict struct {
	// Outcome is holds, partly or does-not-hold.
	Outcome string `json:"outcome"`
	Agree   int    `json:"agree"`
	Total   int    `json:"total"`
	Text    string `json:"text"`
}

// Verdict outcomes.
const (
	Holds       = "holds"
	PartlyHolds = "partly"
	DoesNotHold = "does-not-hold"
	NotMeasured = "not-measured"
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
	NotApplicable *NotApplicable `json:"not_applicable,omitempty"`
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
func BuildTable(tp TablePlan, scale Scale, results map[string]*RunResult) (*TableResult, error) {
	s := tp.Spec
	t := &TableResult{ID: s.ID, Title: s.Title, StandsInFor: s.StandsInFor, Claim: s.Claim,
		PaperSource: s.Paper.Source, Scale: scale.Name, Seeds: tp.Seeds, NotApplicable: s.NotApplicable}
	sources := tp.Sources
	if len(sources) == 0 { // a plan made by hand: the synthetic world
		sources = []TableSource{{Columns: tp.Runs.Columns, Landmarks: s.Landmarks}}
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
	base, err := ParseVariant(s.Baseline)
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
				// collect gathers one variant's values on a column, by seed.
				collect := func(v Variant, col string) ([]float64, []float64, []string, error) {
					var vals, filters []float64
					var dirs []string
					for seed := 1; seed <= tp.Seeds; seed++ {
						key := RunKey(src.Dataset, arch, v, col, seed)
						r, ok := results[key]
						if !ok {
							return nil, nil, nil, fmt.Errorf("table %s: run %s has no result", s.ID, key)
						}
						meas, ok := r.Value(m, src.Landmarks)
						if !ok {
							return nil, nil, nil, fmt.Errorf("table %s: run %s did not measure %s", s.ID, key, m)
						}
						vals = append(vals, meas.Mean)
						if r.RunDir != "" {
							dirs = append(dirs, r.RunDir)
						}
						if seed == 1 {
							filters = meas.Filters
						}
					}
					return vals, filters, dirs, nil
				}
				for _, tname := range tp.Runs.Variants {
					treat, err := ParseVariant(tname)
					if err != nil {
						return nil, err
					}
					baseAvg := make([]float64, tp.Seeds)
					treatAvg := make([]float64, tp.Seeds)
					for _, col := range src.Columns {
						bv, bf, bdirs, err := collect(base, col)
						if err != nil {
							return nil, err
						}
						tv, tf, tdirs, err := collect(treat, col)
						if err != nil {
							return nil, err
						}
						for i := range bv {
							baseAvg[i] += bv[i] / float64(len(src.Columns))
							treatAvg[i] += tv[i] / float64(len(src.Columns))
						}
						row := s.row(m, src.Dataset, arch, col, base, treat, bv, tv)
						row.Runs = append(bdirs, tdirs...)
						t.Rows = append(t.Rows, row)
						if m != Accuracy {
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
						t.Rows = append(t.Rows, s.row(m, src.Dataset, arch, "avg", base, treat, baseAvg, treatAvg))
					}
				}
			}
		}
	}
	t.Verdict = judgeTable(t.Rows)
	return t, nil
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// setupLine describes the runs of a table on one source when they are not
// the scale's synthetic runs: the data, split and sizes of the first run.
func setupLine(tp TablePlan, scale Scale, src TableSource, results map[string]*RunResult) string {
	if src.Dataset == "" && tp.Runs.Settings == nil {
		return ""
	}
	var parts []string
	for _, col := range src.Columns {
		r, ok := results[RunKey(src.Dataset, tp.Runs.Archs[0], Variant{}, col, 1)]
		if !ok || r.Config == nil {
			continue
		}
		c := r.Config
		task := fmt.Sprintf("%s: single-category %s vs the other categories", col, c.Data.Target)
		if IsMulti(col) {
			task = fmt.Sprintf("%s: %d categories", col, c.Data.Categories)
		}
		parts = append(parts, fmt.Sprintf("%s, %d training and %d test images", task, r.TrainImages, r.TestImages))
		if len(parts) == 1 {
			parts[0] = fmt.Sprintf("%s at width %g, %d px, %s, batch %d; ", PaperNetwork(c.Model.Arch), c.Model.Width, c.Data.ImageSize, plural(c.Epochs, "epoch"), c.Batch) + parts[0]
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return fmt.Sprintf("On %s: %s.", datasetTitle(src.Dataset), strings.Join(parts, "; "))
}

func (t *TableResult) hasDistribution(m Metric, arch, col, variant string) bool {
	return slices.ContainsFunc(t.Distributions, func(d Distribution) bool {
		return d.Metric == m && d.Arch == arch && d.Column == col && d.Variant == variant
	})
}

func (s *Spec) row(m Metric, dataset, arch, col string, base, treat Variant, bv, tv []float64) Row {
	r := Row{Metric: m, Dataset: dataset, Arch: arch, Column: col, PaperColumn: s.PaperColumnOn(dataset, col),
		Baseline: base.Label(), Treatment: treat.Label(),
		Base: NewStat(bv), Treat: NewStat(tv), Direction: s.DirectionOf(m), Tolerance: s.Tolerance[m]}
	if n := s.PaperNetworkOf(arch); n != PaperNetwork(arch) {
		r.PaperNetwork = n
	}
	if v, ok := s.PaperValue(m, arch, base.Name(), r.PaperColumn); ok {
		r.PaperBase = &v
	}
	if v, ok := s.PaperValue(m, arch, treat.Name(), r.PaperColumn); ok {
		r.PaperTreat = &v
	}
	r.Judge()
	return r
}

// judgeTable counts the per-column rows (the averages when a table has only
// those) and words the verdict: which way the comparisons went, by how
// much on average, and how that compares with the paper's differences.
func judgeTable(rows []Row) Verdict {
	var counted []Row
	for _, r := range rows {
		if !r.IsAverage() {
			counted = append(counted, r)
		}
	}
	if len(counted) == 0 {
		return Verdict{Outcome: NotMeasured, Text: "nothing was measured"}
	}
	v := Verdict{Total: len(counted)}
	var disagree, sizes []string
	clear := 0
	for _, r := range counted {
		if r.Agrees {
			v.Agree++
			if r.Clear {
				clear++
			}
		} else {
			disagree = append(disagree, fmt.Sprintf("%s %s/%s (%s %s vs %s %s)", r.Metric, r.Arch, r.Column,
				r.Baseline, formatValue(r.Metric, r.Base.Mean), shortLabel(r.Treatment), formatValue(r.Metric, r.Treat.Mean)))
		}
	}
	for _, m := range metricsOf(counted) {
		sizes = append(sizes, differenceSummary(m, counted))
	}
	seeds := counted[0].Treat.N
	noise := fmt.Sprintf("%d beyond the spread over %d seeds", clear, seeds)
	if seeds < 2 {
		noise = "one seed, so no spread to judge noise by"
	}
	comparisons := fmt.Sprintf("%d comparisons", v.Total)
	if v.Total == 1 {
		comparisons = "the one comparison"
	}
	switch {
	case v.Agree == v.Total:
		v.Outcome = Holds
		v.Text = fmt.Sprintf("The paper's claim holds on this data at this scale, because %s went the claimed way (%s); %s.",
			comparisons, noise, strings.Join(sizes, "; "))
		if seeds > 1 && clear == 0 {
			v.Text += " The evidence is weak: no difference exceeds the spread over seeds."
		}
	case v.Agree == 0:
		v.Outcome = DoesNotHold
		v.Text = fmt.Sprintf("The paper's claim does not hold on this data at this scale, because %s went against it: %s; %s.",
			comparisons, strings.Join(disagree, "; "), strings.Join(sizes, "; "))
	default:
		v.Outcome = PartlyHolds
		v.Text = fmt.Sprintf("The paper's claim holds only partly on this data at this scale: %d of %s went the claimed way (%s); against it: %s; %s.",
			v.Agree, comparisons, noise, strings.Join(disagree, "; "), strings.Join(sizes, "; "))
	}
	return v
}

// differenceSummary is the mean treatment−baseline difference of one
// metric's rows, next to the paper's where the paper has both numbers.
func differenceSummary(m Metric, rows []Row) string {
	var ours, paper float64
	n, np := 0, 0
	for _, r := range rows {
		if r.Metric != m {
			continue
		}
		ours += r.Diff()
		n++
		if r.PaperBase != nil && r.PaperTreat != nil {
			d := *r.PaperTreat - *r.PaperBase
			if m == Accuracy {
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

func signedValue(m Metric, v float64) string {
	if m == Accuracy {
		return fmt.Sprintf("%+.2f points", 100*v)
	}
	return fmt.Sprintf("%+.3f", v)
}

// formatValue prints a metric value as the paper does (accuracy in %).
func formatValue(m Metric, v float64) string {
	if m == Accuracy {
		return fmt.Sprintf("%.2f", 100*v)
	}
	return fmt.Sprintf("%.3f", v)
}
