// Package run implements `icnnlab grid run`, one task of a grid.
package run

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/internal/cmd/cmdutil"
	"github.com/icnnlab/icnnlab/internal/cmd/iostreams"
	"github.com/icnnlab/icnnlab/internal/grid"
	"github.com/icnnlab/icnnlab/internal/pluginhost"
	"github.com/icnnlab/icnnlab/internal/runstore"
)

// RunOptions is everything `icnnlab grid run` needs.
type RunOptions struct {
	IO *iostreams.IOStreams
	// Backend builds the backend by name ("" : the plan's).
	Backend     func(name string) (backends.Backend, error)
	BackendFlag string
	PluginFlags pluginhost.Flags

	Plan  string
	Index int
	// Requeue is the command that requeues this Slurm task after the
	// pre-timeout signal ("" : none).
	Requeue []string
}

// NewCmdRun builds the command; runF replaces the run step in tests.
func NewCmdRun(f *cmdutil.Factory, runF func(*RunOptions) error) *cobra.Command {
	opts := &RunOptions{}
	cmd := &cobra.Command{
		Use:   "run PLAN INDEX",
		Short: "Run one task of a grid (what each Slurm array task executes)",
		Long: cmdutil.Dedent(`
			Run task INDEX of the grid whose plan is PLAN (the plan.json that
			grid submit wrote, or its directory). The task is idempotent: it
			returns at once when its result is published, reuses a finished run
			from the run store, resumes an interrupted one from its checkpoint,
			or trains it; then it measures the run as reproduce paper-tables
			does and publishes the result atomically in the grid's tasks/INDEX.

			Only one copy of a task works at a time: a second copy waits for the
			first (its claim names host, PID and job; a claim whose heartbeat
			stops for $ICNNLAB_CLAIM_STALE, default 2m, or whose process on
			this host is gone, is taken over) and then reuses its result.

			SIGTERM or SIGINT (scancel, preemption) make the task checkpoint
			and exit, so a requeue resumes where it stopped. SIGUSR1 (sbatch
			--signal, sent before the time limit) does the same and then
			requeues the task with "scontrol requeue".

			The task refuses a plan written by another icnnlab build, an index
			outside the plan, and a plan it cannot see (the run store is not
			shared with this node).
		`),
		Example: cmdutil.Examples(`
			$ icnnlab grid run /shared/runs/grids/test-t7-0a1b2c3d/plan.json 3
		`),
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.IO = f.IOStreams
			opts.Backend = f.NewBackend
			opts.BackendFlag = f.BackendName
			opts.Plan = args[0]
			i, err := strconv.Atoi(args[1])
			if err != nil {
				return cmdutil.FlagErrorf("INDEX %q is not a number", args[1])
			}
			opts.Index = i
			if id := os.Getenv("SLURM_JOB_ID"); id != "" {
				opts.Requeue = []string{"scontrol", "requeue", id}
			}
			if runF != nil {
				return runF(opts)
			}
			return runRun(cmd.Context(), opts)
		},
	}
	opts.PluginFlags.Register(cmd.Flags())
	return cmd
}

func runRun(ctx context.Context, opts *RunOptions) error {
	errOut := opts.IO.ErrOut
	p, err := grid.Load(opts.Plan)
	if err != nil {
		return err
	}
	if _, err := p.Task(opts.Index); err != nil {
		return err
	}
	name := opts.BackendFlag
	if name == "" {
		name = p.Backend
	} else if name != p.Backend {
		return cmdutil.FlagErrorf("--backend %s: the grid was planned for %s (its run keys name the backend)", name, p.Backend)
	}
	b, err := opts.Backend(name)
	if err != nil {
		return err
	}
	// The store is the directory above grids/ (as the plan says where it lives).
	store, err := runstore.Open(filepath.Dir(filepath.Dir(p.Dir)))
	if err != nil {
		return err
	}
	host, err := opts.PluginFlags.NewHost(errOut)
	if err != nil {
		return err
	}
	defer host.Close()

	ctx, got := notify(ctx)
	start := time.Now()
	out, err := grid.RunTask(ctx, p, opts.Index, grid.TaskOptions{Store: store, Backend: b, Plugins: host, Log: errOut})
	if err != nil {
		if sig := got(); sig != nil {
			fmt.Fprintf(errOut, "task %d stopped by %v after %.0f s; its checkpoint is saved\n", opts.Index, sig, time.Since(start).Seconds())
			if sig == syscall.SIGUSR1 && len(opts.Requeue) > 0 {
				requeue := exec.Command(opts.Requeue[0], opts.Requeue[1:]...)
				requeue.Stdout, requeue.Stderr = errOut, errOut
				if rerr := requeue.Run(); rerr != nil {
					return fmt.Errorf("%w; and requeueing it failed: %v", err, rerr)
				}
				fmt.Fprintf(errOut, "task %d requeued (%v); it resumes from its checkpoint\n", opts.Index, opts.Requeue)
			}
		}
		return err
	}
	how := "done"
	if out.Reused {
		how = "already done (result reused)"
	}
	fmt.Fprintf(errOut, "task %d (%s) %s in %.0f s\n", opts.Index, out.Result.Key, how, time.Since(start).Seconds())
	return nil
}

// notify cancels ctx on SIGTERM, SIGINT or SIGUSR1 and reports which
// signal came.
func notify(parent context.Context) (context.Context, func() os.Signal) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1)
	var got os.Signal
	done := make(chan struct{})
	go func() {
		select {
		case s := <-ch:
			got = s
			cancel(fmt.Errorf("%w: received %v", errSignal, s))
		case <-ctx.Done():
		}
		close(done)
	}()
	return ctx, func() os.Signal {
		if ctx.Err() == nil {
			return nil
		}
		<-done
		return got
	}
}

var errSignal = errors.New("interrupted")
