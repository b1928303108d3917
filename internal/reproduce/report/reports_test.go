package report

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/icnnlab/icnnlab/internal/reproduce/spec"
	"github.com/icnnlab/icnnlab/internal/reproduce/verdict"
)

func TestLinkReportsOneReportPerSetOfRuns(t *testing.T) {
	shared := []string{"runs/vgg-m-a", "runs/vgg-m-icnn-b"}
	r := &Report{Tables: []*verdict.TableResult{
		{ID: "1", Rows: []verdict.Row{
			{Metric: spec.PartInterpretability, Arch: "vgg-m", Column: "bird", Baseline: "ordinary", Treatment: "l1+mi", Runs: shared},
			{Metric: spec.PartInterpretability, Arch: "vgg-m", Column: "avg", Baseline: "ordinary", Treatment: "l1+mi"},
			{Metric: spec.PartInterpretability, Dataset: "voc-part", Arch: "vgg-m", Column: "bird", Runs: []string{"runs/real"}},
		}},
		{ID: "3", Rows: []verdict.Row{
			{Metric: spec.LocationInstability, Arch: "vgg-m", Column: "bird", Baseline: "ordinary", Treatment: "l1+mi", Runs: shared},
			{Metric: spec.LocationInstability, Arch: "vgg-m", Column: "cat", Baseline: "ordinary", Treatment: "l1+mi", Runs: []string{"runs/c1", "runs/c2"}},
		}},
	}}
	var rendered [][]string
	var dirs []string
	err := r.LinkReports("out", func(runs []string, dir string) error {
		rendered = append(rendered, runs)
		dirs = append(dirs, dir)
		return nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([][]string{shared, {"runs/c1", "runs/c2"}}, rendered); diff != "" {
		t.Errorf("rendered run sets (-want +got):\n%s", diff)
	}
	first := r.Tables[0].Rows[0]
	wantLink := "reports/" + ReportName(first) + "/report.html"
	if first.Report != wantLink || r.Tables[1].Rows[0].Report != wantLink {
		t.Errorf("rows sharing runs link %q and %q, want both %q", first.Report, r.Tables[1].Rows[0].Report, wantLink)
	}
	if dirs[0] != filepath.Join("out", ReportsDir, ReportName(first)) {
		t.Errorf("report dir %q", dirs[0])
	}
	if !strings.HasPrefix(ReportName(first), "vgg-m-bird-ordinary-vs-l1_mi-") {
		t.Errorf("report name %q does not say what it compares", ReportName(first))
	}
	if got := r.Tables[0].Rows[1].Report + r.Tables[0].Rows[2].Report; got != "" {
		t.Errorf("average and real-data rows got reports %q", got)
	}
	if r.Tables[1].Rows[1].Report == wantLink || r.Tables[1].Rows[1].Report == "" {
		t.Errorf("other runs got report %q", r.Tables[1].Rows[1].Report)
	}

	var html bytes.Buffer
	if err := r.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(html.String(), `<a href="`+wantLink+`">report</a>`) {
		t.Errorf("HTML does not link the row's report %s", wantLink)
	}
}

func TestLinkReportsNamesTheRowThatFailed(t *testing.T) {
	r := &Report{Tables: []*verdict.TableResult{{ID: "1", Rows: []verdict.Row{
		{Metric: spec.Accuracy, Arch: "alexnet", Column: "dog", Baseline: "ordinary", Treatment: "l1+mi", Runs: []string{"runs/x"}},
	}}}}
	boom := errors.New("boom")
	err := r.LinkReports("out", func([]string, string) error { return boom }, nil)
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "alexnet dog (ordinary vs l1+mi)") {
		t.Errorf("error %v does not wrap the cause and name the row", err)
	}
	if r.Tables[0].Rows[0].Report != "" {
		t.Error("a failed report is still linked")
	}
}

// A row quotes the pattern purity of its report's runs, baseline beside
// treatment, each the mean over its seeds; a report without report.json
// (made before it existed) leaves it out.
func TestLinkReportsQuotesPurity(t *testing.T) {
	runs := []string{"vgg-m-a1", "vgg-m-a2", "vgg-m-icnn-b1", "vgg-m-icnn-b2"}
	r := &Report{Tables: []*verdict.TableResult{{ID: "1", Rows: []verdict.Row{
		{Metric: spec.PartInterpretability, Arch: "vgg-m", Column: "bird", Baseline: "ordinary", Treatment: "l1+mi", Runs: runs, BaseRuns: 2},
		{Metric: spec.PartInterpretability, Arch: "vgg-m", Column: "cat", Baseline: "ordinary", Treatment: "l1+mi", Runs: []string{"c1", "c2"}, BaseRuns: 1},
	}}}}
	root := t.TempDir()
	err := r.LinkReports(root, func(runs []string, dir string) error {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if runs[0] != "vgg-m-a1" {
			return nil // the cat row's report predates report.json
		}
		return os.WriteFile(filepath.Join(dir, "report.json"), []byte(`{"runs": [
			{"run": "vgg-m-a1", "pattern_purity": 0.2}, {"run": "vgg-m-a2", "pattern_purity": 0.4},
			{"run": "vgg-m-icnn-b1", "pattern_purity": 0.5}, {"run": "vgg-m-icnn-b2", "pattern_purity": 0.7}]}`), 0o644)
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := r.Tables[0].Rows[0].Purity
	if got == nil || math.Abs(got.Base-0.3) > 1e-12 || math.Abs(got.Treat-0.6) > 1e-12 {
		t.Errorf("bird row purity %+v, want base 0.3, treat 0.6", got)
	}
	if p := r.Tables[0].Rows[1].Purity; p != nil {
		t.Errorf("cat row without report.json has purity %+v", p)
	}
}
