package report

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
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
		for _, row := range rows {
			row.Report = path.Join(ReportsDir, name, "report.html")
		}
		if done != nil {
			done(k+1, len(order), name)
		}
	}
	return nil
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
