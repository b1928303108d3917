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
// struct. Planned nouns, added as their issues land (no placeholders until
// then): reproduce, visualize, metrics, backend.
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

			Today icnnlab generates and shows the synthetic part world (data),
			trains and evaluates the zoo networks with a reproducible run store
			(train, eval), times training steps (bench) and describes itself
			(version). The interpretable layer's plugins and the paper's tables
			are being built.
		`),
		Example: cmdutil.Examples(`
			$ icnnlab data inspect --out sheet.png
			$ icnnlab train --arch vgg-m --task single --target bird
			$ icnnlab version
			$ icnnlab bench --workload small64 --steps 20
			$ ICNNLAB_BACKEND=gorgonia icnnlab bench --json
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
	cmd.AddCommand(dataCmd.NewCmdData(f))
	cmd.AddCommand(visualizeCmd.NewCmdVisualize(f, nil))
	cmd.AddCommand(metricsCmd.NewCmdMetrics(f))
	cmd.AddCommand(reproduceCmd.NewCmdReproduce(f))
	cmd.AddCommand(backendCmd.NewCmdBackend(f))
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
