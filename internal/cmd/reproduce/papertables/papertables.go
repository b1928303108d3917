// Package papertables implements `icnnlab reproduce paper-tables`.
package papertables

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/internal/atomicfile"
	"github.com/icnnlab/icnnlab/internal/cmd/cmdutil"
	"github.com/icnnlab/icnnlab/internal/cmd/grid/engine"
	"github.com/icnnlab/icnnlab/internal/cmd/iostreams"
	"github.com/icnnlab/icnnlab/internal/data/catalog"
	"github.com/icnnlab/icnnlab/internal/grid"
	"github.com/icnnlab/icnnlab/internal/pluginhost"
	"github.com/icnnlab/icnnlab/internal/reproduce/execute"
	"github.com/icnnlab/icnnlab/internal/reproduce/plan"
	"github.com/icnnlab/icnnlab/internal/reproduce/report"
	"github.com/icnnlab/icnnlab/internal/runstore"
	"github.com/icnnlab/icnnlab/internal/zoo"
)

// PaperTablesOptions is everything `icnnlab reproduce paper-tables` needs.
type PaperTablesOptions struct {
	IO      *iostreams.IOStreams
	Backend func() (backends.Backend, error)

	PluginFlags pluginhost.Flags
	Scale       string
	Tables      []string
	Seeds       int
	// WorldSeed (> 0) and Difficulty (when DifficultySet) run the tables
	// on another synthetic world (--world-seed, --difficulty).
	WorldSeed     uint64
	Difficulty    float64
	DifficultySet bool
	Out           string
	RunsDir       string
	Device        string
	Threads       int
	// Data maps real dataset names to their root directories (--data);
	// a dataset named without a path has its default location.
	Data map[string]string
	// Reports is what visualizer report each table row links to (--reports):
	// "quick" (receptive fields and patterns), "full" (with the up-conv
	// decoder), or "none".
	Reports string
	// InitWeights maps architectures to weights files their runs start
	// from (--init-weights ARCH=FILE; docs/weights.md).
	InitWeights map[string]string
	// Engine runs the runs: local (this process) or slurm (a grid).
	Engine engine.Flags
}

// archFileFlag is --init-weights: ARCH=FILE entries, comma-separated or repeated.
func archFileFlag(m *map[string]string) entriesFlag {
	return entriesFlag{m: m, typ: "ARCH=FILE", add: addArchFile}
}

func addArchFile(m map[string]string, item string) error {
	arch, path, ok := strings.Cut(item, "=")
	switch {
	case !ok || path == "":
		return fmt.Errorf("%q: want ARCH=FILE, e.g. vgg-16=vgg16.safetensors", item)
	case arch == zoo.ArchAlexNet:
		return fmt.Errorf("alexnet: the tables' AlexNet is the 2012 paper's network, whose channel counts torchvision's AlexNet weights do not fit (they fit %s, which train --arch offers)", zoo.ArchAlexNetTorchvision)
	case !slices.Contains(zoo.Names(), arch):
		return fmt.Errorf("%q is not an architecture (%s)", arch, strings.Join(zoo.Names(), ", "))
	}
	m[arch] = path
	return nil
}

// DataFlag is --data: NAME[=PATH] entries, comma-separated or repeated
// (shared with `icnnlab grid submit`).
func DataFlag(m *map[string]string) pflag.Value {
	return entriesFlag{m: m, typ: "NAME[=PATH]", add: addDataset}
}

func addDataset(m map[string]string, item string) error {
	name, path, hasPath := strings.Cut(item, "=")
	info, ok := catalog.DatasetByName(name)
	switch {
	case !ok:
		return fmt.Errorf("unknown dataset %q (datasets: %s)", name, strings.Join(catalog.DatasetNames(), ", "))
	case hasPath && path == "":
		return fmt.Errorf("%s=: empty path", name)
	case !hasPath && info.DefaultPath == nil:
		return fmt.Errorf("%s needs its root directory: %s=PATH", name, name)
	case !hasPath:
		path = info.DefaultPath()
	}
	if _, dup := m[name]; dup {
		return fmt.Errorf("%s is given twice", name)
	}
	m[name] = path
	return nil
}

// NewCmdPaperTables builds the command; runF replaces the run step in tests.
func NewCmdPaperTables(f *cmdutil.Factory, runF func(*PaperTablesOptions) error) *cobra.Command {
	opts := &PaperTablesOptions{}
	sel := SelectionFlags{Scale: &opts.Scale, Tables: &opts.Tables, Seeds: &opts.Seeds, Data: &opts.Data}
	cmd := &cobra.Command{
		Use:   "paper-tables [flags]",
		Short: "Reproduce Tables 1-7, the mask/loss ablation and the thesis comparison",
		Long: cmdutil.Dedent(`
			Reproduce the paper's tables on the synthetic part world (or on
			the paper's datasets, with --data) and say, table by table, whether
			the paper's claim holds here.

			The tables are declarative specs compiled into icnnlab (see
			reproductions/*.yaml): the paper's numbers copied from its CSVs, the
			claimed direction (interpretable > ordinary for part
			interpretability, < for location instability, accuracy roughly
			preserved), and the runs that stand in for each paper dataset at
			each scale. Runs shared by several tables are trained once, and
			finished runs are reused from the run store (--runs), so a second
			invocation only measures.

			Scales: quick (about a minute on 2 idle CPU cores), default (about
			14 minutes on 2 idle CPU cores), full (the paper's setting: full-width
			networks at 224 px; for a GPU). Every run is measured on its test
			split: the top conv-layer's activations (for the interpretable CNN,
			the inserted interpretable conv) go to the part-interpretability and
			location-instability metric plugins, the logits to the accuracy
			plugin; all metrics run out of process. Results are aggregated over
			seeds (mean ± std) and written to --out as Markdown, CSV, JSON and a
			self-contained HTML page; the verdicts are printed. A variant
			whose name ends in @init (the ablation's interpretable@init) is an
			untrained control: the network at its initialisation, 0 epochs;
			its rows show how much of a trained variant's numbers exists
			before training, and are never judged.

			The paper fine-tunes ImageNet-pretrained networks. --init-weights
			ARCH=FILE starts every run of that architecture from a weights file
			(torchvision's vgg16 for vgg-16; see docs/weights.md); it needs
			--scale full, whose networks have the published widths.

			--data NAME=PATH runs the tables the paper measured on a real
			dataset on that dataset instead of the synthetic world, with its part
			masks and landmarks as the metrics' ground truth: voc-part (Tables
			1, 2, 4, 6, 7), ilsvrc-part (Tables 3, 6, 7) and cub200 (Tables 5, 7;
			its negatives are VOC Part objects, so it needs voc-part too). PATH is
			the dataset's root in the layout of docs/datasets.md. Every
			annotation file and image the runs read is checked before training;
			an error names the file and the line, field or offset. Without
			--tables, --data runs only the tables of the named datasets.

			--data fashion-mnist[=DIR] (or --tables fashion) adds the
			Fashion-MNIST table: Table 7's multi-category accuracy columns on
			Fashion-MNIST, beside the paper's numbers; the part metrics do not
			apply to it (no part labels). It never runs by default. DIR defaults
			to $ICNNLAB_FASHION_MNIST or /usr/share/datasets/fashion-mnist
			(apt-get install dataset-fashion-mnist).

			Each row of a table on the synthetic world links, in the HTML page,
			to a visualizer report (icnnlab visualize) that sets its baseline
			and treatment runs side by side: receptive-field overlays, the
			part-coverage map and per-filter cards, in reports/ under --out.
			--engine slurm hands the runs to Slurm as one job array (a grid, see
			icnnlab grid and docs/cluster.md), waits for them and writes the
			same tables; --runs must then be on a file system the nodes share.
			--reports quick (the default) leaves out the up-conv decoder, full
			includes it, none makes no reports. A report that fails is named
			and the tables are written without its link.
		`),
		Example: cmdutil.Examples(`
			# the smoke reproduction (a few minutes on a laptop)
			$ icnnlab reproduce paper-tables --quick

			# the default scale, only tables 1, 3 and 7, three seeds
			$ icnnlab reproduce paper-tables --tables 1,3,7 --seeds 3

			# the ablation of masks and losses, reports into ./ablation
			$ icnnlab reproduce paper-tables --tables ablation --out ablation

			# the paper's setting on a GPU backend
			$ icnnlab reproduce paper-tables --scale full --backend libtorch --device cuda

			# the same, VGG-16 starting from torchvision's ImageNet weights
			$ icnnlab reproduce paper-tables --scale full --backend libtorch --device cuda --init-weights vgg-16=vgg16.safetensors

			# every row's report with the up-conv decoder (about a minute per row on 2 cores)
			$ icnnlab reproduce paper-tables --quick --reports full

			# the Fashion-MNIST accuracy table (Debian's files; about 20 minutes)
			$ icnnlab reproduce paper-tables --data fashion-mnist

			# every table at the paper's setting as a Slurm job array on GPU nodes
			$ icnnlab --backend libtorch reproduce paper-tables --scale full --device cuda --engine slurm --gres gpu:1 --time 8:00:00 --runs /shared/runs

			# Tables 1, 2, 4, 6 and 7 on Pascal VOC Part, 5 and 7 on CUB-200-2011
			$ icnnlab reproduce paper-tables --data voc-part=/data/VOCPart,cub200=/data/CUB_200_2011
		`),
		Args: cmdutil.RequireNoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.IO = f.IOStreams
			opts.Backend = f.Backend
			if err := sel.Check(cmd); err != nil {
				return err
			}
			opts.DifficultySet = cmd.Flags().Changed("difficulty")
			if opts.DifficultySet && (opts.Difficulty < 0 || opts.Difficulty > 1) {
				return cmdutil.FlagErrorf("--difficulty: %g is not in [0, 1]", opts.Difficulty)
			}
			if err := opts.Engine.Validate(); err != nil {
				return err
			}
			if !slices.Contains([]string{"quick", "full", "none"}, opts.Reports) {
				return cmdutil.FlagErrorf("--reports: %q is not one of quick, full, none", opts.Reports)
			}
			if runF != nil {
				return runF(opts)
			}
			return paperTablesRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	sel.Register(fl, SelectionUsage{
		Scale:  "scale preset: quick, default, full (see reproductions/scales.yaml)",
		Tables: "tables to reproduce: 1-7, ablation, thesis, fashion (default: all but fashion; with --data, those of the named datasets)",
		Data:   "real datasets as NAME=PATH: voc-part, ilsvrc-part, cub200, fashion-mnist (its PATH is optional)",
	})
	fl.Uint64Var(&opts.WorldSeed, "world-seed", 0, "seed of the synthetic evaluation world (0: the scale's; the report records it)")
	fl.Float64Var(&opts.Difficulty, "difficulty", 0, "difficulty of the synthetic world in [0,1] (default: the scale's)")
	fl.StringVar(&opts.Out, "out", "paper-tables", "directory for the Markdown, CSV, JSON and HTML reports")
	fl.StringVar(&opts.RunsDir, "runs", "", "run store directory (default $"+runstore.EnvVar+" or ./runs)")
	fl.StringVar(&opts.Device, "device", "", "backend device (default: the backend's)")
	fl.IntVar(&opts.Threads, "threads", 0, "compute threads (0: all)")
	fl.StringVar(&opts.Reports, "reports", "quick", "visualizer report per table row: quick (no decoder), full, none")
	fl.Var(archFileFlag(&opts.InitWeights), "init-weights", "start the runs of an architecture from a weights file, as ARCH=FILE (torchvision names; needs --scale full; see docs/weights.md)")
	opts.Engine.Register(fl, string(grid.EngineLocal))
	opts.PluginFlags.Register(fl)
	return cmd
}

func paperTablesRun(ctx context.Context, opts *PaperTablesOptions) error {
	start := time.Now()
	sel, err := plan.Resolve(plan.Selection{Scale: opts.Scale, Tables: opts.Tables, Seeds: opts.Seeds, Data: opts.Data})
	var selErr *plan.SelectionError
	if errors.As(err, &selErr) {
		return cmdutil.FlagErrorf("%v", err)
	} else if err != nil {
		return err
	}
	scale, data := sel.Scale, maps.Clone(sel.Data)
	if data == nil {
		data = map[string]string{}
	}
	pl, err := plan.MakePlan(sel.Specs, scale, plan.PlanOptions{Seeds: opts.Seeds, Datasets: slices.Sorted(maps.Keys(data)),
		WorldSeed: opts.WorldSeed, Difficulty: opts.Difficulty, DifficultySet: opts.DifficultySet})
	if err != nil {
		return err
	}
	if len(opts.InitWeights) > 0 && opts.Engine.Engine != string(grid.EngineLocal) {
		// A grid plans its runs again in each job from grid.Request, which does not carry weights files.
		return cmdutil.FlagErrorf("--init-weights runs with --engine %s only; a grid's jobs would start from scratch", grid.EngineLocal)
	}
	if err := applyInitWeights(pl, opts.InitWeights, opts.IO.ErrOut); err != nil {
		return err
	}
	used := pl.Datasets()
	for _, name := range slices.Sorted(maps.Keys(data)) {
		if !slices.Contains(used, name) && !slices.ContainsFunc(used, func(u string) bool {
			info, _ := catalog.DatasetByName(u)
			return info.NegativesFrom == name
		}) {
			fmt.Fprintf(opts.IO.ErrOut, "note: no selected table runs on %s at scale %s; it is not read\n", name, scale.Name)
			delete(data, name)
		}
	}
	// Parse every annotation file now, before any training.
	sources, err := catalog.OpenSources(data)
	if err != nil {
		return err
	}
	errOut := opts.IO.ErrOut
	var ids []string
	for _, t := range pl.Tables {
		ids = append(ids, t.Spec.ID)
	}
	budget := " (" + scale.Budget + ")"
	if !slices.ContainsFunc(pl.Runs, func(r *plan.PlannedRun) bool { return r.Dataset == "" }) {
		budget = "" // the scale's budget is the synthetic plan's
	}
	world := ""
	if budget != "" {
		world = fmt.Sprintf(" (world seed %d, difficulty %g)", pl.Scale.EvalWorldSeed(), pl.Scale.Difficulty)
	}
	fmt.Fprintf(errOut, "scale %s%s: %d distinct runs for tables %s%s\n", scale.Name, budget, len(pl.Runs), strings.Join(ids, ", "), world)
	for _, name := range slices.Sorted(maps.Keys(sources)) {
		fmt.Fprintf(errOut, "real data: %s from %s\n", name, sources[name].Path)
	}
	if len(pl.Skipped) > 0 {
		fmt.Fprintf(errOut, "not planned at this scale: %s\n", strings.Join(pl.Skipped, ", "))
	}

	b, err := opts.Backend()
	if err != nil {
		return err
	}
	store, err := runstore.Open(opts.RunsDir)
	if err != nil {
		return err
	}
	host, err := opts.PluginFlags.NewHost(errOut)
	if err != nil {
		return err
	}
	defer host.Close()
	eo := execute.ExecOptions{Backend: b, Device: opts.Device, Store: store, Plugins: host, Log: errOut, Threads: opts.Threads, Sources: sources}
	if opts.IO.IsStderrTTY() {
		eo.Progress = errOut
	}
	var rep *report.Report
	if opts.Engine.Engine == string(grid.EngineLocal) {
		results, err := execute.Execute(ctx, pl, eo)
		if err != nil {
			return err
		}
		if rep, err = report.BuildReport(pl, results); err != nil {
			return err
		}
	} else {
		// The same runs as a grid on the engine (docs/cluster.md).
		req := grid.Request{Scale: scale.Name, Tables: ids, Seeds: opts.Seeds, Data: data}
		if len(data) == 0 {
			req.Data = nil
		}
		rep, err = engine.Reproduce(ctx, opts.IO, b, &opts.PluginFlags, req, opts.RunsDir, opts.Device, opts.Threads, opts.Engine)
		if err != nil {
			return err
		}
	}
	// A run of this command killed mid-write left temporary files in --out
	// (the reports tree included); they are not results.
	if _, err := atomicfile.RemoveStaleTree(opts.Out); err != nil {
		return err
	}
	failed := 0
	if opts.Reports != "none" {
		err := rep.LinkReports(opts.Out, func(runs []string, dir string) error {
			paths := make([]string, len(runs))
			for i, r := range runs {
				paths[i] = filepath.Join(store.Root, r) // results name runs relative to the store
			}
			if err := report.RenderRowReport(ctx, paths, dir, opts.Reports, scale, b, opts.Device, host); err != nil {
				failed++
				fmt.Fprintf(errOut, "warning: %v\n", err)
				return nil // the tables are written without this link
			}
			return nil
		}, func(k, n int, name string) {
			fmt.Fprintf(errOut, "report %d of %d: %s\n", k, n, name)
		})
		if err != nil {
			return err
		}
	}
	rep.Backend = b.Name()
	rep.WallSeconds = time.Since(start).Seconds()
	if err := rep.WriteAll(opts.Out); err != nil {
		return err
	}
	fmt.Fprintf(errOut, "reports in %s: %s, %s, %s, %s (%.1f min)\n", opts.Out, report.MarkdownFile, report.CSVFile,
		report.JSONFile, report.HTMLFile, rep.WallSeconds/60)
	if failed > 0 {
		fmt.Fprintf(errOut, "warning: %d row reports failed (see above); their rows have no link\n", failed)
	}
	return rep.WriteVerdicts(opts.IO.Out)
}

// applyInitWeights checks the --init-weights files exist, points the plan's
// runs at them and says which runs each one starts.
func applyInitWeights(pl *plan.Plan, files map[string]string, log io.Writer) error {
	for arch, path := range files {
		if _, err := os.Stat(path); err != nil {
			return cmdutil.FlagErrorf("--init-weights %s=%s: %v", arch, path, err)
		}
	}
	counts, err := pl.UseInitWeights(files)
	if err != nil {
		return cmdutil.FlagErrorf("--init-weights: %v", err)
	}
	for _, arch := range slices.Sorted(maps.Keys(files)) {
		if counts[arch] == 0 {
			fmt.Fprintf(log, "note: --init-weights %s: no selected run uses %s\n", arch, arch)
		} else {
			fmt.Fprintf(log, "%d %s runs start from %s\n", counts[arch], arch, files[arch])
		}
	}
	return nil
}
