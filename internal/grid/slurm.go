package grid

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/icnnlab/icnnlab/internal/atomicfile"

	"github.com/icnnlab/icnnlab/internal/runstore"
)

// SlurmOptions are the choices of a Slurm submission.
type SlurmOptions struct {
	// Executable is the icnnlab binary as every node sees it.
	Executable string
	// Store is the run store's root as every node sees it (absolute).
	Store string
	// Parallel caps the tasks that run at once (the array's %K; 0: no cap).
	Parallel int
	// SignalSeconds is how long before the time limit Slurm sends the
	// task SIGUSR1, so it checkpoints and requeues itself (0: none).
	SignalSeconds int
	// Partition, Account, Time and Gres are sbatch's --partition,
	// --account, --time and --gres ("" leaves Slurm's default).
	Partition, Account, Time, Gres string
	// Extra are further sbatch options, passed as they are.
	Extra []string
	// Env are NAME=VALUE settings the script exports before the task.
	Env []string
}

// Script is the batch script of the grid's job array: every task execs
// `icnnlab grid run PLAN $SLURM_ARRAY_TASK_ID`, so the task itself receives
// Slurm's signals.
func Script(p *Plan, indexes []int, o SlurmOptions) (string, error) {
	if o.Executable == "" || !filepath.IsAbs(o.Executable) {
		return "", fmt.Errorf("slurm script: the icnnlab executable %q must be an absolute path that every node sees", o.Executable)
	}
	if o.Store == "" || !filepath.IsAbs(o.Store) {
		return "", fmt.Errorf("slurm script: the run store %q must be an absolute path that every node sees", o.Store)
	}
	if len(indexes) == 0 {
		return "", errors.New("slurm script: no tasks to submit")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "#!/bin/bash\n# icnnlab grid %s: %d tasks (written by icnnlab %s)\n", p.Name, len(p.Tasks), p.Version)
	array := ranges(indexes)
	if o.Parallel > 0 {
		array += "%" + strconv.Itoa(o.Parallel)
	}
	directive := func(opt string) { fmt.Fprintf(&b, "#SBATCH %s\n", opt) }
	directive("--job-name=icnnlab-" + shellSafe(p.Name))
	directive("--array=" + array)
	directive("--requeue")
	directive("--open-mode=append")
	directive("--output=" + filepath.Join(p.Dir, LogsDir, "%A_%a.out"))
	if o.SignalSeconds > 0 {
		directive(fmt.Sprintf("--signal=B:USR1@%d", o.SignalSeconds))
	}
	for _, kv := range [][2]string{{"partition", o.Partition}, {"account", o.Account}, {"time", o.Time}, {"gres", o.Gres}} {
		if kv[1] != "" {
			directive("--" + kv[0] + "=" + kv[1])
		}
	}
	for _, e := range o.Extra {
		if strings.ContainsAny(e, "\n") {
			return "", fmt.Errorf("slurm script: sbatch option %q holds a newline", e)
		}
		directive(e)
	}
	b.WriteString("set -e\n")
	for _, e := range o.Env {
		name, value, ok := strings.Cut(e, "=")
		if !ok || !envName.MatchString(name) {
			return "", fmt.Errorf("slurm script: --env %q is not NAME=VALUE", e)
		}
		fmt.Fprintf(&b, "export %s=%s\n", name, shellQuote(value))
	}
	fmt.Fprintf(&b, "echo \"icnnlab grid %s task $SLURM_ARRAY_TASK_ID: job ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID} on $(hostname), restart ${SLURM_RESTART_COUNT:-0}, $(date -u +%%FT%%TZ)\"\n", p.Name)
	fmt.Fprintf(&b, "exec %s grid run %s \"$SLURM_ARRAY_TASK_ID\"\n", shellQuote(o.Executable), shellQuote(filepath.Join(p.Dir, PlanFile)))
	return b.String(), nil
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func shellSafe(s string) string {
	return regexp.MustCompile(`[^A-Za-z0-9._-]`).ReplaceAllString(s, "_")
}

func shellQuote(s string) string {
	if s != "" && regexp.MustCompile(`^[A-Za-z0-9_./:=,+-]+$`).MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// ErrNoSbatch is wrapped when Slurm's sbatch is not on PATH.
var ErrNoSbatch = errors.New("sbatch not found on PATH")

// Job is one submission of a grid.
type Job struct {
	ID        string    `json:"id"`
	Submitted time.Time `json:"submitted"`
	Indexes   string    `json:"indexes"`
	Script    string    `json:"script"`
}

// SubmitSlurm writes the grid's batch script and submits it as one job
// array over indexes. The plan must have been written (p.Dir set).
func SubmitSlurm(ctx context.Context, p *Plan, indexes []int, o SlurmOptions) (*Job, error) {
	script, err := Script(p, indexes, o)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(p.Dir, ScriptFile)
	if err := atomicfile.WriteFile(path, []byte(script)); err != nil {
		return nil, err
	}
	sbatch, err := exec.LookPath("sbatch")
	if err != nil {
		return nil, fmt.Errorf("%w: grid submit --engine slurm needs Slurm's client commands (install slurm-client, or load your cluster's Slurm module); the plan and %s are written, so `sbatch %s` submits the grid by hand", ErrNoSbatch, path, path)
	}
	cmd := exec.CommandContext(ctx, sbatch, "--parsable", path)
	cmd.Dir = p.Dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("sbatch %s: %w: %s", path, err, strings.TrimSpace(stderr.String()))
	}
	// --parsable prints "JOBID" or "JOBID;CLUSTER".
	id, _, _ := strings.Cut(strings.TrimSpace(stdout.String()), ";")
	if _, err := strconv.Atoi(id); err != nil {
		return nil, fmt.Errorf("sbatch %s printed %q, not a job ID", path, stdout.String())
	}
	job := &Job{ID: id, Submitted: time.Now().UTC(), Indexes: ranges(indexes), Script: path}
	jobs, _ := ReadJobs(p)
	if err := atomicfile.WriteJSON(filepath.Join(p.Dir, JobsFile), append(jobs, *job)); err != nil {
		return job, fmt.Errorf("job %s is submitted, but recording it failed: %w", id, err)
	}
	return job, nil
}

// ReadJobs lists the grid's submissions, oldest first.
func ReadJobs(p *Plan) ([]Job, error) {
	var jobs []Job
	err := runstore.ReadJSON(filepath.Join(p.Dir, JobsFile), &jobs)
	return jobs, err
}

// QueueEntry is one line of the Slurm queue for a grid task.
type QueueEntry struct {
	JobID    string
	Index    int
	State    string
	Reason   string
	Node     string
	Restarts int
}

// Queue asks squeue which of the jobs' tasks are queued or running, by
// index. Pending tasks that Slurm has not split off yet are expanded from
// the array's task string.
func Queue(ctx context.Context, jobIDs []string) (map[int]QueueEntry, error) {
	if len(jobIDs) == 0 {
		return nil, nil
	}
	squeue, err := exec.LookPath("squeue")
	if err != nil {
		return nil, fmt.Errorf("squeue not found on PATH: %w", err)
	}
	cmd := exec.CommandContext(ctx, squeue, "--json", "--jobs", strings.Join(jobIDs, ","))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		// squeue fails for job IDs it has forgotten: no queue state then.
		if strings.Contains(stderr.String(), "Invalid job id") {
			return nil, nil
		}
		return nil, fmt.Errorf("squeue --json: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return ParseSqueue(stdout.Bytes(), jobIDs)
}

// ParseSqueue reads `squeue --json` output (Slurm 22.05's shape, and the
// later one where job_state is a list and numbers are {set, number}) for
// the array jobs jobIDs: Slurm 22.05 lists every job whatever --jobs says.
// When an index is in several jobs (a grid submitted again), a queued or
// running entry wins over a finished one, and a later job over an earlier.
func ParseSqueue(data []byte, jobIDs []string) (map[int]QueueEntry, error) {
	var doc struct {
		Jobs []struct {
			JobID       json.RawMessage `json:"job_id"`
			ArrayJobID  json.RawMessage `json:"array_job_id"`
			ArrayTaskID json.RawMessage `json:"array_task_id"`
			TaskString  string          `json:"array_task_string"`
			State       json.RawMessage `json:"job_state"`
			Reason      string          `json:"state_reason"`
			Nodes       string          `json:"nodes"`
			Restarts    json.RawMessage `json:"restart_cnt"`
		} `json:"jobs"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("squeue --json output: %w", err)
	}
	out := map[int]QueueEntry{}
	for _, j := range doc.Jobs {
		arrayJob, ok := slurmNumber(j.ArrayJobID)
		if !ok || arrayJob == 0 {
			arrayJob, _ = slurmNumber(j.JobID)
		}
		state := slurmState(j.State)
		restarts, _ := slurmNumber(j.Restarts)
		e := QueueEntry{JobID: strconv.FormatInt(arrayJob, 10), State: state, Reason: j.Reason, Node: j.Nodes, Restarts: int(restarts)}
		if !slices.Contains(jobIDs, e.JobID) {
			continue
		}
		if task, ok := slurmNumber(j.ArrayTaskID); ok {
			e.Index = int(task)
			keep(out, e)
			continue
		}
		idx, err := parseArray(j.TaskString)
		if err != nil {
			return nil, fmt.Errorf("squeue --json output: job %s: array_task_string: %w", e.JobID, err)
		}
		for _, i := range idx {
			e.Index = i
			keep(out, e)
		}
	}
	return out, nil
}

// keep records e unless out holds a better entry for its index.
func keep(out map[int]QueueEntry, e QueueEntry) {
	old, ok := out[e.Index]
	if ok {
		active := func(q QueueEntry) bool { return q.State == "PENDING" || q.State == "RUNNING" || q.State == "REQUEUED" }
		oldID, _ := strconv.Atoi(old.JobID)
		newID, _ := strconv.Atoi(e.JobID)
		if active(old) && !active(e) || active(old) == active(e) && oldID > newID {
			return
		}
	}
	out[e.Index] = e
}

// slurmNumber reads a number as Slurm writes it: bare, or {"set":…,"number":…}.
func slurmNumber(raw json.RawMessage) (int64, bool) {
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		v, err := n.Int64()
		return v, err == nil
	}
	var obj struct {
		Set    bool        `json:"set"`
		Number json.Number `json:"number"`
	}
	if json.Unmarshal(raw, &obj) == nil && obj.Set {
		v, err := obj.Number.Int64()
		return v, err == nil
	}
	return 0, false
}

func slurmState(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return strings.Join(list, ",")
	}
	return ""
}

// maxArray bounds the indexes an array string may expand to.
const maxArray = 1 << 20

// parseArray expands Slurm's array notation "0-3,5,7-9:2%4" ("" is none).
func parseArray(s string) ([]int, error) {
	s, _, _ = strings.Cut(s, "%")
	if s == "" {
		return nil, nil
	}
	var out []int
	for _, part := range strings.Split(s, ",") {
		rng, stepStr, hasStep := strings.Cut(part, ":")
		step := 1
		if hasStep {
			v, err := strconv.Atoi(stepStr)
			if err != nil || v <= 0 {
				return nil, fmt.Errorf("%q: bad step %q", s, stepStr)
			}
			step = v
		}
		loStr, hiStr, isRange := strings.Cut(rng, "-")
		lo, err := strconv.Atoi(loStr)
		if err != nil || lo < 0 {
			return nil, fmt.Errorf("%q: bad index %q", s, loStr)
		}
		hi := lo
		if isRange {
			if hi, err = strconv.Atoi(hiStr); err != nil || hi < lo {
				return nil, fmt.Errorf("%q: bad range %q", s, rng)
			}
		}
		if hi-lo > maxArray || len(out) > maxArray {
			return nil, fmt.Errorf("%q: more than %d indexes", s, maxArray)
		}
		for i := lo; i <= hi; i += step {
			out = append(out, i)
		}
	}
	return out, nil
}

// ParseIndexes reads a list of task indexes in Slurm's array notation
// ("0-3,5"), checking each against the plan's range.
func (p *Plan) ParseIndexes(s string) ([]int, error) {
	idx, err := parseArray(s)
	if err != nil {
		return nil, err
	}
	for _, i := range idx {
		if _, err := p.Task(i); err != nil {
			return nil, err
		}
	}
	return idx, nil
}

// Unfinished lists the indexes without a published result.
func (p *Plan) Unfinished() []int {
	var out []int
	for i := range p.Tasks {
		if _, err := ReadResult(p, i); err != nil {
			out = append(out, i)
		}
	}
	return out
}

// Executable is this binary's path, for the batch script.
func Executable() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(exe)
}
