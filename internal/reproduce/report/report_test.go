package report

import (
	"bytes"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/icnnlab/icnnlab/internal/reproduce/execute"
	"github.com/icnnlab/icnnlab/internal/reproduce/plan"
	"github.com/icnnlab/icnnlab/internal/reproduce/spec"
	"github.com/icnnlab/icnnlab/internal/reproduce/verdict"
)

var update = flag.Bool("update", false, "rewrite golden files")

func ptr(v float64) *float64 { return &v }

// fixtureResults are real RunResult values, as Execute returns them, for a
// two-seed plan of Table 1 (vgg-m, bird and cat) and Table 7 (bird).
func fixtureReport(t *testing.T) *Report {
	t.Helper()
	return fixtureReportWith(t, nil)
}

// fixtureReportWith lets a test change the results before the report is built.
func fixtureReportWith(t *testing.T, change func(map[string]*execute.RunResult)) *Report {
	t.Helper()
	sp, err := spec.ParseSpec([]byte(`
id: "1"
title: "Table 1: part interpretability, single-category"
stands_in_for: "Pascal VOC Part"
claim: "Interpretable filters are more part-interpretable."
metrics: [part-interpretability, accuracy]
tolerance: {accuracy: 0.03}
baseline: ordinary
notes: ["A note."]
paper:
  source: table1_part_interpretability_single.csv
  values:
    - {metric: part-interpretability, network: VGG-M, variant: ordinary, column: bird, value: 0.357}
    - {metric: part-interpretability, network: VGG-M, variant: interpretable, column: bird, value: 0.821}
    - {metric: part-interpretability, network: VGG-M, variant: ordinary, column: avg, value: 0.357}
    - {metric: part-interpretability, network: VGG-M, variant: interpretable, column: avg, value: 0.708}
    - {metric: accuracy, network: VGG-M, variant: interpretable, column: cat, value: 94.17}
scales:
  fixture: {archs: [vgg-m], columns: [bird, cat], variants: [interpretable], seeds: 2}
`), "fixture.yaml")
	if err != nil {
		t.Fatal(err)
	}
	scale := spec.Scale{Name: "fixture", Description: "fixture scale", Width: 0.125, ImageSize: 64, SingleCategories: 6, MultiCategories: 3,
		SingleTrain: 4096, MultiTrain: 2048, Test: 1024, Epochs: 12, Batch: 32}
	p, err := plan.MakePlan([]*spec.Spec{sp}, scale, plan.PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// P values: interpretable beats ordinary on bird clearly, loses on cat.
	values := map[string]struct{ p, acc float64 }{
		"vgg-m/ordinary/bird/seed1": {0.30, 0.92}, "vgg-m/ordinary/bird/seed2": {0.34, 0.94},
		"vgg-m/l1+mi/bird/seed1": {0.60, 0.90}, "vgg-m/l1+mi/bird/seed2": {0.64, 0.86},
		"vgg-m/ordinary/cat/seed1": {0.40, 0.90}, "vgg-m/ordinary/cat/seed2": {0.42, 0.90},
		"vgg-m/l1+mi/cat/seed1": {0.38, 0.80}, "vgg-m/l1+mi/cat/seed2": {0.36, 0.82},
	}
	results := map[string]*execute.RunResult{}
	for _, pr := range p.Runs {
		v, ok := values[pr.Key]
		if !ok {
			t.Fatalf("plan has unexpected run %s", pr.Key)
		}
		results[pr.Key] = &execute.RunResult{Key: pr.Key, Arch: pr.Arch, Variant: pr.Variant.Name(), Column: pr.Column, Seed: pr.Seed,
			RunDir: "runs/" + strings.ReplaceAll(pr.Key, "/", "-"), Layer: "conv5", Accuracy: ptr(v.acc),
			TrainAccuracy: 0.99, TestAccuracy: v.acc, Chance: 0.5,
			PartInterp: &execute.Measure{Mean: v.p, Filters: []float64{v.p - 0.1, v.p, v.p + 0.1}}}
	}
	if change != nil {
		change(results)
	}
	r, err := BuildReport(p, results)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs from the golden file (-want +got):\n%s", name, diff)
	}
}

func TestReportGoldenFiles(t *testing.T) {
	r := fixtureReport(t)
	// The bird rows quote their report's pattern purity, the cat rows have
	// no report: the Markdown shows the column with "—" for them.
	for _, i := range []int{0, 3} {
		r.Tables[0].Rows[i].Purity = &verdict.PurityPair{Base: 0.2, Treat: 0.6}
	}
	for _, f := range []struct {
		name  string
		write func(*bytes.Buffer) error
	}{
		{"fixture.md", func(b *bytes.Buffer) error { return r.WriteMarkdown(b) }},
		{"fixture.csv", func(b *bytes.Buffer) error { return r.WriteCSV(b) }},
	} {
		var b bytes.Buffer
		if err := f.write(&b); err != nil {
			t.Fatal(err)
		}
		golden(t, f.name, b.Bytes())
	}
}

func TestNetworksThatDidNotLearnAreNotMeasurable(t *testing.T) {
	r := fixtureReportWith(t, func(results map[string]*execute.RunResult) {
		results["vgg-m/l1+mi/cat/seed2"].TrainAccuracy = 0.7
		results["vgg-m/ordinary/bird/seed1"].TestAccuracy = 0.55
	})
	var got []string
	for _, row := range r.Tables[0].Rows {
		got = append(got, string(row.Metric)+"/"+row.Column+": "+row.Outcome)
	}
	want := []string{
		"part-interpretability/bird: not measurable", "part-interpretability/cat: not measurable", "part-interpretability/avg: not measurable",
		"accuracy/bird: not measurable", "accuracy/cat: not measurable", "accuracy/avg: not measurable",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	v := r.Tables[0].Verdict
	if v.Outcome != verdict.NotMeasurable || !strings.Contains(v.Text, "did not learn") || !strings.Contains(v.Text, "train accuracy 70.0 %") {
		t.Errorf("verdict %+v, want not measurable naming the run", v)
	}
}

func TestTableAggregationAndVerdict(t *testing.T) {
	r := fixtureReport(t)
	tab := r.Tables[0]
	type row struct {
		Metric      spec.Metric
		Column      string
		Base, Treat float64
		Agrees      bool
		Diff        float64
		CI          [2]float64
		Outcome     string
	}
	var got []row
	for _, x := range tab.Rows {
		if x.CI == nil {
			t.Fatalf("row %s/%s: no interval with 2 seeds", x.Metric, x.Column)
		}
		got = append(got, row{x.Metric, x.Column, round3(x.Base.Mean), round3(x.Treat.Mean), x.Agrees,
			round3(x.Diff.Mean), [2]float64{round3(x.CI[0]), round3(x.CI[1])}, x.Outcome})
	}
	// Paired differences by hand: t(0.975, 1 df) = 12.706, interval
	// mean ± 12.706·std/√2. bird P: 0.30 and 0.30 (std 0); cat P: −0.02,
	// −0.04 … see the values in fixtureReport.
	want := []row{
		{spec.PartInterpretability, "bird", 0.32, 0.62, true, 0.3, [2]float64{0.3, 0.3}, verdict.RowHolds},
		{spec.PartInterpretability, "cat", 0.41, 0.37, false, -0.04, [2]float64{-0.294, 0.214}, verdict.RowNotShown},
		{spec.PartInterpretability, "avg", 0.365, 0.495, true, 0.13, [2]float64{0.003, 0.257}, verdict.RowHolds},
		{spec.Accuracy, "bird", 0.93, 0.88, false, -0.05, [2]float64{-0.431, 0.331}, verdict.RowNotShown},
		{spec.Accuracy, "cat", 0.9, 0.81, false, -0.09, [2]float64{-0.217, 0.037}, verdict.RowNotShown},
		{spec.Accuracy, "avg", 0.915, 0.845, false, -0.07, [2]float64{-0.197, 0.057}, verdict.RowNotShown},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	// The averages are not counted twice: 1 of the 4 per-column rows holds.
	if tab.Verdict.Outcome != verdict.NotShown || tab.Verdict.Agree != 1 || tab.Verdict.Total != 4 {
		t.Errorf("verdict %+v, want not shown, 1 of 4", tab.Verdict)
	}
	if p := tab.Rows[0].PaperTreat; p == nil || *p != 0.821 {
		t.Errorf("paper value of the interpretable bird row = %v, want 0.821", p)
	}
	if tab.Rows[1].PaperBase != nil {
		t.Errorf("cat has no paper value in the fixture, got %v", *tab.Rows[1].PaperBase)
	}
	// Paper values belong to their metric: the accuracy rows do not pick up
	// the part-interpretability numbers of the same column.
	if p := tab.Rows[3].PaperTreat; p != nil {
		t.Errorf("accuracy bird row has paper value %v, want none", *p)
	}
	if p := tab.Rows[4].PaperTreat; p == nil || *p != 94.17 {
		t.Errorf("accuracy cat row has paper value %v, want 94.17", p)
	}
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

func TestHTMLIsSelfContained(t *testing.T) {
	var b bytes.Buffer
	if err := fixtureReport(t).WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{"<style>", "<svg", "per-filter P_f", "Verdict:", "0.620 ± 0.028"} {
		if !strings.Contains(page, want) {
			t.Errorf("HTML page lacks %q", want)
		}
	}
	for _, external := range []string{"<script src", "<link", "http://", "https://"} {
		if strings.Contains(strings.ReplaceAll(page, `xmlns="http://www.w3.org/2000/svg"`, ""), external) {
			t.Errorf("HTML page references an external asset (%q)", external)
		}
	}
}

func TestClaimHasNoPipe(t *testing.T) {
	s := verdict.Row{Metric: spec.Accuracy, Direction: spec.Similar, Tolerance: 0.03, Baseline: "a", Treatment: "b"}
	if c := s.Claimed(); strings.Contains(c, "|") {
		t.Errorf("claim %q contains a pipe, which breaks Markdown tables", c)
	}
}

// The purity column appears, in Markdown and HTML, only in a table whose
// rows quote a report's purity, one value pair per row.
func TestPurityColumn(t *testing.T) {
	r := fixtureReport(t)
	render := func() (md, page string) {
		var m, h bytes.Buffer
		if err := r.WriteMarkdown(&m); err != nil {
			t.Fatal(err)
		}
		if err := r.WriteHTML(&h); err != nil {
			t.Fatal(err)
		}
		return m.String(), h.String()
	}
	md, page := render()
	for _, out := range []string{md, page} {
		if strings.Contains(out, "pattern purity") {
			t.Errorf("a report without purity has a purity column or legend:\n%s", out)
		}
	}
	r.Tables[0].Rows[1].Purity = &verdict.PurityPair{Base: 0.125, Treat: 0.5}
	md, page = render()
	var catRow string
	without := 0
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "| part-interpretability | VGG-M | cat |") {
			catRow = line
		}
		if strings.HasPrefix(line, "| part-interpretability |") || strings.HasPrefix(line, "| accuracy |") {
			if strings.HasSuffix(line, "| — |") {
				without++
			}
		}
	}
	if !strings.HasSuffix(catRow, "| 0.125 → 0.500 |") {
		t.Errorf("Markdown cat row = %q, want it to end with its purity", catRow)
	}
	if want := len(r.Tables[0].Rows) - 1; without != want {
		t.Errorf("Markdown has %d rows ending without purity, want %d", without, want)
	}
	for _, want := range []string{"<th>pattern purity, baseline → treatment</th>", "<td>0.125 → 0.500</td>", "the share of its 20 strongest peaks"} {
		if !strings.Contains(page, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
}
