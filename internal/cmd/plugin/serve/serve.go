// Package serve implements `icnnlab plugin serve KIND/NAME`.
package serve

import (
	"github.com/spf13/cobra"

	"github.com/icnnlab/icnnlab/internal/cmd/cmdutil"
	"github.com/icnnlab/icnnlab/internal/pluginhost"
	"github.com/icnnlab/icnnlab/sdk/plugin"
)

// ServeOptions is everything `icnnlab plugin serve` needs.
type ServeOptions struct {
	Ref   string
	Serve func(ref string, opts ...plugin.ServeOpt) error
}

// NewCmdServe builds the command; runF replaces the run step in tests.
func NewCmdServe(f *cmdutil.Factory, runF func(*ServeOptions) error) *cobra.Command {
	opts := &ServeOptions{}
	cmd := &cobra.Command{
		Use:   "serve KIND/NAME",
		Short: "Serve one built-in plugin over go-plugin's gRPC protocol",
		Long: cmdutil.Dedent(`
			Serve one built-in plugin: answer go-plugin's handshake on stdout and
			the plugin's gRPC service until the host stops the process. icnnlab
			runs this itself, re-executing its own binary, whenever a built-in
			plugin is needed; run by hand it refuses to start, since the
			handshake cookie is missing from its environment.
		`),
		Example: cmdutil.Examples(`
			$ icnnlab plugin serve masks/l1
		`),
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return cmdutil.FlagErrorf("%q takes one argument, KIND/NAME", cmd.CommandPath())
			}
			if _, err := plugin.ParseRef(args[0]); err != nil {
				return &cmdutil.FlagError{Err: err}
			}
			opts.Ref = args[0]
			opts.Serve = pluginhost.ServeBuiltin
			if runF != nil {
				return runF(opts)
			}
			return opts.Serve(opts.Ref)
		},
	}
	return cmd
}
