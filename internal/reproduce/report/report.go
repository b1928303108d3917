package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/icnnlab/icnnlab/internal/atomicfile"
	"github.com/icnnlab/icnnlab/internal/data/catalog"
	"github.com/icnnlab/icnnlab/internal/reproduce/execute"
	"github.com/icnnlab/icnnlab/internal/reproduce/plan"
	"github.com/icnnlab/icnnlab/internal/reproduce/spec"
	"github.com/icnnlab/icnnlab/internal/reproduce/verdict"
)

// Report is everything one reproduction produced.
type Report struct {
	Scale spec.Scale `json:"scale"`
	// WallSeconds is the time of the whole reproduction (training reused
	// from the run store included at its cost of zero).
	WallSeconds float64                `json:"wall_seconds"`
	Backend     string                 `json:"backend"`
	Tables      []*verdict.TableResult `json:"tables"`
	Runs        []*execute.RunResult   `json:"runs"`
	Skipped     []string               `json:"skipped_tables,omitempty"`
}

// BuildReport aggregates every planned table.
func BuildReport(p *plan.Plan, results map[string]*execute.RunResult) (*Report, error) {
	r := &Report{Scale: p.Scale, Skipped: p.Skipped}
	for _, tp := range p.Tables {
		t, err := verdict.BuildTable(tp, p.Scale, results)
		if err != nil {
			return nil, err
		}
		r.Tables = append(r.Tables, t)
	}
	for _, pr := range p.Runs {
		if rr, ok := results[pr.Key]; ok {
			r.Runs = append(r.Runs, rr)
		}
	}
	return r, nil
}

// Output file names in the output directory.
const (
	MarkdownFile = "paper-tables.md"
	CSVFile      = "paper-tables.csv"
	JSONFile     = "paper-tables.json"
	HTMLFile     = "paper-tables.html"
)

// WriteAll writes the Markdown, CSV, JSON and HTML reports into dir.
func (r *Report) WriteAll(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range []struct {
		name  string
		write func(io.Writer) error
	}{{MarkdownFile, r.WriteMarkdown}, {CSVFile, r.WriteCSV}, {JSONFile, r.WriteJSON}, {HTMLFile, r.WriteHTML}} {
		if err := atomicfile.Write(filepath.Join(dir, f.name), f.write); err != nil {
			return err
		}
	}
	return nil
}

// WriteJSON writes the whole report, per-filter values included.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteCSV writes one line per table row, then one per metric a table
// declares not applicable (with empty numbers and the reason in note).
// dataset is the real dataset of the row, empty for the synthetic world.
func (r *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"table", "metric", "network", "column", "paper_column", "baseline", "treatment",
		"baseline_mean", "baseline_std", "treatment_mean", "treatment_std", "seeds",
		"paper_baseline", "paper_treatment", "claim", "agrees", "difference", "ci95_low", "ci95_high", "outcome", "dataset", "note"})
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }
	opt := func(v *float64) string {
		if v == nil {
			return ""
		}
		return strconv.FormatFloat(*v, 'f', -1, 64)
	}
	for _, t := range r.Tables {
		for _, row := range t.Rows {
			ciLow, ciHigh := "", ""
			if row.CI != nil {
				ciLow, ciHigh = f(row.CI[0]), f(row.CI[1])
			}
			cw.Write([]string{t.ID, string(row.Metric), spec.PaperNetwork(row.Arch), row.Column, row.PaperColumn, row.Baseline, row.Treatment,
				f(row.Base.Mean), f(row.Base.Std), f(row.Treat.Mean), f(row.Treat.Std), strconv.Itoa(row.Treat.N),
				opt(row.PaperBase), opt(row.PaperTreat), row.Claimed(), strconv.FormatBool(row.Agrees), f(row.Diff.Mean), ciLow, ciHigh, row.Outcome, row.Dataset, csvNote(row)})
		}
		if na := t.NotApplicable; na != nil {
			for _, m := range na.Metrics {
				cw.Write([]string{t.ID, string(m), "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "",
					strings.Join(t.Datasets, " "), "not applicable: " + na.Reason})
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// cell prints "mean ± std" in the metric's units.
func cell(m spec.Metric, s verdict.Stat) string {
	if s.N == 0 {
		return "—"
	}
	if s.N == 1 {
		return verdict.FormatValue(m, s.Mean)
	}
	return verdict.FormatValue(m, s.Mean) + " ± " + verdict.FormatValue(m, s.Std)
}

func paperCell(m spec.Metric, v *float64) string {
	if v == nil {
		return "—"
	}
	if m == spec.Accuracy {
		return fmt.Sprintf("%.2f", *v) // the paper prints accuracy in %
	}
	return fmt.Sprintf("%.3f", *v)
}

func csvNote(r verdict.Row) string {
	if r.Control {
		return "untrained control: the treatment at its initialisation, not judged"
	}
	if r.PaperNetwork != "" && (r.PaperBase != nil || r.PaperTreat != nil) {
		return "paper numbers: " + r.PaperNetwork
	}
	return ""
}

// paperCellOf is a row's paper number, naming the paper's network when it
// is not the row's.
func paperCellOf(r verdict.Row, v *float64) string {
	c := paperCell(r.Metric, v)
	if v != nil && r.PaperNetwork != "" {
		c += " (" + r.PaperNetwork + ")"
	}
	return c
}

// diffCell is the paired difference with its 95 % interval.
func diffCell(r verdict.Row) string {
	scale, format, unit := 1.0, "%+.3f", ""
	if r.Metric == spec.Accuracy {
		scale, format, unit = 100, "%+.2f", " pts"
	}
	d := fmt.Sprintf(format, scale*r.Diff.Mean)
	if r.CI != nil {
		d += fmt.Sprintf(" ["+format+", "+format+"]", scale*r.CI[0], scale*r.CI[1])
	}
	return d + unit
}

func outcomeCell(r verdict.Row) string {
	switch r.Outcome {
	case verdict.RowHolds:
		return "holds"
	case verdict.RowContradicted:
		return "**contradicted**"
	case verdict.RowNotMeasurable:
		return "not measurable: the network did not learn"
	case verdict.RowCollapsed:
		return "**collapsed**: " + r.Collapse
	}
	return r.Outcome
}

// controlLegend says what a table's control rows show ("" without any).
func controlLegend(t *verdict.TableResult) string {
	var controls []string
	for _, row := range t.Rows {
		if row.Control && !slices.Contains(controls, row.Treatment) {
			controls = append(controls, row.Treatment)
		}
	}
	if len(controls) == 0 {
		return ""
	}
	return fmt.Sprintf("Control rows (%s): the network at its initialisation, pretrained layers copied and the inserted conv and head as drawn, with no fine-tuning step. "+
		"They show how much of a trained variant's numbers exists before training; they are never judged and do not count in the verdict.", strings.Join(controls, ", "))
}

// purityLegend says what the pattern-purity column holds.
const purityLegend = "\"pattern purity\" is the visual counterpart of part interpretability, from the row's visualizer report: per filter, the share of its 20 strongest peaks whose receptive-field centre lies on the part most of them land on, averaged over the filters that fire and over the seeds, for the baseline → the treatment (docs/visualizers.md)."

// hasPurity reports whether some row of t quotes its report's purity.
func hasPurity(t *verdict.TableResult) bool {
	return slices.ContainsFunc(t.Rows, func(r verdict.Row) bool { return r.Purity != nil })
}

// anyPurity reports whether some table quotes pattern purity.
func (r *Report) anyPurity() bool { return slices.ContainsFunc(r.Tables, hasPurity) }

// purityCell is a row's pattern purity, baseline → treatment ("—" without
// a report).
func purityCell(r verdict.Row) string {
	if r.Purity == nil {
		return "—"
	}
	return fmt.Sprintf("%.3f → %.3f", r.Purity.Base, r.Purity.Treat)
}

func columnCell(r verdict.Row) string {
	c := r.Column
	if r.Dataset != "" {
		c += ", " + catalog.Title(r.Dataset)
	}
	if r.PaperColumn != r.Column && r.PaperColumn != "" {
		return c + " (paper: " + r.PaperColumn + ")"
	}
	return c
}

// dataTitle names the data of the whole report: the synthetic world and
// the real datasets its tables ran on.
func (r *Report) dataTitle() string {
	var names []string
	synthetic := false
	for _, t := range r.Tables {
		if len(t.Datasets) == 0 {
			synthetic = true
		}
		for _, d := range t.Datasets {
			if !slices.Contains(names, catalog.Title(d)) {
				names = append(names, catalog.Title(d))
			}
		}
	}
	if synthetic {
		names = append(names, catalog.Title(""))
	}
	switch len(names) {
	case 0:
		return catalog.Title("")
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// synthetic reports whether some table ran on the synthetic world.
func (r *Report) synthetic() bool {
	for _, t := range r.Tables {
		if len(t.Datasets) == 0 {
			return true
		}
	}
	return len(r.Tables) == 0
}

// measures reports whether some table measures metric m.
func (r *Report) measures(m spec.Metric) bool {
	for _, t := range r.Tables {
		for _, row := range t.Rows {
			if row.Metric == m {
				return true
			}
		}
	}
	return false
}

// dataLine says which data a table ran on ("" for the synthetic world).
func dataLine(t *verdict.TableResult) string {
	if len(t.Datasets) == 0 {
		return ""
	}
	var names []string
	for _, d := range t.Datasets {
		names = append(names, catalog.Title(d))
	}
	what := "the real dataset"
	if len(names) > 1 {
		what = "the real datasets"
	}
	return "Data: " + strings.Join(names, ", ") + " (" + what + ", not the synthetic world)."
}

// WriteMarkdown writes the tables with their verdicts.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Paper tables on %s — scale %s\n\n", r.dataTitle(), r.Scale.Name)
	if r.synthetic() {
		fmt.Fprintf(&b, "%s. Networks at width %g, %d px images, %d epochs; single-category worlds of %d categories (%d training samples), multi-category %d categories (%d samples); %d test samples.",
			r.Scale.Description, r.Scale.Width, r.Scale.ImageSize, r.Scale.Epochs, r.Scale.SingleCategories, r.Scale.SingleTrain,
			r.Scale.MultiCategories, r.Scale.MultiTrain, r.Scale.Test)
	} else {
		fmt.Fprintf(&b, "Scale %s; each table gives its runs' data and sizes.", r.Scale.Name)
	}
	if r.synthetic() {
		fmt.Fprintf(&b, " World seed %d, difficulty %g.", r.Scale.EvalWorldSeed(), r.Scale.Difficulty)
		if p := r.Scale.Pretrain; p != nil {
			fmt.Fprintf(&b, " Every network is fine-tuned from an ordinary network pretrained on a disjoint world (seed %d, %d categories, %d samples, %d epochs), conv layers copied, head fresh.",
				p.WorldSeed, p.Categories, p.Train, p.Epochs)
		}
		if r.Scale.MinTopMap > 0 {
			fmt.Fprintf(&b, " Pools are dropped until the top conv map is at least %d×%d.", r.Scale.MinTopMap, r.Scale.MinTopMap)
		}
	}
	if r.measures(spec.PartInterpretability) {
		fmt.Fprintf(&b, " Part interpretability region: %s", r.Scale.Region.Name())
		if r.Scale.TopFraction == 0 && r.Scale.Region.TopFraction == 0 {
			fmt.Fprintf(&b, ", keeping the top 0.005·196/(H·W) of each filter's units (the paper's 0.005 rescaled to the map size)")
		}
		b.WriteString(".")
	}
	if r.WallSeconds > 0 {
		fmt.Fprintf(&b, " Wall time %s (%d runs; their training took %s, counted also for runs reused from the run store).", formatDuration(r.WallSeconds), len(r.Runs), formatDuration(r.trainSeconds()))
	}
	b.WriteString("\n\nValues are mean ± sample std over seeds; accuracy in %. \"difference\" is treatment − baseline paired by seed, with its 95 % interval (Student's t) from 2 seeds on. A row holds when the interval lies on the claimed side (for accuracy: above −tolerance), is contradicted when it lies on the other, and is not shown otherwise; it is not measurable when a network did not learn (train accuracy below 90 %, or test accuracy within 10 points of chance), and a part-interpretability row is collapsed, not holding, when 90 % or more of the treatment's filters choose one part as their best.")
	if r.anyPurity() {
		b.WriteString(" " + purityLegend)
	}
	b.WriteString("\n")
	for _, t := range r.Tables {
		fmt.Fprintf(&b, "\n## %s\n\n", t.Title)
		if t.StandsInFor != "" {
			fmt.Fprintf(&b, "Stands in for: %s. ", t.StandsInFor)
		}
		if d := dataLine(t); d != "" {
			fmt.Fprintf(&b, "%s ", d)
		}
		fmt.Fprintf(&b, "Claim: %s", t.Claim)
		if t.PaperSource != "" {
			fmt.Fprintf(&b, " Paper numbers: `%s`.", t.PaperSource)
		}
		fmt.Fprintf(&b, " Seeds: %d.\n\n", t.Seeds)
		for _, s := range t.Setup {
			fmt.Fprintf(&b, "Runs. %s\n\n", s)
		}
		purity := hasPurity(t)
		b.WriteString("| metric | network | column | baseline | ours | treatment | ours | difference [95 % interval] | paper baseline | paper treatment | claim | outcome |")
		if purity {
			b.WriteString(" pattern purity, baseline → treatment |")
		}
		b.WriteString("\n|---|---|---|---|---|---|---|---|---|---|---|---|")
		if purity {
			b.WriteString("---|")
		}
		b.WriteString("\n")
		for _, row := range t.Rows {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |",
				row.Metric, spec.PaperNetwork(row.Arch), columnCell(row), row.Baseline, cell(row.Metric, row.Base),
				row.Treatment, cell(row.Metric, row.Treat), diffCell(row), paperCellOf(row, row.PaperBase), paperCellOf(row, row.PaperTreat),
				row.Claimed(), outcomeCell(row))
			if purity {
				fmt.Fprintf(&b, " %s |", purityCell(row))
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
		if l := controlLegend(t); l != "" {
			fmt.Fprintf(&b, "%s\n\n", l)
		}
		if na := t.NotApplicableText(); na != "" {
			fmt.Fprintf(&b, "**Not applicable:** %s\n\n", na)
		}
		for _, n := range t.Notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
		fmt.Fprintf(&b, "\n**Verdict:** %s\n", t.Verdict.Text)
		writePartSpread(&b, t)
		writeSensitivity(&b, r.Scale, t)
	}
	writeRuns(&b, r.Runs)
	if len(r.Skipped) > 0 {
		fmt.Fprintf(&b, "\nNot planned at this scale: %s.\n", strings.Join(r.Skipped, ", "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writePartSpread shows how the filters' best parts spread over the parts,
// so that a collapse onto one part is visible beside P.
func writePartSpread(b *strings.Builder, t *verdict.TableResult) {
	if len(t.PartSpread) == 0 {
		return
	}
	b.WriteString("\nPart diversity (each filter's best part, seeds pooled; a collapse is 90 % or more of the filters on one part):\n\n")
	b.WriteString("| network | column | variant | filters | distinct best parts | most frequent | share | collapse |\n|---|---|---|---|---|---|---|---|\n")
	for _, p := range t.PartSpread {
		collapse := "no"
		if p.Filters == 0 {
			collapse = "–" // nothing measured: neither a collapse nor a spread
		}
		if p.Collapsed() {
			collapse = "**yes**"
		}
		fmt.Fprintf(b, "| %s | %s | %s | %d | %d | %s | %.0f %% | %s |\n", spec.PaperNetwork(p.Arch), p.Column, p.Variant, p.Filters, p.Distinct, p.TopPart, 100*p.TopShare, collapse)
	}
}

// writeSensitivity repeats the part-interpretability comparison under the
// alternative region rules.
func writeSensitivity(b *strings.Builder, sc spec.Scale, t *verdict.TableResult) {
	if len(t.Sensitivity) == 0 {
		return
	}
	fmt.Fprintf(b, "\nRegion-rule sensitivity (the table above uses %s):\n\n", sc.Region.Name())
	// The variants are named as in the table above: a table with several
	// treatments (the ablation) repeats each column once per treatment.
	b.WriteString("| region rule | network | column | baseline | ours | treatment | ours | difference [95 % interval] | outcome |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, row := range t.Sensitivity {
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", row.Region, spec.PaperNetwork(row.Arch), row.Column,
			row.Baseline, cell(row.Metric, row.Base), row.Treatment, cell(row.Metric, row.Treat), diffCell(row), outcomeCell(row))
	}
}

// writeRuns lists every run: whether its network learned, the pretrained
// network it started from, and how its filter loss behaved.
func writeRuns(b *strings.Builder, runs []*execute.RunResult) {
	if len(runs) == 0 {
		return
	}
	b.WriteString("\n## Runs\n\nTrain accuracy is the last epoch's (training mode), an untrained control's that of its initial weights (evaluation mode); chance is the most frequent test class. ")
	fmt.Fprintf(b, "The filter/classification gradient ratio is |λ·∇filter loss| / |∇classification loss| on the interpretable layers' weights at the start of the first and last epoch; inert: below %g in every epoch; runaway: above %g, or the mean max activation grew more than %g-fold.\n\n", execute.InertGradRatio, float64(execute.RunawayGradRatio), float64(execute.RunawayGrowth))
	b.WriteString("| run | train acc | test acc | chance | learned | pretrained from | train s | grad ratio first → last | filter loss |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range runs {
		learned := "yes"
		if r.Role == plan.RolePretrain {
			learned = "(pretraining)"
		} else if r.Untrained() {
			learned = "(untrained control)"
		} else if p := r.LearnedProblem(); p != "" {
			learned = "**no**"
		}
		pre, ratio, flags := "—", "—", "—"
		if r.Pretrain != "" {
			pre = r.Pretrain
		}
		if h := r.FilterLoss; h != nil && len(h.GradRatio) > 0 {
			ratio = fmt.Sprintf("%.2g → %.2g", h.GradRatio[0], h.GradRatio[len(h.GradRatio)-1])
			flags = "live"
			switch {
			case h.Runaway:
				flags = "**runaway**"
			case h.Inert:
				flags = "**inert**"
			}
		}
		chance := "—"
		if r.Chance > 0 {
			chance = fmt.Sprintf("%.1f", 100*r.Chance)
		}
		fmt.Fprintf(b, "| %s | %.1f | %.1f | %s | %s | %s | %.0f | %s | %s |\n", r.Key, 100*r.TrainAccuracy, 100*r.TestAccuracy, chance, learned, pre, r.TrainSeconds, ratio, flags)
	}
}

// WriteVerdicts writes one plain-text verdict per table.
func (r *Report) WriteVerdicts(w io.Writer) error {
	var b strings.Builder
	for _, t := range r.Tables {
		fmt.Fprintf(&b, "%s: %s", t.Title, t.Verdict.Text)
		if na := t.NotApplicableText(); na != "" {
			fmt.Fprintf(&b, " %s", na)
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func formatDuration(s float64) string {
	if s < 90 {
		return fmt.Sprintf("%.0f s", s)
	}
	return fmt.Sprintf("%.1f min", s/60)
}
