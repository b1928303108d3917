// Package plugin implements the hidden `icnnlab plugin` command, the
// plugin side of built-in plugins.
package plugin

import (
	"github.com/spf13/cobra"

	"github.com/icnnlab/icnnlab/internal/cmd/cmdutil"
	serveCmd "github.com/icnnlab/icnnlab/internal/cmd/plugin/serve"
)

// NewCmdPlugin builds `icnnlab plugin`. It is hidden: users list and
// describe plugins with `icnnlab plugins`; this noun is how the host runs
// the built-in ones in their own process.
func NewCmdPlugin(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:    "plugin <command>",
		Short:  "Serve a built-in plugin (used by icnnlab itself)",
		Hidden: true,
	}
	cmd.AddCommand(serveCmd.NewCmdServe(f, nil))
	return cmd
}
