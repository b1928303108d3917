// Package version implements `icnnlab version`.
package version

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/internal/cmd/cmdutil"
	"github.com/icnnlab/icnnlab/internal/cmd/iostreams"
)

// VersionOptions is everything `icnnlab version` needs.
type VersionOptions struct {
	IO           *iostreams.IOStreams
	Build        func() cmdutil.BuildInfo
	BackendNames func() []string
	NewBackend   func(name string) (backends.Backend, error)
}

// NewCmdVersion builds the command; runF replaces the run step in tests.
func NewCmdVersion(f *cmdutil.Factory, runF func(*VersionOptions) error) *cobra.Command {
	opts := &VersionOptions{}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Show the icnnlab version, Go version, commit and backends",
		Long: cmdutil.Dedent(`
			Show the icnnlab version, the Go toolchain that built it, the VCS
			commit it was built from, and every registered backend with what
			runs underneath it.

			The commit is stamped by "go build" in a git checkout; "go run" and
			-buildvcs=false builds report it as unknown. A backend that cannot
			run on this machine (for example a missing shared library) is
			listed with the reason.
		`),
		Example: cmdutil.Examples(`
			$ icnnlab version
			$ go run ./cmd/icnnlab version
		`),
		Args: cmdutil.RequireNoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.IO = f.IOStreams
			opts.Build = f.Build
			opts.BackendNames = f.BackendNames
			opts.NewBackend = f.NewBackend
			if runF != nil {
				return runF(opts)
			}
			return versionRun(opts)
		},
	}
	return cmd
}

func versionRun(opts *VersionOptions) error {
	info := opts.Build()
	w := opts.IO.Out
	fmt.Fprintf(w, "icnnlab %s\n", info.Version)
	fmt.Fprintf(w, "commit:   %s\n", describeCommit(info))
	fmt.Fprintf(w, "go:       %s %s\n", info.GoVersion, info.Platform)
	return writeBackends(w, opts.BackendNames(), opts.NewBackend)
}

func describeCommit(info cmdutil.BuildInfo) string {
	if info.Commit == "" {
		return "unknown (built without VCS stamping, e.g. go run or -buildvcs=false)"
	}
	s := info.Commit
	if info.CommitTime != "" {
		s += " (" + info.CommitTime + ")"
	}
	if info.Modified {
		s += " with uncommitted changes"
	}
	return s
}

func writeBackends(w io.Writer, names []string, newBackend func(string) (backends.Backend, error)) error {
	if len(names) == 0 {
		fmt.Fprintln(w, "backends: none registered (this binary was built without any backend package)")
		return nil
	}
	fmt.Fprintln(w, "backends:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, name := range names {
		b, err := newBackend(name)
		if err != nil {
			// The registry already prefixes the name; keep only the reason.
			reason := strings.TrimPrefix(err.Error(), fmt.Sprintf("backend %q: ", name))
			fmt.Fprintf(tw, "  %s\tunavailable: %s\n", name, reason)
			continue
		}
		fmt.Fprintf(tw, "  %s\t%s\n", name, b.Description())
	}
	return tw.Flush()
}
