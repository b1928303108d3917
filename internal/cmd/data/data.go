// Package data implements the `icnnlab data` noun; each verb is its own
// package (generate, inspect).
package data

import (
	"github.com/spf13/cobra"

	"github.com/icnnlab/icnnlab/internal/cmd/cmdutil"
	generateCmd "github.com/icnnlab/icnnlab/internal/cmd/data/generate"
	inspectCmd "github.com/icnnlab/icnnlab/internal/cmd/data/inspect"
)

// NewCmdData is the `data` noun.
func NewCmdData(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "data <command>",
		Short: "Generate and look at the synthetic part world",
		Long: cmdutil.Dedent(`
			The synthetic part world is icnnlab's built-in dataset: procedurally
			drawn animal-like figures (bird, cat, cow, dog, horse, sheep) built from
			named parts, with exact per-pixel part masks, landmarks and boxes. See
			docs/synthetic-world.md.
		`),
	}
	cmd.AddCommand(generateCmd.NewCmdGenerate(f, nil), inspectCmd.NewCmdInspect(f, nil))
	return cmd
}
