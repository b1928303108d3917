package grid

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/internal/atomicfile"
	"github.com/icnnlab/icnnlab/internal/data/catalog"
	"github.com/icnnlab/icnnlab/internal/pluginhost"
	"github.com/icnnlab/icnnlab/internal/reproduce/execute"
	"github.com/icnnlab/icnnlab/internal/reproduce/plan"
	"github.com/icnnlab/icnnlab/internal/runstore"
)

// Result is what a finished task publishes.
type Result struct {
	Index    int       `json:"index"`
	Key      string    `json:"key"`
	Finished time.Time `json:"finished"`
	Host     string    `json:"host"`
	// Node is the batch system's name of the node ($SLURMD_NODENAME).
	Node string             `json:"node,omitempty"`
	Job  string             `json:"job,omitempty"`
	Run  *execute.RunResult `json:"result"`
}

// TaskError is what a failed task leaves for `grid status`.
type TaskError struct {
	Index int       `json:"index"`
	Time  time.Time `json:"time"`
	Host  string    `json:"host"`
	Job   string    `json:"job,omitempty"`
	Error string    `json:"error"`
}

// TaskOptions are the non-plan inputs of RunTask.
type TaskOptions struct {
	Store   *runstore.Store
	Backend backends.Backend
	Plugins *pluginhost.Host
	// Log receives the task's progress lines; Progress a training progress
	// bar (nil: none).
	Log      io.Writer
	Progress io.Writer
	Claim    runstore.ClaimOptions
}

// Outcome says what a task did.
type Outcome struct {
	Result *Result
	// Reused is true when the task found its result already published.
	Reused bool
}

// RunTask runs one index of the grid, idempotently: it takes the task's
// claim (a second copy of the index waits), returns the published result
// if there is one, and otherwise trains (or reuses, or resumes) the run,
// measures it and publishes the result atomically.
func RunTask(ctx context.Context, p *Plan, index int, opts TaskOptions) (*Outcome, error) {
	pr, err := p.Task(index)
	if err != nil {
		return nil, err
	}
	log := opts.Log
	if log == nil {
		log = io.Discard
	}
	dir := p.TaskDir(index)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("task %d: %w", index, err)
	}
	co := opts.Claim
	co.Log = log
	claim, err := runstore.ClaimDir(ctx, dir, co)
	if err != nil {
		return nil, fmt.Errorf("task %d: %w", index, err)
	}
	defer claim.Release()
	ctx, stop := claim.Context(ctx)
	defer stop()

	res, err := ReadResult(p, index)
	switch {
	case err == nil:
		return &Outcome{Result: res, Reused: true}, nil
	case errors.Is(err, runstore.ErrCorrupt):
		// Never reuse a corrupt result: set it aside and measure again
		// (the run itself is reused from the run store).
		aside := filepath.Join(dir, ResultFile+".corrupt-"+time.Now().UTC().Format("20060102T150405Z"))
		if rerr := os.Rename(filepath.Join(dir, ResultFile), aside); rerr != nil {
			return nil, fmt.Errorf("task %d: %w; %w", index, err, rerr)
		}
		fmt.Fprintf(log, "warning: %v; it is kept as %s and the task runs again\n", err, aside)
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}

	host, _ := os.Hostname()
	rr, err := runTask(ctx, p, index, pr, opts)
	if err != nil {
		te := TaskError{Index: index, Time: time.Now().UTC(), Host: host, Job: runstore.JobID(), Error: err.Error()}
		if werr := atomicfile.WriteJSON(filepath.Join(dir, ErrorFile), te); werr != nil {
			fmt.Fprintf(log, "warning: record the error of task %d: %v\n", index, werr)
		}
		return nil, fmt.Errorf("task %d (%s): %w", index, pr.Key, err)
	}
	res = &Result{Index: index, Key: pr.Key, Finished: time.Now().UTC(), Host: host, Node: os.Getenv("SLURMD_NODENAME"),
		Job: runstore.JobID(), Run: rr}
	if err := runstore.WriteSealedJSON(filepath.Join(dir, ResultFile), res); err != nil {
		return nil, fmt.Errorf("task %d: %w", index, err)
	}
	os.Remove(filepath.Join(dir, ErrorFile))
	return &Outcome{Result: res}, nil
}

// runTask trains (or reuses, or resumes) and measures one planned run
// through the reproduction's own executor, so a grid measures exactly as a
// local run does.
func runTask(ctx context.Context, p *Plan, index int, pr *plan.PlannedRun, opts TaskOptions) (*execute.RunResult, error) {
	var sources catalog.Sources
	if pr.Dataset != "" {
		paths := map[string]string{}
		info, _ := catalog.DatasetByName(pr.Dataset)
		for name, path := range p.Request.Data {
			if name == pr.Dataset || (info != nil && info.NegativesFrom == name) {
				paths[name] = path
			}
		}
		var err error
		if sources, err = catalog.OpenSources(paths); err != nil {
			return nil, err
		}
	}
	// A run fine-tuned from a pretraining run executes after it: the
	// pretraining run is reused when its own task has finished it, trained
	// here otherwise (its claim keeps the two from training it twice).
	runs := []*plan.PlannedRun{pr}
	if pr.Pretrain != "" {
		for _, r := range p.Repro.Runs {
			if r.Key == pr.Pretrain {
				runs = []*plan.PlannedRun{r, pr}
			}
		}
	}
	one := &plan.Plan{Scale: p.Repro.Scale, Runs: runs}
	progress := newProgressFile(filepath.Join(p.TaskDir(index), ProgressFile))
	results, err := execute.Execute(ctx, one, execute.ExecOptions{Backend: opts.Backend, Device: p.Device, Store: opts.Store,
		Plugins: opts.Plugins, Log: opts.Log, Progress: opts.Progress, Threads: p.Threads, Sources: sources, AfterStep: progress.step})
	if err != nil {
		return nil, err
	}
	rr, ok := results[pr.Key]
	if !ok {
		return nil, fmt.Errorf("the executor returned no result for %s", pr.Key)
	}
	return rr, nil
}

// ReadResult reads an index's published result, verifying its checksum;
// fs.ErrNotExist when the task has not finished.
func ReadResult(p *Plan, index int) (*Result, error) {
	var res Result
	path := filepath.Join(p.TaskDir(index), ResultFile)
	if err := runstore.ReadSealedJSON(path, "task result", &res); err != nil {
		return nil, err
	}
	if res.Index != index || res.Key != p.Tasks[index].Key || res.Run == nil {
		return nil, &runstore.CorruptError{Path: path, Kind: "task result",
			Detail: fmt.Sprintf("holds index %d (%s), want %d (%s)", res.Index, res.Key, index, p.Tasks[index].Key)}
	}
	return &res, nil
}

// Progress is a running task's last reported training step.
type Progress struct {
	Step    int64     `json:"step"`
	Updated time.Time `json:"updated"`
}

// progressFile records a task's training step for `grid status`: the
// first step, then at most every progressEvery.
type progressFile struct {
	path string
	last time.Time
}

const progressEvery = 2 * time.Second

func newProgressFile(path string) *progressFile { return &progressFile{path: path} }

func (f *progressFile) step(step int64) {
	now := time.Now()
	if step != 1 && now.Sub(f.last) < progressEvery {
		return
	}
	f.last = now
	atomicfile.WriteJSON(f.path, Progress{Step: step, Updated: now.UTC()}) // best effort: progress is advisory
}

// ReadProgress returns a task's last reported step.
func ReadProgress(p *Plan, index int) (Progress, error) {
	var pr Progress
	err := runstore.ReadJSON(filepath.Join(p.TaskDir(index), ProgressFile), &pr)
	return pr, err
}
