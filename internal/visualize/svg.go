package visualize

import (
	"fmt"
	"html/template"
	"math"
	"strings"
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
	padL, padR         = 52, 12
	padT, padB         = 14, 34
	defaultCurveColour = "#1f77b4"
)

var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"}

// LinePlot draws series as an inline SVG with axes, ticks and a legend.
// Non-finite points are skipped.
func LinePlot(title, xLabel string, series []Series) template.HTML {
	xmin, xmax, ymin, ymax := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, s := range series {
		for i := range s.X {
			if finite(s.X[i]) && finite(s.Y[i]) {
				xmin, xmax = math.Min(xmin, s.X[i]), math.Max(xmax, s.X[i])
				ymin, ymax = math.Min(ymin, s.Y[i]), math.Max(ymax, s.Y[i])
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
	for k, s := range series {
		colour := s.Colour
		if colour == "" {
			colour = palette[k%len(palette)]
		}
		var pts []string
		for i := range s.X {
			if finite(s.X[i]) && finite(s.Y[i]) {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(s.X[i]), py(s.Y[i])))
			}
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"><title>%s</title></polyline>`,
			colour, strings.Join(pts, " "), template.HTMLEscapeString(s.Name))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="10" height="3" fill="%s"/><text x="%d" y="%d" class="legend">%s</text>`,
			plotW-padR-110, padT+4+k*13, colour, plotW-padR-96, padT+8+k*13, template.HTMLEscapeString(s.Name))
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
	ymin, ymax := widen(0, top)
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
	ymin, ymax := widen(0, top)
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
	fmt.Fprintf(b, `<text x="%d" y="11" class="title">%s</text>`, padL, template.HTMLEscapeString(title))
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

func tick(v float64) string { return fmt.Sprintf("%.3g", v) }

func widen(lo, hi float64) (float64, float64) {
	if hi-lo < 1e-12 {
		return lo - 0.5, hi + 0.5
	}
	return lo, hi
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
