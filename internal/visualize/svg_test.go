package visualize

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The coverage map groups the filters by their best part, most covering
// first, names each group under its columns and links the carded ones.
func TestCoverageMap(t *testing.T) {
	groups := []string{"background", "head", "torso"}
	svg := string(CoverageMap("cov", groups, []CoverageColumn{
		{Filter: 0, Shares: []float64{0.5, 0.1, 0.4}, Best: 2},
		{Filter: 1, Best: -1},
		{Filter: 2, Shares: []float64{0.3, 0.6, 0.1}, Best: 1, Link: "#run-1-filter-2"},
		{Filter: 3, Shares: []float64{0.1, 0.2, 0.7}, Best: 2},
		{Filter: 4, Shares: []float64{0.1, 0.8, 0.1}, Best: 1},
	}))
	var order []string
	for _, m := range regexp.MustCompile(`<title>filter (\d+): background`).FindAllStringSubmatch(svg, -1) {
		order = append(order, m[1])
	}
	// head (4 at 80%, 2 at 60%), torso (3 at 70%, 0 at 40%), then no part.
	if d := cmp.Diff([]string{"4", "2", "3", "0", "1"}, order); d != "" {
		t.Errorf("column order (-want +got):\n%s", d)
	}
	for _, want := range []string{
		`<title>filter 4: head 80%</title>`,
		`<title>filter 1: torso 0%</title>`,
		`<a href="#run-1-filter-2">`,
		`>head 2</text>`, `>torso 2</text>`, `>no part 1</text>`,
		`>background</text>`,
		`>100%</text>`, `>0%</text>`, // the colour scale
	} {
		if !strings.Contains(svg, want) {
			t.Errorf("coverage map lacks %q:\n%s", want, svg)
		}
	}
	if n := strings.Count(svg, `<a href=`); n != 1 {
		t.Errorf("%d links, want 1 (one carded filter)", n)
	}
}

// A clipped plot ends its axis at yTop and draws larger values on the top
// edge.
func TestLinePlotClipped(t *testing.T) {
	svg := string(LinePlotClipped("loss", "step", []Series{{Name: "l", X: []float64{1, 2, 3}, Y: []float64{10, 0.2, 0.1}}}, 0.3))
	if !strings.Contains(svg, `>0.3</text>`) || strings.Contains(svg, `>10</text>`) {
		t.Errorf("the y axis does not end at 0.3:\n%s", svg)
	}
	// The first point sits on the top edge (y = padT).
	if !strings.Contains(svg, fmt.Sprintf(`points="%d.0,%d.0 `, padL, padT)) {
		t.Errorf("the clipped point is not on the top edge:\n%s", svg)
	}
}

func TestTick(t *testing.T) {
	for v, want := range map[float64]string{1991: "1991", 0: "0", 0.0247: "0.0247", 1.5: "1.5", 2.5e7: "2.5e+07", -3: "-3"} {
		if got := tick(v); got != want {
			t.Errorf("tick(%v) = %q, want %q", v, got, want)
		}
	}
}
