// Package export implements `icnnlab export`.
package export

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/icnnlab/icnnlab/internal/cmd/cmdutil"
	"github.com/icnnlab/icnnlab/internal/cmd/iostreams"
	exportpkg "github.com/icnnlab/icnnlab/internal/export"
	"github.com/icnnlab/icnnlab/internal/runstore"
	"github.com/icnnlab/icnnlab/internal/weights"
)

// ExportOptions is everything `icnnlab export` needs.
type ExportOptions struct {
	IO     *iostreams.IOStreams
	RunDir string
	Format string
	Output string
}

// NewCmdExport builds the command; runF replaces the run step in tests.
func NewCmdExport(f *cmdutil.Factory, runF func(*ExportOptions) error) *cobra.Command {
	opts := &ExportOptions{}
	cmd := &cobra.Command{
		Use:   "export RUN_DIR [flags]",
		Short: "Write a trained network as safetensors or a PyTorch state_dict",
		Long: cmdutil.Dedent(`
			Write the parameters of a run's last checkpoint to a file PyTorch
			can load: safetensors (--format safetensors, the default) or a
			torch.save state_dict (--format torch, for torch.load).

			Names follow torchvision: features.N for the conv layers (N counts
			Conv2d, ReLU and MaxPool2d modules as torchvision's alexnet and vgg16
			do, so alexnet-torchvision and vgg-16 backbones load into torchvision
			directly), interp for the interpretable conv-layer, classifier.N for
			the fully connected layers (weights [out, in]). The file's metadata
			(safetensors __metadata__, or the state_dict's _metadata["icnnlab"])
			describes the network: layers, input size, classifier, and for an
			interpretable network the mask: template kind, τ, β and the rule
			that places it. docs/weights.md has a short PyTorch module that
			rebuilds the network from that metadata and reproduces icnnlab's
			logits.
		`),
		Example: cmdutil.Examples(`
			$ icnnlab export runs/vgg-16-single-icnn-1a2b3c4d5e6f
			$ icnnlab export runs/vgg-16-single-icnn-1a2b3c4d5e6f --format torch -o vgg16-icnn.pt
		`),
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return cmdutil.FlagErrorf("export takes one run directory, got %d arguments", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.IO = f.IOStreams
			opts.RunDir = args[0]
			if !slices.Contains(weights.Formats, opts.Format) {
				return cmdutil.FlagErrorf("--format: %q is not one of %s", opts.Format, strings.Join(weights.Formats, ", "))
			}
			if runF != nil {
				return runF(opts)
			}
			return exportRun(opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Format, "format", weights.FormatSafetensors, "file format: "+strings.Join(weights.Formats, ", "))
	fl.StringVarP(&opts.Output, "output", "o", "", "file to write (default <run name>.safetensors or .pt in the current directory)")
	return cmd
}

// DefaultOutput is the file name for a run and format.
func DefaultOutput(runDir, format string) string {
	ext := ".safetensors"
	if format == weights.FormatTorch {
		ext = ".pt"
	}
	return filepath.Base(filepath.Clean(runDir)) + ext
}

func exportRun(opts *ExportOptions) error {
	run, err := runstore.Load(opts.RunDir)
	if err != nil {
		return err
	}
	sd, done, err := exportpkg.FromRun(run)
	if err != nil {
		return err
	}
	out := opts.Output
	if out == "" {
		out = DefaultOutput(opts.RunDir, opts.Format)
	}
	if err := weights.Write(out, opts.Format, sd); err != nil {
		return err
	}
	if !done {
		fmt.Fprintf(opts.IO.ErrOut, "note: %s has not finished; exported its last checkpoint\n", run.Dir)
	}
	fmt.Fprintf(opts.IO.Out, "wrote %s (%s, %d tensors, arch %s)\n", out, opts.Format, len(sd.Names), sd.Metadata[exportpkg.KeyArch])
	return nil
}
