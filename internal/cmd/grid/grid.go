// Package grid implements `icnnlab grid`, which hands a reproduction's
// runs to a batch system (Slurm) as one idempotent task per run.
package grid

import (
	"github.com/spf13/cobra"

	"github.com/icnnlab/icnnlab/internal/cmd/cmdutil"
	collectCmd "github.com/icnnlab/icnnlab/internal/cmd/grid/collect"
	runCmd "github.com/icnnlab/icnnlab/internal/cmd/grid/run"
	statusCmd "github.com/icnnlab/icnnlab/internal/cmd/grid/status"
	submitCmd "github.com/icnnlab/icnnlab/internal/cmd/grid/submit"
)

// NewCmdGrid builds `icnnlab grid` and its verbs.
func NewCmdGrid(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "grid <command>",
		Short: "Run a reproduction's runs as a Slurm job array, follow it and collect its tables",
		Long: cmdutil.Dedent(`
			A grid is a reproduction (the runs that paper-tables needs, or an
			ablation) handed to a batch system: submit writes the resolved plan
			(task index → run key and config) into the run store and submits
			one Slurm job array; each task runs one index with
			"icnnlab grid run PLAN INDEX", which reuses a finished run, resumes
			one from its checkpoint, or trains it; status follows the tasks and
			collect writes the same Markdown, CSV, JSON and HTML tables a local
			"reproduce paper-tables" writes, with the same numbers.

			The run store must be on a file system every node shares. Two copies
			of one task (a requeued task whose old process survived, a grid
			submitted twice) are safe: one writer per run, the other waits and
			reuses its result. See docs/cluster.md.
		`),
		Example: cmdutil.Examples(`
			$ icnnlab grid submit --engine slurm --scale full --backend libtorch --device cuda --gres gpu:1 --time 12:00:00 --runs /shared/runs
			$ icnnlab grid status --runs /shared/runs
			$ icnnlab grid collect /shared/runs/grids/full-t1_2_3_4_5_6_7_ablation_thesis-1a2b3c4d --out tables
		`),
	}
	cmd.AddCommand(submitCmd.NewCmdSubmit(f, nil))
	cmd.AddCommand(runCmd.NewCmdRun(f, nil))
	cmd.AddCommand(statusCmd.NewCmdStatus(f, nil))
	cmd.AddCommand(collectCmd.NewCmdCollect(f, nil))
	return cmd
}
