// Package generate implements `icnnlab data generate`.
package generate

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/icnnlab/icnnlab/internal/cmd/cmdutil"
	"github.com/icnnlab/icnnlab/internal/cmd/data/world"
	"github.com/icnnlab/icnnlab/internal/cmd/iostreams"
	"github.com/icnnlab/icnnlab/internal/data/synth"
)

// GenerateOptions is everything `data generate` needs.
type GenerateOptions struct {
	IO    *iostreams.IOStreams
	World world.Flags
	Out   string
	N     int
}

// NewCmdGenerate builds `data generate`; runF replaces the run in tests.
func NewCmdGenerate(f *cmdutil.Factory, runF func(*GenerateOptions) error) *cobra.Command {
	opts := &GenerateOptions{}
	cmd := &cobra.Command{
		Use:   "generate --out DIR [flags]",
		Short: "Write synthetic images, part masks and annotations to a directory",
		Long: cmdutil.Dedent(`
			Write samples 0..n-1 of a synthetic world for a person (or another
			tool) to look at: images/NNNNNN.png, masks/NNNNNN.png (parts in
			colour), labels/NNNNNN.png (part ids as grey levels), and
			annotations.json / annotations.csv with category, box, landmarks and
			part groups. The same seed gives the same images at any --size.
		`),
		Example: cmdutil.Examples(`
			$ icnnlab data generate --out /tmp/world --n 100
			$ icnnlab data generate --out /tmp/world224 --n 20 --size 224 --difficulty 0.8
		`),
		Args: cmdutil.RequireNoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.IO = f.IOStreams
			if opts.Out == "" {
				return cmdutil.FlagErrorf("--out is required")
			}
			if opts.N < 1 {
				return cmdutil.FlagErrorf("--n: %d must be at least 1", opts.N)
			}
			if runF != nil {
				return runF(opts)
			}
			cfg, err := opts.World.Config()
			if err != nil {
				return err
			}
			if err := synth.WriteDataset(opts.Out, cfg, opts.N); err != nil {
				return err
			}
			fmt.Fprintf(opts.IO.Out, "wrote %d samples to %s (annotations.json, annotations.csv, images/, masks/, labels/)\n", opts.N, opts.Out)
			return nil
		},
	}
	opts.World.Register(cmd.Flags())
	cmd.Flags().StringVar(&opts.Out, "out", "", "output directory (created)")
	cmd.Flags().IntVar(&opts.N, "n", 64, "number of samples")
	return cmd
}
