package receptivefield

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"slices"

	"github.com/icnnlab/icnnlab/plugins/visualizers/draw"
	"github.com/icnnlab/icnnlab/plugins/visualizers/vizwire"
	"github.com/icnnlab/icnnlab/sdk/parts"
)

// Pattern purity is the visual counterpart of part interpretability: how
// often the patterns mined for a filter are one object part. A filter's
// mined peaks are its strongest unit on each image where it fires, the
// PurityPeaks strongest of them (vizwire.Peaks, as the up-convolution
// visualizer mines them); each peak is placed on the image at its unit's
// receptive-field centre (parts.Geometry.Center, the geometry the overlays
// and the metrics use) and labelled with the part group under that pixel.
// The filter's part is the non-background group that holds the most
// peaks, and its purity the share of its peaks on that part: 1 when every
// pattern is the same part, 0 when every one is background.

// FilterPurity is one filter's pattern purity.
type FilterPurity struct {
	Filter int `json:"filter"`
	// Peaks is how many mined peaks were scored (fewer than the summary's
	// Peaks when the filter fires on fewer images; 0: silent everywhere).
	Peaks int `json:"peaks"`
	// Part is the non-background group under most peaks ("" when every
	// peak is on the background); OnPart counts those peaks.
	Part   string `json:"part,omitempty"`
	OnPart int    `json:"on_part"`
	// Purity is OnPart / Peaks (0 without peaks).
	Purity float64 `json:"purity"`
	// Groups counts the peaks on every group, background first.
	Groups map[string]int `json:"groups"`
	// Image is the strip of its top patches (drawn filters only).
	Image string `json:"image,omitempty"`
}

// PuritySummary is the layer's pattern purity.
type PuritySummary struct {
	// Peaks is K: the strongest peaks scored per filter.
	Peaks int `json:"peaks"`
	// Mean averages Purity over the filters that fire on at least one
	// image (Firing of them); silent filters have no pattern to score.
	Mean    float64        `json:"mean"`
	Firing  int            `json:"firing"`
	Filters []FilterPurity `json:"filters"`
	// Parts lists, per part, the filters whose part it is, by decreasing
	// purity (ties by filter): the report's per-part gallery.
	Parts []PartFilters `json:"parts"`
}

// PartFilters are the filters that represent one part.
type PartFilters struct {
	Part    string `json:"part"`
	Filters []int  `json:"filters"`
}

// Purity scores every filter of a against the part masks (parts [N,S,S]
// group ids, groups[0] the background) with at most k peaks per filter.
func Purity(a vizwire.Maps, partMasks []uint8, g parts.Geometry, groups []string, k int) (*PuritySummary, error) {
	if k < 1 {
		return nil, fmt.Errorf("purity: %d peaks per filter, want at least 1", k)
	}
	pixels := g.ImageWidth * g.ImageHeight
	if len(partMasks) != a.N*pixels {
		return nil, fmt.Errorf("purity: %d part-mask pixels for %d images of %dx%d", len(partMasks), a.N, g.ImageWidth, g.ImageHeight)
	}
	if len(groups) < 2 {
		return nil, fmt.Errorf("purity: groups %q need the background and at least one part", groups)
	}
	sum := &PuritySummary{Peaks: k, Filters: make([]FilterPurity, a.C)}
	members := map[string][]int{}
	total := 0.0
	for f := range a.C {
		fp := FilterPurity{Filter: f, Groups: map[string]int{}}
		counts := make([]int, len(groups))
		for _, p := range vizwire.Peaks(a, f, k) {
			gid := PeakGroup(partMasks[p.Image*pixels:(p.Image+1)*pixels], g, p.Row, p.Col)
			if gid >= len(groups) {
				return nil, fmt.Errorf("purity: image %d has group id %d, beyond the %d groups", p.Image, gid, len(groups))
			}
			counts[gid]++
			fp.Peaks++
		}
		for gi, c := range counts {
			fp.Groups[groups[gi]] = c
		}
		best := 0
		for gi := 1; gi < len(counts); gi++ {
			if counts[gi] > 0 && (best == 0 || counts[gi] > counts[best]) {
				best = gi
			}
		}
		if best > 0 {
			fp.Part, fp.OnPart = groups[best], counts[best]
			fp.Purity = float64(counts[best]) / float64(fp.Peaks)
			members[fp.Part] = append(members[fp.Part], f)
		}
		if fp.Peaks > 0 {
			sum.Firing++
			total += fp.Purity
		}
		sum.Filters[f] = fp
	}
	if sum.Firing > 0 {
		sum.Mean = total / float64(sum.Firing)
	}
	sum.Parts = []PartFilters{}
	for _, name := range groups[1:] {
		fs := members[name]
		if len(fs) == 0 {
			continue
		}
		slices.SortStableFunc(fs, func(x, y int) int {
			if d := sum.Filters[y].Purity - sum.Filters[x].Purity; d != 0 {
				return int(math.Copysign(1, d))
			}
			return x - y
		})
		sum.Parts = append(sum.Parts, PartFilters{Part: name, Filters: fs})
	}
	return sum, nil
}

// PeakGroup is the group id under the receptive-field centre of unit
// (row, col) in one image's mask; a centre outside the image (possible
// for border units of padded layers) is moved to the nearest pixel.
func PeakGroup(mask []uint8, g parts.Geometry, row, col int) int {
	x, y := CenterPixel(g, row, col)
	return int(mask[y*g.ImageWidth+x])
}

// CenterPixel is the pixel holding unit (row, col)'s receptive-field
// centre, clamped to the image.
func CenterPixel(g parts.Geometry, row, col int) (x, y int) {
	cx, cy := g.Center(row, col)
	clamp := func(v float64, n int) int { return min(max(int(math.Floor(v)), 0), n-1) }
	return clamp(cx, g.ImageWidth), clamp(cy, g.ImageHeight)
}

var (
	onPartColour  = color.RGBA{0, 220, 60, 255}
	offPartColour = color.RGBA{255, 40, 40, 255}
)

// PurityStrip draws filter f's strongest `count` mined peaks as patches of
// side patch around their receptive-field centres, each centre marked by a
// cross, green when it is on the filter's part and red when not, enlarged
// by scale.
func PurityStrip(a vizwire.Maps, images vizwire.Maps, partMasks []uint8, g parts.Geometry, fp FilterPurity, groups []string, count, patch, scale int) *image.RGBA {
	pixels := g.ImageWidth * g.ImageHeight
	part := slices.Index(groups, fp.Part)
	var tiles []*image.RGBA
	for _, p := range vizwire.Peaks(a, fp.Filter, count) {
		img := draw.RGB(images, p.Image)
		x, y := CenterPixel(g, p.Row, p.Col)
		c := offPartColour
		if part > 0 && PeakGroup(partMasks[p.Image*pixels:(p.Image+1)*pixels], g, p.Row, p.Col) == part {
			c = onPartColour
		}
		box := draw.UnitBox(g, p.Row, p.Col, patch)
		tile := draw.Scale(draw.Crop(img, box), scale)
		draw.Cross(tile, (x-box.Min.X)*scale+scale/2, (y-box.Min.Y)*scale+scale/2, max(3, patch*scale/12), c)
		tiles = append(tiles, tile)
	}
	if len(tiles) == 0 {
		return nil
	}
	return draw.Grid(tiles, len(tiles), 2)
}
