// Package reproduce implements `icnnlab reproduce`, which reproduces the
// paper's results.
package reproduce

import (
	"github.com/spf13/cobra"

	"github.com/icnnlab/icnnlab/internal/cmd/cmdutil"
	paperTablesCmd "github.com/icnnlab/icnnlab/internal/cmd/reproduce/papertables"
)

// NewCmdReproduce builds `icnnlab reproduce` and its verbs.
func NewCmdReproduce(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "reproduce <command>",
		Short: "Reproduce the paper's tables on the synthetic part world",
		Long: cmdutil.Dedent(`
			Reproduce the experiments of "Interpretable Convolutional Neural
			Networks" (Zhang, Wu, Zhu, CVPR 2018): train the networks the paper's
			tables need (reusing finished runs from the run store), measure them
			with the metric plugins, and compare with the paper's numbers and
			claims.
		`),
		Example: cmdutil.Examples(`
			$ icnnlab reproduce paper-tables --quick
		`),
	}
	cmd.AddCommand(paperTablesCmd.NewCmdPaperTables(f, nil))
	return cmd
}
