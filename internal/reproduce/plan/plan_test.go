package plan

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/icnnlab/icnnlab/internal/data/catalog"
	"github.com/icnnlab/icnnlab/internal/reproduce/spec"
	"github.com/icnnlab/icnnlab/internal/train"
	"github.com/icnnlab/icnnlab/internal/zoo"
	"github.com/icnnlab/icnnlab/reproductions"
)

func loadEmbedded(t *testing.T) ([]*spec.Spec, map[string]spec.Scale) {
	t.Helper()
	specs, err := spec.LoadSpecs(reproductions.Specs)
	if err != nil {
		t.Fatal(err)
	}
	scales, err := spec.LoadScales(reproductions.Specs)
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
	specs, err := spec.SelectTables(specs, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := MakePlan(specs, scales["quick"], PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"pretrain/vgg-m", "vgg-m/ordinary/bird/seed1", "vgg-m/l1+mi/bird/seed1",
		"vgg-m/ordinary/multi-softmax/seed1", "vgg-m/l1+mi/multi-softmax/seed1",
	}
	if diff := cmp.Diff(want, planKeys(p)); diff != "" {
		t.Errorf("quick plan runs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"ablation", "thesis"}, p.Skipped); diff != "" {
		t.Errorf("tables without quick runs (-want +got):\n%s", diff)
	}
	for _, r := range p.Runs[1:] {
		if r.Pretrain != "pretrain/vgg-m" {
			t.Errorf("run %s starts from %q, want the pretraining run", r.Key, r.Pretrain)
		}
	}
	bird := p.Runs[1]
	if diff := cmp.Diff([]spec.Metric{spec.PartInterpretability, spec.LocationInstability, spec.Accuracy}, bird.Metrics); diff != "" {
		t.Errorf("bird run metrics (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([][]string{{"head", "front_legs"}, {"head", "neck", "torso"}, {"head", "torso", "tail"}}, bird.LandmarkSets); diff != "" {
		t.Errorf("bird run landmark sets (-want +got):\n%s", diff)
	}
}

func TestPlanSeedsOverrideAndDefaultRunIsTrainDefaults(t *testing.T) {
	specs, scales := loadEmbedded(t)
	sel, err := spec.SelectSpecs(specs, []string{"7"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := MakePlan(sel, scales["quick"], PlanOptions{Seeds: 3})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(p.Runs); got != 1+2*2*3 {
		t.Errorf("table 7 quick with 3 seeds: %d runs, want 13 (one pretraining run)", got)
	}
	// The pretraining world is disjoint from the evaluation world, and the
	// table runs fine-tune with the authors' schedule.
	pre, bird := p.Runs[0].Config, p.Runs[1].Config
	if pre.Data.Seed == bird.Data.Seed || pre.Data.Task != "multi" || pre.Interpretable.Enabled {
		t.Errorf("pretraining config %+v: want an ordinary multi-category network on another world than %d", pre.Data, bird.Data.Seed)
	}
	if bird.Optimizer.DecayEpochs == 0 || bird.Optimizer.TopLRMult <= 1 {
		t.Errorf("fine-tuning optimizer %+v: want a decay then flat, and a higher rate on the top conv", bird.Optimizer)
	}
}

func TestWorldSeedAndDifficultyOverrideTheScale(t *testing.T) {
	specs, scales := loadEmbedded(t)
	sel, err := spec.SelectSpecs(specs, []string{"1"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := MakePlan(sel, scales["quick"], PlanOptions{WorldSeed: 7, Difficulty: 0.3, DifficultySet: true})
	if err != nil {
		t.Fatal(err)
	}
	if c := p.Runs[1].Config.Data; c.Seed != 7 || c.Difficulty != 0.3 || p.Scale.WorldSeed != 7 {
		t.Errorf("data %+v, scale world seed %d: want world seed 7, difficulty 0.3", c, p.Scale.WorldSeed)
	}
	if _, err := MakePlan(sel, scales["quick"], PlanOptions{WorldSeed: scales["quick"].Pretrain.WorldSeed}); err == nil || !strings.Contains(err.Error(), "disjoint") {
		t.Errorf("evaluating on the pretraining world: error %v, want one saying it must be disjoint", err)
	}
}

func TestSelectSpecsUnknownTable(t *testing.T) {
	specs, _ := loadEmbedded(t)
	_, err := spec.SelectSpecs(specs, []string{"1", "9"})
	if err == nil || !strings.Contains(err.Error(), `table "9": no such table`) {
		t.Errorf("error = %v, want it to name table 9", err)
	}
}

func TestPlanRejectsCategoryOutsideWorld(t *testing.T) {
	specs, scales := loadEmbedded(t)
	s := *specs[0]
	s.Scales = map[string]spec.ScaleRuns{"test": {Archs: []string{"small64"}, Columns: []string{"horse"}, Variants: []string{"interpretable"}, Seeds: 1}}
	_, err := MakePlan([]*spec.Spec{&s}, scales["test"], PlanOptions{})
	if err == nil || !strings.Contains(err.Error(), `category "horse" is not among`) {
		t.Errorf("error = %v, want it to reject horse in a 2-category world", err)
	}
}

func trainDefaults() train.Config { return train.Defaults() }

// The default scale's budget rests on its run count: one pretraining run,
// 12 single-category runs (VGG-M, bird and cat, ordinary and
// interpretable, 3 seeds), 6 multi-category softmax runs (Tables 2, 6 and
// 7, 3 seeds) and 6 ablation runs (mask only, loss only and the authors'
// code on bird, 2 seeds; the l1+mi and ordinary runs are shared with
// Table 1).
func TestDefaultPlanRunCount(t *testing.T) {
	specs, scales := loadEmbedded(t)
	specs, err := spec.SelectTables(specs, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := MakePlan(specs, scales["default"], PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(p.Runs); got != 25 {
		t.Errorf("default plan has %d runs, want 25:\n%s", got, strings.Join(planKeys(p), "\n"))
	}
	if diff := cmp.Diff([]string{"thesis"}, p.Skipped); diff != "" {
		t.Errorf("default plan skips (-want +got):\n%s", diff)
	}
}

func TestSelectTables(t *testing.T) {
	specs, _ := loadEmbedded(t)
	ids := func(ss []*spec.Spec) []string {
		var out []string
		for _, s := range ss {
			out = append(out, s.ID)
		}
		return out
	}
	for _, tc := range []struct {
		tables, datasets []string
		want             []string
	}{
		// The default selection leaves out the real-only Fashion-MNIST table.
		{nil, nil, []string{"1", "2", "3", "4", "5", "6", "7", "ablation", "thesis"}},
		{nil, []string{catalog.DataFashionMNIST}, []string{"fashion"}},
		{nil, []string{catalog.DataVOCPart}, []string{"1", "2", "4", "6", "7"}},
		{nil, []string{catalog.DataILSVRCPart}, []string{"3", "6", "7"}},
		{nil, []string{catalog.DataCUB200, catalog.DataVOCPart}, []string{"1", "2", "4", "5", "6", "7"}},
		{[]string{"fashion", "1"}, []string{catalog.DataVOCPart}, []string{"1", "fashion"}},
	} {
		got, err := spec.SelectTables(specs, tc.tables, tc.datasets)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, ids(got)); diff != "" {
			t.Errorf("tables %v, datasets %v (-want +got):\n%s", tc.tables, tc.datasets, diff)
		}
	}
}

// On the real datasets each table's columns run where the paper measured
// them, runs are shared across tables as on the synthetic world, and the
// configs carry the dataset, its category names and its sizes.
func TestPlanOnRealData(t *testing.T) {
	specs, scales := loadEmbedded(t)
	given := []string{catalog.DataCUB200, catalog.DataILSVRCPart, catalog.DataVOCPart}
	sel, err := spec.SelectTables(specs, nil, given)
	if err != nil {
		t.Fatal(err)
	}
	p, err := MakePlan(sel, scales["full"], PlanOptions{Seeds: 1, Datasets: given})
	if err != nil {
		t.Fatal(err)
	}
	sources := map[string][]string{}
	for _, tp := range p.Tables {
		for _, s := range tp.Sources {
			sources[tp.Spec.ID] = append(sources[tp.Spec.ID], s.Dataset+":"+strings.Join(s.Columns, ","))
		}
	}
	animals := "bird,cat,cow,dog,horse,sheep"
	want := map[string][]string{
		"1": {"voc-part:" + animals}, "2": {"voc-part:multi-logistic,multi-softmax"}, "3": {"ilsvrc-part:" + animals},
		"4": {"voc-part:" + animals}, "5": {"cub200:bird"},
		"6": {"voc-part:multi-logistic,multi-softmax", "ilsvrc-part:multi-logistic"},
		"7": {"voc-part:" + animals + ",multi-logistic,multi-softmax", "ilsvrc-part:" + animals + ",multi-logistic", "cub200:bird"},
	}
	if diff := cmp.Diff(want, sources); diff != "" {
		t.Errorf("table sources (-want +got):\n%s", diff)
	}
	byKey := map[string]*PlannedRun{}
	for _, r := range p.Runs {
		byKey[r.Key] = r
		if r.Dataset == "" {
			t.Errorf("run %s is on the synthetic world", r.Key)
		}
	}
	// VOC 8 columns + ILSVRC 7 + CUB 1, on 4 networks (Table 7's full
	// scale has them all; Tables 2 and 6 share theirs), baseline and
	// treatment, one seed.
	if got, want := len(p.Runs), 2*4*(8+7+1); got != want {
		t.Errorf("%d runs, want %d", got, want)
	}
	cow := byKey["ilsvrc-part:vgg-m/l1+mi/cow/seed1"]
	if cow == nil {
		t.Fatalf("no ILSVRC cow run among %v", planKeys(p))
	}
	c := cow.Config.Data
	if c.Source != catalog.DataILSVRCPart || c.Target != "cattle" || c.Train != 2*16384/6 || c.Test != 2*2048/6 {
		t.Errorf("ILSVRC cow run data config %+v: want source ilsvrc-part, target cattle, 5461 train, 682 test", c)
	}
	if diff := cmp.Diff([][]string{{"head", "frontleg"}}, cow.LandmarkSets); diff != "" {
		t.Errorf("ILSVRC cow landmark sets (-want +got):\n%s", diff)
	}
	vocBird := byKey["voc-part:vgg-m/ordinary/bird/seed1"]
	if diff := cmp.Diff([]spec.Metric{spec.PartInterpretability, spec.LocationInstability, spec.Accuracy}, vocBird.Metrics); diff != "" {
		t.Errorf("VOC bird metrics (tables 1, 4, 7) (-want +got):\n%s", diff)
	}
	cub := byKey["cub200:vgg-16/l1+mi/bird/seed1"]
	if cub == nil || cub.Config.Data.Target != "bird" || !slices.Equal(cub.LandmarkSets[0], []string{"head", "back", "tail"}) {
		t.Errorf("CUB run %+v", cub)
	}
	multi := byKey["voc-part:vgg-s/ordinary/multi-softmax/seed1"]
	if multi == nil || multi.Config.Data.Categories != 6 || multi.Config.Data.Train != 16384 {
		t.Errorf("VOC multi run %+v", multi)
	}
}

func TestPlanFashionMNISTSettings(t *testing.T) {
	specs, scales := loadEmbedded(t)
	sel, err := spec.SelectTables(specs, []string{"fashion"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := MakePlan(sel, scales["default"], PlanOptions{}); err == nil || !strings.Contains(err.Error(), "table fashion runs only on fashion-mnist: give --data fashion-mnist") {
		t.Errorf("fashion without its dataset: error %v", err)
	}
	p, err := MakePlan(sel, scales["default"], PlanOptions{Datasets: []string{catalog.DataFashionMNIST}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"fashion-mnist:small64/ordinary/multi-logistic/seed1", "fashion-mnist:small64/l1+mi/multi-logistic/seed1",
		"fashion-mnist:small64/ordinary/multi-softmax/seed1", "fashion-mnist:small64/l1+mi/multi-softmax/seed1",
	}
	if diff := cmp.Diff(want, planKeys(p)); diff != "" {
		t.Errorf("runs (-want +got):\n%s", diff)
	}
	c := p.Runs[3].Config
	if c.Data.Source != catalog.DataFashionMNIST || c.Data.Categories != 10 || c.Data.Train != 8000 || c.Data.Test != 4000 || c.Epochs != 6 ||
		c.Model.Width != 0.25 || c.Model.Loss != "softmax" || !c.Interpretable.Enabled {
		t.Errorf("config %+v", c)
	}
	if diff := cmp.Diff([]spec.Metric{spec.PartInterpretability, spec.LocationInstability}, p.Runs[0].NotApplicable); diff != "" {
		t.Errorf("not applicable (-want +got):\n%s", diff)
	}
}

func TestSpecDatasetValidation(t *testing.T) {
	base := `
id: x
title: t
claim: c
metrics: [location-instability]
landmarks: [head]
baseline: ordinary
scales:
  test: {archs: [small64], columns: [bird], variants: [interpretable], seeds: 1}
`
	for _, tc := range []struct{ extra, want string }{
		{"datasets: {imagenet: {columns: [bird]}}", "datasets.imagenet: unknown dataset"},
		{"datasets: {voc-part: {columns: [], landmarks: [head]}}", "datasets.voc-part.columns: empty"},
		{"datasets: {cub200: {columns: [multi-softmax], landmarks: [head]}}", "datasets.cub200.columns[0]: cub200 has no multi-category task"},
		{"datasets: {voc-part: {columns: [bird]}}", "datasets.voc-part.landmarks: location instability needs landmarks"},
		{"datasets: {voc-part: {columns: [bird], landmarks: [frontleg]}}", `datasets.voc-part.landmarks[0]: "frontleg" is not a landmark of voc-part`},
		{"datasets: {voc-part: {columns: [bird], column_map: {cat: x}, landmarks: [head]}}", "datasets.voc-part.column_map.cat: not one of the columns"},
		{"real_only: true", "real_only: the table runs on no dataset"},
		{"not_applicable: {metrics: [location-instability], reason: r}", `not_applicable.metrics[0]: "location-instability" is not a metric outside`},
		{"not_applicable: {metrics: [accuracy]}", "not_applicable: metrics and reason are required"},
	} {
		_, err := spec.ParseSpec([]byte(base+tc.extra+"\n"), "x.yaml")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.extra, err, tc.want)
		}
	}
	if _, err := spec.ParseSpec([]byte(base+"datasets: {ilsvrc-part: {columns: [cow], landmarks: [head, frontleg]}}\n"), "x.yaml"); err != nil {
		t.Errorf("valid dataset entry: %v", err)
	}
}

// The Fashion-MNIST default runs are `icnnlab train`'s measured
// configuration (docs/datasets.md): small64 at width 1/4, 10 classes, 8,000
// training and 4,000 test images, 6 epochs, the other settings the
// training defaults.
func TestFashionMNISTDefaultIsTheTrainCommand(t *testing.T) {
	specs, scales := loadEmbedded(t)
	sel, _ := spec.SelectTables(specs, []string{"fashion"}, nil)
	p, err := MakePlan(sel, scales["default"], PlanOptions{Datasets: []string{catalog.DataFashionMNIST}})
	if err != nil {
		t.Fatal(err)
	}
	want := train.Defaults()
	want.Data.Source, want.Data.Task, want.Data.Target, want.Data.Categories = "fashion-mnist", "multi", "", 10
	want.Data.Train, want.Data.Test, want.Epochs = 8000, 4000, 6
	want.Model.Arch, want.Model.Width, want.Model.Loss = "small64", 0.25, "softmax"
	got := p.Runs[2].Config
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ordinary softmax run (-want +got):\n%s", diff)
	}
}

// The authors' injected-gradient loss gets a constant λ = 1; the −MI
// losses keep the paper's schedule with the scale's base λ and parameters.
func TestVariantConfig(t *testing.T) {
	_, scales := loadEmbedded(t)
	for _, tt := range []struct {
		variant, schedule string
		lambda            float64
		params            string
	}{{"authors-code+authors-code", "constant", 1, ""}, {"l1+mi", "paper", 0.005, `{"floor":0.1,"normalize":"batch-max"}`}} {
		v, _ := spec.ParseVariant(tt.variant)
		c := RunConfig(scales["quick"], "vgg-m", v, "bird", 1)
		if !c.Interpretable.Enabled || c.Interpretable.LambdaSchedule != tt.schedule || c.Interpretable.Lambda != tt.lambda || string(c.Interpretable.LossParams) != tt.params {
			t.Errorf("%s: interpretable config %+v, want enabled, λ %g, schedule %s, params %s", tt.variant, c.Interpretable, tt.lambda, tt.schedule, tt.params)
		}
	}
}

// The bench workload vggm-112 (icnnlab bench, bench/compare.sh) is the
// network the default scale fine-tunes on its single-category columns: when
// the scale changes, this fails until the workload and its PyTorch peer
// (bench/pytorch_peer.py) follow.
func TestDefaultScaleNetworkIsTheVGGM112Workload(t *testing.T) {
	specs, scales := loadEmbedded(t)
	specs, err := spec.SelectTables(specs, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := MakePlan(specs, scales["default"], PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, r := range p.Runs {
		c := r.Config
		if r.Role == RolePretrain || c.Data.Task != "single" {
			continue
		}
		// As train.Open builds it; a single-category task has one output.
		got := zoo.Spec{
			Arch: c.Model.Arch, InputSize: c.Data.ImageSize, Width: c.Model.Width, Classes: 1,
			Loss: c.Model.Loss, Dropout: c.Model.Dropout, Batch: c.Batch, MinTopMap: c.Model.MinTopMap,
		}
		if diff := cmp.Diff(zoo.VGGM112Spec(c.Batch), got); diff != "" {
			t.Errorf("run %s: network differs from the vggm-112 bench workload (-workload +run):\n%s", r.Key, diff)
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("the default plan has no single-category run")
	}
}

func TestUseInitWeights(t *testing.T) {
	run := func(arch string) *PlannedRun {
		c := train.Defaults()
		c.Model.Arch = arch
		return &PlannedRun{Arch: arch, Config: c}
	}
	tests := []struct {
		name       string
		width      float64
		files      map[string]string
		wantCounts map[string]int
		wantFiles  []string
		wantErr    string
	}{
		{name: "each architecture's runs take its file", width: 1,
			files:      map[string]string{"vgg-16": "v16.pt", "vgg-s": "vs.pt"},
			wantCounts: map[string]int{"vgg-16": 2, "vgg-s": 0},
			wantFiles:  []string{"v16.pt", "", "v16.pt"}},
		{name: "no files change nothing", width: 0.25, files: nil, wantCounts: map[string]int{}, wantFiles: []string{"", "", ""}},
		{name: "narrow networks cannot take pretrained weights", width: 0.25,
			files: map[string]string{"vgg-16": "v16.pt"}, wantErr: "use --scale full", wantFiles: []string{"", "", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Plan{Scale: spec.Scale{Name: "s", Width: tt.width}, Runs: []*PlannedRun{run("vgg-16"), run("vgg-m"), run("vgg-16")}}
			counts, err := p.UseInitWeights(tt.files)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			} else if diff := cmp.Diff(tt.wantCounts, counts); diff != "" {
				t.Errorf("counts (-want +got):\n%s", diff)
			}
			var files []string
			for _, r := range p.Runs {
				files = append(files, r.Config.InitWeights)
			}
			if diff := cmp.Diff(tt.wantFiles, files); diff != "" {
				t.Errorf("init_weights per run (-want +got):\n%s", diff)
			}
		})
	}
}
