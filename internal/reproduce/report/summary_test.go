package report

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/icnnlab/icnnlab/internal/reproduce/execute"
	"github.com/icnnlab/icnnlab/internal/reproduce/plan"
	"github.com/icnnlab/icnnlab/internal/reproduce/spec"
)

// The README's results summary is generated from the committed reports;
// after a new reproduction, rerun with -update.
func TestReadmeSummaryIsCurrent(t *testing.T) {
	root := filepath.Join("..", "..", "..")
	summary, err := Summary(filepath.Join(root, "reproductions", "results"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, "README.md")
	readme, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want, err := ReplaceSummary(string(readme), summary)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if diff := cmp.Diff(want, string(readme)); diff != "" {
		t.Errorf("README results summary is stale; run go test ./internal/reproduce/report -run TestReadmeSummary -update (-want +got):\n%s", diff)
	}
}

func TestSummaryGoalsFromFixture(t *testing.T) {
	r := fixtureReport(t)
	goals := r.goals()
	if len(goals) == 0 || goals[0].goal != "Table 1 part-interpretability gain" {
		t.Fatalf("goals %+v: want the Table 1 goal first", goals)
	}
	// The fixture's cat column is not shown, so the goal is not reached.
	if goals[0].reached != "**no**" {
		t.Errorf("Table 1 goal %+v: want not reached", goals[0])
	}
}

// TestCommittedResultsHoldNoMachinePath: the committed reports name runs
// by their key in the run store, never by a path of the machine that made
// them (a report rendered with --runs /abs/store once carried it).
func TestCommittedResultsHoldNoMachinePath(t *testing.T) {
	root := filepath.Join("..", "..", "..", "reproductions", "results")
	machinePath := regexp.MustCompile(`(^|[\s"'>(=])/(tmp|work|home|root|var|usr|mnt|data|scratch)/`)
	n := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		switch filepath.Ext(path) {
		case ".md", ".csv", ".json", ".html":
		default:
			return nil
		}
		n++
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(b), "\n") {
			if loc := machinePath.FindStringIndex(line); loc != nil {
				t.Errorf("%s:%d holds a machine path: %q", path, i+1, line[loc[0]:min(len(line), loc[1]+40)])
				break
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatalf("no result files under %s", root)
	}
}

// An untrained control sits near chance by design: the goal "every run's
// train accuracy ≥ 95 %" counts only the trained table runs.
func TestTrainAccuracyGoalLeavesOutControls(t *testing.T) {
	r := &Report{Runs: []*execute.RunResult{
		{Variant: "ordinary", TrainAccuracy: 0.99},
		{Variant: "l1+mi", TrainAccuracy: 0.96},
		{Variant: "l1+mi" + spec.UntrainedSuffix, TrainAccuracy: 0.48},
		{Variant: "ordinary", Role: plan.RolePretrain, TrainAccuracy: 0.50},
	}}
	var got *goal
	for _, g := range r.goals() {
		if g.goal == "every run's train accuracy" {
			got = &g
		}
	}
	want := goal{"every run's train accuracy", "≥ 95 %", "lowest 96.0 %; 0 of 2 runs below 95 %", "yes"}
	if got == nil || *got != want {
		t.Errorf("train accuracy goal %+v, want %+v", got, want)
	}
}
