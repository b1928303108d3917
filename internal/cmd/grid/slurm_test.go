package grid_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	// The real CLI's backend and built-in plugins.
	_ "github.com/icnnlab/icnnlab/backends/gorgonia"
	_ "github.com/icnnlab/icnnlab/plugins/reference"

	"github.com/icnnlab/icnnlab/internal/cmd/cmdutil"
	"github.com/icnnlab/icnnlab/internal/cmd/root"
	"github.com/icnnlab/icnnlab/internal/grid"
	"github.com/icnnlab/icnnlab/internal/grid/slurmtest"
	"github.com/icnnlab/icnnlab/internal/reproduce/execute"
	"github.com/icnnlab/icnnlab/internal/reproduce/report"
	"github.com/icnnlab/icnnlab/internal/runstore"
)

// TestMain lets the tests run this binary as the icnnlab command: with
// ICNNLAB_TEST_AS_CLI=1 it is icnnlab, so Slurm's tasks (which exec it) and
// the built-in plugins (which re-execute it) are served too.
func TestMain(m *testing.M) {
	if os.Getenv("ICNNLAB_TEST_AS_CLI") == "1" {
		os.Exit(root.Run(context.Background(), cmdutil.New("test"), "test", os.Args[1:]))
	}
	os.Exit(m.Run())
}

// gridArgs is the grid every test submits: Table 7 at the test scale (four
// runs of small64 at width 1/4, one epoch each).
var gridArgs = []string{"--scale", "test", "--tables", "7", "--threads", "1"}

func icnnlab(env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), "ICNNLAB_TEST_AS_CLI=1"), env...)
	return cmd
}

func mustRun(t *testing.T, cmd *exec.Cmd) (stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v: %v\nstdout:\n%s\nstderr:\n%s", cmd.Args, err, o.String(), e.String())
	}
	return o.String(), e.String()
}

// submit submits the test grid into store and returns the job ID and plan.
func submit(t *testing.T, c *slurmtest.Cluster, store string, extra ...string) (string, *grid.Plan) {
	t.Helper()
	args := append(append([]string{"grid", "submit", "--engine", "slurm", "--runs", store}, gridArgs...), extra...)
	out, _ := mustRun(t, icnnlab(c.Env, args...))
	job := strings.TrimSpace(out)
	if _, err := strconv.Atoi(job); err != nil {
		t.Fatalf("submit printed %q, not a job ID", out)
	}
	dirs, _ := filepath.Glob(filepath.Join(store, grid.GridsDir, "*"))
	if len(dirs) != 1 {
		t.Fatalf("grids in %s: %v", store, dirs)
	}
	p, err := grid.Load(dirs[0])
	if err != nil {
		t.Fatal(err)
	}
	return job, p
}

func waitResult(t *testing.T, c *slurmtest.Cluster, p *grid.Plan, index int, timeout time.Duration) *grid.Result {
	t.Helper()
	var res *grid.Result
	c.WaitFor(t, timeout, "the result of task "+strconv.Itoa(index), func() bool {
		r, err := grid.ReadResult(p, index)
		res = r
		return err == nil
	})
	return res
}

// numbers is what a table is made of: a run's measured values.
func numbers(r *execute.RunResult) map[string]any {
	b, _ := json.Marshal(r)
	var m map[string]any
	json.Unmarshal(b, &m)
	for _, k := range []string{"run_dir", "reused", "train_seconds"} {
		delete(m, k)
	}
	return m
}

// TestSlurm runs grids on a real Slurm (two nodes on this host): a grid
// completes and collects to the tables of a local run; a cancelled and
// requeued task resumes to the same result; two copies of one task make one
// run; killing a node's slurmd requeues its task onto the other node.
func TestSlurm(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Slurm cluster and trains tiny networks; skipped with -short")
	}
	start := time.Now()
	c := slurmtest.Start(t, 5)
	t.Setenv("SLURM_CONF", c.Conf) // for the squeue this test runs itself
	t.Logf("cluster up in %.1f s", time.Since(start).Seconds())
	dir := t.TempDir()
	os.Chmod(dir, 0o755)

	// The same grid, trained locally by reproduce paper-tables, is the
	// reference for every Slurm result.
	local := icnnlab(nil, append([]string{"reproduce", "paper-tables", "--runs", filepath.Join(dir, "local-runs"),
		"--out", filepath.Join(dir, "local-out"), "--reports", "none"}, gridArgs...)...)
	var localErr bytes.Buffer
	local.Stderr = &localErr
	if err := local.Start(); err != nil {
		t.Fatal(err)
	}

	var reference *grid.Plan
	t.Run("grid completes and collects to the local tables", func(t *testing.T) {
		s := time.Now()
		store := filepath.Join(dir, "a")
		_, p := submit(t, c, store, "--parallel", "2")
		for i := range p.Tasks {
			waitResult(t, c, p, i, 2*time.Minute)
		}
		t.Logf("4 tasks done in %.1f s", time.Since(s).Seconds())
		if err := local.Wait(); err != nil {
			t.Fatalf("local reproduction: %v\n%s", err, localErr.String())
		}
		out := filepath.Join(dir, "a-out")
		mustRun(t, icnnlab(c.Env, "grid", "collect", p.Dir, "--out", out))
		for _, f := range []string{report.CSVFile} {
			want, _ := os.ReadFile(filepath.Join(dir, "local-out", f))
			got, err := os.ReadFile(filepath.Join(out, f))
			if err != nil || !bytes.Equal(want, got) {
				t.Errorf("%s of the grid differs from the local run's (%v):\n%s", f, err, cmp.Diff(string(want), string(got)))
			}
		}
		var want, got report.Report
		readJSON(t, filepath.Join(dir, "local-out", report.JSONFile), &want)
		readJSON(t, filepath.Join(out, report.JSONFile), &got)
		// Rows name their runs by directory: the same run directories, in
		// two run stores.
		for _, r := range []*report.Report{&want, &got} {
			for _, tb := range r.Tables {
				for i := range tb.Rows {
					for k, run := range tb.Rows[i].Runs {
						tb.Rows[i].Runs[k] = filepath.Base(run)
					}
				}
			}
		}
		if diff := cmp.Diff(want.Tables, got.Tables); diff != "" {
			t.Errorf("tables (-local +grid):\n%s", diff)
		}
		nodes := map[string]bool{}
		for i := range p.Tasks {
			r, _ := grid.ReadResult(p, i)
			nodes[r.Node] = true
		}
		if !nodes["n1"] || !nodes["n2"] {
			t.Errorf("tasks ran on nodes %v, want both n1 and n2", nodes)
		}
		status, _ := mustRun(t, icnnlab(c.Env, "grid", "status", p.Dir))
		if !strings.Contains(status, "4 of 4 tasks done") {
			t.Errorf("grid status:\n%s", status)
		}
		reference = p
	})
	if reference == nil {
		t.FailNow()
	}

	t.Run("scancel then requeue resumes to the same result", func(t *testing.T) {
		s := time.Now()
		store := filepath.Join(dir, "b")
		const index = 1 // the interpretable CNN on the single-category task
		job, p := submit(t, c, store, "--only", strconv.Itoa(index))
		task := job + "_" + strconv.Itoa(index)
		// Once the task reports its first training step, freeze it, so
		// the cancel lands mid-training however loaded the machine is.
		// The test scale's run has 6 steps of a few tens of milliseconds
		// each on an idle machine, so poll far more often than WaitFor's
		// 200 ms: at that interval the whole run once finished between
		// two polls and the cancel found it done.
		for start := time.Now(); ; time.Sleep(2 * time.Millisecond) {
			if pr, err := grid.ReadProgress(p, index); err == nil && pr.Step >= 1 {
				break
			}
			if time.Since(start) > time.Minute {
				t.Fatalf("waited %v for the first training step\n%s", time.Minute, c.Logs())
			}
		}
		holder, _, err := runstore.ReadClaim(p.TaskDir(index))
		if err != nil {
			t.Fatal(err)
		}
		syscall.Kill(holder.PID, syscall.SIGSTOP)
		c.MustRun(t, "scancel", task) // Slurm sends SIGCONT, then SIGTERM
		c.WaitFor(t, time.Minute, "the cancelled task to exit", func() bool {
			_, _, err := runstore.ReadClaim(p.TaskDir(index))
			return errors.Is(err, fs.ErrNotExist)
		})
		run := runDir(t, store)
		var st runstore.Status
		readJSON(t, filepath.Join(run, runstore.StatusFile), &st)
		if st.State != runstore.Failed || st.LastGood < 1 || !strings.Contains(st.Error, "interrupted at step") {
			t.Fatalf("after scancel the run's status is %+v, want failed (interrupted) with a checkpoint at step ≥ 1", st)
		}
		if _, err := os.Stat(filepath.Join(run, runstore.CheckpointFile)); err != nil {
			t.Fatalf("no checkpoint after scancel: %v", err)
		}
		c.MustRun(t, "scontrol", "requeue", task)
		release(t, c, job, index)
		res := waitResult(t, c, p, index, 2*time.Minute)
		want, _ := grid.ReadResult(reference, index)
		if diff := cmp.Diff(numbers(want.Run), numbers(res.Run)); diff != "" {
			t.Errorf("requeued task's result differs from the uninterrupted one (-want +got):\n%s", diff)
		}
		log := readLogs(t, p)
		if !strings.Contains(log, "restart 1") {
			t.Errorf("the task's log shows no rerun:\n%s", log)
		}
		t.Logf("cancelled at step %d, requeued, resumed and done in %.1f s", st.LastGood, time.Since(s).Seconds())
	})

	t.Run("the pre-timeout signal checkpoints and requeues", func(t *testing.T) {
		s := time.Now()
		store := filepath.Join(dir, "f")
		const index = 3
		job, p := submit(t, c, store, "--only", strconv.Itoa(index))
		task := job + "_" + strconv.Itoa(index)
		c.WaitFor(t, time.Minute, "the first training step", func() bool {
			pr, err := grid.ReadProgress(p, index)
			return err == nil && pr.Step >= 1
		})
		holder, _, err := runstore.ReadClaim(p.TaskDir(index))
		if err != nil {
			t.Fatal(err)
		}
		syscall.Kill(holder.PID, syscall.SIGSTOP)
		// What sbatch --signal=B:USR1@N sends N seconds before the limit.
		c.MustRun(t, "scancel", "--signal=USR1", "--batch", task)
		syscall.Kill(holder.PID, syscall.SIGCONT)
		release(t, c, job, index)
		res := waitResult(t, c, p, index, 2*time.Minute)
		want, _ := grid.ReadResult(reference, index)
		if diff := cmp.Diff(numbers(want.Run), numbers(res.Run)); diff != "" {
			t.Errorf("result after the signal differs from the uninterrupted one (-want +got):\n%s", diff)
		}
		log := readLogs(t, p)
		if !strings.Contains(log, "stopped by user defined signal 1") || !strings.Contains(log, "requeued") || !strings.Contains(log, "restart 1") {
			t.Errorf("the task's log shows no checkpoint, self-requeue and rerun:\n%s", log)
		}
		t.Logf("SIGUSR1 at step ≥ 1: checkpointed, requeued itself, resumed and done in %.1f s", time.Since(s).Seconds())
	})

	t.Run("two copies of one task give one run", func(t *testing.T) {
		s := time.Now()
		store := filepath.Join(dir, "d")
		const index = 2
		_, p := submit(t, c, store, "--only", strconv.Itoa(index))
		submit(t, c, store, "--only", strconv.Itoa(index)) // a user who submits twice
		res := waitResult(t, c, p, index, 2*time.Minute)
		c.WaitFor(t, time.Minute, "both copies to finish", func() bool {
			return strings.Count(readLogs(t, p), "task 2 (") == 2
		})
		log := readLogs(t, p)
		if !strings.Contains(log, "result reused") {
			t.Errorf("neither copy reused the other's result:\n%s", log)
		}
		runs, _ := filepath.Glob(filepath.Join(store, "small64-*"))
		if len(runs) != 1 {
			t.Errorf("run directories %v, want one", runs)
		}
		want, _ := grid.ReadResult(reference, index)
		if diff := cmp.Diff(numbers(want.Run), numbers(res.Run)); diff != "" {
			t.Errorf("result differs from the reference (-want +got):\n%s", diff)
		}
		noTornFiles(t, store)
		t.Logf("two copies done in %.1f s", time.Since(s).Seconds())
	})

	t.Run("reproduce paper-tables --engine slurm", func(t *testing.T) {
		s := time.Now()
		out := filepath.Join(dir, "e-out")
		stdout, _ := mustRun(t, icnnlab(c.Env, append([]string{"reproduce", "paper-tables", "--engine", "slurm", "--parallel", "2",
			"--runs", filepath.Join(dir, "e"), "--out", out, "--reports", "none"}, gridArgs...)...))
		if !strings.Contains(stdout, "Table 7") {
			t.Errorf("verdicts:\n%s", stdout)
		}
		want, _ := os.ReadFile(filepath.Join(dir, "local-out", report.CSVFile))
		got, err := os.ReadFile(filepath.Join(out, report.CSVFile))
		if err != nil || !bytes.Equal(want, got) {
			t.Errorf("paper-tables --engine slurm CSV differs from the local run's (%v):\n%s", err, cmp.Diff(string(want), string(got)))
		}
		t.Logf("reproduce paper-tables --engine slurm: submitted, waited and collected in %.1f s", time.Since(s).Seconds())
	})

	t.Run("killing a node requeues its task on the other node", func(t *testing.T) {
		s := time.Now()
		store := filepath.Join(dir, "c")
		const index = 0
		job, p := submit(t, c, store, "--only", strconv.Itoa(index))
		var node string
		c.WaitFor(t, time.Minute, "the task to start training", func() bool {
			q, err := grid.Queue(context.Background(), []string{job})
			pr, perr := grid.ReadProgress(p, index)
			node = q[index].Node
			return err == nil && perr == nil && pr.Step >= 1 && node != ""
		})
		holder, _, err := runstore.ReadClaim(p.TaskDir(index))
		if err != nil {
			t.Fatal(err)
		}
		// The node dies: its slurmd, the job's slurmstepd (the task's
		// parent, as the batch script execs the task) and the task.
		stepd := parentPID(holder.PID)
		if comm, _ := os.ReadFile("/proc/" + strconv.Itoa(stepd) + "/comm"); !strings.HasPrefix(string(comm), "slurmstepd") {
			t.Fatalf("the task's parent %d is %q, not slurmstepd", stepd, comm)
		}
		for _, pid := range []int{c.NodePID(node), stepd, holder.PID} {
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				t.Fatalf("kill %d: %v", pid, err)
			}
		}
		killed := time.Now()
		var downAfter time.Duration
		c.WaitFor(t, 2*time.Minute, "the task to be requeued", func() bool {
			q, err := grid.Queue(context.Background(), []string{job})
			e, ok := q[index]
			if err == nil && ok && e.State == "PENDING" && e.Restarts > 0 {
				downAfter = time.Since(killed)
				return true
			}
			return false
		})
		release(t, c, job, index)
		res := waitResult(t, c, p, index, 2*time.Minute)
		if res.Node == node || res.Node == "" {
			t.Errorf("the requeued task ran on %q; node %s was killed", res.Node, node)
		}
		want, _ := grid.ReadResult(reference, index)
		if diff := cmp.Diff(numbers(want.Run), numbers(res.Run)); diff != "" {
			t.Errorf("result differs from the reference (-want +got):\n%s", diff)
		}
		noTornFiles(t, store)
		t.Logf("node %s killed: requeued after %.1f s (SlurmdTimeout=5), done on %s %.1f s after the kill (%.1f s in all)",
			node, downAfter.Seconds(), res.Node, time.Since(killed).Seconds(), time.Since(s).Seconds())
	})
	t.Logf("Slurm test: %.1f s in all", time.Since(start).Seconds())
}

// release lets a requeued task start now: Slurm holds a requeued job for
// about two minutes (BeginTime). The update only takes once the requeue
// has put the task back to PENDING, so it is repeated until the hold is gone.
//
// The hold exists because the node revoked the killed job's credential, and
// slurmd compares the new credential's creation time with the revocation in
// whole seconds: a task released and started within the same second as its
// kill is refused on that node ("Job credential revoked") and fails for good.
// So the release waits a few seconds after the task is first seen held.
func release(t *testing.T, c *slurmtest.Cluster, job string, index int) {
	t.Helper()
	const revocationMargin = 3 * time.Second
	task := job + "_" + strconv.Itoa(index)
	held := false
	var heldSince time.Time
	c.WaitFor(t, time.Minute, "task "+task+" to be requeued and released", func() bool {
		q, err := grid.Queue(context.Background(), []string{job})
		e, ok := q[index]
		switch {
		case err != nil || !ok:
			return false
		case e.State == "PENDING" && e.Reason == "BeginTime":
			if !held {
				held, heldSince = true, time.Now()
			}
			if time.Since(heldSince) >= revocationMargin {
				c.Output("scontrol", "update", "JobId="+task, "StartTime=now")
			}
			return false
		case e.State == "PENDING":
			return held // released, waiting for a node
		}
		return held && e.State == "RUNNING" || e.State == "COMPLETED"
	})
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// runDir is the one run directory in a store.
func runDir(t *testing.T, store string) string {
	t.Helper()
	runs, _ := filepath.Glob(filepath.Join(store, "small64-*"))
	if len(runs) != 1 {
		t.Fatalf("run directories in %s: %v, want one", store, runs)
	}
	return runs[0]
}

func readLogs(t *testing.T, p *grid.Plan) string {
	t.Helper()
	logs, _ := filepath.Glob(filepath.Join(p.Dir, grid.LogsDir, "*.out"))
	var b strings.Builder
	for _, l := range logs {
		data, _ := os.ReadFile(l)
		b.Write(data)
	}
	return b.String()
}

// noTornFiles checks that no temporary file is left and that every JSON
// file of the store parses.
func noTornFiles(t *testing.T, store string) {
	t.Helper()
	filepath.WalkDir(store, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if strings.Contains(d.Name(), ".tmp-") {
			t.Errorf("temporary file left: %s", path)
		}
		if strings.HasSuffix(path, ".json") {
			var v any
			b, _ := os.ReadFile(path)
			if json.Unmarshal(b, &v) != nil {
				t.Errorf("torn JSON file: %s", path)
			}
		}
		return nil
	})
}

// parentPID reads a process's parent from /proc.
func parentPID(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if len(f) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(f[1])
	return ppid
}
