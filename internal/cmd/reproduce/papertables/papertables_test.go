package papertables_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	// The real CLI's backend and built-in mask and loss plugins; the metric
	// plugins come with internal/metricsrun.
	_ "github.com/icnnlab/icnnlab/backends/gorgonia"
	_ "github.com/icnnlab/icnnlab/plugins/builtin"

	"github.com/icnnlab/icnnlab/internal/cmd/cmdutil"
	"github.com/icnnlab/icnnlab/internal/cmd/iostreams"
	"github.com/icnnlab/icnnlab/internal/cmd/reproduce/papertables"
	"github.com/icnnlab/icnnlab/internal/cmd/root"
	"github.com/icnnlab/icnnlab/internal/reproduce"
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
// out-of-process accuracy plugin and writes all four reports. A second
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
	if !strings.Contains(stderr.String(), "run 4 of 4") || !strings.Contains(stdout.String(), "Table 7: classification accuracy: The paper's claim") {
		t.Errorf("unexpected output\nstdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	}
	var rep reproduce.Report
	data, err := os.ReadFile(filepath.Join(out, reproduce.JSONFile))
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
		for _, s := range []reproduce.Stat{r.Base, r.Treat} {
			if s.N != 1 || s.Mean < 0 || s.Mean > 1 {
				t.Errorf("row %s: accuracy %+v is not one value in [0,1]", r.Column, s)
			}
		}
	}
	if diff := cmp.Diff([]string{"bird", "multi-softmax", "avg"}, cols); diff != "" {
		t.Errorf("table 7 columns (-want +got):\n%s", diff)
	}
	for _, f := range []string{reproduce.MarkdownFile, reproduce.CSVFile, reproduce.HTMLFile} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("report %s missing or empty: %v", f, err)
		}
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
	var rep reproduce.Report
	data, err := os.ReadFile(filepath.Join(out, reproduce.JSONFile))
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
		if r.Metric != reproduce.Accuracy || r.Dataset != "fashion-mnist" || r.PaperColumn != "multi_voc_part_softmax" {
			t.Errorf("row %+v: want accuracy on fashion-mnist beside the paper's multi_voc_part_softmax", r)
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
	md, err := os.ReadFile(filepath.Join(out, reproduce.MarkdownFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# Paper tables on Fashion-MNIST", "**Not applicable:** part-interpretability and location-instability are not applicable", "Fashion-MNIST has no part labels"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md)
		}
	}
	if !strings.Contains(stdout.String(), "not applicable") {
		t.Errorf("printed verdict does not say the part metrics are not applicable:\n%s", stdout.String())
	}
	csv, _ := os.ReadFile(filepath.Join(out, reproduce.CSVFile))
	if !strings.Contains(string(csv), "fashion,part-interpretability,") || !strings.Contains(string(csv), "not applicable: Fashion-MNIST has no part labels") {
		t.Errorf("CSV lacks the not-applicable rows:\n%s", csv)
	}
}
