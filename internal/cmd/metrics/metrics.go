// Package metrics implements `icnnlab metrics`, which runs the paper's
// interpretability and accuracy metrics on saved activations.
package metrics

import (
	"github.com/spf13/cobra"

	"github.com/icnnlab/icnnlab/internal/cmd/cmdutil"
	evalCmd "github.com/icnnlab/icnnlab/internal/cmd/metrics/eval"
	"github.com/icnnlab/icnnlab/internal/pluginhost"
)

// NewCmdMetrics builds `icnnlab metrics` and its verbs.
func NewCmdMetrics(f *cmdutil.Factory) *cobra.Command {
	hostFlags := &pluginhost.Flags{}
	cmd := &cobra.Command{
		Use:   "metrics <command>",
		Short: "Measure part interpretability, location instability and accuracy",
		Long: cmdutil.Dedent(`
			The paper's metrics (Zhang, Wu, Zhu, CVPR 2018, §5.1): part
			interpretability and location instability of a layer's filters, and
			classification accuracy. Each is a built-in metric plugin and runs in
			its own process, like any plugin; docs/metrics.md states the
			protocols and the choices made where the paper is silent.
		`),
		Example: cmdutil.Examples(`
			$ icnnlab eval runs/small64-1a2b3c4d5e6f --layer conv_interp --out conv_interp.npy
			$ icnnlab metrics eval location-instability --activations conv_interp.npy --annotations ann.json --arch small64 --layer conv_interp
		`),
	}
	hostFlags.Register(cmd.PersistentFlags())
	cmd.AddCommand(evalCmd.NewCmdEval(f, hostFlags, nil))
	return cmd
}
