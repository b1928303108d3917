// Package investigate implements the hidden `icnnlab investigate`: the
// measurements behind docs/investigations/, which print what they find
// rather than check anything.
package investigate

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/icnnlab/icnnlab/internal/cmd/cmdutil"
	"github.com/icnnlab/icnnlab/internal/cmd/iostreams"
	"github.com/icnnlab/icnnlab/internal/pluginhost"
	trainpkg "github.com/icnnlab/icnnlab/internal/train"
)

// The investigations, by the name the command takes.
const (
	Scale         = "scale"
	FirstSteps    = "first-steps"
	Parts         = "parts"
	PartDiversity = "part-diversity"
	Pretrained    = "pretrained"
)

// Names lists the investigations in the order --help gives them.
var Names = []string{Scale, FirstSteps, Parts, PartDiversity, Pretrained}

// InvestigateOptions is everything `icnnlab investigate` needs.
type InvestigateOptions struct {
	IO          *iostreams.IOStreams
	Name        string
	RunDirs     []string
	Disc        float64
	Pretrained  trainpkg.PretrainedOptions
	PluginFlags pluginhost.Flags
}

// NewCmdInvestigate builds the command; runF replaces the run step in tests.
func NewCmdInvestigate(f *cmdutil.Factory, runF func(context.Context, *InvestigateOptions) error) *cobra.Command {
	opts := &InvestigateOptions{}
	cmd := &cobra.Command{
		Use:    "investigate <name> [RUN_DIR...] [flags]",
		Short:  "Print the measurements behind docs/investigations",
		Hidden: true, // a research tool, not part of the interface
		Long: cmdutil.Dedent(`
			Run one of the measurements the write-ups in docs/investigations
			cite, and print what it finds. They train on the CPU with the
			gorgonia backend, whatever --backend says, as they did when the
			write-ups were made.

			  scale            the interpretable layers' activation scale, −MI per
			                   filter at ×1…×1000, λ and the weight-gradient norms of
			                   both loss terms, for VGG-M (seeds 1, 2) and small64 w0.5
			                   at initialisation, then for each interpretable RUN_DIR
			                   at its final checkpoint
			  first-steps      the first 12 training steps of settings that diverged
			                   (constant λ = 10, τ ×100, small64 w0.5)
			  parts            accuracy, part interpretability and location
			                   instability of each RUN_DIR's top layer
			  part-diversity   per part group: area, how often one round on-unit of
			                   --disc pixels can reach it, mean P and best-part counts
			  pretrained       train VGG-M ordinary (ord), l1+mi (l1mi) and l1 masks
			                   alone (l1none) from conv1–conv5 of the --from run,
			                   into the run store --runs
		`),
		Example: cmdutil.Examples(`
			$ icnnlab investigate scale
			$ icnnlab investigate parts runs/vgg-m-single-icnn-1a2b3c4d5e6f runs/vgg-m-single-1a2b3c4d5e6f
			$ icnnlab investigate part-diversity --disc 48 runs/vgg-m-single-icnn-1a2b3c4d5e6f
			$ icnnlab investigate pretrained --from runs/vgg-m-single-1a2b3c4d5e6f --runs pretrained-runs --seed 2 --variants ord,l1mi
		`),
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmdutil.FlagErrorf("investigate takes the name of an investigation: %s", strings.Join(Names, ", "))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.IO = f.IOStreams
			opts.Name, opts.RunDirs = args[0], args[1:]
			if err := checkOptions(cmd, opts); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return investigateRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.Float64Var(&opts.Disc, "disc", trainpkg.DefaultDisc, "part-diversity: diameter in pixels of the round on-unit region")
	fl.StringVar(&opts.Pretrained.Source, "from", "", "pretrained: the finished run to copy conv1–conv5 from")
	fl.StringVar(&opts.Pretrained.Store, "runs", "", "pretrained: run store for the new runs (keep it apart: their identity does not record the initialisation)")
	fl.Uint64Var(&opts.Pretrained.Seed, "seed", 1, "pretrained: seed of the new runs")
	fl.StringSliceVar(&opts.Pretrained.Variants, "variants", nil, "pretrained: networks to train, of "+strings.Join(trainpkg.PretrainedVariants, ", ")+" (default all)")
	opts.PluginFlags.Register(fl)
	return cmd
}

// flagsOf names the flags each investigation reads; any other of them set
// on the command line is refused, so a flag is never silently ignored.
var flagsOf = map[string][]string{
	PartDiversity: {"disc"},
	Pretrained:    {"from", "runs", "seed", "variants"},
}

func checkOptions(cmd *cobra.Command, opts *InvestigateOptions) error {
	if !slices.Contains(Names, opts.Name) {
		return cmdutil.FlagErrorf("investigation %q is not one of %s", opts.Name, strings.Join(Names, ", "))
	}
	for _, own := range flagsOf {
		for _, name := range own {
			if cmd.Flags().Changed(name) && !slices.Contains(flagsOf[opts.Name], name) {
				return cmdutil.FlagErrorf("--%s does not apply to investigation %s", name, opts.Name)
			}
		}
	}
	switch opts.Name {
	case Parts, PartDiversity:
		if len(opts.RunDirs) == 0 {
			return cmdutil.FlagErrorf("investigation %s takes at least one run directory", opts.Name)
		}
	case FirstSteps, Pretrained:
		if len(opts.RunDirs) > 0 {
			return cmdutil.FlagErrorf("investigation %s takes no run directories, got %q", opts.Name, opts.RunDirs)
		}
	}
	switch opts.Name {
	case PartDiversity:
		if !(opts.Disc > 0) {
			return cmdutil.FlagErrorf("--disc: %v is not a positive number of pixels", opts.Disc)
		}
	case Pretrained:
		if opts.Pretrained.Source == "" {
			return cmdutil.FlagErrorf("--from: investigation pretrained needs the run to copy conv1–conv5 from")
		}
		if opts.Pretrained.Store == "" {
			return cmdutil.FlagErrorf("--runs: investigation pretrained needs a run store for the new runs")
		}
		for _, v := range opts.Pretrained.Variants {
			if !slices.Contains(trainpkg.PretrainedVariants, v) {
				return cmdutil.FlagErrorf("--variants: %q is not one of %s", v, strings.Join(trainpkg.PretrainedVariants, ", "))
			}
		}
	}
	return nil
}

func investigateRun(ctx context.Context, opts *InvestigateOptions) error {
	host, err := opts.PluginFlags.NewHost(opts.IO.ErrOut)
	if err != nil {
		return err
	}
	defer host.Close()
	w := opts.IO.Out
	switch opts.Name {
	case Scale:
		return trainpkg.InvestigateScale(w, host, opts.RunDirs)
	case FirstSteps:
		return trainpkg.InvestigateFirstSteps(w, host)
	case Parts:
		return trainpkg.InvestigateParts(ctx, w, host, opts.RunDirs)
	case PartDiversity:
		return trainpkg.InvestigatePartDiversity(ctx, w, host, opts.RunDirs, opts.Disc)
	case Pretrained:
		return trainpkg.InvestigatePretrained(ctx, w, host, opts.Pretrained)
	}
	return fmt.Errorf("investigation %q has no runner", opts.Name)
}
