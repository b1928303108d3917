package visualize

import (
	"cmp"
	"fmt"
	"html/template"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/icnnlab/icnnlab/plugins/visualizers/draw"
)

// Series is one named curve of a line plot.
type Series struct {
	Name   string
	X, Y   []float64
	Colour string
}

// svg sizes.
const (
	plotW, plotH       = 420, 220
	padL, padR         = 52, 16
	padT, padB         = 26, 34 // the title and legend sit in the top band
	defaultCurveColour = "#1f77b4"
)

var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"}

// LinePlot draws series as an inline SVG with axes, ticks and a legend.
// Non-finite points are skipped.
func LinePlot(title, xLabel string, series []Series) template.HTML {
	return LinePlotClipped(title, xLabel, series, math.Inf(1))
}

// LinePlotClipped is LinePlot with the y axis ending at yTop at the
// most: larger values are drawn at the top edge, so that a first few
// large losses do not flatten the rest of the curve.
func LinePlotClipped(title, xLabel string, series []Series, yTop float64) template.HTML {
	xmin, xmax, ymin, ymax := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, s := range series {
		for i := range s.X {
			if finite(s.X[i]) && finite(s.Y[i]) {
				xmin, xmax = math.Min(xmin, s.X[i]), math.Max(xmax, s.X[i])
				ymin, ymax = math.Min(ymin, s.Y[i]), math.Max(ymax, math.Min(s.Y[i], yTop))
			}
		}
	}
	var b strings.Builder
	open(&b, title)
	if xmin > xmax {
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="empty">no data</text></svg>`, plotW/2, plotH/2)
		return template.HTML(b.String())
	}
	xmin, xmax = widen(xmin, xmax)
	ymin, ymax = widen(math.Min(ymin, 0), ymax)
	px := func(x float64) float64 { return padL + (x-xmin)/(xmax-xmin)*(plotW-padL-padR) }
	py := func(y float64) float64 { return plotH - padB - (y-ymin)/(ymax-ymin)*(plotH-padT-padB) }
	axes(&b, xmin, xmax, ymin, ymax, px, py, xLabel)
	legendX := plotW - padR // the legend runs leftwards from the top right
	for k := len(series) - 1; k >= 0; k-- {
		s := series[k]
		colour := s.Colour
		if colour == "" {
			colour = palette[k%len(palette)]
		}
		var pts []string
		for i := range s.X {
			if finite(s.X[i]) && finite(s.Y[i]) {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(s.X[i]), py(math.Min(s.Y[i], ymax))))
			}
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"><title>%s</title></polyline>`,
			colour, strings.Join(pts, " "), template.HTMLEscapeString(s.Name))
		// 5.5 px per character of the 10-px legend font is a safe width.
		w := int(5.5*float64(len([]rune(s.Name)))) + 14
		legendX -= w
		fmt.Fprintf(&b, `<rect x="%d" y="9" width="10" height="3" fill="%s"/><text x="%d" y="14" class="legend">%s</text>`,
			legendX, colour, legendX+13, template.HTMLEscapeString(s.Name))
		legendX -= 8
	}
	b.WriteString("</svg>")
	return template.HTML(b.String())
}

// Histogram draws the distribution of values over bins equal-width bins
// spanning [lo, hi].
func Histogram(title, xLabel string, values []float64, lo, hi float64, bins int) template.HTML {
	counts := make([]float64, bins)
	n := 0
	for _, v := range values {
		if !finite(v) {
			continue
		}
		i := int((v - lo) / (hi - lo) * float64(bins))
		counts[min(max(i, 0), bins-1)]++
		n++
	}
	var b strings.Builder
	open(&b, title)
	if n == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="empty">no data</text></svg>`, plotW/2, plotH/2)
		return template.HTML(b.String())
	}
	top := 0.0
	for _, c := range counts {
		top = math.Max(top, c)
	}
	ymin, ymax := 0.0, countTop(top)
	px := func(x float64) float64 { return padL + (x-lo)/(hi-lo)*(plotW-padL-padR) }
	py := func(y float64) float64 { return plotH - padB - (y-ymin)/(ymax-ymin)*(plotH-padT-padB) }
	axes(&b, lo, hi, ymin, ymax, px, py, xLabel)
	w := (hi - lo) / float64(bins)
	for i, c := range counts {
		x0, x1 := px(lo+float64(i)*w), px(lo+float64(i+1)*w)
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%.3g–%.3g: %d</title></rect>`,
			x0+0.5, py(c), math.Max(x1-x0-1, 0.5), py(0)-py(c), defaultCurveColour, lo+float64(i)*w, lo+float64(i+1)*w, int(c))
	}
	b.WriteString("</svg>")
	return template.HTML(b.String())
}

// Bars draws one bar per label.
func Bars(title string, labels []string, values []float64) template.HTML {
	var b strings.Builder
	open(&b, title)
	if len(labels) == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="empty">no data</text></svg>`, plotW/2, plotH/2)
		return template.HTML(b.String())
	}
	top := 0.0
	for _, v := range values {
		top = math.Max(top, v)
	}
	ymin, ymax := 0.0, countTop(top)
	slot := float64(plotW-padL-padR) / float64(len(labels))
	py := func(y float64) float64 { return plotH - padB - (y-ymin)/(ymax-ymin)*(plotH-padT-padB) }
	axes(&b, 0, 1, ymin, ymax, nil, py, "")
	for i, v := range values {
		x := padL + float64(i)*slot
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s: %g</title></rect>`,
			x+slot*0.15, py(v), slot*0.7, py(0)-py(v), defaultCurveColour, template.HTMLEscapeString(labels[i]), v)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" class="tick" text-anchor="middle">%s</text>`, x+slot/2, plotH-padB+14, template.HTMLEscapeString(labels[i]))
	}
	b.WriteString("</svg>")
	return template.HTML(b.String())
}

func open(b *strings.Builder, title string) {
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" class="plot" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">`,
		plotW, plotH, plotW, plotH, template.HTMLEscapeString(title))
	fmt.Fprintf(b, `<text x="8" y="14" class="title">%s</text>`, template.HTMLEscapeString(title))
}

func axes(b *strings.Builder, xmin, xmax, ymin, ymax float64, px, py func(float64) float64, xLabel string) {
	fmt.Fprintf(b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" class="axis"/>`, padL, py(ymin), plotW-padR, py(ymin))
	fmt.Fprintf(b, `<line x1="%d" y1="%d" x2="%d" y2="%.1f" class="axis"/>`, padL, padT, padL, py(ymin))
	for i := 0; i <= 4; i++ {
		y := ymin + float64(i)/4*(ymax-ymin)
		fmt.Fprintf(b, `<text x="%d" y="%.1f" class="tick" text-anchor="end">%s</text>`, padL-4, py(y)+3, tick(y))
	}
	if px != nil {
		for i := 0; i <= 4; i++ {
			x := xmin + float64(i)/4*(xmax-xmin)
			fmt.Fprintf(b, `<text x="%.1f" y="%d" class="tick" text-anchor="middle">%s</text>`, px(x), plotH-padB+14, tick(x))
		}
	}
	if xLabel != "" {
		fmt.Fprintf(b, `<text x="%d" y="%d" class="tick" text-anchor="middle">%s</text>`, (padL+plotW-padR)/2, plotH-4, template.HTMLEscapeString(xLabel))
	}
}

// tick formats an axis value in at most about five characters; whole
// numbers up to a million print in full ("1991", not "1.99e+03").
func tick(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e6 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return fmt.Sprintf("%.3g", v)
}

// countTop is the top of a count axis: the next multiple of 4 (its tick
// count) at or above top, so that every tick is a whole number.
func countTop(top float64) float64 { return math.Max(4, math.Ceil(top/4)*4) }

func widen(lo, hi float64) (float64, float64) {
	if hi-lo < 1e-12 {
		return lo - 0.5, hi + 0.5
	}
	return lo, hi
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// CoverageColumn is one filter's column of a coverage map.
type CoverageColumn struct {
	Filter int
	// Shares are the shares of the filter's receptive-field region on each
	// group, in [0, 1]; nil when its region is empty.
	Shares []float64
	// Best is the index of the non-background group it covers most, -1
	// for none.
	Best int
	// Link is the URL of the filter's card, "" when it has none.
	Link string
}

// coverage map sizes.
const (
	covLabelW, covTop, covRowH = 84, 6, 16
	covMaxW                    = 860 // the grid's widest
	covLabelLines              = 3
)

// CoverageMap draws which part groups the filters' receptive-field regions
// cover: one row per group, one column per filter, coloured by the share
// (draw.Heat: black 0 → pale yellow 1). Columns are grouped by the filter's
// best group, most covering first; a bracket under each run of columns
// names the group and counts its filters. Filters with a card are marked
// ▲ and link to it.
func CoverageMap(title string, groups []string, cols []CoverageColumn) template.HTML {
	cols = slices.Clone(cols)
	order := func(c CoverageColumn) int {
		if c.Best < 0 || c.Best >= len(groups) {
			return len(groups)
		}
		return c.Best
	}
	share := func(c CoverageColumn) float64 {
		if c.Best >= 0 && c.Best < len(c.Shares) {
			return c.Shares[c.Best]
		}
		return 0
	}
	slices.SortStableFunc(cols, func(a, b CoverageColumn) int {
		return cmp.Or(cmp.Compare(order(a), order(b)), cmp.Compare(share(b), share(a)), cmp.Compare(a.Filter, b.Filter))
	})
	n := len(cols)
	cw := min(max(covMaxW/max(n, 1), 3), 14)
	numbers := cw >= 9
	gridH := len(groups) * covRowH
	y := covTop + gridH
	numbersH := 0
	if numbers {
		numbersH = 24
	}
	markY := y + numbersH + 9
	bracketY := markY + 6
	w := covLabelW + n*cw + 70
	h := bracketY + 14 + 11*covLabelLines
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="coverage" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">`,
		w, h, w, h, template.HTMLEscapeString(title))
	for gi, g := range groups {
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="label" text-anchor="end">%s</text>`, covLabelW-6, covTop+gi*covRowH+12, template.HTMLEscapeString(g))
	}
	for k, c := range cols {
		x := covLabelW + k*cw
		if c.Link != "" {
			fmt.Fprintf(&b, `<a href="%s">`, template.HTMLEscapeString(c.Link))
		}
		for gi, g := range groups {
			v := 0.0
			if gi < len(c.Shares) {
				v = c.Shares[gi]
			}
			col := draw.Heat(v)
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="#%02x%02x%02x"><title>filter %d: %s %.0f%%</title></rect>`,
				x, covTop+gi*covRowH, cw, covRowH, col.R, col.G, col.B, c.Filter, template.HTMLEscapeString(g), 100*v)
		}
		if numbers {
			fmt.Fprintf(&b, `<text transform="translate(%.1f %d) rotate(-90)" class="tick%s" text-anchor="end">%d</text>`,
				float64(x)+float64(cw)/2+3, y+3, map[bool]string{true: " carded", false: ""}[c.Link != ""], c.Filter)
		}
		if c.Link != "" {
			cx := float64(x) + float64(cw)/2
			fmt.Fprintf(&b, `<path d="M%.1f %d l-4 7 h8 z" class="mark"><title>filter %d has a card</title></path></a>`, cx, markY-7, c.Filter)
		}
	}
	// Grid lines between the groups' rows.
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" class="frame"/>`, covLabelW, covTop, n*cw, gridH)
	// Brackets naming each run of columns with the same best group; a
	// label that would overlap its left neighbour drops a line (of three).
	lineEnd := [covLabelLines]float64{math.Inf(-1), math.Inf(-1), math.Inf(-1)}
	for lo := 0; lo < n; {
		hi := lo
		for hi < n && order(cols[hi]) == order(cols[lo]) {
			hi++
		}
		name := "no part"
		if o := order(cols[lo]); o < len(groups) {
			name = groups[o]
		}
		x0, x1 := covLabelW+lo*cw+1, covLabelW+hi*cw-1
		fmt.Fprintf(&b, `<path d="M%d %d v4 H%d v-4" class="bracket"/>`, x0, bracketY, x1)
		label := fmt.Sprintf("%s %d", name, hi-lo)
		mid, half := float64(x0+x1)/2, 2.75*float64(len(label)) // about 5.5 px a character
		line := 0
		for line < covLabelLines-1 && mid-half < lineEnd[line]+4 {
			line++
		}
		lineEnd[line] = mid + half
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" class="tick" text-anchor="middle"><title>%d filters cover %s most</title>%s</text>`,
			mid, bracketY+16+11*line, hi-lo, template.HTMLEscapeString(name), template.HTMLEscapeString(label))
		lo = hi
	}
	// Colour scale.
	lx := covLabelW + n*cw + 14
	for i := range 10 {
		col := draw.Heat(1 - (float64(i)+0.5)/10)
		fmt.Fprintf(&b, `<rect x="%d" y="%.1f" width="10" height="%.1f" fill="#%02x%02x%02x"/>`, lx, covTop+float64(i*gridH)/10, float64(gridH)/10+0.3, col.R, col.G, col.B)
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" class="tick">100%%</text><text x="%d" y="%d" class="tick">0%%</text>`, lx+13, covTop+8, lx+13, covTop+gridH)
	b.WriteString("</svg>")
	return template.HTML(b.String())
}
