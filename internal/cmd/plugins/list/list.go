// Package list implements `icnnlab plugins list`.
package list

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/icnnlab/icnnlab/internal/cmd/cmdutil"
	"github.com/icnnlab/icnnlab/internal/cmd/iostreams"
	"github.com/icnnlab/icnnlab/internal/cmd/plugins/described"
	"github.com/icnnlab/icnnlab/internal/pluginhost"
	"github.com/icnnlab/icnnlab/sdk/plugin"
)

// Host is the part of *pluginhost.Host that listing needs.
type Host interface {
	Candidates() ([]pluginhost.Candidate, error)
	NotExecutables() []string
	Describe(ctx context.Context, ref plugin.Ref) (pluginhost.Described, error)
	Close()
}

// ListOptions is everything `icnnlab plugins list` needs.
type ListOptions struct {
	IO      *iostreams.IOStreams
	NewHost func() (Host, error)
	JSON    bool
}

// NewCmdList builds the command; runF replaces the run step in tests.
func NewCmdList(f *cmdutil.Factory, hostFlags *pluginhost.Flags, runF func(*ListOptions) error) *cobra.Command {
	opts := &ListOptions{}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the available plugins, launching each to check it works",
		Long: cmdutil.Dedent(`
			List every plugin icnnlab can run: the built-in ones and the
			executables in the plugin directory. Each is launched and asked for
			its description, so the table shows the version it reports and the
			protocol version it negotiated; a plugin that fails to start (bad
			checksum, crash, wrong name) is listed with "?" and its error is
			printed below the table, and the command exits with status 1. A
			file named like a plugin but not executable is named below the
			table, with the chmod that fixes it.
		`),
		Example: cmdutil.Examples(`
			$ icnnlab plugins list
			$ icnnlab plugins list --plugin-dir ./build/plugins --json
		`),
		Args: cmdutil.RequireNoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.IO = f.IOStreams
			opts.NewHost = func() (Host, error) { return hostFlags.NewHost(f.IOStreams.ErrOut) }
			if runF != nil {
				return runF(opts)
			}
			return listRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print a JSON array instead of a table")
	return cmd
}

// Entry is one row of the listing (and one element of --json).
type Entry struct {
	described.Identity
	Error string `json:"error,omitempty"`
}

func listRun(ctx context.Context, opts *ListOptions) error {
	host, err := opts.NewHost()
	if err != nil {
		return err
	}
	defer host.Close()
	cands, err := host.Candidates()
	if err != nil {
		return err
	}
	entries := make([]Entry, 0, len(cands))
	failed := 0
	for _, c := range cands {
		d, err := host.Describe(ctx, c.Ref)
		if err != nil {
			entries = append(entries, Entry{Identity: described.Unstarted(c), Error: err.Error()})
			failed++
			continue
		}
		entries = append(entries, Entry{Identity: described.Of(d)})
	}
	if opts.JSON {
		if err := cmdutil.WriteJSON(opts.IO.Out, entries); err != nil {
			return err
		}
	} else {
		writeTable(opts.IO, entries)
	}
	for _, path := range host.NotExecutables() {
		fmt.Fprintf(opts.IO.ErrOut, "note: %s is named like a plugin but is not executable, so it is not listed; make it so with: chmod +x %s\n", path, path)
	}
	if failed > 0 {
		return cmdutil.ErrSilent
	}
	return nil
}

func writeTable(io *iostreams.IOStreams, entries []Entry) {
	if len(entries) == 0 {
		fmt.Fprintln(io.ErrOut, "no plugins found")
		return
	}
	w := tabwriter.NewWriter(io.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "KIND\tNAME\tVERSION\tPROTOCOL\tSOURCE")
	for _, e := range entries {
		version, protocol := "?", "?"
		if e.Error == "" {
			version, protocol = e.Version, fmt.Sprint(e.Protocol)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", e.Kind, e.Name, version, protocol, e.Source)
	}
	w.Flush()
	for _, e := range entries {
		if e.Error != "" {
			// The host's errors already name the plugin.
			fmt.Fprintf(io.ErrOut, "\n%s\n", e.Error)
		}
	}
}
