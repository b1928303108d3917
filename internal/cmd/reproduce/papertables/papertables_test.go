package papertables_test

import (
	"context"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	// The real CLI's backend and built-in mask and loss plugins; the metric
	// plugins come with internal/metricsrun.
	_ "github.com/icnnlab/icnnlab/backends/gorgonia"
	_ "github.com/icnnlab/icnnlab/plugins/reference"

	"github.com/icnnlab/icnnlab/internal/cmd/cmdutil"
	"github.com/icnnlab/icnnlab/internal/cmd/iostreams"
	"github.com/icnnlab/icnnlab/internal/cmd/reproduce/papertables"
	"github.com/icnnlab/icnnlab/internal/cmd/root"
	"github.com/icnnlab/icnnlab/internal/data/datasettest"
	"github.com/icnnlab/icnnlab/internal/reproduce/report"
	"github.com/icnnlab/icnnlab/internal/reproduce/spec"
	"github.com/icnnlab/icnnlab/internal/reproduce/verdict"
)

// TestMain lets the end-to-end test run this binary as the icnnlab command:
// with ICNNLAB_TEST_AS_CLI=1 it is icnnlab, so the built-in plugins it
// launches (re-executing itself with `plugin serve`) are served too.
func TestMain(m *testing.M) {
	if os.Getenv("ICNNLAB_TEST_AS_CLI") == "1" {
		os.Exit(root.Run(context.Background(), cmdutil.New("test"), "test", os.Args[1:]))
	}
	os.Exit(m.Run())
}

func icnnlab(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "ICNNLAB_TEST_AS_CLI=1")
	return cmd
}

func parse(t *testing.T, args ...string) (*papertables.PaperTablesOptions, error) {
	t.Helper()
	ios, _, _, _ := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: ios}
	var got *papertables.PaperTablesOptions
	cmd := papertables.NewCmdPaperTables(f, func(o *papertables.PaperTablesOptions) error { got = o; return nil })
	cmd.SetArgs(args)
	cmd.SetOut(ios.Out)
	cmd.SetErr(ios.ErrOut)
	err := cmd.Execute()
	return got, err
}

func TestFlags(t *testing.T) {
	o, err := parse(t, "--quick", "--tables", "1,3,7", "--seeds", "2", "--out", "x")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]any{"quick", []string{"1", "3", "7"}, 2, "x"}, []any{o.Scale, o.Tables, o.Seeds, o.Out}); diff != "" {
		t.Errorf("options (-want +got):\n%s", diff)
	}
	o, err = parse(t)
	if err != nil || o.Scale != "default" || o.Out != "paper-tables" || len(o.Data) != 0 {
		t.Errorf("defaults: %+v, %v; want scale default, out paper-tables, no --data", o, err)
	}
}

func TestDataFlag(t *testing.T) {
	t.Setenv("ICNNLAB_FASHION_MNIST", "/somewhere/fmnist")
	o, err := parse(t, "--data", "voc-part=/d/voc,cub200=/d/cub", "--data", "fashion-mnist")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"voc-part": "/d/voc", "cub200": "/d/cub", "fashion-mnist": "/somewhere/fmnist"}
	if diff := cmp.Diff(want, o.Data); diff != "" {
		t.Errorf("--data (-want +got):\n%s", diff)
	}
	o, err = parse(t, "--data", "fashion-mnist=/x/y")
	if err != nil || o.Data["fashion-mnist"] != "/x/y" {
		t.Errorf("--data fashion-mnist=/x/y: %v, %v", o.Data, err)
	}
}

func TestFlagErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--quick", "--scale", "full"}, "--quick and --scale full contradict"},
		{[]string{"--seeds", "-1"}, "--seeds: -1 is negative"},
		{[]string{"--data", "imagenet=/x"}, `unknown dataset "imagenet" (datasets: voc-part, ilsvrc-part, cub200, fashion-mnist)`},
		{[]string{"--data", "voc-part"}, "voc-part needs its root directory: voc-part=PATH"},
		{[]string{"--data", "cub200="}, "cub200=: empty path"},
		{[]string{"--data", "voc-part=/a", "--data", "voc-part=/b"}, "voc-part is given twice"},
		{[]string{"extra"}, "takes no arguments"},
		{[]string{"--reports", "some"}, `--reports: "some" is not one of quick, full, none`},
	}
	for _, tt := range tests {
		_, err := parse(t, tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: error %v, want %q", tt.args, err, tt.want)
		}
	}
}

// One tiny plan through the real code path: Table 7 at the test scale
// (small64 at width 1/4, a 2-category world, 1 epoch) trains two
// single-category and two multi-category runs, measures accuracy through the
// out-of-process accuracy plugin and writes all four reports; networks
// trained for one epoch do not learn, and the verdict says so. A second
// invocation reuses the runs from the run store.
func TestEndToEndTable7(t *testing.T) {
	if testing.Short() {
		t.Skip("trains four tiny networks; skipped with -short")
	}
	dir := t.TempDir()
	runs, out := filepath.Join(dir, "runs"), filepath.Join(dir, "out")
	args := []string{"reproduce", "paper-tables", "--scale", "test", "--tables", "7", "--runs", runs, "--out", out, "--threads", "1"}
	var stdout, stderr strings.Builder
	cmd := icnnlab(args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("reproduce: %v\nstderr:\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "run 4 of 4") || !strings.Contains(stdout.String(), "Table 7: classification accuracy: Not measurable: the network did not learn") {
		t.Errorf("unexpected output\nstdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	}
	var rep report.Report
	data, err := os.ReadFile(filepath.Join(out, report.JSONFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Tables) != 1 || len(rep.Runs) != 4 {
		t.Fatalf("report has %d tables and %d runs, want 1 and 4", len(rep.Tables), len(rep.Runs))
	}
	var cols []string
	for _, r := range rep.Tables[0].Rows {
		cols = append(cols, r.Column)
		for _, s := range []verdict.Stat{r.Base, r.Treat} {
			if s.N != 1 || s.Mean < 0 || s.Mean > 1 {
				t.Errorf("row %s: accuracy %+v is not one value in [0,1]", r.Column, s)
			}
		}
	}
	if diff := cmp.Diff([]string{"bird", "multi-softmax", "avg"}, cols); diff != "" {
		t.Errorf("table 7 columns (-want +got):\n%s", diff)
	}
	for _, f := range []string{report.MarkdownFile, report.CSVFile, report.HTMLFile} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("report %s missing or empty: %v", f, err)
		}
	}
	// Every per-column row links a visualizer report of its runs, which
	// exists and shows them; the HTML page links it.
	page, _ := os.ReadFile(filepath.Join(out, report.HTMLFile))
	for _, r := range rep.Tables[0].Rows {
		if r.IsAverage() {
			continue
		}
		if len(r.Runs) != 2 || r.Report == "" {
			t.Errorf("row %s: runs %v, report %q; want its 2 runs and a report", r.Column, r.Runs, r.Report)
			continue
		}
		vis, err := os.ReadFile(filepath.Join(out, r.Report))
		if err != nil {
			t.Errorf("row %s: %v", r.Column, err)
			continue
		}
		for _, run := range r.Runs {
			if !strings.Contains(string(vis), filepath.Base(run)) {
				t.Errorf("row %s: report %s does not show run %s", r.Column, r.Report, filepath.Base(run))
			}
		}
		if !strings.Contains(string(page), `href="`+r.Report+`"`) {
			t.Errorf("row %s: %s does not link %s", r.Column, report.HTMLFile, r.Report)
		}
	}
	if strings.Contains(stderr.String(), "warning") {
		t.Errorf("warnings:\n%s", stderr.String())
	}

	stderr.Reset()
	again := icnnlab(args...)
	again.Stderr = &stderr
	if err := again.Run(); err != nil {
		t.Fatalf("second reproduce: %v\n%s", err, stderr.String())
	}
	if n := strings.Count(stderr.String(), "  reused "); n != 4 {
		t.Errorf("second invocation reused %d runs, want 4:\n%s", n, stderr.String())
	}
	if !strings.Contains(stderr.String(), "report 2 of 2") {
		t.Errorf("second invocation did not account for the row reports:\n%s", stderr.String())
	}
}

// A missing Fashion-MNIST directory fails before any training, naming the
// path and the Debian package.
func TestFashionMNISTMissingFiles(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--data", "fashion-mnist=" + filepath.Join(dir, "nope")}, []string{filepath.Join(dir, "nope"), "apt-get install dataset-fashion-mnist"}},
		// The directory exists but holds no IDX files.
		{[]string{"--data", "fashion-mnist=" + dir}, []string{"train-images-idx3-ubyte", dir, "apt-get install dataset-fashion-mnist"}},
	} {
		var stderr strings.Builder
		cmd := icnnlab(append([]string{"reproduce", "paper-tables", "--scale", "test", "--runs", filepath.Join(dir, "runs"), "--out", filepath.Join(dir, "out")}, tc.args...)...)
		cmd.Stderr = &stderr
		if err := cmd.Run(); err == nil {
			t.Fatalf("%v: succeeded, want an error", tc.args)
		}
		for _, w := range tc.want {
			if !strings.Contains(stderr.String(), w) {
				t.Errorf("%v: stderr lacks %q:\n%s", tc.args, w, stderr.String())
			}
		}
		if strings.Contains(stderr.String(), "run 1 of") {
			t.Errorf("%v: training started before the data was checked:\n%s", tc.args, stderr.String())
		}
	}
}

// The Fashion-MNIST table end to end on Debian's files (skipped without
// them): the table is not in the default plan, --data fashion-mnist alone
// selects it, and the part metrics are reported as not applicable in words.
func TestEndToEndFashionMNIST(t *testing.T) {
	if testing.Short() {
		t.Skip("trains two tiny networks; skipped with -short")
	}
	if _, err := os.Stat("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"); err != nil && os.Getenv("ICNNLAB_FASHION_MNIST") == "" {
		t.Skip("Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	var stdout, stderr strings.Builder
	cmd := icnnlab("reproduce", "paper-tables", "--scale", "test", "--data", "fashion-mnist", "--runs", filepath.Join(dir, "runs"), "--out", out, "--threads", "1")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("reproduce: %v\nstderr:\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "2 distinct runs for tables fashion\n") {
		t.Errorf("want only the fashion table's two runs:\n%s", stderr.String())
	}
	var rep report.Report
	data, err := os.ReadFile(filepath.Join(out, report.JSONFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Tables) != 1 || rep.Tables[0].ID != "fashion" || len(rep.Runs) != 2 {
		t.Fatalf("report: %d tables, %d runs; want the fashion table and 2 runs", len(rep.Tables), len(rep.Runs))
	}
	tab := rep.Tables[0]
	if diff := cmp.Diff([]string{"fashion-mnist"}, tab.Datasets); diff != "" {
		t.Errorf("datasets (-want +got):\n%s", diff)
	}
	for _, r := range tab.Rows {
		if r.Metric != spec.Accuracy || r.Dataset != "fashion-mnist" || r.PaperColumn != "multi_voc_part_softmax" {
			t.Errorf("row %+v: want accuracy on fashion-mnist beside the paper's multi_voc_part_softmax", r)
		}
		// small64 has no paper row: VGG-M's numbers stand beside it.
		if r.PaperNetwork != "VGG-M" || r.PaperBase == nil || *r.PaperBase != 81.93 || r.PaperTreat == nil || *r.PaperTreat != 88.03 {
			t.Errorf("row %+v: want the paper's VGG-M softmax numbers 81.93 and 88.03", r)
		}
	}
	for _, r := range rep.Runs {
		if r.Config == nil || r.Config.Data.Source != "fashion-mnist" || r.Config.Data.Categories != 10 || r.TestImages != 64 {
			t.Errorf("run %s: config %+v, %d test images; want fashion-mnist, 10 categories, 64 test images", r.Key, r.Config, r.TestImages)
		}
		if r.PartInterp != nil || r.Instability != nil {
			t.Errorf("run %s measured part metrics on data without part labels", r.Key)
		}
	}
	md, err := os.ReadFile(filepath.Join(out, report.MarkdownFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# Paper tables on Fashion-MNIST", "| 81.93 (VGG-M) | 88.03 (VGG-M) |", "**Not applicable:** part-interpretability and location-instability are not applicable", "Fashion-MNIST has no part labels"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md)
		}
	}
	if !strings.Contains(stdout.String(), "not applicable") {
		t.Errorf("printed verdict does not say the part metrics are not applicable:\n%s", stdout.String())
	}
	csv, _ := os.ReadFile(filepath.Join(out, report.CSVFile))
	if !strings.Contains(string(csv), "fashion,part-interpretability,") || !strings.Contains(string(csv), "not applicable: Fashion-MNIST has no part labels") {
		t.Errorf("CSV lacks the not-applicable rows:\n%s", csv)
	}
}

// realData writes tiny format-exact VOC Part, ILSVRC Animal-Part and
// CUB-200-2011 trees (datasettest) and returns their roots.
func realData(t *testing.T) (voc, ilsvrc, cubRoot string) {
	t.Helper()
	dir := t.TempDir()
	voc, ilsvrc, cubRoot = filepath.Join(dir, "voc"), filepath.Join(dir, "ilsvrc"), filepath.Join(dir, "cub")
	// Bird and cat are the test scale's categories; chair and person are
	// VOC negatives without parts.
	if err := datasettest.WriteVOCPart(voc, []string{"bird", "cat", "chair", "person"}, datasettest.Options{Train: 10, Test: 5, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	if err := datasettest.WriteILSVRCPart(ilsvrc, []string{"bird", "cat", "cattle"}, datasettest.Options{Train: 10, Test: 5, Seed: 2}); err != nil {
		t.Fatal(err)
	}
	if err := datasettest.WriteCUB(cubRoot, []string{"Albatross", "Wren"}, datasettest.Options{Train: 8, Test: 4, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	return voc, ilsvrc, cubRoot
}

// Tables 1-7 at the test scale on the three real datasets: every table the
// paper measured on them runs there (not on the synthetic world), the
// metric plugins get the loaders' part masks and landmarks, and a second
// invocation reuses every run.
func TestEndToEndRealDatasets(t *testing.T) {
	if testing.Short() {
		t.Skip("trains twelve tiny networks; skipped with -short")
	}
	voc, ilsvrc, cubRoot := realData(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	args := []string{"reproduce", "paper-tables", "--scale", "test", "--runs", filepath.Join(dir, "runs"), "--out", out, "--threads", "1",
		"--data", "voc-part=" + voc + ",ilsvrc-part=" + ilsvrc, "--data", "cub200=" + cubRoot}
	var stdout, stderr strings.Builder
	cmd := icnnlab(args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("reproduce: %v\nstderr:\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "12 distinct runs for tables 1, 2, 3, 4, 5, 6, 7\n") || strings.Contains(stderr.String(), ": vgg-m") {
		t.Errorf("want the twelve real-data runs of tables 1-7 and no synthetic run:\n%s", stderr.String())
	}
	var rep report.Report
	data, err := os.ReadFile(filepath.Join(out, report.JSONFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	// The datasets each table ran on, and its rows' datasets and columns.
	type rowKey struct{ Metric, Dataset, Column, PaperColumn string }
	want := map[string][]rowKey{
		"1": {{"part-interpretability", "voc-part", "bird", "bird"}},
		"2": {{"part-interpretability", "voc-part", "multi-softmax", "softmax"}},
		"3": {{"location-instability", "ilsvrc-part", "bird", "bird"}},
		"4": {{"location-instability", "voc-part", "bird", "bird"}},
		"5": {{"location-instability", "cub200", "bird", "avg"}},
		"6": {{"location-instability", "voc-part", "multi-logistic", "voc_part_logistic"}, {"location-instability", "ilsvrc-part", "multi-logistic", "ilsvrc_part_logistic"}},
		"7": {{"accuracy", "voc-part", "bird", "single_voc_part"}, {"accuracy", "voc-part", "multi-softmax", "multi_voc_part_softmax"}, {"accuracy", "voc-part", "avg", "avg"},
			{"accuracy", "ilsvrc-part", "bird", "single_ilsvrc_part"}, {"accuracy", "cub200", "bird", "single_cub200"}},
	}
	for _, tab := range rep.Tables {
		var got []rowKey
		for _, r := range tab.Rows {
			got = append(got, rowKey{string(r.Metric), r.Dataset, r.Column, r.PaperColumn})
			for _, s := range []verdict.Stat{r.Base, r.Treat} {
				if s.N != 1 || s.Mean < 0 || s.Mean > 1 {
					t.Errorf("table %s row %+v: value %+v is not one number in [0,1]", tab.ID, r, s)
				}
			}
		}
		if diff := cmp.Diff(want[tab.ID], got); diff != "" {
			t.Errorf("table %s rows (-want +got):\n%s", tab.ID, diff)
		}
		if len(tab.Datasets) == 0 || tab.StandsInFor != "" {
			t.Errorf("table %s: datasets %v, stands in for %q; want real datasets and nothing standing in", tab.ID, tab.Datasets, tab.StandsInFor)
		}
	}
	// Each run trained on its dataset and measured with its landmarks.
	landmarks := map[string]string{"voc-part": "head,neck,torso", "ilsvrc-part": "head,frontleg", "cub200": "head,back,tail"}
	for _, r := range rep.Runs {
		if r.Config == nil || r.Config.Data.Source != r.Dataset || r.Dataset == "" {
			t.Errorf("run %s: dataset %q, config %+v", r.Key, r.Dataset, r.Config)
			continue
		}
		if r.Instability != nil {
			if _, ok := r.Instability[landmarks[r.Dataset]]; !ok || len(r.Instability) != 1 {
				t.Errorf("run %s: instability measured for %v, want only %s", r.Key, slices.Collect(maps.Keys(r.Instability)), landmarks[r.Dataset])
			}
		}
		if r.PartInterp != nil && r.Dataset != "voc-part" {
			t.Errorf("run %s: part interpretability on %s, which has no part masks", r.Key, r.Dataset)
		}
		if r.Dataset == "voc-part" && r.Column == "bird" && (r.PartInterp == nil || len(r.PartInterp.Filters) == 0) {
			t.Errorf("run %s: no per-filter part interpretability", r.Key)
		}
	}
	md, _ := os.ReadFile(filepath.Join(out, report.MarkdownFile))
	for _, w := range []string{"# Paper tables on Pascal VOC Part, ILSVRC 2013 DET Animal-Part and CUB-200-2011 — scale test",
		"Data: CUB-200-2011 (the real dataset", "bird, CUB-200-2011 (paper: avg)", "Runs. On Pascal VOC Part: small64 at width 0.25"} {
		if !strings.Contains(string(md), w) {
			t.Errorf("Markdown lacks %q", w)
		}
	}

	stderr.Reset()
	again := icnnlab(args...)
	again.Stderr = &stderr
	if err := again.Run(); err != nil {
		t.Fatalf("second reproduce: %v\n%s", err, stderr.String())
	}
	if n := strings.Count(stderr.String(), "  reused "); n != 12 {
		t.Errorf("second invocation reused %d runs, want 12:\n%s", n, stderr.String())
	}
}

// A missing or malformed file of a real dataset fails before any training,
// and the error names the file and the line, field or problem.
func TestRealDataErrorsBeforeTraining(t *testing.T) {
	if testing.Short() {
		t.Skip("writes dataset trees; skipped with -short")
	}
	rewrite := func(path string, edit func([]byte) []byte) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, edit(b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	replaceLine := func(n int, with string) func([]byte) []byte {
		return func(b []byte) []byte {
			lines := strings.Split(string(b), "\n")
			lines[n-1] = with
			return []byte(strings.Join(lines, "\n"))
		}
	}
	tests := []struct {
		name   string
		data   func(voc, ilsvrc, cub string) string
		break_ func(voc, ilsvrc, cub string)
		want   []string
	}{
		{"CUB table line", func(v, _, c string) string { return "voc-part=" + v + ",cub200=" + c },
			func(_, _, c string) {
				rewrite(filepath.Join(c, "bounding_boxes.txt"), replaceLine(3, "3 1.0 two 3.0 4.0"))
			},
			[]string{"bounding_boxes.txt:3", `"two" is not a finite number`}},
		{"CUB without VOC Part", func(_, _, c string) string { return "cub200=" + c }, func(_, _, _ string) {},
			[]string{"--data cub200", "give --data voc-part=PATH too"}},
		{"VOC missing annotation", func(v, _, _ string) string { return "voc-part=" + v },
			func(v, _, _ string) { os.Remove(filepath.Join(v, "Annotations_Part", "2010_000003.mat")) },
			[]string{"2010_000003", "train.txt", "Annotations_Part/2010_000003.mat", "no such file"}},
		{"VOC image list line", func(v, _, _ string) string { return "voc-part=" + v },
			func(v, _, _ string) {
				rewrite(filepath.Join(v, "ImageSets", "Main", "val.txt"), replaceLine(2, "2010_000042 2010_000043"))
			},
			[]string{"val.txt:2", "is not one image id"}},
		{"VOC malformed MAT file", func(v, _, _ string) string { return "voc-part=" + v },
			func(v, _, _ string) {
				rewrite(filepath.Join(v, "Annotations_Part", "2010_000002.mat"), func(b []byte) []byte { return b[:200] })
			},
			[]string{"Annotations_Part/2010_000002.mat", "offset"}},
		{"VOC truncated image", func(v, _, _ string) string { return "voc-part=" + v },
			func(v, _, _ string) {
				rewrite(filepath.Join(v, "JPEGImages", "2010_000001.jpg"), func(b []byte) []byte { return b[:len(b)/2] })
			},
			[]string{"JPEGImages/2010_000001.jpg", "decode image"}},
		{"ILSVRC field", func(_, i, _ string) string { return "ilsvrc-part=" + i },
			func(_, i, _ string) {
				rewrite(filepath.Join(i, "Annotations", "cat", "cat_11.xml"), func(b []byte) []byte {
					return []byte(strings.Replace(string(b), "<xmin>", "<xmin>x", 1))
				})
			},
			[]string{"Annotations/cat/cat_11.xml", "bndbox/xmin", "is not an integer"}},
		{"missing root", func(_, _, _ string) string { return "ilsvrc-part=/nonexistent/ilsvrc" }, func(_, _, _ string) {},
			[]string{"--data ilsvrc-part=/nonexistent/ilsvrc", "no such file or directory"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			voc, ilsvrc, cubRoot := realData(t)
			tc.break_(voc, ilsvrc, cubRoot)
			dir := t.TempDir()
			var stderr strings.Builder
			cmd := icnnlab("reproduce", "paper-tables", "--scale", "test", "--runs", filepath.Join(dir, "runs"), "--out", filepath.Join(dir, "out"),
				"--data", tc.data(voc, ilsvrc, cubRoot))
			cmd.Stderr = &stderr
			if err := cmd.Run(); err == nil {
				t.Fatalf("succeeded, want an error\n%s", stderr.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr.String())
				}
			}
			if strings.Contains(stderr.String(), "run 1 of") {
				t.Errorf("training started before the data was checked:\n%s", stderr.String())
			}
		})
	}
}

// Too few examples for one batch is refused before training, naming the
// dataset and the task.
func TestRealDataTooSmall(t *testing.T) {
	dir := t.TempDir()
	voc := filepath.Join(dir, "voc")
	if err := datasettest.WriteVOCPart(voc, []string{"bird", "cat", "chair"}, datasettest.Options{Train: 3, Test: 2, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd := icnnlab("reproduce", "paper-tables", "--scale", "test", "--tables", "1", "--runs", filepath.Join(dir, "runs"), "--out", filepath.Join(dir, "out"), "--data", "voc-part="+voc)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err == nil || !strings.Contains(stderr.String(), "voc-part has 6 training examples for this task (single-category bird), fewer than one batch of 16") {
		t.Errorf("error %v, stderr:\n%s", err, stderr.String())
	}
}
