// Package plugins implements `icnnlab plugins`, which lists and describes
// the plugins this binary can run.
package plugins

import (
	"github.com/spf13/cobra"

	"github.com/icnnlab/icnnlab/internal/cmd/cmdutil"
	evalCmd "github.com/icnnlab/icnnlab/internal/cmd/plugins/eval"
	infoCmd "github.com/icnnlab/icnnlab/internal/cmd/plugins/info"
	listCmd "github.com/icnnlab/icnnlab/internal/cmd/plugins/list"
	"github.com/icnnlab/icnnlab/internal/pluginhost"
)

// NewCmdPlugins builds `icnnlab plugins` and its verbs.
func NewCmdPlugins(f *cmdutil.Factory) *cobra.Command {
	hostFlags := &pluginhost.Flags{}
	cmd := &cobra.Command{
		Use:   "plugins <command>",
		Short: "List and describe mask, loss, metric and visualizer plugins",
		Long: cmdutil.Dedent(`
			Plugins compute masks, losses, metrics and visualizations. Each runs
			in its own process (hashicorp/go-plugin over gRPC), so a plugin that
			crashes or hangs fails with a message naming it instead of taking
			icnnlab down.

			Built-in plugins are compiled into icnnlab and run by re-executing
			it. External plugins are executables named
			icnnlab-plugin-<kind>-<name> in the plugin directory: --plugin-dir,
			else $ICNNLAB_PLUGIN_DIR, else the per-user directory
			(~/.config/icnnlab/plugins on Linux). An external plugin runs only if
			its SHA-256 is listed in the directory's SHA256SUMS file, in the
			format sha256sum prints.
		`),
		Example: cmdutil.Examples(`
			$ icnnlab plugins list
			$ icnnlab plugins info masks/l1
			$ cd ~/.config/icnnlab/plugins && sha256sum icnnlab-plugin-mask-gaussian >> SHA256SUMS
		`),
	}
	hostFlags.Register(cmd.PersistentFlags())
	cmd.AddCommand(listCmd.NewCmdList(f, hostFlags, nil))
	cmd.AddCommand(infoCmd.NewCmdInfo(f, hostFlags, nil))
	cmd.AddCommand(evalCmd.NewCmdEval(f, hostFlags, nil))
	return cmd
}
