// Package submit implements `icnnlab grid submit`.
package submit

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/internal/cmd/cmdutil"
	"github.com/icnnlab/icnnlab/internal/cmd/grid/engine"
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

	Scale   string
	Tables  []string
	Seeds   int
	Data    map[string]string
	RunsDir string
	Device  string
	Threads int

	Engine engine.Flags
}

// NewCmdSubmit builds the command; runF replaces the run step in tests.
func NewCmdSubmit(f *cmdutil.Factory, runF func(*SubmitOptions) error) *cobra.Command {
	opts := &SubmitOptions{}
	sel := papertables.SelectionFlags{Scale: &opts.Scale, Tables: &opts.Tables, Seeds: &opts.Seeds, Data: &opts.Data}
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
			if err := sel.Check(cmd); err != nil {
				return err
			}
			if err := opts.Engine.Validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return submitRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	opts.Engine.Register(fl, "slurm")
	sel.Register(fl, papertables.SelectionUsage{
		Scale:  "scale preset: test, quick, default, full (see reproductions/scales.yaml)",
		Tables: "tables to reproduce: 1-7, ablation, thesis, fashion (default as reproduce paper-tables)",
		Data:   "real datasets as NAME=PATH, as every node sees them (see reproduce paper-tables)",
	})
	fl.StringVar(&opts.RunsDir, "runs", "", "run store directory on a shared file system (default $"+runstore.EnvVar+" or ./runs)")
	fl.StringVar(&opts.Device, "device", "", "backend device of every task (default: the backend's)")
	fl.IntVar(&opts.Threads, "threads", 0, "compute threads per task (0: all)")
	opts.PluginFlags.Register(fl)
	return cmd
}

func submitRun(ctx context.Context, opts *SubmitOptions) error {
	req, err := grid.NewRequest(opts.Scale, opts.Tables, opts.Seeds, opts.Data)
	if err != nil {
		return cmdutil.FlagErrorf("%v", err)
	}
	b, err := opts.Backend()
	if err != nil {
		return err
	}
	_, err = engine.Submit(ctx, opts.IO, b, &opts.PluginFlags, req, opts.RunsDir, opts.Device, opts.Threads, opts.Engine)
	return err
}
