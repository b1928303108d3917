// Package build implements `icnnlab backend build`.
package build

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/backends/libtorch"
	"github.com/icnnlab/icnnlab/internal/cmd/cmdutil"
	"github.com/icnnlab/icnnlab/internal/cmd/iostreams"
)

// BuildOptions is everything `icnnlab backend build` needs.
type BuildOptions struct {
	IO       *iostreams.IOStreams
	Backend  string
	Output   string
	LibTorch string
	// Build compiles the shim (libtorch.Build outside tests).
	Build func(ctx context.Context, opts libtorch.BuildOptions) (string, error)
	// NewBackend loads a backend to check the result (backends.New outside tests).
	NewBackend func(name string) (backends.Backend, error)
}

// NewCmdBuild builds the command; runF replaces the run step in tests.
func NewCmdBuild(f *cmdutil.Factory, runF func(*BuildOptions) error) *cobra.Command {
	opts := &BuildOptions{}
	cmd := &cobra.Command{
		Use:   "build libtorch",
		Short: "Compile the libtorch backend's C shim against the installed libtorch",
		Long: cmdutil.Dedent(`
			Compile libicnnlab_torch.so, the C shim through which the libtorch
			backend calls libtorch, with g++ against the libtorch on this machine,
			and check that it loads. The shim's sources are compiled into
			icnnlab, so this works from the binary alone; without Go, the same
			build is backends/libtorch/csrc/build.sh.

			libtorch is looked for in this order: --libtorch (or $LIBTORCH), a
			directory with include/ and lib/; Debian's libtorch-dev
			(/usr/include/torch and /usr/lib/<multiarch>); the torch package of
			python3 (torch/include and torch/lib, with CUDA when that PyTorch has
			it). What was found and the g++ command are printed.

			The shim is written to --output, else $ICNNLAB_LIBTORCH_SHIM, else
			<user cache dir>/icnnlab/libtorch/<torch version>-<source hash>/libicnnlab_torch.so,
			where the backend finds it. The source hash ties a shim to the
			sources of this icnnlab, so after an upgrade the backend asks for a
			rebuild instead of loading a stale shim.
		`),
		Example: cmdutil.Examples(`
			$ icnnlab backend build libtorch
			$ icnnlab backend build libtorch --libtorch ~/libtorch
			$ icnnlab backend build libtorch --output ./libicnnlab_torch.so && export ICNNLAB_LIBTORCH_SHIM=$PWD/libicnnlab_torch.so
		`),
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return cmdutil.FlagErrorf("name the backend to build: icnnlab backend build libtorch")
			}
			if args[0] != libtorch.Name {
				return cmdutil.FlagErrorf("backend %q has nothing to build (only %q does)", args[0], libtorch.Name)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.IO = f.IOStreams
			opts.Backend = args[0]
			opts.Build = libtorch.Build
			opts.NewBackend = f.NewBackend
			if runF != nil {
				return runF(opts)
			}
			return buildRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "", "write the shim here instead of the default location")
	cmd.Flags().StringVar(&opts.LibTorch, "libtorch", "", "libtorch directory with include/ and lib/ (default: $LIBTORCH, Debian's libtorch-dev, then python3's torch)")
	return cmd
}

func buildRun(ctx context.Context, opts *BuildOptions) error {
	path, err := opts.Build(ctx, libtorch.BuildOptions{Output: opts.Output, LibTorch: opts.LibTorch, Log: opts.IO.ErrOut})
	if err != nil {
		return err
	}
	out := opts.IO.Out
	fmt.Fprintf(out, "built %s\n", path)
	found, err := libtorch.FindShim()
	if err != nil || !samePath(found, path) {
		fmt.Fprintf(out, "the backend loads it only when told where it is: export %s=%s\n", libtorch.ShimEnv, path)
		return nil
	}
	be, err := opts.NewBackend(libtorch.Name)
	if err != nil {
		return fmt.Errorf("the shim built but does not load: %w", err)
	}
	fmt.Fprintf(out, "loaded: %s\n", be.Description())
	fmt.Fprintln(out, "select it with --backend libtorch or ICNNLAB_BACKEND=libtorch")
	return nil
}

func samePath(a, b string) bool {
	ea, err1 := filepath.EvalSymlinks(a)
	eb, err2 := filepath.EvalSymlinks(b)
	return err1 == nil && err2 == nil && ea == eb
}
