// Package bench implements `icnnlab bench`.
package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/internal/bench"
	"github.com/icnnlab/icnnlab/internal/cmd/cmdutil"
	"github.com/icnnlab/icnnlab/internal/cmd/iostreams"
	"github.com/icnnlab/icnnlab/internal/pluginhost"
)

// Values of --interpretable.
const (
	InterpretableAuto = "auto"
	InterpretableOn   = "true"
	InterpretableOff  = "false"
)

// BenchOptions is everything `icnnlab bench` needs.
type BenchOptions struct {
	IO      *iostreams.IOStreams
	Backend func() (backends.Backend, error)

	Workload      string
	Batch         int
	Warmup        int
	Steps         int
	Threads       int
	Device        string
	Interpretable string // auto, true or false
	JSON          bool
	CPUProfile    string // file for a pprof CPU profile of the timed steps
	Autocast      string // "", bf16 or fp16
	ChannelsLast  bool
	PluginFlags   pluginhost.Flags
}

// NewCmdBench builds the command; runF replaces the run step in tests.
func NewCmdBench(f *cmdutil.Factory, runF func(*BenchOptions) error) *cobra.Command {
	opts := &BenchOptions{}
	cmd := &cobra.Command{
		Use:   "bench [flags]",
		Short: "Time training steps of a benchmark workload on a backend",
		Long: cmdutil.Dedent(`
			Time training steps of a benchmark workload: build the network from
			the model zoo, compile it on the backend (SGD, momentum 0.9, learning
			rate 0.01, fixed seed), feed one fixed random batch (standard-normal
			images, random {0,1} labels), run the warm-up steps, then time each of
			the timed steps.

			It reports images per second, milliseconds per step (mean, median,
			p90), the process's peak resident memory (VmHWM) and the Go heap
			peak. bench/pytorch_peer.py prints the same JSON keys for the
			same network in PyTorch, and bench/compare.sh runs both.

			Workloads: small64 (3x64x64, conv 32-64-128 with pools, conv 128 on
			the 8x8 map, FC 256, one logistic output), vggm-112 (the default
			reproduction scale's network: VGG-M at width 0.125 on 3x112x112,
			pool2 dropped, 12x12 top maps, FC 512-512-1) and vgg16-224 (VGG-16
			at 224x224, FC 4096-4096-1).

			--interpretable (default auto = true) times the interpretable network:
			the built-in l1 mask plugin on the masked layer and the exact -MI
			filter loss (mi), whose subgraphs are fetched from the plugins once
			(out of process) and compiled into the step. --interpretable=false
			times the ordinary network; the report says which was timed.

			--threads caps the backend's compute threads and GOMAXPROCS; 0 uses
			GOMAXPROCS. A progress bar is drawn on stderr when it is a terminal.
		`),
		Example: cmdutil.Examples(`
			# time small64 on the default backend and print a summary
			$ icnnlab bench --workload small64

			# the network of the default reproduction scale
			$ icnnlab bench --workload vggm-112 --threads 2

			# one thread, 50 timed steps, machine-readable output
			$ icnnlab bench --workload small64 --threads 1 --steps 50 --json

			# profile the timed steps (go tool pprof -top icnnlab cpu.prof)
			$ icnnlab bench --workload small64 --threads 1 --cpuprofile cpu.prof

			# the libtorch backend on a GPU, bf16 autocast, channels-last
			$ icnnlab bench --backend libtorch --device cuda --workload vgg16-224 --autocast bf16 --channels-last

			# pick the backend for this run
			$ icnnlab bench --backend gorgonia --batch 16
			$ ICNNLAB_BACKEND=gorgonia icnnlab bench
		`),
		Args: cmdutil.RequireNoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.IO = f.IOStreams
			opts.Backend = f.Backend
			if err := validate(opts); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return benchRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Workload, "workload", "small64", "workload to time: "+strings.Join(bench.Names(), ", "))
	fl.IntVar(&opts.Batch, "batch", 32, "images per training step")
	fl.IntVar(&opts.Warmup, "warmup", 3, "untimed steps before timing")
	fl.IntVar(&opts.Steps, "steps", 20, "timed training steps")
	fl.IntVar(&opts.Threads, "threads", 0, "compute threads (0: GOMAXPROCS)")
	fl.StringVar(&opts.Device, "device", "", "backend device, e.g. cpu or cuda:0 (default: the backend's)")
	fl.StringVar(&opts.Interpretable, "interpretable", InterpretableAuto, "time the interpretable variant: auto, true or false")
	fl.BoolVar(&opts.JSON, "json", false, "print the result as JSON")
	fl.StringVar(&opts.Autocast, "autocast", "", "mixed precision of the forward pass: bf16 or fp16 (libtorch only; default float32)")
	fl.BoolVar(&opts.ChannelsLast, "channels-last", false, "keep 4-D tensors in channels-last (NHWC) memory (libtorch only)")
	fl.StringVar(&opts.CPUProfile, "cpuprofile", "", "write a pprof CPU profile of the timed steps to this file")
	opts.PluginFlags.Register(fl)
	return cmd
}

// validate checks flag values, reporting them as usage errors. The
// workload and step counts are checked by the config they make, so that the
// command and the package agree on what is valid.
func validate(opts *BenchOptions) error {
	if err := benchConfig(opts).Validate(); err != nil {
		return cmdutil.FlagErrorf("--%v", err)
	}
	switch opts.Autocast {
	case "", "bf16", "fp16":
	default:
		return cmdutil.FlagErrorf("--autocast: %q is not one of bf16, fp16", opts.Autocast)
	}
	switch opts.Interpretable {
	case InterpretableAuto, InterpretableOn, InterpretableOff:
	default:
		return cmdutil.FlagErrorf("--interpretable: %q is not one of auto, true, false", opts.Interpretable)
	}
	return nil
}

// benchConfig is the measurement the flags ask for, without the plugin
// host and the profile file that running it opens.
func benchConfig(opts *BenchOptions) bench.Config {
	return bench.Config{
		Workload:      opts.Workload,
		Batch:         opts.Batch,
		Warmup:        opts.Warmup,
		Steps:         opts.Steps,
		Threads:       opts.Threads,
		Device:        opts.Device,
		Seed:          bench.DefaultSeed,
		Interpretable: opts.Interpretable != InterpretableOff,
		Autocast:      opts.Autocast,
		ChannelsLast:  opts.ChannelsLast,
	}
}

func benchRun(ctx context.Context, opts *BenchOptions) error {
	b, err := opts.Backend()
	if err != nil {
		return err
	}
	cfg := benchConfig(opts)
	if cfg.Interpretable {
		host, err := opts.PluginFlags.NewHost(opts.IO.ErrOut)
		if err != nil {
			return err
		}
		defer host.Close()
		cfg.Plugins = host
	}
	if opts.CPUProfile != "" {
		f, err := os.Create(opts.CPUProfile)
		if err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer f.Close()
		cfg.CPUProfile = f
	}
	var bar *progressbar.ProgressBar
	if opts.IO.IsStderrTTY() {
		bar = progressbar.NewOptions(opts.Warmup+opts.Steps,
			progressbar.OptionSetWriter(opts.IO.ErrOut),
			progressbar.OptionSetDescription(fmt.Sprintf("%s on %s", opts.Workload, b.Name())),
			progressbar.OptionShowCount(),
			progressbar.OptionSetItsString("steps"),
			progressbar.OptionShowIts(),
			progressbar.OptionClearOnFinish(),
		)
		cfg.Progress = func(done, total int) { _ = bar.Set(done) }
	}
	res, err := bench.Run(ctx, b, cfg)
	if bar != nil {
		_ = bar.Finish()
	}
	if err != nil {
		return err
	}
	if opts.JSON {
		return cmdutil.WriteJSON(opts.IO.Out, res)
	}
	return writeSummary(opts.IO.Out, res)
}

func writeSummary(w io.Writer, r *bench.Result) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "workload\t%s (batch %d, %d warm-up + %d timed steps)\n", r.Workload, r.Batch, r.Warmup, r.Steps)
	fmt.Fprintf(tw, "backend\t%s: %s\n", r.Backend, r.BackendDescription)
	fmt.Fprintf(tw, "device\t%s\n", r.Device)
	fmt.Fprintf(tw, "threads\t%d\n", r.Threads)
	fmt.Fprintf(tw, "images/s\t%.1f\n", r.ImagesPerSec)
	fmt.Fprintf(tw, "ms/step\tmean %.1f, median %.1f, p90 %.1f\n", r.MsPerStep.Mean, r.MsPerStep.Median, r.MsPerStep.P90)
	if r.CPUMsPerStep != nil {
		fmt.Fprintf(tw, "CPU ms/step\t%.1f (user + system, all threads)\n", *r.CPUMsPerStep)
	}
	rss := "unavailable (no /proc/self/status)"
	if r.PeakRSSMiB != nil {
		rss = fmt.Sprintf("%.0f MiB", *r.PeakRSSMiB)
	}
	fmt.Fprintf(tw, "peak RSS\t%s (Go heap peak %.0f MiB, %.1f MiB allocated per step)\n", rss, r.GoHeapPeakMiB, r.GoAllocMiBPerStep)
	fmt.Fprintf(tw, "loss\t%.4f (first step) -> %.4f (last step)\n", r.FirstLoss, r.LastLoss)
	fmt.Fprintf(tw, "interpretable\t%t: %s\n", r.Interpretable, r.Note)
	if r.Autocast != "" || r.ChannelsLast {
		fmt.Fprintf(tw, "precision\tautocast %q, channels-last %t\n", r.Autocast, r.ChannelsLast)
	}
	return tw.Flush()
}
