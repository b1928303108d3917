// Package data implements `icnnlab data generate` and `icnnlab data inspect`.
package data

import (
	"fmt"
	"image/png"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/icnnlab/icnnlab/internal/atomicfile"
	"github.com/icnnlab/icnnlab/internal/cmd/cmdutil"
	"github.com/icnnlab/icnnlab/internal/cmd/iostreams"
	"github.com/icnnlab/icnnlab/internal/data/synth"
)

// WorldFlags are the synthetic world's knobs, shared by both verbs.
type WorldFlags struct {
	Size       int
	Categories int
	Difficulty float64
	Clutter    float64
	Occlusion  float64
	Seed       uint64
}

func (w *WorldFlags) register(fl *pflag.FlagSet) {
	d := synth.DefaultConfig()
	fl.IntVar(&w.Size, "size", d.Size, "image side in pixels (64 for CPU work, 224 for GPU)")
	fl.IntVar(&w.Categories, "categories", d.Categories, "number of categories, the first k of bird, cat, cow, dog, horse, sheep")
	fl.Float64Var(&w.Difficulty, "difficulty", d.Difficulty, "pose range, articulation and colour jitter in [0,1]")
	fl.Float64Var(&w.Clutter, "clutter", -1, "background texture and distractors in [0,1] (default: the difficulty)")
	fl.Float64Var(&w.Occlusion, "occlusion", -1, "occluder chance and size in [0,1] (default: the difficulty)")
	fl.Uint64Var(&w.Seed, "seed", d.Seed, "world seed")
}

func (w *WorldFlags) config() (synth.Config, error) {
	cfg := synth.NewConfig(w.Size, w.Categories, w.Difficulty, w.Seed)
	if w.Clutter >= 0 {
		cfg.Clutter = w.Clutter
	}
	if w.Occlusion >= 0 {
		cfg.Occlusion = w.Occlusion
	}
	if err := cfg.Validate(); err != nil {
		return cfg, cmdutil.FlagErrorf("%v", err)
	}
	return cfg, nil
}

// NewCmdData is the `data` noun.
func NewCmdData(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "data <command>",
		Short: "Generate and look at the synthetic part world",
		Long: cmdutil.Dedent(`
			The synthetic part world is icnnlab's built-in dataset: procedurally
			drawn animal-like figures (bird, cat, cow, dog, horse, sheep) built from
			named parts, with exact per-pixel part masks, landmarks and boxes. See
			docs/synthetic-world.md.
		`),
	}
	cmd.AddCommand(NewCmdGenerate(f, nil), NewCmdInspect(f, nil))
	return cmd
}

// GenerateOptions is everything `data generate` needs.
type GenerateOptions struct {
	IO    *iostreams.IOStreams
	World WorldFlags
	Out   string
	N     int
}

// NewCmdGenerate builds `data generate`.
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
			cfg, err := opts.World.config()
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
	opts.World.register(cmd.Flags())
	cmd.Flags().StringVar(&opts.Out, "out", "", "output directory (created)")
	cmd.Flags().IntVar(&opts.N, "n", 64, "number of samples")
	return cmd
}

// InspectOptions is everything `data inspect` needs.
type InspectOptions struct {
	IO    *iostreams.IOStreams
	World WorldFlags
	Out   string
	N     int
	Cols  int
	Start int
	Crop  bool
}

// NewCmdInspect builds `data inspect`.
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
	opts.World.register(cmd.Flags())
	cmd.Flags().StringVar(&opts.Out, "out", "contact-sheet.png", "PNG file to write")
	cmd.Flags().IntVar(&opts.N, "n", 24, "number of samples")
	cmd.Flags().IntVar(&opts.Cols, "cols", 4, "samples per row")
	cmd.Flags().IntVar(&opts.Start, "start", 0, "index of the first sample")
	cmd.Flags().BoolVar(&opts.Crop, "crop", false, "crop each object by its box, as the tasks do")
	return cmd
}

func inspectRun(opts *InspectOptions) error {
	cfg, err := opts.World.config()
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
