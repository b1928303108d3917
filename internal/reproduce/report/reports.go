package report

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/internal/atomicfile"
	"github.com/icnnlab/icnnlab/internal/pluginhost"
	"github.com/icnnlab/icnnlab/internal/reproduce/spec"
	"github.com/icnnlab/icnnlab/internal/reproduce/verdict"
	"github.com/icnnlab/icnnlab/internal/visualize"
)

// ReportsDir is the subdirectory of the output directory that holds the
// rows' visualizer reports.
const ReportsDir = "reports"

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// ReportName names the visualizer report of a row's runs. It depends only
// on the runs, so rows that share runs (a part-interpretability and an
// instability row of the same networks) share one report.
func ReportName(r verdict.Row) string {
	sum := sha256.Sum256([]byte(strings.Join(r.Runs, "\x00")))
	label := fmt.Sprintf("%s-%s-%s-vs-%s", r.Arch, r.Column, r.Baseline, r.Treatment)
	label = strings.Trim(unsafeName.ReplaceAllString(label, "_"), "_")
	return label + "-" + hex.EncodeToString(sum[:])[:8]
}

// LinkReports makes one visualizer report per distinct set of row runs on
// the synthetic world (the visualizers need its part annotations), by
// calling render with the runs and the report's directory under
// root/ReportsDir, and sets each such row's Report to the report.html
// relative to root. render is called once per set, in table order; done
// reports the progress.
func (r *Report) LinkReports(root string, render func(runs []string, dir string) error, done func(k, n int, name string)) error {
	var order []string
	rowsOf := map[string][]*verdict.Row{}
	for _, t := range r.Tables {
		for i := range t.Rows {
			row := &t.Rows[i]
			if row.Dataset != "" || len(row.Runs) == 0 {
				continue
			}
			name := ReportName(*row)
			if _, seen := rowsOf[name]; !seen {
				order = append(order, name)
			}
			rowsOf[name] = append(rowsOf[name], row)
		}
	}
	for k, name := range order {
		rows := rowsOf[name]
		if err := render(rows[0].Runs, filepath.Join(root, ReportsDir, name)); err != nil {
			return fmt.Errorf("report of %s %s (%s vs %s): %w", rows[0].Arch, rows[0].Column, rows[0].Baseline, rows[0].Treatment, err)
		}
		purity, err := readPurity(filepath.Join(root, ReportsDir, name), rows[0].Runs, rows[0].BaseRuns)
		if err != nil {
			return fmt.Errorf("report of %s %s (%s vs %s): %w", rows[0].Arch, rows[0].Column, rows[0].Baseline, rows[0].Treatment, err)
		}
		for _, row := range rows {
			row.Report = path.Join(ReportsDir, name, "report.html")
			row.Purity = purity
		}
		if done != nil {
			done(k+1, len(order), name)
		}
	}
	return nil
}

// reportNumbers is the part of a visualizer report's report.json
// (internal/visualize.Numbers) that a row quotes.
type reportNumbers struct {
	Runs []struct {
		Run           string   `json:"run"`
		PatternPurity *float64 `json:"pattern_purity"`
	} `json:"runs"`
}

// readPurity averages the pattern purity of a row's baseline runs (the
// first base of runs) and of its treatment runs from the report in dir;
// nil when the report has no report.json (one made before it existed) or
// lacks a run's purity.
func readPurity(dir string, runs []string, base int) (*verdict.PurityPair, error) {
	data, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var nums reportNumbers
	if err := json.Unmarshal(data, &nums); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "report.json"), err)
	}
	purity := map[string]float64{}
	for _, r := range nums.Runs {
		if r.PatternPurity != nil {
			purity[r.Run] = *r.PatternPurity
		}
	}
	if base < 1 || base >= len(runs) {
		return nil, nil
	}
	mean := func(side []string) (float64, bool) {
		s := 0.0
		for _, r := range side {
			v, ok := purity[path.Base(r)]
			if !ok {
				return 0, false
			}
			s += v
		}
		return s / float64(len(side)), true
	}
	b, okB := mean(runs[:base])
	t, okT := mean(runs[base:])
	if !okB || !okT {
		return nil, nil
	}
	return &verdict.PurityPair{Base: b, Treat: t}, nil
}

// rowReportModeFile records with which --reports mode a row report was made,
// so a later invocation reuses it instead of redrawing it.
const rowReportModeFile = "reports-mode"

// RenderRowReport draws the visualizer report of runs into dir (mode:
// quick leaves out the up-conv decoder, full includes it), unless a report
// of the same mode is already there (finished runs do not change). It
// scores as the tables do (the scale's top fraction).
func RenderRowReport(ctx context.Context, runs []string, dir, mode string, scale spec.Scale, b backends.Backend, device string, host *pluginhost.Host) error {
	marker := filepath.Join(dir, rowReportModeFile)
	if got, err := os.ReadFile(marker); err == nil && string(got) == mode {
		if _, err := os.Stat(filepath.Join(dir, "report.html")); err == nil {
			return nil
		}
	}
	vo := visualize.DefaultOptions()
	vo.Runs, vo.Out, vo.Host, vo.SkipUpconv = runs, dir, host, mode == "quick"
	vo.TopFractionFor = scale.TopFractionFor // score as the tables do
	vo.Backend, vo.Device = b, device
	if _, err := visualize.Visualize(ctx, vo); err != nil {
		return err
	}
	return atomicfile.WriteFile(marker, []byte(mode))
}
