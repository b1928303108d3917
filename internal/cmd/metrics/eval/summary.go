package eval

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/icnnlab/icnnlab/plugins/metrics/accuracy"
	"github.com/icnnlab/icnnlab/plugins/metrics/instability"
	"github.com/icnnlab/icnnlab/plugins/metrics/partinterp"
)

// shown is how many best and worst filters the summary lists.
const shown = 5

func writeSummary(w io.Writer, out *Output, in layerInputs) {
	fmt.Fprintf(w, "%s %s\n", out.Metric, out.Version)
	if in.acts != nil {
		s := in.acts.Shape()
		fmt.Fprintf(w, "layer %s: %d images, %d filters of %d×%d; RF %d px, jump %d, first centre %g\n",
			in.describe, s[0], s[1], s[2], s[3], in.geom.Size, in.geom.Jump, in.geom.Start)
		task := out.Task
		if len(out.Categories) > 0 {
			task += " (" + strings.Join(out.Categories, ", ") + ")"
		}
		fmt.Fprintf(w, "task %s; params %s\n", task, out.Params)
	}
	switch r := out.Result.(type) {
	case *partinterp.Result:
		writePartInterpretability(w, r)
	case *instability.Result:
		writeInstability(w, r)
	case *accuracy.Result:
		writeAccuracy(w, r)
	}
}

// extremes returns up to n items from each end of sorted (best first),
// without listing an item twice when there are fewer than 2n.
func extremes[T any](sorted []T, n int) (best, worst []T) {
	best = sorted[:min(n, len(sorted))]
	rest := sorted[len(best):]
	worst = rest[max(0, len(rest)-n):]
	return best, worst
}

func writePartInterpretability(w io.Writer, r *partinterp.Result) {
	fmt.Fprintf(w, "\npart interpretability (mean P_f over %d filters): %.4f\n", len(r.Filters), r.Mean)
	hits := 0
	for _, f := range r.Filters {
		if f.Score > 0 {
			hits++
		}
	}
	fmt.Fprintf(w, "filters hitting a part: %d of %d\n", hits, len(r.Filters))
	sorted := slices.Clone(r.Filters)
	slices.SortStableFunc(sorted, func(a, b partinterp.FilterScore) int { return cmp.Compare(b.Score, a.Score) })
	best, worst := extremes(sorted, shown)
	table := func(title string, fs []partinterp.FilterScore) {
		if len(fs) == 0 {
			return
		}
		fmt.Fprintf(w, "\n%s\n", title)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "FILTER\tP_f\tPART\tCATEGORY\tIMAGES\tTHRESHOLD")
		for _, f := range fs {
			part := f.BestPart
			if part == "" {
				part = "-"
			}
			category := f.Category
			if category == "" {
				category = "-"
			}
			fmt.Fprintf(tw, "%d\t%.4f\t%s\t%s\t%d\t%.4g\n", f.Filter, f.Score, part, category, f.Images, f.Threshold)
		}
		tw.Flush()
	}
	table("most interpretable", best)
	table("least interpretable", worst)
}

func writeInstability(w io.Writer, r *instability.Result) {
	fmt.Fprintf(w, "\nlocation instability (mean over %d defined of %d filters; lower is better): %.4f\n", r.Defined, len(r.Filters), r.Mean)
	fmt.Fprintf(w, "landmarks: %s; top %d images per filter and landmark\n", strings.Join(r.Landmarks, ", "), r.TopImages)
	if r.DefinedAssigned > 0 {
		fmt.Fprintf(w, "authors' code's assigned-category form (mean over %d filters): %.4f\n", r.DefinedAssigned, r.MeanAssigned)
	}
	var defined []instability.FilterScore
	for _, f := range r.Filters {
		if f.Defined {
			defined = append(defined, f)
		}
	}
	slices.SortStableFunc(defined, func(a, b instability.FilterScore) int { return cmp.Compare(a.Score, b.Score) })
	best, worst := extremes(defined, shown)
	table := func(title string, fs []instability.FilterScore) {
		if len(fs) == 0 {
			return
		}
		fmt.Fprintf(w, "\n%s\n", title)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		header := "FILTER\tD\tCATEGORY"
		for _, l := range r.Landmarks {
			header += "\t" + strings.ToUpper(l)
		}
		fmt.Fprintln(tw, header)
		for _, f := range fs {
			category := f.Category
			if category == "" {
				category = "-"
			}
			row := fmt.Sprintf("%d\t%.4f\t%s", f.Filter, f.Score, category)
			for _, l := range r.Landmarks {
				if d, ok := f.Landmarks[l]; ok {
					row += fmt.Sprintf("\t%.4f (%d)", d, f.Images[l])
				} else {
					row += "\t-"
				}
			}
			fmt.Fprintln(tw, row)
		}
		tw.Flush()
	}
	table("most stable", best)
	table("least stable", worst)
	if undefined := len(r.Filters) - r.Defined; undefined > 0 {
		fmt.Fprintf(w, "\n%d filters undefined (a landmark seen in fewer than 2 images); left out of the mean\n", undefined)
	}
}

func writeAccuracy(w io.Writer, r *accuracy.Result) {
	fmt.Fprintf(w, "\naccuracy: %.2f%% (%d of %d)\n\nconfusion (rows: true class, columns: predicted)\n", 100*r.Accuracy, r.Correct, r.Total)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	header := "\t"
	for p := range r.Confusion {
		header += fmt.Sprintf("%d\t", p)
	}
	fmt.Fprintln(tw, header)
	for t, row := range r.Confusion {
		line := fmt.Sprintf("%d\t", t)
		for _, c := range row {
			line += fmt.Sprintf("%d\t", c)
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()
}
