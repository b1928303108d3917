// Package submit implements `icnnlab grid submit`.
package submit

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/internal/cmd/cmdutil"
	"github.com/icnnlab/icnnlab/internal/cmd/iostreams"
	"github.com/icnnlab/icnnlab/internal/cmd/reproduce/papertables"
	"github.com/icnnlab/icnnlab/internal/grid"
	"github.com/icnnlab/icnnlab/internal/pluginhost"
	"github.com/icnnlab/icnnlab/internal/runstore"
)

// SubmitOptions is everything `icnnlab grid submit` needs.
type SubmitOptions struct {
	IO          *iostreams.IOStreams
	Backend     func() (backends.Backend, error)
	PluginFlags pluginhost.Flags

	Engine  string
	Scale   string
	Tables  []string
	Seeds   int
	Data    map[string]string
	RunsDir string
	Device  string
	Threads int
	// Only submits these indexes (Slurm array notation; "": every task
	// without a result).
	Only string

	Slurm        grid.SlurmOptions
	SignalBefore time.Duration
}

// NewCmdSubmit builds the command; runF replaces the run step in tests.
func NewCmdSubmit(f *cmdutil.Factory, runF func(*SubmitOptions) error) *cobra.Command {
	opts := &SubmitOptions{}
	var quick bool
	cmd := &cobra.Command{
		Use:   "submit [flags]",
		Short: "Plan a reproduction as a grid of tasks and submit it (Slurm job array)",
		Long: cmdutil.Dedent(`
			Resolve a reproduction (the same --scale, --tables, --seeds and
			--data as reproduce paper-tables) into a plan, write it into the run
			store as grids/NAME/plan.json (task index → run key and full
			config), and hand the tasks to an engine.

			--engine slurm writes grids/NAME/task.sbatch and submits it with
			sbatch as one job array over the tasks that have no result yet
			(--only picks indexes): --array=INDEXES%PARALLEL, --requeue, and
			--signal=B:USR1@SECONDS so that a task checkpoints and requeues
			itself before its time limit. Each task execs
			"icnnlab grid run PLAN $SLURM_ARRAY_TASK_ID"; its output goes to
			grids/NAME/logs/JOB_TASK.out. --partition, --gres, --time and
			--account are passed to sbatch, and so is each --sbatch-arg.

			--engine local runs the tasks one after another in this process: the
			same task code, for a single machine or to test a plan.

			The name of a grid follows from its content, so submitting the same
			grid again (after a failure, a cancel, a time limit) finds the same
			plan and submits only what is unfinished. The run store (--runs) and
			this binary must be at paths every node sees.
		`),
		Example: cmdutil.Examples(`
			# Table 7 at the test scale on a local Slurm, two tasks at a time
			$ icnnlab grid submit --engine slurm --scale test --tables 7 --parallel 2 --runs /shared/runs

			# the paper's setting on GPU nodes
			$ icnnlab --backend libtorch grid submit --engine slurm --scale full --device cuda \
			    --partition gpu --gres gpu:1 --time 8:00:00 --account lab42 --runs /shared/runs

			# rerun two tasks
			$ icnnlab grid submit --engine slurm --scale test --tables 7 --only 1,3 --runs /shared/runs
		`),
		Args: cmdutil.RequireNoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.IO = f.IOStreams
			opts.Backend = f.Backend
			if quick {
				if cmd.Flags().Changed("scale") && opts.Scale != "quick" {
					return cmdutil.FlagErrorf("--quick and --scale %s contradict each other", opts.Scale)
				}
				opts.Scale = "quick"
			}
			if !slices.Contains(grid.Engines, grid.Engine(opts.Engine)) {
				return cmdutil.FlagErrorf("--engine: %q is not one of slurm, local", opts.Engine)
			}
			if opts.Seeds < 0 {
				return cmdutil.FlagErrorf("--seeds: %d is negative", opts.Seeds)
			}
			if opts.Slurm.Parallel < 0 {
				return cmdutil.FlagErrorf("--parallel: %d is negative", opts.Slurm.Parallel)
			}
			if opts.SignalBefore < 0 {
				return cmdutil.FlagErrorf("--signal-before: %v is negative", opts.SignalBefore)
			}
			if runF != nil {
				return runF(opts)
			}
			return submitRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Engine, "engine", "slurm", "who runs the tasks: slurm (one job array), local (this process)")
	fl.BoolVar(&quick, "quick", false, "shorthand for --scale quick")
	fl.StringVar(&opts.Scale, "scale", "default", "scale preset: test, quick, default, full (see reproductions/scales.yaml)")
	fl.StringSliceVar(&opts.Tables, "tables", nil, "tables to reproduce: 1-7, ablation, thesis, fashion (default as reproduce paper-tables)")
	fl.IntVar(&opts.Seeds, "seeds", 0, "seeds per configuration (0: each table's own count at this scale)")
	fl.Var(papertables.NewDataFlag(&opts.Data), "data", "real datasets as NAME=PATH, as every node sees them (see reproduce paper-tables)")
	fl.StringVar(&opts.RunsDir, "runs", "", "run store directory on a shared file system (default $"+runstore.EnvVar+" or ./runs)")
	fl.StringVar(&opts.Device, "device", "", "backend device of every task (default: the backend's)")
	fl.IntVar(&opts.Threads, "threads", 0, "compute threads per task (0: all)")
	fl.StringVar(&opts.Only, "only", "", "submit only these task indexes, e.g. 0-3,7 (default: every task without a result)")
	fl.IntVar(&opts.Slurm.Parallel, "parallel", 0, "slurm: tasks running at once (the array's %K; 0: no cap)")
	fl.StringVar(&opts.Slurm.Partition, "partition", "", "slurm: partition (sbatch --partition)")
	fl.StringVar(&opts.Slurm.Gres, "gres", "", "slurm: generic resources per task, e.g. gpu:1 (sbatch --gres)")
	fl.StringVar(&opts.Slurm.Time, "time", "", "slurm: time limit per task, e.g. 4:00:00 (sbatch --time)")
	fl.StringVar(&opts.Slurm.Account, "account", "", "slurm: account to charge (sbatch --account)")
	fl.StringArrayVar(&opts.Slurm.Extra, "sbatch-arg", nil, "slurm: further sbatch option, e.g. --sbatch-arg=--mem=16G (repeatable)")
	fl.StringArrayVar(&opts.Slurm.Env, "env", nil, "slurm: NAME=VALUE exported in each task (repeatable)")
	fl.StringVar(&opts.Slurm.Executable, "icnnlab", "", "slurm: the icnnlab binary as the nodes see it (default: this binary)")
	fl.DurationVar(&opts.SignalBefore, "signal-before", 5*time.Minute, "slurm: send SIGUSR1 this long before the time limit, so a task checkpoints and requeues itself (0: none)")
	opts.PluginFlags.Register(fl)
	return cmd
}

func submitRun(ctx context.Context, opts *SubmitOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	errOut := opts.IO.ErrOut
	req, err := grid.NewRequest(opts.Scale, opts.Tables, opts.Seeds, opts.Data)
	if err != nil {
		return cmdutil.FlagErrorf("%v", err)
	}
	b, err := opts.Backend()
	if err != nil {
		return err
	}
	p, err := grid.NewPlan(req, b.Name(), opts.Device, opts.Threads)
	if err != nil {
		return err
	}
	root := opts.RunsDir
	if root == "" {
		root = runstore.DefaultRoot()
	}
	if root, err = filepath.Abs(root); err != nil {
		return err
	}
	if _, err := runstore.Open(root); err != nil {
		return err
	}
	planPath, err := p.Write(root)
	if err != nil {
		return err
	}
	var indexes []int
	if opts.Only != "" {
		if indexes, err = p.ParseIndexes(opts.Only); err != nil {
			return cmdutil.FlagErrorf("--only: %v", err)
		}
	} else {
		indexes = p.Unfinished()
	}
	fmt.Fprintf(errOut, "grid %s: %d tasks (%s), plan %s\n", p.Name, len(p.Tasks), strings.Join(req.Tables, ", "), planPath)
	if len(indexes) == 0 {
		fmt.Fprintf(errOut, "every task has its result: icnnlab grid collect %s\n", p.Dir)
		return nil
	}
	switch grid.Engine(opts.Engine) {
	case grid.EngineLocal:
		store, err := runstore.Open(root)
		if err != nil {
			return err
		}
		host, err := opts.PluginFlags.NewHost(errOut)
		if err != nil {
			return err
		}
		defer host.Close()
		to := grid.TaskOptions{Store: store, Backend: b, Plugins: host, Log: errOut}
		if opts.IO.IsStderrTTY() {
			to.Progress = errOut
		}
		err = grid.SubmitLocal(ctx, p, indexes, to, func(i int, o *grid.Outcome) {
			fmt.Fprintf(errOut, "task %d of %d done: %s\n", i, len(p.Tasks), o.Result.Key)
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(errOut, "next: icnnlab grid collect %s\n", p.Dir)
		return nil
	default:
		so := opts.Slurm
		so.Store = root
		so.SignalSeconds = int(opts.SignalBefore.Seconds())
		if so.Executable == "" {
			if so.Executable, err = grid.Executable(); err != nil {
				return fmt.Errorf("find the icnnlab binary: %w (give --icnnlab)", err)
			}
		}
		job, err := grid.SubmitSlurm(ctx, p, indexes, so)
		if err != nil {
			return err
		}
		fmt.Fprintf(opts.IO.Out, "%s\n", job.ID)
		fmt.Fprintf(errOut, "submitted job array %s (tasks %s); follow it with: icnnlab grid status %s\n", job.ID, job.Indexes, p.Dir)
		return nil
	}
}
