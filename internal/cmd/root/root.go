// Package root assembles the icnnlab command tree and turns command errors
// into messages and exit codes.
package root

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	backendCmd "github.com/icnnlab/icnnlab/internal/cmd/backend"
	benchCmd "github.com/icnnlab/icnnlab/internal/cmd/bench"
	"github.com/icnnlab/icnnlab/internal/cmd/cmdutil"
	dataCmd "github.com/icnnlab/icnnlab/internal/cmd/data"
	evalCmd "github.com/icnnlab/icnnlab/internal/cmd/eval"
	exportCmd "github.com/icnnlab/icnnlab/internal/cmd/export"
	gridCmd "github.com/icnnlab/icnnlab/internal/cmd/grid"
	investigateCmd "github.com/icnnlab/icnnlab/internal/cmd/investigate"
	metricsCmd "github.com/icnnlab/icnnlab/internal/cmd/metrics"
	pluginCmd "github.com/icnnlab/icnnlab/internal/cmd/plugin"
	pluginsCmd "github.com/icnnlab/icnnlab/internal/cmd/plugins"
	reproduceCmd "github.com/icnnlab/icnnlab/internal/cmd/reproduce"
	trainCmd "github.com/icnnlab/icnnlab/internal/cmd/train"
	versionCmd "github.com/icnnlab/icnnlab/internal/cmd/version"
	visualizeCmd "github.com/icnnlab/icnnlab/internal/cmd/visualize"
)

// NewCmdRoot builds the icnnlab command tree.
//
// Commands are nouns with verbs, one package per verb under internal/cmd
// (internal/cmd/<noun>/<verb>), each with NewCmdX(f, runF) and an options
// struct.
func NewCmdRoot(f *cmdutil.Factory, version string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "icnnlab <command> [flags]",
		Short: "Reproduce and extend Interpretable CNNs (Zhang, Wu, Zhu, CVPR 2018)",
		Long: cmdutil.Dedent(`
			icnnlab is a research framework for "Interpretable Convolutional Neural
			Networks" (Zhang, Wu, Zhu, CVPR 2018): CNNs whose top filters are pushed
			to represent object parts. Networks, masks and losses are graphs in one
			IR that a backend (--backend or $ICNNLAB_BACKEND) compiles onto its
			device.

			The main job is "icnnlab reproduce paper-tables": it trains ordinary
			and interpretable networks on the built-in synthetic part world (or
			the paper's datasets, with --data), measures part interpretability,
			location instability and accuracy, and sets them beside the paper's
			numbers. The pieces are commands of their own: the data (data), runs
			in a reproducible run store (train, eval), the mask, loss, metric and
			visualizer plugins that run out of process (plugins, metrics,
			visualize), the backends (backend, bench), a reproduction handed to
			a Slurm cluster as a job array (grid) and the build (version).
		`),
		Example: cmdutil.Examples(`
			$ icnnlab reproduce paper-tables --quick
			$ icnnlab data inspect --out sheet.png
			$ icnnlab train --arch vgg-m --task single --target bird --interpretable
			$ icnnlab visualize runs/vgg-m-single-icnn-1a2b3c4d5e6f
			$ icnnlab bench --workload small64 --steps 20
			$ icnnlab --backend libtorch bench --device cuda --workload vgg16-224
		`),
		Version:       versionOf(f, version),
		SilenceErrors: true, // Run prints errors itself, with a usage hint for usage mistakes
		SilenceUsage:  true,
	}
	cmd.SetOut(f.IOStreams.Out)
	cmd.SetErr(f.IOStreams.ErrOut)
	cmd.SetIn(f.IOStreams.In)
	cmd.SetVersionTemplate("icnnlab {{.Version}}\n")
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &cmdutil.FlagError{Err: err}
	})
	cmdutil.AddBackendFlag(cmd.PersistentFlags(), f)

	cmd.AddCommand(versionCmd.NewCmdVersion(f, nil))
	cmd.AddCommand(benchCmd.NewCmdBench(f, nil))
	cmd.AddCommand(pluginsCmd.NewCmdPlugins(f))
	cmd.AddCommand(pluginCmd.NewCmdPlugin(f)) // hidden: serves built-in plugins in their own process
	cmd.AddCommand(trainCmd.NewCmdTrain(f, nil))
	cmd.AddCommand(evalCmd.NewCmdEval(f, nil))
	cmd.AddCommand(exportCmd.NewCmdExport(f, nil))
	cmd.AddCommand(dataCmd.NewCmdData(f))
	cmd.AddCommand(visualizeCmd.NewCmdVisualize(f, nil))
	cmd.AddCommand(metricsCmd.NewCmdMetrics(f))
	cmd.AddCommand(reproduceCmd.NewCmdReproduce(f))
	cmd.AddCommand(gridCmd.NewCmdGrid(f))
	cmd.AddCommand(backendCmd.NewCmdBackend(f))
	cmd.AddCommand(investigateCmd.NewCmdInvestigate(f, nil)) // hidden: the measurements behind docs/investigations
	return cmd
}

// versionOf is what --version prints: the same version `icnnlab version`
// reports (which falls back to the module version Go stamped).
func versionOf(f *cmdutil.Factory, linkVersion string) string {
	if f.Build != nil {
		return f.Build().Version
	}
	return linkVersion
}

// Exit codes.
const (
	ExitOK    = 0
	ExitError = 1
)

// Run executes the command line args (without the program name) and
// returns the process exit status. Errors go to f.IOStreams.ErrOut.
func Run(ctx context.Context, f *cmdutil.Factory, version string, args []string) int {
	rootCmd := NewCmdRoot(f, version)
	rootCmd.SetArgs(args)
	executed, err := rootCmd.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	errOut := f.IOStreams.ErrOut
	if errors.Is(err, cmdutil.ErrSilent) {
		return ExitError
	}
	var flagErr *cmdutil.FlagError
	if errors.As(err, &flagErr) || isCobraUsageError(err) {
		fmt.Fprintf(errOut, "error: %v\n", err)
		if executed == nil {
			executed = rootCmd
		}
		fmt.Fprintf(errOut, "Run '%s --help' for usage.\n", executed.CommandPath())
		return ExitError
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintf(errOut, "interrupted: %v\n", err)
		return ExitError
	}
	fmt.Fprintf(errOut, "error: %v\n", err)
	return ExitError
}

// isCobraUsageError recognises the errors cobra returns for an unknown
// command, which do not pass through the flag error function.
func isCobraUsageError(err error) bool {
	return strings.HasPrefix(err.Error(), "unknown command ")
}
