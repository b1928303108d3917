package report

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"

	"github.com/icnnlab/icnnlab/internal/reproduce/spec"
	"github.com/icnnlab/icnnlab/internal/reproduce/verdict"
)

const htmlStyle = `body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:1150px;color:#222;line-height:1.4}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:.85em;margin:.8em 0}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}
th{background:#f3f3f3}td.l,th.l{text-align:left}.no{color:#b00020;font-weight:bold}.yes{color:#1b7a1b}
.verdict{padding:.6em 1em;border-left:5px solid #888;background:#f7f7f7}.holds{border-color:#1b7a1b}.not-shown{border-color:#c98a00}.contradicted{border-color:#b00020}.not-measurable{border-color:#555}
.legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:middle}
svg text{font-size:11px;fill:#333}.small{font-size:.85em;color:#555}`

// Plot colours: baseline, treatment, paper marker.
const (
	colourBase  = "#8c8c8c"
	colourTreat = "#1f77b4"
	colourPaper = "#d62728"
)

// WriteHTML writes a self-contained page: inline CSS and SVG, no external assets.
func (r *Report) WriteHTML(w io.Writer) error {
	var b strings.Builder
	esc := html.EscapeString
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n")
	fmt.Fprintf(&b, "<title>Paper tables — scale %s</title>\n<style>%s</style></head><body>\n", esc(r.Scale.Name), htmlStyle)
	fmt.Fprintf(&b, "<h1>Interpretable CNNs (Zhang, Wu, Zhu, CVPR 2018) on %s — scale %s</h1>\n", esc(r.dataTitle()), esc(r.Scale.Name))
	if r.synthetic() {
		fmt.Fprintf(&b, "<p>%s. Width %g, %d px, %d epochs, %d runs", esc(r.Scale.Description), r.Scale.Width, r.Scale.ImageSize, r.Scale.Epochs, len(r.Runs))
	} else {
		fmt.Fprintf(&b, "<p>Scale %s, %d runs; each table gives its runs' data and sizes", esc(r.Scale.Name), len(r.Runs))
	}
	if r.WallSeconds > 0 {
		fmt.Fprintf(&b, ", wall time %s", formatDuration(r.WallSeconds))
	}
	b.WriteString(".</p>\n<p class=\"legend small\">Bars: our mean with ± std whiskers;<span style=\"background:" + colourBase + "\"></span>baseline<span style=\"background:" + colourTreat + "\"></span>treatment<span style=\"background:" + colourPaper + "\"></span>paper's number (◆ baseline, ● treatment). Strip plots: one dot per filter (seed 1), bar = mean.")
	if r.anyPurity() {
		b.WriteString(" " + esc(purityLegend))
	}
	b.WriteString("</p>\n")
	for _, t := range r.Tables {
		fmt.Fprintf(&b, "<h2 id=\"table-%s\">%s</h2>\n", esc(t.ID), esc(t.Title))
		b.WriteString("<p class=\"small\">")
		if t.StandsInFor != "" {
			fmt.Fprintf(&b, "Stands in for: %s.<br>", esc(t.StandsInFor))
		}
		if d := dataLine(t); d != "" {
			fmt.Fprintf(&b, "%s<br>", esc(d))
		}
		fmt.Fprintf(&b, "Claim: %s", esc(t.Claim))
		if t.PaperSource != "" {
			fmt.Fprintf(&b, "<br>Paper numbers: %s", esc(t.PaperSource))
		}
		fmt.Fprintf(&b, "<br>Seeds: %d.", t.Seeds)
		for _, s := range t.Setup {
			fmt.Fprintf(&b, "<br>Runs. %s", esc(s))
		}
		b.WriteString("</p>\n")
		b.WriteString("<table><tr><th class=l>metric</th><th class=l>network</th><th class=l>column</th><th class=l>baseline</th><th>ours</th><th class=l>treatment</th><th>ours</th><th>difference [95 % interval]</th><th>paper baseline</th><th>paper treatment</th><th class=l>claim</th><th class=l>outcome</th>")
		purity := hasPurity(t)
		if purity {
			b.WriteString("<th>pattern purity, baseline → treatment</th>")
		}
		b.WriteString("<th class=l>runs</th></tr>\n")
		for _, row := range t.Rows {
			ag := strings.ReplaceAll(outcomeCell(row), "**", "")
			cls := "yes"
			if row.Outcome != verdict.RowHolds {
				cls = "no"
			}
			runs := ""
			if row.Report != "" {
				runs = fmt.Sprintf("<a href=\"%s\">report</a>", esc(row.Report))
			}
			fmt.Fprintf(&b, "<tr><td class=l>%s</td><td class=l>%s</td><td class=l>%s</td><td class=l>%s</td><td>%s</td><td class=l>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td class=l>%s</td><td class=\"l %s\">%s</td>",
				esc(string(row.Metric)), esc(spec.PaperNetwork(row.Arch)), esc(columnCell(row)), esc(row.Baseline), esc(cell(row.Metric, row.Base)),
				esc(row.Treatment), esc(cell(row.Metric, row.Treat)), esc(diffCell(row)), esc(paperCellOf(row, row.PaperBase)), esc(paperCellOf(row, row.PaperTreat)),
				esc(row.Claimed()), cls, esc(ag))
			if purity {
				fmt.Fprintf(&b, "<td>%s</td>", esc(purityCell(row)))
			}
			fmt.Fprintf(&b, "<td class=l>%s</td></tr>\n", runs)
		}
		b.WriteString("</table>\n")
		if na := t.NotApplicableText(); na != "" {
			fmt.Fprintf(&b, "<p><b>Not applicable:</b> %s</p>\n", esc(na))
		}
		for _, m := range verdict.MetricsOf(t.Rows) {
			b.WriteString(barChart(t.Rows, m))
		}
		b.WriteString(stripPlots(t.Distributions))
		if len(t.Notes) > 0 {
			b.WriteString("<ul class=\"small\">")
			for _, n := range t.Notes {
				fmt.Fprintf(&b, "<li>%s</li>", esc(n))
			}
			b.WriteString("</ul>\n")
		}
		fmt.Fprintf(&b, "<p class=\"verdict %s\"><b>Verdict:</b> %s</p>\n", esc(t.Verdict.Outcome), esc(t.Verdict.Text))
	}
	if len(r.Skipped) > 0 {
		fmt.Fprintf(&b, "<p class=small>Not planned at this scale: %s.</p>\n", esc(strings.Join(r.Skipped, ", ")))
	}
	b.WriteString("</body></html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// scaleOf is the value of a row's numbers in plot units (accuracy in %,
// like the paper's).
func plotValue(m spec.Metric, v float64) float64 {
	if m == spec.Accuracy {
		return 100 * v
	}
	return v
}

// barChart draws baseline and treatment bars per row of one metric, with
// std whiskers and the paper's numbers as markers.
func barChart(rows []verdict.Row, m spec.Metric) string {
	var sel []verdict.Row
	maxV := 0.0
	for _, r := range rows {
		if r.Metric != m {
			continue
		}
		sel = append(sel, r)
		for _, v := range []float64{r.Base.Mean + r.Base.Std, r.Treat.Mean + r.Treat.Std} {
			maxV = math.Max(maxV, plotValue(m, v))
		}
		for _, p := range []*float64{r.PaperBase, r.PaperTreat} {
			if p != nil {
				maxV = math.Max(maxV, *p)
			}
		}
	}
	if len(sel) == 0 || maxV <= 0 {
		return ""
	}
	maxV = niceCeil(maxV)
	const left, width, rowH, barH = 320, 520, 34, 12
	h := len(sel)*rowH + 30
	var b strings.Builder
	fmt.Fprintf(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"%s\">\n", left+width+170, h, html.EscapeString(string(m)))
	x := func(v float64) float64 { return left + width*v/maxV }
	for i, r := range sel {
		y := float64(i*rowH + 4)
		col := r.Column
		if r.Dataset != "" {
			col = r.Dataset + " " + col
		}
		label := fmt.Sprintf("%s %s: %s vs %s", spec.PaperNetwork(r.Arch), col, shortLabel(r.Baseline), shortLabel(r.Treatment))
		fmt.Fprintf(&b, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", left-6, y+barH+3, html.EscapeString(label))
		for j, st := range []struct {
			s      verdict.Stat
			colour string
			paper  *float64
			marker string
		}{{r.Base, colourBase, r.PaperBase, "diamond"}, {r.Treat, colourTreat, r.PaperTreat, "circle"}} {
			yy := y + float64(j*(barH+2))
			mean := plotValue(m, st.s.Mean)
			fmt.Fprintf(&b, "<rect x=\"%d\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" fill=\"%s\"><title>%s</title></rect>\n",
				left, yy, x(mean)-left, barH, st.colour, html.EscapeString(cell(m, st.s)))
			if st.s.N > 1 {
				sd := plotValue(m, st.s.Std)
				fmt.Fprintf(&b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#000\"/>\n", x(mean-sd), x(mean+sd), yy+barH/2, yy+barH/2)
			}
			if st.paper != nil {
				px, py := x(*st.paper), yy+barH/2
				if st.marker == "diamond" {
					fmt.Fprintf(&b, "<path d=\"M%.1f %.1fl5 5-5 5-5-5z\" fill=\"%s\"><title>paper %.3f</title></path>\n", px, py-5, colourPaper, *st.paper)
				} else {
					fmt.Fprintf(&b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4.5\" fill=\"%s\"><title>paper %.3f</title></circle>\n", px, py, colourPaper, *st.paper)
				}
			}
		}
	}
	axisY := len(sel)*rowH + 6
	fmt.Fprintf(&b, "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"#555\"/>\n", left, left+width, axisY, axisY)
	for k := 0; k <= 4; k++ {
		v := maxV * float64(k) / 4
		fmt.Fprintf(&b, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.3g</text>\n", x(v), axisY+14, v)
	}
	fmt.Fprintf(&b, "<text x=\"%d\" y=\"%d\">%s</text>\n", left+width+8, axisY+4, html.EscapeString(string(m)))
	b.WriteString("</svg>\n")
	return b.String()
}

func shortLabel(variant string) string {
	return strings.TrimSuffix(variant, " (l1+mi)")
}

// stripPlots draws the per-filter values of baseline and treatments side by
// side, one strip per variant, grouped by metric, network and column.
func stripPlots(ds []verdict.Distribution) string {
	if len(ds) == 0 {
		return ""
	}
	type group struct {
		metric       spec.Metric
		arch, column string
		items        []verdict.Distribution
	}
	var groups []*group
	for _, d := range ds {
		var g *group
		for _, gg := range groups {
			if gg.metric == d.Metric && gg.arch == d.Arch && gg.column == d.Column {
				g = gg
			}
		}
		if g == nil {
			g = &group{metric: d.Metric, arch: d.Arch, column: d.Column}
			groups = append(groups, g)
		}
		g.items = append(g.items, d)
	}
	var b strings.Builder
	b.WriteString("<div>")
	for _, g := range groups {
		maxV := 0.0
		for _, d := range g.items {
			for _, v := range d.Values {
				maxV = math.Max(maxV, v)
			}
		}
		if maxV <= 0 {
			maxV = 1
		}
		maxV = niceCeil(maxV)
		const left, width, stripH = 170, 330, 26
		h := len(g.items)*stripH + 40
		fmt.Fprintf(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" style=\"margin:4px 10px 4px 0\">\n", left+width+20, h)
		fmt.Fprintf(&b, "<text x=\"4\" y=\"12\">%s, %s %s: per-filter %s</text>\n", html.EscapeString(string(g.metric)), html.EscapeString(spec.PaperNetwork(g.arch)), html.EscapeString(g.column), perFilterName(g.metric))
		x := func(v float64) float64 { return left + width*v/maxV }
		for i, d := range g.items {
			y := float64(20 + i*stripH)
			colour := colourTreat
			if i == 0 {
				colour = colourBase
			}
			fmt.Fprintf(&b, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s (%d)</text>\n", left-6, y+stripH/2+3, html.EscapeString(shortLabel(d.Variant)), len(d.Values))
			sum := 0.0
			for k, v := range d.Values {
				jitter := float64((k*7919)%17)/17*(stripH-8) + 4
				fmt.Fprintf(&b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2\" fill=\"%s\" fill-opacity=\"0.6\"/>", x(v), y+jitter, colour)
				sum += v
			}
			if len(d.Values) > 0 {
				mean := sum / float64(len(d.Values))
				fmt.Fprintf(&b, "\n<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#000\" stroke-width=\"2\"><title>mean %.3f</title></line>\n", x(mean), x(mean), y+1, y+stripH-1, mean)
			}
		}
		axisY := 20 + len(g.items)*stripH + 2
		fmt.Fprintf(&b, "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"#555\"/>\n", left, left+width, axisY, axisY)
		for k := 0; k <= 4; k++ {
			v := maxV * float64(k) / 4
			fmt.Fprintf(&b, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.3g</text>\n", x(v), axisY+13, v)
		}
		b.WriteString("</svg>\n")
	}
	b.WriteString("</div>\n")
	return b.String()
}

func perFilterName(m spec.Metric) string {
	if m == spec.PartInterpretability {
		return "P_f"
	}
	return "D_f"
}

// niceCeil rounds an axis maximum up to 1, 2, 2.5 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if v <= m*p*(1+1e-9) {
			return m * p
		}
	}
	return 10 * p
}
