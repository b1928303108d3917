package reproduce

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/icnnlab/icnnlab/internal/train"
	"github.com/icnnlab/icnnlab/reproductions"
)

func loadEmbedded(t *testing.T) ([]*Spec, map[string]Scale) {
	t.Helper()
	specs, err := LoadSpecs(reproductions.Specs)
	if err != nil {
		t.Fatal(err)
	}
	scales, err := LoadScales(reproductions.Specs)
	if err != nil {
		t.Fatal(err)
	}
	return specs, scales
}

func TestEmbeddedSpecsLoadInTableOrder(t *testing.T) {
	specs, _ := loadEmbedded(t)
	var ids []string
	for _, s := range specs {
		ids = append(ids, s.ID)
	}
	want := []string{"1", "2", "3", "4", "5", "6", "7", "ablation", "fashion", "thesis"}
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Errorf("spec ids (-want +got):\n%s", diff)
	}
}

func planKeys(p *Plan) []string {
	var keys []string
	for _, r := range p.Runs {
		keys = append(keys, r.Key)
	}
	return keys
}

// The quick plan trains each distinct run once although seven tables use
// them: the single-category bird runs feed tables 1, 3, 4, 5 and 7, the
// multi-category runs tables 2, 6 and 7.
func TestQuickPlanSharesRuns(t *testing.T) {
	specs, scales := loadEmbedded(t)
	specs, err := SelectTables(specs, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := MakePlan(specs, scales["quick"], PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"vgg-m/ordinary/bird/seed1", "vgg-m/l1+mi/bird/seed1",
		"vgg-m/ordinary/multi-softmax/seed1", "vgg-m/l1+mi/multi-softmax/seed1",
	}
	if diff := cmp.Diff(want, planKeys(p)); diff != "" {
		t.Errorf("quick plan runs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"ablation", "thesis"}, p.Skipped); diff != "" {
		t.Errorf("tables without quick runs (-want +got):\n%s", diff)
	}
	bird := p.Runs[0]
	if diff := cmp.Diff([]Metric{PartInterpretability, LocationInstability, Accuracy}, bird.Metrics); diff != "" {
		t.Errorf("bird run metrics (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([][]string{{"head", "front_legs"}, {"head", "neck", "torso"}, {"head", "torso", "tail"}}, bird.LandmarkSets); diff != "" {
		t.Errorf("bird run landmark sets (-want +got):\n%s", diff)
	}
}

func TestPlanSeedsOverrideAndDefaultRunIsTrainDefaults(t *testing.T) {
	specs, scales := loadEmbedded(t)
	sel, err := SelectSpecs(specs, []string{"7"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := MakePlan(sel, scales["quick"], PlanOptions{Seeds: 3})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(p.Runs); got != 2*2*3 {
		t.Errorf("table 7 quick with 3 seeds: %d runs, want 12", got)
	}
	// Seed 1 of the ordinary bird run is exactly `icnnlab train`'s default
	// run, so the run store shares it.
	got := p.Runs[0].Config
	got.Interpretable.MaskParams, got.Interpretable.LossParams = nil, nil
	if diff := cmp.Diff(trainDefaults(), got); diff != "" {
		t.Errorf("quick ordinary bird seed 1 config differs from train.Defaults() (-want +got):\n%s", diff)
	}
}

func TestSelectSpecsUnknownTable(t *testing.T) {
	specs, _ := loadEmbedded(t)
	_, err := SelectSpecs(specs, []string{"1", "9"})
	if err == nil || !strings.Contains(err.Error(), `table "9": no such table`) {
		t.Errorf("error = %v, want it to name table 9", err)
	}
}

func TestPlanRejectsCategoryOutsideWorld(t *testing.T) {
	specs, scales := loadEmbedded(t)
	s := *specs[0]
	s.Scales = map[string]ScaleRuns{"test": {Archs: []string{"small64"}, Columns: []string{"horse"}, Variants: []string{"interpretable"}, Seeds: 1}}
	_, err := MakePlan([]*Spec{&s}, scales["test"], PlanOptions{})
	if err == nil || !strings.Contains(err.Error(), `category "horse" is not among`) {
		t.Errorf("error = %v, want it to reject horse in a 2-category world", err)
	}
}

func trainDefaults() train.Config { return train.Defaults() }

// The default scale's budget rests on its run count: 8 single-category runs
// (VGG-M and AlexNet, bird, 2 seeds), 4 multi-category (VGG-M, logistic and
// softmax) and 5 ablation variants beyond l1+mi (euclidean+mi is also the
// thesis comparison).
func TestDefaultPlanRunCount(t *testing.T) {
	specs, scales := loadEmbedded(t)
	specs, err := SelectTables(specs, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := MakePlan(specs, scales["default"], PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(p.Runs); got != 17 {
		t.Errorf("default plan has %d runs, want 17:\n%s", got, strings.Join(planKeys(p), "\n"))
	}
	if len(p.Skipped) != 0 {
		t.Errorf("default plan skips %v, want every table", p.Skipped)
	}
}
