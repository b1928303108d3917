// Package partinterp measures the part interpretability of a layer's
// filters (Zhang, Wu, Zhu, CVPR 2018, §5.1, after Bau et al.'s Network
// Dissection): how often the image region where a filter fires strongly
// overlaps one semantic part. docs/metrics.md states the protocol and the
// choices made where the paper is silent.
package partinterp

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"

	"github.com/icnnlab/icnnlab/plugins/metrics/featmap"
	"github.com/icnnlab/icnnlab/sdk/parts"
)

// The ways of turning above-threshold units into an image region S_f^I.
const (
	// RegionUpsample bilinearly up-samples the activation map to image
	// resolution, aligned with the receptive-field centres, and keeps the
	// pixels whose up-sampled value reaches the threshold (Network
	// Dissection). The default.
	RegionUpsample = "upsample"
	// RegionBox is the union of the square receptive fields of the
	// above-threshold units.
	RegionBox = "box"
	// RegionRound is the union of discs centred on the above-threshold
	// units' receptive fields (the paper's variant for ordinary CNNs).
	RegionRound = "round"
)

// Paper defaults.
const (
	DefaultTopFraction  = 0.005
	DefaultIoUThreshold = 0.2
)

// Options tune the evaluation; the zero value is the paper's protocol with
// the up-sampled region.
type Options struct {
	// Region is RegionUpsample (default), RegionBox or RegionRound.
	Region string
	// TopFraction is the share of all positions of all maps that lie at or
	// above a filter's threshold (default 0.005).
	TopFraction float64
	// IoUThreshold is the IoU a region must exceed to hit a part (default 0.2).
	IoUThreshold float64
	// RegionSize is the side of the box or the diameter of the disc in
	// pixels for RegionBox and RegionRound (default: the theoretical
	// receptive-field size, Geometry.Size).
	RegionSize int
	// Category, when set, restricts the evaluation to images of that
	// category (the paper's single-category protocol: test images of the
	// target category).
	Category string
	// MultiCategory assigns every filter the category whose images
	// activate it most and evaluates it on that category's images only.
	MultiCategory bool
}

func (o Options) withDefaults() (Options, error) {
	if o.Region == "" {
		o.Region = RegionUpsample
	}
	if o.TopFraction == 0 {
		o.TopFraction = DefaultTopFraction
	}
	if o.IoUThreshold == 0 {
		o.IoUThreshold = DefaultIoUThreshold
	}
	switch {
	case o.Region != RegionUpsample && o.Region != RegionBox && o.Region != RegionRound:
		return o, fmt.Errorf("part interpretability: region %q, want %q, %q or %q", o.Region, RegionUpsample, RegionBox, RegionRound)
	case !(o.TopFraction > 0 && o.TopFraction <= 1):
		return o, fmt.Errorf("part interpretability: top fraction %v, want (0, 1]", o.TopFraction)
	case !(o.IoUThreshold >= 0 && o.IoUThreshold < 1):
		return o, fmt.Errorf("part interpretability: IoU threshold %v, want [0, 1)", o.IoUThreshold)
	case o.RegionSize < 0:
		return o, fmt.Errorf("part interpretability: region size %d is negative", o.RegionSize)
	case o.Category != "" && o.MultiCategory:
		return o, fmt.Errorf("part interpretability: a fixed category and multi-category assignment exclude each other")
	}
	return o, nil
}

// FilterScore is one filter's result.
type FilterScore struct {
	Filter int `json:"filter"`
	// Category is the category the filter was evaluated on (its assigned
	// one in multi-category mode); empty when all images were used.
	Category string `json:"category,omitempty"`
	// Images is the number of evaluation images.
	Images int `json:"images"`
	// Threshold is T_f: the filter's units at or above it are "on".
	Threshold float32 `json:"threshold"`
	// Score is P_f = max_k P_{f,k}.
	Score float64 `json:"score"`
	// BestPart is the argmax part (lowest group id on ties); empty when
	// P_f = 0 (the filter hits no part).
	BestPart string `json:"best_part,omitempty"`
	// PartScores is P_{f,k} for every part present in at least one
	// evaluation image.
	PartScores map[string]float64 `json:"part_scores"`
}

// Result is the layer's part interpretability.
type Result struct {
	// Mean is the mean of P_f over the filters: the paper's number.
	Mean         float64       `json:"mean"`
	Region       string        `json:"region"`
	TopFraction  float64       `json:"top_fraction"`
	IoUThreshold float64       `json:"iou_threshold"`
	Filters      []FilterScore `json:"filters"`
}

// Evaluate computes the part interpretability of every filter of m.
// set.Images[n] annotates image n of m, at the network's input resolution
// (g.ImageWidth × g.ImageHeight).
func Evaluate(m *featmap.Maps, g parts.Geometry, set *parts.Set, opt Options) (*Result, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := checkInputs(m, g, set); err != nil {
		return nil, fmt.Errorf("part interpretability: %w", err)
	}
	if opt.RegionSize == 0 {
		opt.RegionSize = g.Size
	}
	evalImages, categoryOf, err := evaluationImages(m, set, opt)
	if err != nil {
		return nil, fmt.Errorf("part interpretability: %w", err)
	}
	// Only the images a filter is evaluated on need a part mask (the
	// negatives of a single-category task may have none).
	for f := range m.C {
		for _, n := range evalImages(f) {
			if set.Images[n].GroupMask == nil {
				return nil, fmt.Errorf("part interpretability: image %d (category %s, evaluated for filter %d): no part-group mask",
					n, set.Categories[set.Images[n].Category], f)
			}
		}
	}
	areas := make([][256]int, m.N)
	for n := range set.Images {
		areas[n] = set.Images[n].GroupAreas()
	}
	res := &Result{Region: opt.Region, TopFraction: opt.TopFraction, IoUThreshold: opt.IoUThreshold,
		Filters: make([]FilterScore, m.C)}
	ev := evaluator{m: m, g: g, set: set, opt: opt, areas: areas}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range max(1, min(runtime.GOMAXPROCS(0), m.C)) {
		wg.Go(func() {
			scratch := newPainter(g.ImageWidth, g.ImageHeight)
			for f := range jobs {
				res.Filters[f] = ev.filter(f, evalImages(f), scratch)
				if categoryOf != nil {
					res.Filters[f].Category = set.Categories[categoryOf[f]]
				} else {
					res.Filters[f].Category = opt.Category
				}
			}
		})
	}
	for f := range m.C {
		jobs <- f
	}
	close(jobs)
	wg.Wait()
	for _, fs := range res.Filters {
		res.Mean += fs.Score
	}
	res.Mean /= float64(m.C)
	return res, nil
}

func checkInputs(m *featmap.Maps, g parts.Geometry, set *parts.Set) error {
	if err := m.CheckCovers(g); err != nil {
		return err
	}
	if err := set.Validate(); err != nil {
		return err
	}
	if len(set.Images) != m.N {
		return fmt.Errorf("%d annotated images for %d activation maps", len(set.Images), m.N)
	}
	for n, im := range set.Images {
		if im.Width != g.ImageWidth || im.Height != g.ImageHeight {
			return fmt.Errorf("image %d: annotation is %d×%d, the layer geometry expects %d×%d input images",
				n, im.Width, im.Height, g.ImageWidth, g.ImageHeight)
		}
	}
	return nil
}

// evaluationImages returns, per filter, the indices of the images it is
// evaluated on, and in multi-category mode each filter's category.
func evaluationImages(m *featmap.Maps, set *parts.Set, opt Options) (func(f int) []int, []int, error) {
	all := make([]int, m.N)
	for n := range all {
		all[n] = n
	}
	switch {
	case opt.Category != "":
		c := slices.Index(set.Categories, opt.Category)
		if c < 0 {
			return nil, nil, fmt.Errorf("category %q is not among %v", opt.Category, set.Categories)
		}
		var imgs []int
		for n, im := range set.Images {
			if im.Category == c {
				imgs = append(imgs, n)
			}
		}
		if len(imgs) == 0 {
			return nil, nil, fmt.Errorf("no image of category %q", opt.Category)
		}
		return func(int) []int { return imgs }, nil, nil
	case opt.MultiCategory:
		labels := set.CategoryLabels()
		assigned, err := featmap.AssignCategories(m, labels, len(set.Categories))
		if err != nil {
			return nil, nil, err
		}
		byCategory := make([][]int, len(set.Categories))
		for n, c := range labels {
			byCategory[c] = append(byCategory[c], n)
		}
		return func(f int) []int { return byCategory[assigned[f]] }, assigned, nil
	}
	return func(int) []int { return all }, nil, nil
}

type evaluator struct {
	m     *featmap.Maps
	g     parts.Geometry
	set   *parts.Set
	opt   Options
	areas [][256]int
}

func (e *evaluator) filter(f int, images []int, p *painter) FilterScore {
	values := make([]float32, 0, len(images)*e.m.H*e.m.W)
	for _, n := range images {
		values = append(values, e.m.Map(n, f)...)
	}
	t := TopThreshold(values, e.opt.TopFraction)
	numGroups := len(e.set.Groups)
	containing := make([]int, numGroups) // images containing part k
	hits := make([]int, numGroups)       // of which IoU > threshold
	var inter [256]int
	for _, n := range images {
		area := e.areas[n]
		for k := 1; k < numGroups; k++ {
			if area[k] > 0 {
				containing[k]++
			}
		}
		x := e.m.Map(n, f)
		if !anyOn(x, t) {
			continue // empty region: IoU 0 with every part
		}
		e.paint(p, x, t)
		regionArea := p.count(e.set.Images[n].GroupMask, &inter)
		for k := 1; k < numGroups; k++ {
			if area[k] == 0 {
				continue
			}
			iou := float64(inter[k]) / float64(regionArea+area[k]-inter[k])
			if iou > e.opt.IoUThreshold {
				hits[k]++
			}
		}
	}
	out := FilterScore{Filter: f, Images: len(images), Threshold: t, PartScores: map[string]float64{}}
	for k := 1; k < numGroups; k++ {
		if containing[k] == 0 {
			continue
		}
		pk := float64(hits[k]) / float64(containing[k])
		out.PartScores[e.set.Groups[k]] = pk
		if pk > out.Score {
			out.Score, out.BestPart = pk, e.set.Groups[k]
		}
	}
	return out
}

// TopThreshold is T_f for the values of one filter over all positions of
// all evaluation maps: the k-th largest value with k = ⌈fraction·M⌉ (at
// least 1). A unit is on when On(x, T_f): x ≥ T_f and x > 0. With ties at
// T_f every tied unit is on, so the on-share is the smallest share ≥
// fraction that does not split a tie; units that are zero (after ReLU:
// silent) are never on, so a filter with fewer than k positive values has
// fewer units on.
func TopThreshold(values []float32, fraction float64) float32 {
	if len(values) == 0 {
		return float32(math.Inf(1))
	}
	// The tiny slack keeps fraction·M from rounding up past an integer
	// (0.005·200 is 1.0000000000000002 in floating point).
	k := max(1, int(math.Ceil(fraction*float64(len(values))-1e-9)))
	k = min(k, len(values))
	sorted := slices.Clone(values)
	slices.Sort(sorted)
	return sorted[len(sorted)-k]
}

// On reports whether a unit with activation x is above the threshold t.
func On(x, t float32) bool { return x >= t && x > 0 }

func anyOn(x []float32, t float32) bool {
	for _, v := range x {
		if On(v, t) {
			return true
		}
	}
	return false
}

// paint draws S_f^I for map x and threshold t into p.
func (e *evaluator) paint(p *painter, x []float32, t float32) {
	switch e.opt.Region {
	case RegionUpsample:
		paintUpsampled(p, e.g, x, e.m.H, e.m.W, t)
	case RegionBox:
		for u, v := range x {
			if On(v, t) {
				cx, cy := e.g.Center(u/e.m.W, u%e.m.W)
				p.box(cx, cy, e.opt.RegionSize)
			}
		}
	case RegionRound:
		for u, v := range x {
			if On(v, t) {
				cx, cy := e.g.Center(u/e.m.W, u%e.m.W)
				p.disc(cx, cy, float64(e.opt.RegionSize)/2)
			}
		}
	}
}
