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
	if err != nil || o.Scale != "default" || o.Out != "paper-tables" {
		t.Errorf("defaults: %+v, %v; want scale default, out paper-tables", o, err)
	}
}

func TestFlagErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--quick", "--scale", "full"}, "--quick and --scale full contradict"},
		{[]string{"--seeds", "-1"}, "--seeds: -1 is negative"},
		{[]string{"--data", "imagenet=/x"}, `--data: unknown dataset "imagenet"`},
		// Real datasets are refused, naming the dataset, rather than faked.
		{[]string{"--data", "cub200=/data/CUB_200_2011"}, "no loader for the real dataset cub200 exists yet"},
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
