package reproduce

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

func ptr(v float64) *float64 { return &v }

// fixtureResults are real RunResult values, as Execute returns them, for a
// two-seed plan of Table 1 (vgg-m, bird and cat) and Table 7 (bird).
func fixtureReport(t *testing.T) *Report {
	t.Helper()
	spec, err := ParseSpec([]byte(`
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
	scale := Scale{Name: "fixture", Description: "fixture scale", Width: 0.125, ImageSize: 64, SingleCategories: 6, MultiCategories: 3,
		SingleTrain: 4096, MultiTrain: 2048, Test: 1024, Epochs: 12, Batch: 32}
	p, err := MakePlan([]*Spec{spec}, scale, PlanOptions{})
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
	results := map[string]*RunResult{}
	for _, pr := range p.Runs {
		v, ok := values[pr.Key]
		if !ok {
			t.Fatalf("plan has unexpected run %s", pr.Key)
		}
		results[pr.Key] = &RunResult{Key: pr.Key, Arch: pr.Arch, Variant: pr.Variant.Name(), Column: pr.Column, Seed: pr.Seed,
			RunDir: "runs/" + strings.ReplaceAll(pr.Key, "/", "-"), Layer: "conv5", Accuracy: ptr(v.acc),
			PartInterp: &Measure{Mean: v.p, Filters: []float64{v.p - 0.1, v.p, v.p + 0.1}}}
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

func TestTableAggregationAndVerdict(t *testing.T) {
	r := fixtureReport(t)
	tab := r.Tables[0]
	type row struct {
		Metric        Metric
		Column        string
		Base, Treat   float64
		Agrees, Clear bool
	}
	var got []row
	for _, x := range tab.Rows {
		got = append(got, row{x.Metric, x.Column, round3(x.Base.Mean), round3(x.Treat.Mean), x.Agrees, x.Clear})
	}
	want := []row{
		{PartInterpretability, "bird", 0.32, 0.62, true, true},
		{PartInterpretability, "cat", 0.41, 0.37, false, true},
		{PartInterpretability, "avg", 0.365, 0.495, true, true},
		{Accuracy, "bird", 0.93, 0.88, false, true},
		{Accuracy, "cat", 0.9, 0.81, false, true},
		{Accuracy, "avg", 0.915, 0.845, false, true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	// The averages are not counted twice: 1 of the 4 per-column rows agree.
	if tab.Verdict.Outcome != PartlyHolds || tab.Verdict.Agree != 1 || tab.Verdict.Total != 4 {
		t.Errorf("verdict %+v, want partly, 1 of 4", tab.Verdict)
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

func round3(v float64) float64 { return float64(int64(v*1000+0.5)) / 1000 }

func TestJudge(t *testing.T) {
	st := func(mean, std float64, n int) Stat { return Stat{Mean: mean, Std: std, N: n} }
	tests := []struct {
		name          string
		row           Row
		agrees, clear bool
	}{
		{"higher, clear", Row{Direction: Higher, Base: st(0.3, 0.01, 2), Treat: st(0.5, 0.02, 2)}, true, true},
		{"higher, within noise", Row{Direction: Higher, Base: st(0.3, 0.1, 2), Treat: st(0.35, 0.1, 2)}, true, false},
		{"higher, one seed is never clear", Row{Direction: Higher, Base: st(0.3, 0, 1), Treat: st(0.9, 0, 1)}, true, false},
		{"higher, equal is no", Row{Direction: Higher, Base: st(0.3, 0, 1), Treat: st(0.3, 0, 1)}, false, false},
		{"lower", Row{Direction: Lower, Base: st(0.15, 0, 1), Treat: st(0.09, 0, 1)}, true, false},
		{"lower, wrong way", Row{Direction: Lower, Base: st(0.09, 0.001, 2), Treat: st(0.15, 0.001, 2)}, false, true},
		{"preserved within tolerance", Row{Direction: Preserved, Tolerance: 0.03, Base: st(0.93, 0, 1), Treat: st(0.905, 0, 1)}, true, false},
		{"preserved, too large a drop", Row{Direction: Preserved, Tolerance: 0.03, Base: st(0.93, 0, 1), Treat: st(0.89, 0, 1)}, false, false},
		{"similar", Row{Direction: Similar, Tolerance: 0.05, Base: st(0.5, 0, 1), Treat: st(0.46, 0, 1)}, true, false},
		{"not similar", Row{Direction: Similar, Tolerance: 0.05, Base: st(0.5, 0, 1), Treat: st(0.56, 0, 1)}, false, false},
	}
	for _, tt := range tests {
		r := tt.row
		r.Judge()
		if r.Agrees != tt.agrees || r.Clear != tt.clear {
			t.Errorf("%s: agrees %v clear %v, want %v %v", tt.name, r.Agrees, r.Clear, tt.agrees, tt.clear)
		}
	}
}

func TestVerdictOutcomes(t *testing.T) {
	yes := Row{Metric: PartInterpretability, Arch: "vgg-m", Column: "bird", Agrees: true, Treat: Stat{N: 1}}
	no := yes
	no.Agrees = false
	avgNo := no
	avgNo.Column = "avg"
	for _, tt := range []struct {
		rows []Row
		want string
	}{
		{[]Row{yes, yes, avgNo}, Holds},
		{[]Row{no, no}, DoesNotHold},
		{[]Row{yes, no}, PartlyHolds},
		{nil, NotMeasured},
	} {
		if got := judgeTable(tt.rows).Outcome; got != tt.want {
			t.Errorf("judgeTable(%d rows) = %s, want %s", len(tt.rows), got, tt.want)
		}
	}
	if v := judgeTable([]Row{no}); !strings.Contains(v.Text, "does not hold") || !strings.Contains(v.Text, "vgg-m/bird") {
		t.Errorf("verdict text %q should say it does not hold and name vgg-m/bird", v.Text)
	}
}

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

func TestVerdictWithinNoiseSaysSo(t *testing.T) {
	r := Row{Metric: PartInterpretability, Arch: "vgg-m", Column: "bird", Direction: Higher,
		Base: Stat{Mean: 0.02, Std: 0.01, N: 2}, Treat: Stat{Mean: 0.08, Std: 0.06, N: 2}}
	r.Judge()
	v := judgeTable([]Row{r})
	if v.Outcome != Holds || !strings.Contains(v.Text, "evidence is weak") {
		t.Errorf("verdict %+v: want holds, with a warning that the difference is within the seed spread", v)
	}
	s := Row{Metric: Accuracy, Direction: Similar, Tolerance: 0.03, Baseline: "a", Treatment: "b"}
	if c := s.Claimed(); strings.Contains(c, "|") {
		t.Errorf("claim %q contains a pipe, which breaks Markdown tables", c)
	}
}
