// Package info implements `icnnlab plugins info`.
package info

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/icnnlab/icnnlab/internal/cmd/cmdutil"
	"github.com/icnnlab/icnnlab/internal/cmd/iostreams"
	"github.com/icnnlab/icnnlab/internal/cmd/plugins/described"
	"github.com/icnnlab/icnnlab/internal/pluginhost"
	"github.com/icnnlab/icnnlab/sdk/plugin"
)

// Host is the part of *pluginhost.Host that info needs.
type Host interface {
	Describe(ctx context.Context, ref plugin.Ref) (pluginhost.Described, error)
	Close()
}

// InfoOptions is everything `icnnlab plugins info` needs.
type InfoOptions struct {
	IO      *iostreams.IOStreams
	NewHost func() (Host, error)
	Ref     plugin.Ref
	JSON    bool
}

// NewCmdInfo builds the command; runF replaces the run step in tests.
func NewCmdInfo(f *cmdutil.Factory, hostFlags *pluginhost.Flags, runF func(*InfoOptions) error) *cobra.Command {
	opts := &InfoOptions{}
	cmd := &cobra.Command{
		Use:   "info KIND/NAME",
		Short: "Describe one plugin and its parameters",
		Long: cmdutil.Dedent(`
			Launch one plugin and print what it says about itself: version,
			protocol version, where it comes from and its SHA-256, its
			description, and the parameters it accepts (type, default, allowed
			range or values). KIND is mask, loss, metric or visualizer, singular
			or plural.
		`),
		Example: cmdutil.Examples(`
			$ icnnlab plugins info masks/l1
			$ icnnlab plugins info loss/mi --json
		`),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return cmdutil.FlagErrorf("%q takes one argument, KIND/NAME", cmd.CommandPath())
			}
			ref, err := plugin.ParseRef(args[0])
			if err != nil {
				return &cmdutil.FlagError{Err: err}
			}
			opts.Ref = ref
			opts.IO = f.IOStreams
			opts.NewHost = func() (Host, error) { return hostFlags.NewHost(f.IOStreams.ErrOut) }
			if runF != nil {
				return runF(opts)
			}
			return infoRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON, the parameter schema included verbatim")
	return cmd
}

// Output is the --json form: the identity `plugins list` prints, then what
// only info prints.
type Output struct {
	described.Identity
	Description string         `json:"description"`
	ParamSchema *plugin.Schema `json:"param_schema"`
}

func infoRun(ctx context.Context, opts *InfoOptions) error {
	host, err := opts.NewHost()
	if err != nil {
		return err
	}
	defer host.Close()
	d, err := host.Describe(ctx, opts.Ref)
	if err != nil {
		return err
	}
	out := Output{Identity: described.Of(d), Description: d.Info.Description, ParamSchema: d.Info.ParamSchema}
	if opts.JSON {
		return cmdutil.WriteJSON(opts.IO.Out, out)
	}
	writeText(opts.IO, out)
	return nil
}

func writeText(io *iostreams.IOStreams, o Output) {
	w := io.Out
	fmt.Fprintf(w, "%s/%s %s\n", o.Kind.Plural(), o.Name, o.Version)
	fmt.Fprintf(w, "protocol: %d\n", o.Protocol)
	fmt.Fprintf(w, "source:   %s\n", o.Source)
	fmt.Fprintf(w, "sha256:   %s\n", o.SHA256)
	if o.Description != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(o.Description))
	}
	s := o.ParamSchema
	if s == nil || len(s.Properties) == 0 {
		fmt.Fprintln(w, "\nNo parameters.")
		return
	}
	fmt.Fprintln(w, "\nParameters:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  NAME\tTYPE\tDEFAULT\tALLOWED\tDESCRIPTION")
	names := make([]string, 0, len(s.Properties))
	for name := range s.Properties {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p := s.Properties[name]
		def := string(p.Default)
		switch {
		case def != "":
		case slices.Contains(s.Required, name):
			def = "(required)"
		default:
			def = "(none)"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", name, p.Type, def, allowed(p), p.Description)
	}
	tw.Flush()
}

// allowed describes a property's constraint: a range or a list of values.
func allowed(p *plugin.Property) string {
	switch {
	case len(p.Enum) > 0:
		return strings.Join(p.Enum, " | ")
	case p.Minimum != nil && p.Maximum != nil:
		return fmt.Sprintf("[%g, %g]", *p.Minimum, *p.Maximum)
	case p.Minimum != nil:
		return fmt.Sprintf(">= %g", *p.Minimum)
	case p.Maximum != nil:
		return fmt.Sprintf("<= %g", *p.Maximum)
	}
	return "any"
}
