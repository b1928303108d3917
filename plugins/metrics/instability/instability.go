// Package instability measures the location instability of a layer's
// filters (Zhang, Wu, Zhu, CVPR 2018, §5.1, after "Interpreting CNN
// knowledge via an explanatory graph"): how much the distance between a
// filter's strongest unit and an object landmark varies over the images
// that activate the filter most. Lower is better. docs/metrics.md states
// the protocol.
package instability

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/icnnlab/icnnlab/plugins/metrics/featmap"
	"github.com/icnnlab/icnnlab/sdk/parts"
)

// DefaultTopImages is the paper's number of images per filter and landmark.
const DefaultTopImages = 100

// Options tune the evaluation; the zero value is the paper's
// single-category protocol over every landmark of the set.
type Options struct {
	// Landmarks are the landmarks k to average over (default: all of
	// Set.Landmarks).
	Landmarks []string
	// TopImages is how many images, by the filter's peak activation, enter
	// each D_{f,k} (default 100).
	TopImages int
	// Category, when set, restricts the evaluation to images of that
	// category.
	Category string
	// MultiCategory scores each filter by min_c mean_{k∈Part_c} D^c_{f,k},
	// where D^c uses only category c's images.
	MultiCategory bool
	// CategoryLandmarks is Part_c for the multi-category form, by category
	// name (default: Landmarks for every category).
	CategoryLandmarks map[string][]string
}

// FilterScore is one filter's result.
type FilterScore struct {
	Filter int `json:"filter"`
	// Defined is false when some landmark had fewer than two images with
	// it (single-category), or no category had all its landmarks defined
	// (multi-category); such filters stay out of the mean, as in the
	// authors' code.
	Defined bool `json:"defined"`
	// Score is mean_k D_{f,k}, or in multi-category mode
	// min_c mean_{k∈Part_c} D^c_{f,k}.
	Score float64 `json:"score"`
	// Category is the minimising category (multi-category mode).
	Category string `json:"category,omitempty"`
	// Landmarks holds the defined D_{f,k} (of Category in multi-category
	// mode) and Images how many images entered each.
	Landmarks map[string]float64 `json:"landmarks"`
	Images    map[string]int     `json:"images"`
	// AssignedCategory and AssignedScore are the authors' code's
	// multi-category variant: the category whose images give the filter
	// the highest mean peak activation, and mean_k D^c_{f,k} there.
	AssignedCategory string  `json:"assigned_category,omitempty"`
	AssignedScore    float64 `json:"assigned_score,omitempty"`
	AssignedDefined  bool    `json:"assigned_defined,omitempty"`
}

// Result is the layer's location instability.
type Result struct {
	// Mean is the mean Score of the defined filters: the paper's number.
	Mean float64 `json:"mean"`
	// Defined counts the filters in Mean.
	Defined   int      `json:"defined"`
	TopImages int      `json:"top_images"`
	Landmarks []string `json:"landmarks"`
	// MeanAssigned is the mean AssignedScore over the DefinedAssigned
	// filters (multi-category mode; 0 when none).
	MeanAssigned    float64       `json:"mean_assigned,omitempty"`
	DefinedAssigned int           `json:"defined_assigned,omitempty"`
	Filters         []FilterScore `json:"filters"`
}

// peak is a filter's strongest unit in one image, placed on the image.
type peak struct {
	x, y  float64 // p(mu_hat): centre of the unit's receptive field
	value float32 // x_mu_hat
}

// Evaluate computes the location instability of every filter of m.
// set.Images[n] annotates image n of m; landmarks are in input-image
// pixels (g.ImageWidth × g.ImageHeight).
func Evaluate(m *featmap.Maps, g parts.Geometry, set *parts.Set, opt Options) (*Result, error) {
	if err := m.CheckCovers(g); err != nil {
		return nil, fmt.Errorf("location instability: %w", err)
	}
	if err := set.Validate(); err != nil {
		return nil, fmt.Errorf("location instability: %w", err)
	}
	if len(set.Images) != m.N {
		return nil, fmt.Errorf("location instability: %d annotated images for %d activation maps", len(set.Images), m.N)
	}
	for n, im := range set.Images {
		if im.Width != g.ImageWidth || im.Height != g.ImageHeight {
			return nil, fmt.Errorf("location instability: image %d: annotation is %d×%d, the layer geometry expects %d×%d input images",
				n, im.Width, im.Height, g.ImageWidth, g.ImageHeight)
		}
	}
	if opt.TopImages == 0 {
		opt.TopImages = DefaultTopImages
	}
	if opt.TopImages < 2 {
		return nil, fmt.Errorf("location instability: top images %d, want ≥ 2 (a standard deviation needs two)", opt.TopImages)
	}
	if opt.Landmarks == nil {
		opt.Landmarks = set.Landmarks
	}
	if len(opt.Landmarks) == 0 {
		return nil, fmt.Errorf("location instability: no landmarks to measure")
	}
	for _, l := range opt.Landmarks {
		if !slices.Contains(set.Landmarks, l) {
			return nil, fmt.Errorf("location instability: landmark %q is not among %v", l, set.Landmarks)
		}
	}
	if opt.MultiCategory && opt.Category != "" {
		return nil, fmt.Errorf("location instability: a fixed category and multi-category mode exclude each other")
	}

	peaks := make([][]peak, m.C) // [filter][image]
	for f := range m.C {
		peaks[f] = make([]peak, m.N)
		for n := range m.N {
			i, j, v := featmap.ArgMax(m.Map(n, f), m.W)
			x, y := g.Center(i, j)
			peaks[f][n] = peak{x: x, y: y, value: v}
		}
	}
	e := evaluator{set: set, opt: opt, diag: g.Diagonal()}
	res := &Result{TopImages: opt.TopImages, Landmarks: opt.Landmarks, Filters: make([]FilterScore, m.C)}
	if opt.MultiCategory {
		if err := e.multi(peaks, res); err != nil {
			return nil, err
		}
		return res, nil
	}
	images := make([]int, 0, m.N)
	for n, im := range set.Images {
		if opt.Category == "" || set.Categories[im.Category] == opt.Category {
			images = append(images, n)
		}
	}
	if opt.Category != "" && len(images) == 0 {
		return nil, fmt.Errorf("location instability: no image of category %q", opt.Category)
	}
	for f := range m.C {
		fs := FilterScore{Filter: f}
		fs.Score, fs.Defined, fs.Landmarks, fs.Images = e.meanOverLandmarks(peaks[f], images, opt.Landmarks)
		res.Filters[f] = fs
		if fs.Defined {
			res.Mean += fs.Score
			res.Defined++
		}
	}
	if res.Defined == 0 {
		return nil, errNoneDefined
	}
	res.Mean /= float64(res.Defined)
	return res, nil
}

// errNoneDefined: a layer without a single measurable filter has no
// instability, and a zero would read as perfect stability.
var errNoneDefined = fmt.Errorf("location instability: no filter has at least two images showing each landmark")

type evaluator struct {
	set  *parts.Set
	opt  Options
	diag float64
}

// meanOverLandmarks is mean_k D_{f,k} over images; it is undefined when
// any D_{f,k} is.
func (e *evaluator) meanOverLandmarks(peaks []peak, images []int, landmarks []string) (float64, bool, map[string]float64, map[string]int) {
	ds, used := map[string]float64{}, map[string]int{}
	sum, defined := 0.0, true
	for _, k := range landmarks {
		d, n := e.deviation(peaks, images, k)
		used[k] = n
		if n < 2 {
			defined = false
			continue
		}
		ds[k] = d
		sum += d
	}
	if !defined {
		return 0, false, ds, used
	}
	return sum / float64(len(landmarks)), true, ds, used
}

// deviation is D_{f,k}: the sample standard deviation (N-1) of the
// normalised peak-to-landmark distance over the TopImages images with the
// highest peak activation among those showing landmark k (ties: lower
// image index first). It returns the number of images used.
func (e *evaluator) deviation(peaks []peak, images []int, landmark string) (float64, int) {
	type candidate struct {
		n    int
		d    float64
		peak float32
	}
	var cands []candidate
	for _, n := range images {
		l, ok := e.set.Images[n].Landmark(landmark)
		if !ok {
			continue
		}
		p := peaks[n]
		cands = append(cands, candidate{n: n, d: math.Hypot(l.X-p.x, l.Y-p.y) / e.diag, peak: p.value})
	}
	slices.SortStableFunc(cands, func(a, b candidate) int { return cmp.Compare(b.peak, a.peak) })
	cands = cands[:min(len(cands), e.opt.TopImages)]
	if len(cands) < 2 {
		return 0, len(cands)
	}
	var mean float64
	for _, c := range cands {
		mean += c.d
	}
	mean /= float64(len(cands))
	var ss float64
	for _, c := range cands {
		ss += (c.d - mean) * (c.d - mean)
	}
	return math.Sqrt(ss / float64(len(cands)-1)), len(cands)
}

func (e *evaluator) multi(peaks [][]peak, res *Result) error {
	set := e.set
	byCategory := make([][]int, len(set.Categories))
	for n, im := range set.Images {
		byCategory[im.Category] = append(byCategory[im.Category], n)
	}
	parts := make([][]string, len(set.Categories))
	for c, name := range set.Categories {
		parts[c] = e.opt.Landmarks
		if ls, ok := e.opt.CategoryLandmarks[name]; ok {
			for _, l := range ls {
				if !slices.Contains(set.Landmarks, l) {
					return fmt.Errorf("location instability: category %q: landmark %q is not among %v", name, l, set.Landmarks)
				}
			}
			parts[c] = ls
		}
	}
	for name := range e.opt.CategoryLandmarks {
		if !slices.Contains(set.Categories, name) {
			return fmt.Errorf("location instability: category landmarks name unknown category %q", name)
		}
	}
	for f := range peaks {
		fs := FilterScore{Filter: f}
		bestMeanPeak := math.Inf(-1)
		for c := range set.Categories {
			if len(byCategory[c]) == 0 || len(parts[c]) == 0 {
				continue
			}
			score, ok, ds, used := e.meanOverLandmarks(peaks[f], byCategory[c], parts[c])
			if ok && (!fs.Defined || score < fs.Score) {
				fs.Defined, fs.Score, fs.Category, fs.Landmarks, fs.Images = true, score, set.Categories[c], ds, used
			}
			var meanPeak float64
			for _, n := range byCategory[c] {
				meanPeak += float64(peaks[f][n].value)
			}
			meanPeak /= float64(len(byCategory[c]))
			if meanPeak > bestMeanPeak {
				bestMeanPeak = meanPeak
				fs.AssignedCategory, fs.AssignedScore, fs.AssignedDefined = set.Categories[c], score, ok
			}
		}
		if !fs.AssignedDefined {
			fs.AssignedScore = 0
		}
		res.Filters[f] = fs
		if fs.Defined {
			res.Mean += fs.Score
			res.Defined++
		}
		if fs.AssignedDefined {
			res.MeanAssigned += fs.AssignedScore
			res.DefinedAssigned++
		}
	}
	if res.Defined == 0 {
		return errNoneDefined
	}
	res.Mean /= float64(res.Defined)
	if res.DefinedAssigned > 0 {
		res.MeanAssigned /= float64(res.DefinedAssigned)
	}
	return nil
}
