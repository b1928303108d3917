// Package inspect implements `icnnlab data inspect`.
package inspect

import (
	"fmt"
	"image/png"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/icnnlab/icnnlab/internal/atomicfile"
	"github.com/icnnlab/icnnlab/internal/cmd/cmdutil"
	"github.com/icnnlab/icnnlab/internal/cmd/data/world"
	"github.com/icnnlab/icnnlab/internal/cmd/iostreams"
	"github.com/icnnlab/icnnlab/internal/data/synth"
)

// InspectOptions is everything `data inspect` needs.
type InspectOptions struct {
	IO    *iostreams.IOStreams
	World world.Flags
	Out   string
	N     int
	Cols  int
	Start int
	Crop  bool
}

// NewCmdInspect builds `data inspect`; runF replaces the run in tests.
func NewCmdInspect(f *cmdutil.Factory, runF func(*InspectOptions) error) *cobra.Command {
	opts := &InspectOptions{}
	cmd := &cobra.Command{
		Use:   "inspect [flags]",
		Short: "Draw a contact sheet of samples with part masks and landmarks",
		Long: cmdutil.Dedent(`
			Draw a contact sheet as a PNG: each cell shows a sample and, beside
			it, the same image with its part masks blended over it, its box, and
			its landmarks (filled dots visible, hollow dots occluded), captioned
			with the category. A legend of part and landmark colours runs along
			the bottom. --crop shows the objects cropped by their box, as the
			classification tasks see them.
		`),
		Example: cmdutil.Examples(`
			$ icnnlab data inspect --out sheet.png
			$ icnnlab data inspect --out sheet.png --n 36 --cols 6 --size 128 --crop
		`),
		Args: cmdutil.RequireNoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.IO = f.IOStreams
			switch {
			case opts.N < 1:
				return cmdutil.FlagErrorf("--n: %d must be at least 1", opts.N)
			case opts.Cols < 1:
				return cmdutil.FlagErrorf("--cols: %d must be at least 1", opts.Cols)
			case opts.Start < 0:
				return cmdutil.FlagErrorf("--start: %d is negative", opts.Start)
			}
			if runF != nil {
				return runF(opts)
			}
			return inspectRun(opts)
		},
	}
	opts.World.Register(cmd.Flags())
	cmd.Flags().StringVar(&opts.Out, "out", "contact-sheet.png", "PNG file to write")
	cmd.Flags().IntVar(&opts.N, "n", 24, "number of samples")
	cmd.Flags().IntVar(&opts.Cols, "cols", 4, "samples per row")
	cmd.Flags().IntVar(&opts.Start, "start", 0, "index of the first sample")
	cmd.Flags().BoolVar(&opts.Crop, "crop", false, "crop each object by its box, as the tasks do")
	return cmd
}

func inspectRun(opts *InspectOptions) error {
	cfg, err := opts.World.Config()
	if err != nil {
		return err
	}
	samples := make([]*synth.Sample, opts.N)
	for i := range samples {
		s := synth.Generate(cfg, opts.Start+i)
		if opts.Crop {
			s = synth.CropToBox(s, cfg.Size)
		}
		samples[i] = s
	}
	sheet := synth.ContactSheet(samples, opts.Cols)
	if dir := filepath.Dir(opts.Out); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("inspect: %w", err)
		}
	}
	err = atomicfile.Write(opts.Out, func(w io.Writer) error { return png.Encode(w, sheet) })
	if err != nil {
		return err
	}
	b := sheet.Bounds()
	fmt.Fprintf(opts.IO.Out, "wrote %s (%dx%d, %d samples)\n", opts.Out, b.Dx(), b.Dy(), opts.N)
	return nil
}
