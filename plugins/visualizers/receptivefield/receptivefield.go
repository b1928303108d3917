// Package receptivefield shows where a layer's filters fire, after Zhou et
// al. (ICLR 2015, "Object detectors emerge in deep scene CNNs"): each
// filter's activation map (after ReLU and mask) is up-sampled onto the
// image along the receptive-field geometry, thresholded at the filter's
// dataset-wide top quantile, and the region is overlaid on the images that
// activate the filter most. With part labels it also measures, per filter,
// which object parts its regions cover, and draws that as a layer-level
// heat map (filters × part groups), in the spirit of the paper's Figs. 5–6.
package receptivefield

import (
	"cmp"
	"fmt"
	"image"
	"image/color"
	"math"
	"slices"

	"github.com/icnnlab/icnnlab/plugins/visualizers/draw"
	"github.com/icnnlab/icnnlab/plugins/visualizers/vizwire"
)

// Options tune Render.
type Options struct {
	// Filters to draw one card each for (all filters enter the heat map).
	Filters []int
	// TopImages per filter, by the filter's peak activation.
	TopImages int
	// TopFraction sets each filter's threshold T_f: the share of all its
	// units over all images at or above T_f (Network Dissection: 0.005).
	TopFraction float64
	// Scale enlarges the drawn images by this integer factor.
	Scale int
	// PurityPeaks is K of pattern purity (Purity): the strongest mined
	// peaks scored per filter; 0 leaves purity out. It needs part labels.
	PurityPeaks int
	// Patches is how many top patches a purity strip shows, PatchSize
	// their side in image pixels (0: draw.PatchSide); Gallery how many
	// filters per part get a strip for the per-part gallery, besides the
	// drawn Filters.
	Patches, PatchSize, Gallery int
}

// FilterSummary is what the report shows of one filter.
type FilterSummary struct {
	Filter    int       `json:"filter"`
	Threshold float32   `json:"threshold"`
	TopImages []int     `json:"top_images"`
	Peaks     []float32 `json:"peaks"`
	// Coverage is, over the filter's top images, the share of its region's
	// pixels on each part group (background included); empty without part
	// labels or when the region is empty.
	Coverage map[string]float64 `json:"coverage,omitempty"`
	// BestGroup is the non-background group with the largest coverage.
	BestGroup string `json:"best_group,omitempty"`
	// Image is the file with the overlays (drawn filters only).
	Image string `json:"image,omitempty"`
}

// Summary is receptive-field/summary.json.
type Summary struct {
	Layer       string  `json:"layer"`
	TopFraction float64 `json:"top_fraction"`
	TopImages   int     `json:"top_images"`
	// Groups are the heat map's columns.
	Groups []string `json:"groups,omitempty"`
	// Filters has every filter; Drawn lists those with an overlay image.
	Filters []FilterSummary `json:"filters"`
	Drawn   []int           `json:"drawn"`
	// Heatmap is the filters × groups coverage image ("" without parts);
	// GroupFilters counts, per group, the filters whose best group it is.
	Heatmap      string         `json:"heatmap,omitempty"`
	GroupFilters map[string]int `json:"group_filters,omitempty"`
	// Purity is the layer's pattern purity (nil without part labels or
	// with Options.PurityPeaks 0); PatchSize the side of its patches.
	Purity    *PuritySummary `json:"purity,omitempty"`
	PatchSize int            `json:"patch_size,omitempty"`
}

// Input is what Render draws from.
type Input struct {
	Meta        vizwire.Meta
	Activations vizwire.Maps
	Images      vizwire.Maps
	Parts       []uint8 // [N,S,S] group ids, or nil
}

// File is one output, relative to the plugin's directory.
type File struct {
	Name string
	Data []byte
}

// Dir is the directory (under the visualization's output) the plugin
// writes into.
const Dir = "receptive-field"

// regionColour outlines regions in the overlays.
var regionColour = color.RGBA{0, 255, 64, 255}

// Render draws the overlays and the part heat map and returns the files
// with the summary.
func Render(in Input, opt Options) ([]File, *Summary, error) {
	a, g := in.Activations, in.Meta.Geometry
	if a.N == 0 || a.C == 0 {
		return nil, nil, fmt.Errorf("activations [%d,%d,%d,%d] are empty", a.N, a.C, a.H, a.W)
	}
	if in.Images.N != a.N || in.Images.H != g.ImageHeight || in.Images.W != g.ImageWidth {
		return nil, nil, fmt.Errorf("images [%d,3,%d,%d] do not match %d activation maps on %dx%d images",
			in.Images.N, in.Images.H, in.Images.W, a.N, g.ImageWidth, g.ImageHeight)
	}
	for _, f := range opt.Filters {
		if f < 0 || f >= a.C {
			return nil, nil, fmt.Errorf("filter %d is out of range [0, %d)", f, a.C)
		}
	}
	topK := min(max(opt.TopImages, 1), a.N)
	sum := &Summary{Layer: in.Meta.Layer, TopFraction: opt.TopFraction, TopImages: topK, Drawn: slices.Clone(opt.Filters)}
	if sum.Drawn == nil {
		sum.Drawn = []int{}
	}
	if in.Parts != nil {
		sum.Groups = in.Meta.Groups
		sum.GroupFilters = map[string]int{}
	}
	pixels := g.ImageWidth * g.ImageHeight
	var files []File
	matrix := make([][]float64, a.C)
	for f := range a.C {
		fs := FilterSummary{Filter: f, Threshold: Threshold(a, f, opt.TopFraction)}
		fs.TopImages, fs.Peaks = TopImages(a, f, topK)
		regions := make([][]bool, len(fs.TopImages))
		for k, n := range fs.TopImages {
			regions[k] = draw.Threshold(g.Upsample(a.At(n, f), a.H, a.W), fs.Threshold)
		}
		if in.Parts != nil {
			counts := make([]float64, len(in.Meta.Groups))
			total := 0.0
			for k, n := range fs.TopImages {
				labels := in.Parts[n*pixels : (n+1)*pixels]
				for p, on := range regions[k] {
					if on {
						counts[labels[p]]++
						total++
					}
				}
			}
			matrix[f] = make([]float64, len(counts))
			if total > 0 {
				fs.Coverage = map[string]float64{}
				best := -1
				for gi, c := range counts {
					matrix[f][gi] = c / total
					fs.Coverage[in.Meta.Groups[gi]] = c / total
					if gi > 0 && c > 0 && (best < 0 || c > counts[best]) {
						best = gi
					}
				}
				if best > 0 {
					fs.BestGroup = in.Meta.Groups[best]
					sum.GroupFilters[fs.BestGroup]++
				}
			}
		}
		if slices.Contains(opt.Filters, f) {
			tiles := make([]*image.RGBA, 0, len(fs.TopImages))
			for k, n := range fs.TopImages {
				tiles = append(tiles, draw.Scale(draw.Overlay(draw.RGB(in.Images, n), regions[k], regionColour), opt.Scale))
			}
			png, err := draw.PNG(draw.Grid(tiles, len(tiles), 2))
			if err != nil {
				return nil, nil, fmt.Errorf("filter %d: %w", f, err)
			}
			fs.Image = fmt.Sprintf("filter-%03d.png", f)
			files = append(files, File{Name: fs.Image, Data: png})
		}
		sum.Filters = append(sum.Filters, fs)
	}
	if in.Parts != nil && opt.PurityPeaks > 0 {
		pf, err := renderPurity(in, opt, sum, &files)
		if err != nil {
			return nil, nil, err
		}
		sum.Purity = pf
	}
	if in.Parts != nil {
		png, err := draw.PNG(draw.Matrix(matrix, 12))
		if err != nil {
			return nil, nil, fmt.Errorf("heat map: %w", err)
		}
		sum.Heatmap = "parts-heatmap.png"
		files = append(files, File{Name: sum.Heatmap, Data: png})
	}
	return files, sum, nil
}

// Threshold is T_f: the k-th largest of filter f's activations over all
// units of all maps, k = ⌈fraction · N·H·W⌉ (at least 1).
func Threshold(a vizwire.Maps, f int, fraction float64) float32 {
	vals := make([]float32, 0, a.N*a.H*a.W)
	for n := range a.N {
		vals = append(vals, a.At(n, f)...)
	}
	k := min(max(int(math.Ceil(fraction*float64(len(vals)))), 1), len(vals))
	slices.SortFunc(vals, func(x, y float32) int { return cmp.Compare(y, x) })
	return vals[k-1]
}

// TopImages ranks the images by filter f's peak activation, largest first
// (ties by index), and returns the first k with their peaks.
func TopImages(a vizwire.Maps, f, k int) ([]int, []float32) {
	peaks := make([]float32, a.N)
	for n := range a.N {
		peaks[n] = slices.Max(a.At(n, f))
	}
	order := make([]int, a.N)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(x, y int) int { return cmp.Compare(peaks[y], peaks[x]) })
	order = order[:min(k, a.N)]
	out := make([]float32, len(order))
	for i, n := range order {
		out[i] = peaks[n]
	}
	return order, out
}

// renderPurity scores pattern purity and draws the strips of the drawn
// filters and of the gallery's.
func renderPurity(in Input, opt Options, sum *Summary, files *[]File) (*PuritySummary, error) {
	a, g := in.Activations, in.Meta.Geometry
	pf, err := Purity(a, in.Parts, g, in.Meta.Groups, opt.PurityPeaks)
	if err != nil {
		return nil, err
	}
	sum.PatchSize = opt.PatchSize
	if sum.PatchSize <= 0 {
		sum.PatchSize = draw.PatchSide(g)
	}
	// Patches are drawn as large as the overlays' images.
	scale := max(1, int(math.Round(float64(opt.Scale*g.ImageWidth)/float64(sum.PatchSize))))
	strips := slices.Clone(opt.Filters)
	for _, p := range pf.Parts {
		strips = append(strips, p.Filters[:min(opt.Gallery, len(p.Filters))]...)
	}
	slices.Sort(strips)
	for _, f := range slices.Compact(strips) {
		img := PurityStrip(a, in.Images, in.Parts, g, pf.Filters[f], in.Meta.Groups, max(opt.Patches, 1), sum.PatchSize, scale)
		if img == nil {
			continue // silent on every image
		}
		png, err := draw.PNG(img)
		if err != nil {
			return nil, fmt.Errorf("filter %d patches: %w", f, err)
		}
		pf.Filters[f].Image = fmt.Sprintf("patches-%03d.png", f)
		*files = append(*files, File{Name: pf.Filters[f].Image, Data: png})
	}
	return pf, nil
}
