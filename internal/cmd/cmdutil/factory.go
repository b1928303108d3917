// Package cmdutil holds what every icnnlab command shares: the Factory that
// hands commands their dependencies (streams, backend, build information),
// flag helpers and the error kinds that decide how a failure is reported.
package cmdutil

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/internal/cmd/iostreams"
)

// Factory gives commands their dependencies. Commands copy the fields they
// need into their options struct when they run, so tests can replace any
// of them.
type Factory struct {
	IOStreams *iostreams.IOStreams

	// BackendName is the value of the global --backend flag. Empty means
	// $ICNNLAB_BACKEND, then backends.DefaultName (see backends.New).
	BackendName string

	// Backend constructs the backend selected by BackendName.
	Backend func() (backends.Backend, error)
	// NewBackend constructs a backend by name (used to describe every
	// registered backend).
	NewBackend func(name string) (backends.Backend, error)
	// BackendNames lists the registered backends.
	BackendNames func() []string

	// Build describes this binary.
	Build func() BuildInfo
}

// New returns the Factory used by the real binary. version is the release
// version stamped at link time ("dev" otherwise).
func New(version string) *Factory {
	f := &Factory{
		IOStreams:    iostreams.System(),
		NewBackend:   backends.New,
		BackendNames: backends.Names,
	}
	f.Backend = func() (backends.Backend, error) { return f.NewBackend(f.BackendName) }
	f.Build = func() BuildInfo { return ReadBuildInfo(version) }
	return f
}

// AddBackendFlag registers the global --backend flag, bound to f.BackendName.
// The default stays empty so that help text does not depend on the
// environment; resolution happens in backends.New.
func AddBackendFlag(flags interface {
	StringVar(p *string, name, value, usage string)
}, f *Factory) {
	flags.StringVar(&f.BackendName, "backend", "",
		fmt.Sprintf("backend that compiles and runs graphs (default $%s, else %q)", backends.EnvVar, backends.DefaultName))
}

// RequireNoArgs is cobra.NoArgs reported as a usage error.
func RequireNoArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return FlagErrorf("%q takes no arguments, got %q", cmd.CommandPath(), args)
	}
	return nil
}
