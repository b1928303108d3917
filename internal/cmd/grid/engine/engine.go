// Package engine hands a reproduction's runs to an engine (Slurm, or this
// process) as a grid: the part of `icnnlab grid submit` that `icnnlab
// reproduce paper-tables --engine` shares.
package engine

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/internal/cmd/cmdutil"
	"github.com/icnnlab/icnnlab/internal/cmd/iostreams"
	"github.com/icnnlab/icnnlab/internal/grid"
	"github.com/icnnlab/icnnlab/internal/pluginhost"
	"github.com/icnnlab/icnnlab/internal/reproduce/report"
	"github.com/icnnlab/icnnlab/internal/runstore"
)

// Flags are the command-line flags that choose and tune the engine; `reproduce
// paper-tables --engine slurm` shares them.
type Flags struct {
	Engine string
	// Only submits these indexes (Slurm array notation; "": every task
	// without a result).
	Only         string
	Slurm        grid.SlurmOptions
	SignalBefore time.Duration
}

// Register adds the engine flags; def is --engine's default.
func (e *Flags) Register(fl *pflag.FlagSet, def string) {
	fl.StringVar(&e.Engine, "engine", def, "who runs the runs: slurm (one job array; see docs/cluster.md), local (this process)")
	fl.StringVar(&e.Only, "only", "", "engine: submit only these task indexes, e.g. 0-3,7 (default: every task without a result)")
	fl.IntVar(&e.Slurm.Parallel, "parallel", 0, "slurm: tasks running at once (the array's %K; 0: no cap)")
	fl.StringVar(&e.Slurm.Partition, "partition", "", "slurm: partition (sbatch --partition)")
	fl.StringVar(&e.Slurm.Gres, "gres", "", "slurm: generic resources per task, e.g. gpu:1 (sbatch --gres)")
	fl.StringVar(&e.Slurm.Time, "time", "", "slurm: time limit per task, e.g. 4:00:00 (sbatch --time)")
	fl.StringVar(&e.Slurm.Account, "account", "", "slurm: account to charge (sbatch --account)")
	fl.StringArrayVar(&e.Slurm.Extra, "sbatch-arg", nil, "slurm: further sbatch option, e.g. --sbatch-arg=--mem=16G (repeatable)")
	fl.StringArrayVar(&e.Slurm.Env, "env", nil, "slurm: NAME=VALUE exported in each task (repeatable)")
	fl.StringVar(&e.Slurm.Executable, "icnnlab", "", "slurm: the icnnlab binary as the nodes see it (default: this binary)")
	fl.DurationVar(&e.SignalBefore, "signal-before", 5*time.Minute, "slurm: send SIGUSR1 this long before the time limit, so a task checkpoints and requeues itself (0: none)")
}

// Validate checks the engine flags.
func (e *Flags) Validate() error {
	if !slices.Contains(grid.Engines, grid.Engine(e.Engine)) {
		return cmdutil.FlagErrorf("--engine: %q is not one of slurm, local", e.Engine)
	}
	if e.Slurm.Parallel < 0 {
		return cmdutil.FlagErrorf("--parallel: %d is negative", e.Slurm.Parallel)
	}
	if e.SignalBefore < 0 {
		return cmdutil.FlagErrorf("--signal-before: %v is negative", e.SignalBefore)
	}
	return nil
}

// Submit writes the plan of req into the run store and hands its
// unfinished tasks (or e.Only) to the engine.
func Submit(ctx context.Context, io *iostreams.IOStreams, b backends.Backend, pf *pluginhost.Flags, req grid.Request,
	runsDir, device string, threads int, e Flags) (*grid.Plan, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	errOut := io.ErrOut
	p, err := grid.NewPlan(req, b.Name(), device, threads)
	if err != nil {
		return nil, err
	}
	root := runsDir
	if root == "" {
		root = runstore.DefaultRoot()
	}
	if root, err = filepath.Abs(root); err != nil {
		return nil, err
	}
	store, err := runstore.Open(root)
	if err != nil {
		return nil, err
	}
	planPath, err := p.Write(root)
	if err != nil {
		return nil, err
	}
	var indexes []int
	if e.Only != "" {
		if indexes, err = p.ParseIndexes(e.Only); err != nil {
			return nil, cmdutil.FlagErrorf("--only: %v", err)
		}
	} else {
		indexes = p.Unfinished()
		if grid.Engine(e.Engine) == grid.EngineSlurm {
			indexes = notQueued(ctx, p, indexes)
		}
	}
	fmt.Fprintf(errOut, "grid %s: %d tasks (tables %s), plan %s\n", p.Name, len(p.Tasks), strings.Join(req.Tables, ", "), planPath)
	if len(indexes) == 0 {
		fmt.Fprintf(errOut, "every task has its result or is queued: icnnlab grid status %s\n", p.Dir)
		return p, nil
	}
	switch grid.Engine(e.Engine) {
	case grid.EngineLocal:
		host, err := pf.NewHost(errOut)
		if err != nil {
			return nil, err
		}
		defer host.Close()
		to := grid.TaskOptions{Store: store, Backend: b, Plugins: host, Log: errOut}
		if io.IsStderrTTY() {
			to.Progress = errOut
		}
		err = grid.SubmitLocal(ctx, p, indexes, to, func(i int, o *grid.Outcome) {
			fmt.Fprintf(errOut, "task %d of %d done: %s\n", i, len(p.Tasks), o.Result.Key)
		})
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(errOut, "next: icnnlab grid collect %s\n", p.Dir)
		return p, nil
	default:
		so := e.Slurm
		so.Store = root
		so.SignalSeconds = int(e.SignalBefore.Seconds())
		if so.Executable == "" {
			if so.Executable, err = grid.Executable(); err != nil {
				return nil, fmt.Errorf("find the icnnlab binary: %w (give --icnnlab)", err)
			}
		}
		job, err := grid.SubmitSlurm(ctx, p, indexes, so)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(io.Out, "%s\n", job.ID)
		fmt.Fprintf(errOut, "submitted job array %s (tasks %s); follow it with: icnnlab grid status %s\n", job.ID, job.Indexes, p.Dir)
		return p, nil
	}
}

// notQueued drops the indexes that a recorded job of the grid still has
// queued or running, so submitting a grid again does not run them twice.
func notQueued(ctx context.Context, p *grid.Plan, indexes []int) []int {
	jobs, _ := grid.ReadJobs(p)
	if len(jobs) == 0 {
		return indexes
	}
	var ids []string
	for _, j := range jobs {
		ids = append(ids, j.ID)
	}
	q, err := grid.Queue(ctx, ids)
	if err != nil {
		return indexes
	}
	var out []int
	for _, i := range indexes {
		if e, ok := q[i]; ok && (e.State == "PENDING" || e.State == "RUNNING" || e.State == "REQUEUED") {
			continue
		}
		out = append(out, i)
	}
	return out
}

// Wait polls the run store until every task of the grid has its result,
// printing progress, and fails when a task failed and is no longer queued.
func Wait(ctx context.Context, io *iostreams.IOStreams, p *grid.Plan, every time.Duration) error {
	last := -1
	for {
		tasks, err := grid.Status(p)
		if err != nil {
			return err
		}
		done, failed := 0, []int{}
		for _, t := range tasks {
			switch t.State {
			case grid.StateDone:
				done++
			case grid.StateFailed:
				failed = append(failed, t.Index)
			}
		}
		if done != last {
			fmt.Fprintf(io.ErrOut, "grid %s: %d of %d tasks done\n", p.Name, done, len(tasks))
			last = done
		}
		if done == len(tasks) {
			return nil
		}
		if len(failed) > 0 {
			if left := notQueued(ctx, p, failed); len(left) > 0 && len(left) == len(failed) {
				return fmt.Errorf("grid %s: task %d failed: %s (its log is in %s; fix the cause and run the same command again)",
					p.Name, left[0], tasks[left[0]].Detail, filepath.Join(p.Dir, grid.LogsDir))
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("stopped waiting for grid %s (its tasks go on; icnnlab grid status %s): %w", p.Name, p.Dir, context.Cause(ctx))
		case <-time.After(every):
		}
	}
}

// Reproduce is `reproduce paper-tables --engine E`: it submits the
// reproduction as a grid, waits for its tasks, and returns the report that
// grid collect builds from their results.
func Reproduce(ctx context.Context, io *iostreams.IOStreams, b backends.Backend, pf *pluginhost.Flags, req grid.Request,
	runsDir, device string, threads int, e Flags) (*report.Report, error) {
	p, err := Submit(ctx, io, b, pf, req, runsDir, device, threads, e)
	if err != nil {
		return nil, err
	}
	if err := Wait(ctx, io, p, 10*time.Second); err != nil {
		return nil, err
	}
	return grid.Collect(p)
}
