package report

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/icnnlab/icnnlab/internal/reproduce/plan"
	"github.com/icnnlab/icnnlab/internal/reproduce/spec"
	"github.com/icnnlab/icnnlab/internal/reproduce/verdict"
)

// ReadReport reads a report written by WriteJSON.
func ReadReport(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("report %s: %w", path, err)
	}
	return &r, nil
}

// Summary markers delimit the README's generated results summary.
const (
	SummaryBegin = "<!-- results summary: generated from reproductions/results by `go test ./internal/reproduce/report -run TestReadmeSummary -update`; do not edit -->"
	SummaryEnd   = "<!-- end of results summary -->"
)

// SummaryScales are the scales the README summarises, in order.
var SummaryScales = []string{"default", "quick"}

// Summary renders the README's results summary from the committed reports
// under resultsDir (<scale>/paper-tables.json), in SummaryScales order;
// a scale without a report is said to be missing.
func Summary(resultsDir string) (string, error) {
	var b strings.Builder
	for _, name := range SummaryScales {
		path := filepath.Join(resultsDir, name, JSONFile)
		r, err := ReadReport(path)
		if os.IsNotExist(err) {
			fmt.Fprintf(&b, "### Scale %s\n\nNo committed results from the current protocol (reproductions/results/%s/ holds no report; see docs/investigations/protocol.md).\n\n", name, name)
			continue
		}
		if err != nil {
			return "", err
		}
		r.writeSummary(&b)
	}
	return strings.TrimRight(b.String(), "\n") + "\n", nil
}

func (r *Report) writeSummary(b *strings.Builder) {
	fmt.Fprintf(b, "### Scale %s — %d runs (training %s summed over the runs), world seed %d, difficulty %g\n\n", r.Scale.Name, len(r.Runs),
		formatDuration(r.trainSeconds()), r.Scale.EvalWorldSeed(), r.Scale.Difficulty)
	fmt.Fprintf(b, "%s. Backend %s. Full report: `reproductions/results/%s/paper-tables.md`.\n\n", r.Scale.Description, r.Backend, r.Scale.Name)
	b.WriteString("| goal | target | measured | reached |\n|---|---|---|---|\n")
	for _, g := range r.goals() {
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", g.goal, g.target, g.measured, g.reached)
	}
	b.WriteString("\n")
	for _, t := range r.Tables {
		fmt.Fprintf(b, "- **%s** — %s: %s\n", t.Title, t.Verdict.Outcome, t.Verdict.Text)
	}
	b.WriteString("\n")
}

// trainSeconds is the runs' own training time, also of runs reused from
// the run store.
func (r *Report) trainSeconds() float64 {
	total := 0.0
	for _, run := range r.Runs {
		total += run.TrainSeconds
	}
	return total
}

type goal struct{ goal, target, measured, reached string }

// goals fills the goal table from the report.
func (r *Report) goals() []goal {
	yesNo := func(ok bool) string {
		if ok {
			return "yes"
		}
		return "**no**"
	}
	var out []goal
	// Table 1: gain ≥ 0.20 with an interval above 0, best parts on ≥ 3 parts.
	if t := r.table("1"); t != nil {
		var parts []string
		ok := len(t.Rows) > 0
		for _, row := range t.Rows {
			if row.IsAverage() || row.Control {
				continue
			}
			parts = append(parts, fmt.Sprintf("%s %s: %s (%s)", spec.PaperNetwork(row.Arch), row.Column, diffCell(row), row.Outcome))
			ok = ok && row.Outcome == verdict.RowHolds && row.Diff.Mean >= 0.20
		}
		for _, p := range t.PartSpread {
			if p.Variant != t.Rows[0].Treatment {
				continue
			}
			parts = append(parts, fmt.Sprintf("%s best parts of the interpretable filters: %d distinct, %.0f %% %s", p.Column, p.Distinct, 100*p.TopShare, p.TopPart))
			ok = ok && p.Distinct >= 3 && !p.Collapsed()
		}
		out = append(out, goal{"Table 1 part-interpretability gain", "≥ +0.20 under the stated region rule, interval excludes 0, best parts on ≥ 3 parts", strings.Join(parts, "; "), yesNo(ok)})
	}
	// Tables 3–5: lower, with an interval that excludes 0.
	var inst []string
	instOK, any := true, false
	for _, id := range []string{"3", "4", "5"} {
		t := r.table(id)
		if t == nil {
			continue
		}
		for _, row := range t.Rows {
			if row.IsAverage() || row.Control {
				continue
			}
			any = true
			inst = append(inst, fmt.Sprintf("T%s %s: %s (%s)", id, row.Column, diffCell(row), row.Outcome))
			instOK = instOK && row.Outcome == verdict.RowHolds
		}
	}
	if any {
		out = append(out, goal{"Tables 3–5 location instability", "lower, interval excludes 0", strings.Join(inst, "; "), yesNo(instOK)})
	}
	// Table 7: single-category accuracy drops by at most 3 points.
	if t := r.table("7"); t != nil {
		var acc []string
		ok, any := true, false
		for _, row := range t.Rows {
			if row.IsAverage() || row.Control || spec.IsMulti(row.Column) {
				continue
			}
			any = true
			acc = append(acc, fmt.Sprintf("%s %s: %s (%s)", spec.PaperNetwork(row.Arch), row.Column, diffCell(row), row.Outcome))
			ok = ok && row.Diff.Mean >= -0.03
		}
		if any {
			out = append(out, goal{"Table 7 accuracy, single-category", "drops by at most 3 points", strings.Join(acc, "; "), yesNo(ok)})
		}
	}
	// Every trained table run: train accuracy ≥ 95 %. An untrained
	// control sits near chance by design, so it is not counted.
	minTrain, below, n := 1.0, 0, 0
	for _, run := range r.Runs {
		if run.Role == plan.RolePretrain || run.Untrained() {
			continue
		}
		n++
		minTrain = min(minTrain, run.TrainAccuracy)
		if run.TrainAccuracy < 0.95 {
			below++
		}
	}
	if n > 0 {
		out = append(out, goal{"every run's train accuracy", "≥ 95 %", fmt.Sprintf("lowest %.1f %%; %d of %d runs below 95 %%", 100*minTrain, below, n), yesNo(below == 0)})
	}
	// The filter loss: live in every interpretable run.
	var inert, runaway []string
	live := 0
	for _, run := range r.Runs {
		h := run.FilterLoss
		if h == nil || len(h.GradRatio) == 0 {
			continue
		}
		switch {
		case h.Runaway:
			runaway = append(runaway, run.Key)
		case h.Inert:
			inert = append(inert, run.Key)
		default:
			live++
		}
	}
	if live+len(inert)+len(runaway) > 0 {
		m := fmt.Sprintf("%d live, %d inert, %d runaway", live, len(inert), len(runaway))
		if bad := slices.Concat(inert, runaway); len(bad) > 0 {
			m += " (" + strings.Join(bad, ", ") + ")"
		}
		out = append(out, goal{"filter loss", "live: gradient ratio ≥ 1e-3, not runaway", m, yesNo(len(inert)+len(runaway) == 0)})
	}
	return out
}

func (r *Report) table(id string) *verdict.TableResult {
	for _, t := range r.Tables {
		if t.ID == id {
			return t
		}
	}
	return nil
}

// ReplaceSummary puts summary between the markers of readme.
func ReplaceSummary(readme, summary string) (string, error) {
	i := strings.Index(readme, SummaryBegin)
	j := strings.Index(readme, SummaryEnd)
	if i < 0 || j < i {
		return "", fmt.Errorf("README: the results summary markers are missing (want %q … %q)", SummaryBegin, SummaryEnd)
	}
	return readme[:i+len(SummaryBegin)] + "\n\n" + summary + "\n" + readme[j:], nil
}
