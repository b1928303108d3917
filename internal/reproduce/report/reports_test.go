package report

import (
	"bytes"
	"errors"
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
