// Package collect implements `icnnlab grid collect`.
package collect

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/icnnlab/icnnlab/internal/cmd/cmdutil"
	"github.com/icnnlab/icnnlab/internal/cmd/iostreams"
	"github.com/icnnlab/icnnlab/internal/grid"
	"github.com/icnnlab/icnnlab/internal/reproduce/report"
)

// CollectOptions is everything `icnnlab grid collect` needs.
type CollectOptions struct {
	IO   *iostreams.IOStreams
	Plan string
	Out  string
}

// NewCmdCollect builds the command; runF replaces the run step in tests.
func NewCmdCollect(f *cmdutil.Factory, runF func(*CollectOptions) error) *cobra.Command {
	opts := &CollectOptions{}
	cmd := &cobra.Command{
		Use:   "collect PLAN",
		Short: "Write a finished grid's tables (Markdown, CSV, JSON, HTML)",
		Long: cmdutil.Dedent(`
			Read the result of every task of the grid PLAN (its plan.json or
			directory), verifying each against its checksum, and write the
			tables a local reproduce paper-tables writes (Markdown, CSV, JSON
			and a self-contained HTML page) into --out, then print the
			verdicts. The numbers are those of a local run with the same seeds.
			Tasks without a result are listed, with how to follow them.
		`),
		Example: cmdutil.Examples(`
			$ icnnlab grid collect /shared/runs/grids/test-t7-0a1b2c3d --out tables
		`),
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.IO = f.IOStreams
			opts.Plan = args[0]
			if runF != nil {
				return runF(opts)
			}
			return collectRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Out, "out", "paper-tables", "directory for the Markdown, CSV, JSON and HTML reports")
	return cmd
}

func collectRun(_ context.Context, opts *CollectOptions) error {
	p, err := grid.Load(opts.Plan)
	if err != nil {
		return err
	}
	rep, err := grid.Collect(p)
	if err != nil {
		return err
	}
	if err := rep.WriteAll(opts.Out); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "grid %s: %d runs; reports in %s: %s, %s, %s, %s\n", p.Name, len(rep.Runs), opts.Out,
		report.MarkdownFile, report.CSVFile, report.JSONFile, report.HTMLFile)
	return rep.WriteVerdicts(opts.IO.Out)
}
