// Package status implements `icnnlab grid status`.
package status

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/icnnlab/icnnlab/internal/cmd/cmdutil"
	"github.com/icnnlab/icnnlab/internal/cmd/iostreams"
	"github.com/icnnlab/icnnlab/internal/grid"
	"github.com/icnnlab/icnnlab/internal/runstore"
)

// StatusOptions is everything `icnnlab grid status` needs.
type StatusOptions struct {
	IO      *iostreams.IOStreams
	Plan    string
	RunsDir string
	// Queue asks the batch system for the queue state (nil: not asked).
	Queue func(ctx context.Context, jobIDs []string) (map[int]grid.QueueEntry, error)
}

// NewCmdStatus builds the command; runF replaces the run step in tests.
func NewCmdStatus(f *cmdutil.Factory, runF func(*StatusOptions) error) *cobra.Command {
	opts := &StatusOptions{}
	var noQueue bool
	cmd := &cobra.Command{
		Use:   "status [PLAN]",
		Short: "Show the progress of a grid's tasks",
		Long: cmdutil.Dedent(`
			Show each task of the grid PLAN (its plan.json or directory; without
			PLAN, every grid in the run store): done, running (with the host,
			PID and Slurm job that hold its claim, and the age of the claim's
			heartbeat), failed (with its error), or not started. Progress comes
			from the run store itself, so it is right even where Slurm
			accounting is off; squeue --json adds the queue state (pending,
			running, requeued) of the grid's jobs when squeue is on PATH.
		`),
		Example: cmdutil.Examples(`
			$ icnnlab grid status --runs /shared/runs
			$ icnnlab grid status /shared/runs/grids/test-t7-0a1b2c3d
		`),
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.IO = f.IOStreams
			if len(args) == 1 {
				opts.Plan = args[0]
			}
			if !noQueue {
				opts.Queue = grid.Queue
			}
			if runF != nil {
				return runF(opts)
			}
			return statusRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.RunsDir, "runs", "", "run store directory (default $"+runstore.EnvVar+" or ./runs)")
	cmd.Flags().BoolVar(&noQueue, "no-queue", false, "do not ask squeue for the queue state")
	return cmd
}

func statusRun(ctx context.Context, opts *StatusOptions) error {
	plans := []string{opts.Plan}
	if opts.Plan == "" {
		root := opts.RunsDir
		if root == "" {
			root = runstore.DefaultRoot()
		}
		entries, err := os.ReadDir(filepath.Join(root, grid.GridsDir))
		if errors.Is(err, fs.ErrNotExist) || len(entries) == 0 {
			return fmt.Errorf("no grids in %s (icnnlab grid submit makes one)", root)
		}
		if err != nil {
			return err
		}
		plans = plans[:0]
		for _, e := range entries {
			if e.IsDir() {
				plans = append(plans, filepath.Join(root, grid.GridsDir, e.Name()))
			}
		}
	}
	for i, path := range plans {
		if i > 0 {
			fmt.Fprintln(opts.IO.Out)
		}
		if err := showGrid(ctx, opts, path); err != nil {
			return err
		}
	}
	return nil
}

func showGrid(ctx context.Context, opts *StatusOptions, path string) error {
	p, err := grid.Load(path)
	if err != nil {
		return err
	}
	tasks, err := grid.Status(p)
	if err != nil {
		return err
	}
	var queue map[int]grid.QueueEntry
	jobs, _ := grid.ReadJobs(p)
	if opts.Queue != nil && len(jobs) > 0 {
		var ids []string
		for _, j := range jobs {
			ids = append(ids, j.ID)
		}
		if queue, err = opts.Queue(ctx, ids); err != nil {
			fmt.Fprintf(opts.IO.ErrOut, "warning: no queue state: %v\n", err)
		}
	}
	count := map[grid.State]int{}
	for _, t := range tasks {
		count[t.State]++
	}
	out := opts.IO.Out
	fmt.Fprintf(out, "grid %s: %d of %d tasks done", p.Name, count[grid.StateDone], len(tasks))
	for _, s := range []grid.State{grid.StateRunning, grid.StateFailed, grid.StateCorrupt} {
		if count[s] > 0 {
			fmt.Fprintf(out, ", %d %s", count[s], s)
		}
	}
	fmt.Fprintf(out, "\n  plan %s", filepath.Join(p.Dir, grid.PlanFile))
	if len(jobs) > 0 {
		fmt.Fprintf(out, "; last job %s, submitted %s", jobs[len(jobs)-1].ID, jobs[len(jobs)-1].Submitted.Format(time.RFC3339))
	}
	fmt.Fprintln(out)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "INDEX\tRUN\tSTATE\tQUEUE\tDETAIL")
	for _, t := range tasks {
		detail := t.Detail
		switch t.State {
		case grid.StateRunning:
			detail = fmt.Sprintf("%s, heartbeat %s ago", t.Holder, t.Heartbeat.Round(time.Second))
			if t.Step > 0 {
				detail = fmt.Sprintf("step %d, %s", t.Step, detail)
			}
		case grid.StateDone:
			detail = fmt.Sprintf("on %s", t.Result.Host)
			if t.Result.Node != "" {
				detail += " (node " + t.Result.Node + ")"
			}
			if t.Result.Job != "" {
				detail += ", job " + t.Result.Job
			}
		}
		q := "-"
		if e, ok := queue[t.Index]; ok {
			q = e.State
			if e.Node != "" {
				q += " on " + e.Node
			} else if e.Reason != "" && e.Reason != "None" {
				q += " (" + e.Reason + ")"
			}
			if e.Restarts > 0 {
				q += fmt.Sprintf(", restarted %d×", e.Restarts)
			}
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", t.Index, t.Key, t.State, q, detail)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if i := slices.IndexFunc(tasks, func(t grid.TaskStatus) bool { return t.State == grid.StateFailed }); i >= 0 {
		fmt.Fprintf(out, "logs: %s\n", filepath.Join(p.Dir, grid.LogsDir))
	}
	return nil
}
