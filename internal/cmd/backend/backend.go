// Package backend implements `icnnlab backend`, which prepares backends
// that need native code built on the machine that runs them.
package backend

import (
	"github.com/spf13/cobra"

	buildCmd "github.com/icnnlab/icnnlab/internal/cmd/backend/build"
	"github.com/icnnlab/icnnlab/internal/cmd/cmdutil"
)

// NewCmdBackend builds `icnnlab backend` and its verbs.
func NewCmdBackend(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "backend <command>",
		Short: "Build the native parts of backends",
		Long: cmdutil.Dedent(`
			Backends compile icnnlab's graphs onto a device. gorgonia is pure Go
			and needs nothing. libtorch runs on the CPU or CUDA through a small C
			shim that is compiled on the machine that uses it, against the
			libtorch installed there, and loaded when the backend is selected
			(--backend libtorch or ICNNLAB_BACKEND=libtorch).
		`),
		Example: cmdutil.Examples(`
			$ icnnlab backend build libtorch
			$ icnnlab bench --backend libtorch --workload small64
		`),
	}
	cmd.AddCommand(buildCmd.NewCmdBuild(f, nil))
	return cmd
}
