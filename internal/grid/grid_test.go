package grid

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/icnnlab/icnnlab/internal/runstore"
)

var update = flag.Bool("update", false, "rewrite golden files")

func testPlan(t *testing.T) (*Plan, string) {
	t.Helper()
	req, err := NewRequest("test", []string{"7"}, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPlan(req, "gorgonia", "", 1)
	if err != nil {
		t.Fatal(err)
	}
	store := t.TempDir()
	path, err := p.Write(store)
	if err != nil {
		t.Fatal(err)
	}
	return p, path
}

func TestPlanRoundTripAndStableName(t *testing.T) {
	p, path := testPlan(t)
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Tasks) != 4 || got.Name != p.Name || got.Tasks[1].Key != "small64/l1+mi/bird/seed1" {
		t.Errorf("loaded plan %s with tasks %v", got.Name, got.Tasks)
	}
	again, _ := NewPlan(p.Request, "gorgonia", "", 1)
	if again.Name != p.Name {
		t.Errorf("the same grid is named %s, then %s", p.Name, again.Name)
	}
	other, _ := NewPlan(Request{Scale: "test", Tables: []string{"7"}, Seeds: 2}, "gorgonia", "", 1)
	if other.Name == p.Name {
		t.Errorf("grids with other seeds share the name %s", p.Name)
	}
}

// Bad input gets clear errors: a plan from another build, an index out of
// range, a plan the node cannot see, a corrupt plan.
func TestPlanErrors(t *testing.T) {
	p, path := testPlan(t)
	tests := []struct {
		name string
		edit func(t *testing.T) string
		want string
	}{
		{"other version", func(t *testing.T) string {
			old := *p
			old.Version = "0123abcd"
			if err := runstore.WriteSealedJSON(path, &old); err != nil {
				t.Fatal(err)
			}
			return path
		}, "was written by icnnlab 0123abcd, this is " + runstore.CodeVersion()},
		{"other plan for the request", func(t *testing.T) string {
			old := *p
			old.Tasks = append([]Task(nil), p.Tasks...)
			old.Tasks[2].Config.Epochs = 99
			runstore.WriteSealedJSON(path, &old)
			return path
		}, "task 2 (small64/ordinary/multi-softmax/seed1) differs from what this icnnlab plans"},
		{"not shared", func(t *testing.T) string { return filepath.Join(t.TempDir(), "grids", "x", PlanFile) }, "the run store must be on a file system that every node shares"},
		{"corrupt", func(t *testing.T) string {
			runstore.WriteSealedJSON(path, p)
			b, _ := os.ReadFile(path)
			os.WriteFile(path, []byte(strings.Replace(string(b), `"seed": 1`, `"seed": 2`, 1)), 0o644)
			return path
		}, "corrupt plan " + path},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.edit(t))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
	runstore.WriteSealedJSON(path, p)
	fresh, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{-1, 4} {
		if _, err := fresh.Task(i); err == nil || !strings.Contains(err.Error(), "out of range: grid "+p.Name+" has 4 tasks (0-3)") {
			t.Errorf("index %d: %v", i, err)
		}
	}
	if _, err := RunTask(context.Background(), fresh, 7, TaskOptions{}); err == nil || !strings.Contains(err.Error(), "index 7 is out of range") {
		t.Errorf("RunTask(7): %v", err)
	}
}

func TestScriptGolden(t *testing.T) {
	p, _ := testPlan(t)
	p.Name = "test-t7-0a1b2c3d"
	p.Dir = "/shared/runs/grids/" + p.Name
	p.Version = "v1.0.0"
	got, err := Script(p, []int{0, 1, 3}, SlurmOptions{Executable: "/opt/icnnlab/bin/icnnlab", Store: "/shared/runs", Parallel: 2,
		SignalSeconds: 300, Partition: "gpu", Gres: "gpu:1", Time: "4:00:00", Account: "lab42", Extra: []string{"--mem=16G"},
		Env: []string{"ICNNLAB_CLAIM_STALE=5m", "NOTE=it's here"}})
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "task.sbatch")
	if *update {
		os.WriteFile(golden, []byte(got), 0o644)
	}
	want, _ := os.ReadFile(golden)
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("script (-want +got):\n%s", diff)
	}
	for _, bad := range []SlurmOptions{
		{Executable: "icnnlab", Store: "/s"},
		{Executable: "/x/icnnlab", Store: "runs"},
		{Executable: "/x/icnnlab", Store: "/s", Extra: []string{"--a\n--b"}},
		{Executable: "/x/icnnlab", Store: "/s", Env: []string{"1X=2"}},
	} {
		if _, err := Script(p, []int{0}, bad); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

func TestSubmitWithoutSbatch(t *testing.T) {
	p, _ := testPlan(t)
	t.Setenv("PATH", t.TempDir())
	_, err := SubmitSlurm(context.Background(), p, []int{0, 1, 2, 3}, SlurmOptions{Executable: "/x/icnnlab", Store: "/s"})
	if !errors.Is(err, ErrNoSbatch) || !strings.Contains(err.Error(), "sbatch "+filepath.Join(p.Dir, ScriptFile)) {
		t.Fatalf("error %v, want ErrNoSbatch naming the script to submit by hand", err)
	}
	if _, err := os.Stat(filepath.Join(p.Dir, ScriptFile)); err != nil {
		t.Errorf("the script is lost: %v", err)
	}
}

func TestParseArray(t *testing.T) {
	tests := []struct {
		in   string
		want []int
		err  bool
	}{
		{"", nil, false},
		{"0-3", []int{0, 1, 2, 3}, false},
		{"0-3,7%2", []int{0, 1, 2, 3, 7}, false},
		{"1-7:3", []int{1, 4, 7}, false},
		{"5", []int{5}, false},
		{"3-1", nil, true},
		{"a", nil, true},
		{"-1", nil, true},
		{"0-9:0", nil, true},
		{"0-99999999999", nil, true},
	}
	for _, tt := range tests {
		got, err := parseArray(tt.in)
		if (err != nil) != tt.err || !cmp.Equal(got, tt.want) {
			t.Errorf("parseArray(%q) = %v, %v; want %v (error %v)", tt.in, got, err, tt.want, tt.err)
		}
	}
	if got := ranges([]int{0, 1, 2, 3, 5, 7, 8}); got != "0-3,5,7-8" {
		t.Errorf("ranges = %q", got)
	}
}

func TestParseSqueue(t *testing.T) {
	for _, name := range []string{"squeue-22.05.json", "squeue-23.11.json"} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseSqueue(data, []string{"1"})
			if err != nil {
				t.Fatal(err)
			}
			want := map[int]QueueEntry{
				0: {JobID: "1", Index: 0, State: "RUNNING", Reason: "None", Node: "n1"},
				1: {JobID: "1", Index: 1, State: "RUNNING", Reason: "None", Node: "n2", Restarts: 1},
				2: {JobID: "1", Index: 2, State: "PENDING", Reason: "JobArrayTaskLimit"},
				3: {JobID: "1", Index: 3, State: "PENDING", Reason: "JobArrayTaskLimit"},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if _, err := ParseSqueue([]byte(`{"jobs":[{"array_job_id":1,"array_task_string":"x-y"}]}`), []string{"1"}); err == nil {
		t.Error("a bad array string was accepted")
	}
	// Slurm 22.05 lists every job whatever --jobs says; a queued task of a
	// later submission wins over the finished one of an earlier.
	got, err := ParseSqueue([]byte(`{"jobs":[
		{"array_job_id":5,"array_task_id":1,"job_state":"PENDING","state_reason":"BeginTime","restart_cnt":1},
		{"array_job_id":1,"array_task_id":1,"job_state":"COMPLETED","state_reason":"None","nodes":"n2"},
		{"array_job_id":9,"array_task_id":1,"job_state":"RUNNING","state_reason":"None","nodes":"n1"},
		{"array_job_id":7,"array_task_id":2,"job_state":"COMPLETED","state_reason":"None","nodes":"n1"}]}`), []string{"1", "5"})
	want := map[int]QueueEntry{1: {JobID: "5", Index: 1, State: "PENDING", Reason: "BeginTime", Restarts: 1}}
	if diff := cmp.Diff(want, got); diff != "" || err != nil {
		t.Errorf("several jobs (-want +got):\n%s%v", diff, err)
	}
}

func FuzzParseSqueue(f *testing.F) {
	for _, name := range []string{"squeue-22.05.json", "squeue-23.11.json"} {
		data, _ := os.ReadFile(filepath.Join("testdata", name))
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ParseSqueue(data, []string{"1"})
	})
}

func FuzzParseArray(f *testing.F) {
	for _, s := range []string{"0-3,7%2", "1-7:3", "5", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		idx, err := parseArray(s)
		if err == nil && len(idx) > 2*maxArray+1 {
			t.Fatalf("%q expanded to %d indexes", s, len(idx))
		}
	})
}

func FuzzLoadPlan(f *testing.F) {
	req, _ := NewRequest("test", []string{"7"}, 0, nil)
	p, err := NewPlan(req, "gorgonia", "", 1)
	if err != nil {
		f.Fatal(err)
	}
	dir := f.TempDir()
	path, _ := p.Write(dir)
	seed, _ := os.ReadFile(path)
	f.Add(seed)
	f.Add([]byte(`{"format":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), PlanFile)
		os.WriteFile(path, data, 0o644)
		Load(path)
	})
}
