package grid_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/icnnlab/icnnlab/internal/grid"
	"github.com/icnnlab/icnnlab/internal/reproduce/report"
	"github.com/icnnlab/icnnlab/internal/runstore"
)

func runErr(t *testing.T, env []string, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	cmd := icnnlab(env, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err == nil {
		t.Fatalf("%v succeeded:\n%s", args, out.String())
	}
	return out.String()
}

// Bad input gets clear errors and nothing is lost.
func TestErrors(t *testing.T) {
	store := t.TempDir()
	noSlurm := []string{"PATH=" + t.TempDir()}
	out := runErr(t, noSlurm, append([]string{"grid", "submit", "--engine", "slurm", "--runs", store}, gridArgs...)...)
	if !strings.Contains(out, "sbatch not found on PATH") || !strings.Contains(out, "submits the grid by hand") {
		t.Errorf("submit without sbatch:\n%s", out)
	}
	plans, _ := filepath.Glob(filepath.Join(store, grid.GridsDir, "*", grid.PlanFile))
	scripts, _ := filepath.Glob(filepath.Join(store, grid.GridsDir, "*", grid.ScriptFile))
	if len(plans) != 1 || len(scripts) != 1 {
		t.Fatalf("after a submit without sbatch: plans %v, scripts %v; want one of each", plans, scripts)
	}
	plan := plans[0]
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"index out of range", []string{"grid", "run", plan, "4"}, "index 4 is out of range: grid "},
		{"index not a number", []string{"grid", "run", plan, "x"}, `INDEX "x" is not a number`},
		{"store not shared", []string{"grid", "run", filepath.Join(t.TempDir(), "grids", "g", grid.PlanFile), "0"},
			"the run store must be on a file system that every node shares"},
		{"other backend", []string{"--backend", "libtorch", "grid", "run", plan, "0"}, "the grid was planned for gorgonia"},
		{"bad engine", []string{"grid", "submit", "--engine", "k8s"}, `--engine: "k8s" is not one of slurm, local`},
		{"quick beside another scale", []string{"grid", "submit", "--quick", "--scale", "full"}, "--quick and --scale full contradict"},
		{"negative seeds", []string{"grid", "submit", "--seeds", "-1"}, "--seeds: -1 is negative"},
		{"bad only", []string{"grid", "submit", "--engine", "slurm", "--runs", store, "--only", "2-9", "--scale", "test", "--tables", "7"}, "--only: index 4 is out of range"},
		{"collect unfinished", []string{"grid", "collect", plan}, "4 of 4 tasks have no result yet (indexes 0-3)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if out := runErr(t, noSlurm, tt.args...); !strings.Contains(out, tt.want) {
				t.Errorf("output:\n%s\nwant %q", out, tt.want)
			}
		})
	}
	t.Run("plan of another version", func(t *testing.T) {
		p, err := grid.Load(plan)
		if err != nil {
			t.Fatal(err)
		}
		p.Version = "0123abcd"
		if err := runstore.WriteSealedJSON(plan, p); err != nil {
			t.Fatal(err)
		}
		if out := runErr(t, nil, "grid", "run", plan, "0"); !strings.Contains(out, "was written by icnnlab 0123abcd") {
			t.Errorf("output:\n%s", out)
		}
	})
}

// The local engine runs the same task code as Slurm's: the grid collects
// to the tables; a corrupt result is refused by collect and redone by its
// task, from the run store, to the same tables.
func TestLocalEngineCollectAndCorruptResult(t *testing.T) {
	if testing.Short() {
		t.Skip("trains four tiny networks; skipped with -short")
	}
	store := t.TempDir()
	mustRun(t, icnnlab(nil, append([]string{"grid", "submit", "--engine", "local", "--runs", store}, gridArgs...)...))
	dirs, _ := filepath.Glob(filepath.Join(store, grid.GridsDir, "*"))
	if len(dirs) != 1 {
		t.Fatalf("grids: %v", dirs)
	}
	status, _ := mustRun(t, icnnlab(nil, "grid", "status", "--no-queue", "--runs", store))
	if !strings.Contains(status, "4 of 4 tasks done") {
		t.Errorf("status:\n%s", status)
	}
	out := filepath.Join(t.TempDir(), "out")
	verdicts, _ := mustRun(t, icnnlab(nil, "grid", "collect", dirs[0], "--out", out))
	if !strings.Contains(verdicts, "Table 7") {
		t.Errorf("verdicts:\n%s", verdicts)
	}
	want, err := os.ReadFile(filepath.Join(out, report.CSVFile))
	if err != nil {
		t.Fatal(err)
	}

	result := filepath.Join(dirs[0], grid.TasksDir, "1", grid.ResultFile)
	b, _ := os.ReadFile(result)
	b[len(b)/2] ^= 0x01
	os.WriteFile(result, b, 0o644)
	if msg := runErr(t, nil, "grid", "collect", dirs[0], "--out", out); !strings.Contains(msg, "corrupt task result "+result) {
		t.Errorf("collect over a corrupt result:\n%s", msg)
	}
	_, stderr := mustRun(t, icnnlab(nil, "grid", "run", dirs[0], "1"))
	if !strings.Contains(stderr, "corrupt task result") || !strings.Contains(stderr, "reused") {
		t.Errorf("task over a corrupt result (want a warning, then the run reused):\n%s", stderr)
	}
	mustRun(t, icnnlab(nil, "grid", "collect", dirs[0], "--out", out))
	got, _ := os.ReadFile(filepath.Join(out, report.CSVFile))
	if !bytes.Equal(want, got) {
		t.Errorf("tables after redoing the corrupt result differ")
	}
}
