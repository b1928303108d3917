// Package grid runs a reproduction's runs as independent, idempotent tasks
// that a batch system schedules: one plan in the run store, one index per
// task. A task reuses a finished result, resumes a run from its
// checkpoint, or trains it; `collect` turns the tasks' results into the
// same reports a local `reproduce paper-tables` writes.
//
//	<runs>/grids/<name>/
//	  plan.json              the resolved plan: index → run key and config (sealed)
//	  task.sbatch            the Slurm batch script of the job array
//	  jobs.json              the jobs submitted for it
//	  logs/JOB_TASK.out      each Slurm task's output
//	  tasks/<index>/         claim.json while a task runs, result.json when done,
//	                         error.json when it failed
package grid

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/icnnlab/icnnlab/internal/reproduce/plan"
	"github.com/icnnlab/icnnlab/internal/runstore"
	"github.com/icnnlab/icnnlab/internal/train"
)

// Format is the plan file's format.
const Format = 1

// File and directory names inside a grid directory.
const (
	PlanFile   = "plan.json"
	ScriptFile = "task.sbatch"
	JobsFile   = "jobs.json"
	LogsDir    = "logs"
	TasksDir   = "tasks"
	ResultFile = "result.json"
	ErrorFile  = "error.json"
	// ProgressFile holds a running task's last training step.
	ProgressFile = "progress.json"
	// GridsDir holds the grids inside a run store.
	GridsDir = "grids"
)

// Request is what a reproduction asks for, after the command line is
// resolved: the plan is a function of it and of the compiled-in specs.
type Request struct {
	Scale string `json:"scale"`
	// Tables are the selected tables' IDs.
	Tables []string `json:"tables"`
	Seeds  int      `json:"seeds,omitempty"`
	// Data maps the real datasets to their roots, as every node sees them.
	Data map[string]string `json:"data,omitempty"`
}

// Plan is a grid: every task's run, by index.
type Plan struct {
	Format int `json:"format"`
	// Version is the icnnlab build that wrote the plan; tasks refuse to run
	// a plan of another build.
	Version string    `json:"icnnlab_version"`
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
	Request Request   `json:"request"`
	Backend string    `json:"backend"`
	Device  string    `json:"device,omitempty"`
	Threads int       `json:"threads,omitempty"`
	Tasks   []Task    `json:"tasks"`

	// Dir is the grid directory the plan was loaded from or written to.
	Dir string `json:"-"`
	// Repro is the reproduction plan the tasks come from.
	Repro *plan.Plan `json:"-"`
}

// Task is one index of the grid: one run of the reproduction.
type Task struct {
	Index  int          `json:"index"`
	Key    string       `json:"key"`
	Config train.Config `json:"config"`
}

// Resolve makes the reproduction plan of a request from the specs compiled
// into this binary.
func Resolve(req Request) (*plan.Plan, error) {
	r, err := plan.Resolve(plan.Selection(req))
	if err != nil {
		return nil, err
	}
	return plan.MakePlan(r.Specs, r.Scale, plan.PlanOptions{Seeds: r.Seeds, Datasets: slices.Sorted(maps.Keys(r.Data))})
}

// NewPlan resolves a request into a grid plan named after its content, so
// that submitting the same grid again finds the same directory (and its
// finished tasks).
func NewPlan(req Request, backend, device string, threads int) (*Plan, error) {
	rp, err := Resolve(req)
	if err != nil {
		return nil, err
	}
	p := &Plan{Format: Format, Version: runstore.CodeVersion(), Created: time.Now().UTC(), Request: req,
		Backend: backend, Device: device, Threads: threads, Repro: rp}
	for i, r := range rp.Runs {
		p.Tasks = append(p.Tasks, Task{Index: i, Key: r.Key, Config: r.Config})
	}
	b, err := json.Marshal(struct {
		R       Request
		B, D    string
		T       []Task
		Threads int
	}{req, backend, device, p.Tasks, threads})
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b)
	var ids []string
	for _, t := range rp.Tables {
		ids = append(ids, t.Spec.ID)
	}
	p.Name = fmt.Sprintf("%s-t%s-%s", req.Scale, strings.Join(ids, "_"), hex.EncodeToString(sum[:])[:8])
	return p, nil
}

// DirIn is the grid's directory in a run store.
func (p *Plan) DirIn(store string) string { return filepath.Join(store, GridsDir, p.Name) }

// Write stores the plan in the run store (sealed with its checksum) and
// returns its path. A plan already there with the same tasks is kept, its
// version updated to this build's.
func (p *Plan) Write(store string) (string, error) {
	p.Dir = p.DirIn(store)
	if err := os.MkdirAll(filepath.Join(p.Dir, TasksDir), 0o755); err != nil {
		return "", fmt.Errorf("grid %s: %w", p.Name, err)
	}
	if err := os.MkdirAll(filepath.Join(p.Dir, LogsDir), 0o755); err != nil {
		return "", fmt.Errorf("grid %s: %w", p.Name, err)
	}
	path := filepath.Join(p.Dir, PlanFile)
	var old Plan
	if err := runstore.ReadSealedJSON(path, "plan", &old); err == nil && sameJSON(old.Tasks, p.Tasks) {
		p.Created = old.Created
	}
	if err := runstore.WriteSealedJSON(path, p); err != nil {
		return "", err
	}
	return path, nil
}

// ErrNoPlan is wrapped when a task cannot see its plan.
var ErrNoPlan = errors.New("plan not found")

// Load reads a plan, checks that this build wrote it, and resolves it again
// to the same runs. path is the plan file or its grid directory.
func Load(path string) (*Plan, error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		path = filepath.Join(path, PlanFile)
	}
	var p Plan
	if err := runstore.ReadSealedJSON(path, "plan", &p); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			host, _ := os.Hostname()
			return nil, fmt.Errorf("%w: %s does not exist on %s: the run store must be on a file system that every node shares (see docs/cluster.md)", ErrNoPlan, path, host)
		}
		return nil, fmt.Errorf("load grid plan: %w", err)
	}
	p.Dir = filepath.Dir(path)
	if p.Format != Format {
		return nil, fmt.Errorf("grid plan %s has format %d; this icnnlab reads format %d: submit the grid again with this version", path, p.Format, Format)
	}
	if v := runstore.CodeVersion(); p.Version != v {
		return nil, fmt.Errorf("grid plan %s was written by icnnlab %s, this is %s: run its tasks with the binary that wrote it, or submit the grid again with this one (finished runs are reused)", path, p.Version, v)
	}
	rp, err := Resolve(p.Request)
	if err != nil {
		return nil, fmt.Errorf("grid plan %s: %w", path, err)
	}
	if len(rp.Runs) != len(p.Tasks) {
		return nil, fmt.Errorf("grid plan %s has %d tasks, this icnnlab plans %d runs for its request: it comes from another icnnlab version; submit the grid again", path, len(p.Tasks), len(rp.Runs))
	}
	for i, r := range rp.Runs {
		t := p.Tasks[i]
		if t.Index != i || t.Key != r.Key || !sameJSON(t.Config, r.Config) {
			return nil, fmt.Errorf("grid plan %s: task %d (%s) differs from what this icnnlab plans (%s): the plan comes from another icnnlab version; submit the grid again", path, i, t.Key, r.Key)
		}
	}
	p.Repro = rp
	return &p, nil
}

// Task returns the planned run of an index, or an error naming the range.
func (p *Plan) Task(index int) (*plan.PlannedRun, error) {
	if index < 0 || index >= len(p.Tasks) {
		return nil, fmt.Errorf("index %d is out of range: grid %s has %d tasks (0-%d)", index, p.Name, len(p.Tasks), len(p.Tasks)-1)
	}
	return p.Repro.Runs[index], nil
}

// TaskDir is the directory of an index's claim, result and error.
func (p *Plan) TaskDir(index int) string {
	return filepath.Join(p.Dir, TasksDir, fmt.Sprint(index))
}

// sameJSON compares two values by their JSON encodings (what a plan file
// keeps of them).
func sameJSON(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}
