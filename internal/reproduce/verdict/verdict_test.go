package verdict

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/icnnlab/icnnlab/internal/reproduce/spec"
)

func TestIntervalOutcome(t *testing.T) {
	for _, tc := range []struct {
		d       spec.Direction
		lo, hi  float64
		outcome string
	}{
		{spec.Higher, 0.1, 0.3, RowHolds}, {spec.Higher, -0.1, 0.3, RowNotShown}, {spec.Higher, -0.3, -0.1, RowContradicted},
		{spec.Lower, -0.3, -0.1, RowHolds}, {spec.Lower, -0.1, 0.1, RowNotShown}, {spec.Lower, 0.1, 0.2, RowContradicted},
		{spec.Preserved, -0.02, 0.01, RowHolds}, {spec.Preserved, -0.05, 0.01, RowNotShown}, {spec.Preserved, -0.09, -0.04, RowContradicted},
		{spec.Similar, -0.02, 0.02, RowHolds}, {spec.Similar, -0.02, 0.05, RowNotShown}, {spec.Similar, 0.04, 0.08, RowContradicted},
	} {
		if got := intervalOutcome(tc.d, 0.03, tc.lo, tc.hi); got != tc.outcome {
			t.Errorf("%s [%g, %g] tolerance 0.03: %s, want %s", tc.d, tc.lo, tc.hi, got, tc.outcome)
		}
	}
}

func TestJudge(t *testing.T) {
	vals := func(v ...float64) Stat { return NewStat(v) }
	tests := []struct {
		name    string
		row     Row
		agrees  bool
		outcome string
	}{
		{"higher, interval above 0", Row{Direction: spec.Higher, Base: vals(0.3, 0.31, 0.29), Treat: vals(0.5, 0.52, 0.49)}, true, RowHolds},
		{"higher, within noise", Row{Direction: spec.Higher, Base: vals(0.3, 0.4), Treat: vals(0.35, 0.3)}, false, RowNotShown},
		{"higher, one seed gives no interval", Row{Direction: spec.Higher, Base: vals(0.3), Treat: vals(0.9)}, true, RowNotShown},
		{"higher, equal is no", Row{Direction: spec.Higher, Base: vals(0.3), Treat: vals(0.3)}, false, RowNotShown},
		{"lower", Row{Direction: spec.Lower, Base: vals(0.15, 0.16, 0.15), Treat: vals(0.09, 0.1, 0.1)}, true, RowHolds},
		{"lower, wrong way", Row{Direction: spec.Lower, Base: vals(0.09, 0.1, 0.09), Treat: vals(0.15, 0.16, 0.15)}, false, RowContradicted},
		{"preserved within tolerance", Row{Direction: spec.Preserved, Tolerance: 0.03, Base: vals(0.93, 0.93, 0.94), Treat: vals(0.92, 0.925, 0.93)}, true, RowHolds},
		{"preserved, too large a drop", Row{Direction: spec.Preserved, Tolerance: 0.03, Base: vals(0.93, 0.94, 0.93), Treat: vals(0.85, 0.86, 0.86)}, false, RowContradicted},
		{"similar", Row{Direction: spec.Similar, Tolerance: 0.05, Base: vals(0.5, 0.5), Treat: vals(0.49, 0.49)}, true, RowHolds},
		{"not similar, one seed", Row{Direction: spec.Similar, Tolerance: 0.05, Base: vals(0.5), Treat: vals(0.56)}, false, RowNotShown},
		{"did not learn", Row{Direction: spec.Higher, Base: vals(0.3, 0.31, 0.29), Treat: vals(0.5, 0.52, 0.49), NotLearned: []string{"x"}}, true, RowNotMeasurable},
	}
	for _, tt := range tests {
		r := tt.row
		r.Judge()
		if r.Agrees != tt.agrees || r.Outcome != tt.outcome {
			t.Errorf("%s: agrees %v outcome %s, want %v %s", tt.name, r.Agrees, r.Outcome, tt.agrees, tt.outcome)
		}
	}
}

func TestVerdictOutcomes(t *testing.T) {
	yes := Row{Metric: spec.PartInterpretability, Arch: "vgg-m", Column: "bird", Agrees: true, Outcome: RowHolds, Diff: Stat{N: 3}}
	no := yes
	no.Agrees, no.Outcome = false, RowContradicted
	unclear := yes
	unclear.Outcome = RowNotShown
	dead := yes
	dead.Outcome, dead.NotLearned = RowNotMeasurable, []string{"vgg-m/ordinary/bird/seed1: train accuracy 60.0 % < 90 %"}
	avgNo := no
	avgNo.Column = "avg"
	for _, tt := range []struct {
		rows []Row
		want string
	}{
		{[]Row{yes, yes, avgNo}, Holds},
		{[]Row{no, yes}, Contradicted},
		{[]Row{yes, unclear}, NotShown},
		{[]Row{dead}, NotMeasurable},
		{[]Row{yes, dead}, Holds},
		{nil, NotMeasured},
	} {
		if got := judgeTable(tt.rows).Outcome; got != tt.want {
			t.Errorf("judgeTable(%d rows) = %s, want %s", len(tt.rows), got, tt.want)
		}
	}
	if v := judgeTable([]Row{no}); !strings.Contains(v.Text, "Contradicted") || !strings.Contains(v.Text, "vgg-m/bird") {
		t.Errorf("verdict text %q should say it is contradicted and name vgg-m/bird", v.Text)
	}
	if v := judgeTable([]Row{yes, dead}); !strings.Contains(v.Text, "did not learn") {
		t.Errorf("verdict text %q should name the network that did not learn", v.Text)
	}
}

// A part-interpretability gain whose interpretable filters all chose one
// part does not pass as the paper's claim: the row is collapsed, the
// table not shown, and the text names the part. A spread over parts, the
// ordinary network's collapse, another column's collapse and a spread of
// no filters leave a holding row alone.
func TestCollapseDoesNotPassAsSuccess(t *testing.T) {
	const treat = "interpretable (l1+mi)"
	holding := func(col string) Row {
		return Row{Metric: spec.PartInterpretability, Arch: "vgg-m", Column: col, Baseline: "ordinary", Treatment: treat,
			Agrees: true, Outcome: RowHolds, Diff: Stat{N: 3}}
	}
	spread := func(variant, col string, filters int, counts map[string]int) PartSpread {
		p := PartSpread{Arch: "vgg-m", Column: col, Variant: variant, Filters: filters, Counts: counts}
		for part, n := range counts {
			p.Distinct++
			if share := float64(n) / float64(filters); share > p.TopShare {
				p.TopPart, p.TopShare = part, share
			}
		}
		return p
	}
	headOnly := map[string]int{"head": 190, "torso": 2}
	threeParts := map[string]int{"head": 90, "torso": 60, "tail": 42}
	for _, tt := range []struct {
		name    string
		spreads []PartSpread
		want    []string // outcomes of bird, cat, avg
		verdict string
	}{
		{"interpretable collapsed on bird", []PartSpread{spread(treat, "bird", 192, headOnly), spread(treat, "cat", 192, threeParts)},
			[]string{RowCollapsed, RowHolds, RowCollapsed}, NotShown},
		{"interpretable spread over parts", []PartSpread{spread(treat, "bird", 192, threeParts), spread(treat, "cat", 192, threeParts)},
			[]string{RowHolds, RowHolds, RowHolds}, Holds},
		{"only the ordinary network collapsed", []PartSpread{spread("ordinary", "bird", 192, headOnly)},
			[]string{RowHolds, RowHolds, RowHolds}, Holds},
		{"no filters measured", []PartSpread{spread(treat, "bird", 0, nil)},
			[]string{RowHolds, RowHolds, RowHolds}, Holds},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tr := &TableResult{PartSpread: tt.spreads}
			rows := []Row{holding("bird"), holding("cat"), holding("avg")}
			tr.markCollapsed(rows)
			var got []string
			for _, r := range rows {
				got = append(got, r.Outcome)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("row outcomes (-want +got):\n%s", diff)
			}
			v := judgeTable(rows)
			if v.Outcome != tt.verdict {
				t.Errorf("table verdict %s, want %s (%s)", v.Outcome, tt.verdict, v.Text)
			}
			if tt.verdict == NotShown && (!strings.Contains(v.Text, "collapsed onto one part") || !strings.Contains(v.Text, "99 % of 192 filters on head")) {
				t.Errorf("verdict text %q should say the filters collapsed and onto which part", v.Text)
			}
		})
	}
}
