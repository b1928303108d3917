// Package docs renders the command tree as one Markdown reference page
// (docs/cli.md), so the reference is the help text itself and cannot
// drift from it; a test in internal/cmd/root keeps the file current.
package docs

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// WriteMarkdown writes the reference for root and every visible
// subcommand, depth first in the order cobra lists them (alphabetical).
func WriteMarkdown(w io.Writer, root *cobra.Command) error {
	var b strings.Builder
	b.WriteString("# icnnlab command reference\n\n")
	b.WriteString("<!-- Generated from the commands' help text: go test ./internal/cmd/root -update-docs -->\n")
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		writeCommand(&b, c)
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() && sub.Name() != "completion" && sub.Name() != "help" {
				walk(sub)
			}
		}
	}
	walk(root)
	_, err := io.WriteString(w, b.String())
	return err
}

func writeCommand(b *strings.Builder, c *cobra.Command) {
	fmt.Fprintf(b, "\n## %s\n\n", c.CommandPath())
	if c.Short != "" {
		fmt.Fprintf(b, "%s.\n\n", strings.TrimSuffix(c.Short, "."))
	}
	if c.Long != "" {
		fmt.Fprintf(b, "%s\n\n", strings.TrimSpace(c.Long))
	}
	fmt.Fprintf(b, "```\n%s\n```\n", c.UseLine())
	if c.Example != "" {
		fmt.Fprintf(b, "\nExamples:\n\n```\n%s\n```\n", c.Example)
	}
	if flags := c.NonInheritedFlags().FlagUsages(); flags != "" {
		fmt.Fprintf(b, "\nFlags:\n\n```\n%s```\n", flags)
	}
	if flags := c.InheritedFlags().FlagUsages(); flags != "" {
		fmt.Fprintf(b, "\nGlobal flags:\n\n```\n%s```\n", flags)
	}
}
