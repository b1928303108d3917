package train

import (
	"context"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/internal/metricsrun"
	"github.com/icnnlab/icnnlab/internal/pluginhost"
	"github.com/icnnlab/icnnlab/sdk/parts"
)

// DefaultDisc is the diameter in pixels of the round on-unit region
// InvestigatePartDiversity places by default.
const DefaultDisc = 36.0

// InvestigatePartDiversity writes, for each finished run in runDirs, why
// its filters choose the best parts they do (docs/investigations/protocol.md,
// "Why the head"): per part group of the test images of the target
// category,
//
//   - the mean area in pixels and the share of images that contain it;
//   - the reachable share: the images on which one on-unit (a disc of
//     disc pixels, centred on a unit of the top layer's map) placed at its
//     best position has IoU > 0.2 with the part. A part whose reachable
//     share is low cannot become a filter's best part under that region
//     rule, whatever the filter learns;
//   - the filters' mean P_{f,k}, and how many filters have it as best part.
func InvestigatePartDiversity(ctx context.Context, w io.Writer, host *pluginhost.Host, runDirs []string, disc float64) error {
	if disc <= 0 || math.IsNaN(disc) || math.IsInf(disc, 0) {
		return fmt.Errorf("disc diameter %v: want a positive number of pixels", disc)
	}
	b, err := backends.New("gorgonia")
	if err != nil {
		return err
	}
	for _, dir := range runDirs {
		if err := investigateRunPartDiversity(ctx, w, host, b, dir, disc); err != nil {
			return fmt.Errorf("%s: %w", dir, err)
		}
	}
	return nil
}

func investigateRunPartDiversity(ctx context.Context, w io.Writer, host *pluginhost.Host, b backends.Backend, dir string, size float64) error {
	x, err := openInvestigatedLayer(host, b, dir)
	if err != nil {
		return err
	}
	defer x.sess.Close()
	cfg, layer, test, set, geom := x.cfg, x.layer, x.test, x.set, x.geom
	pi, err := metricsrun.PartInterpretability(ctx, host, x.acts, set, geom, cfg.Data.Task, test.ClassNames(),
		x.partParams(map[string]any{"region": "round", "region_size": size}))
	if err != nil {
		return err
	}
	target := slices.Index(set.Categories, test.ClassNames()[0])
	ng := len(set.Groups)
	area, contain, reach := make([]float64, ng), make([]int, ng), make([]int, ng)
	images := 0
	for _, im := range set.Images {
		if im.Category != target || im.GroupMask == nil {
			continue
		}
		images++
		for k := 1; k < ng; k++ {
			a := 0
			for _, g := range im.GroupMask {
				if int(g) == k {
					a++
				}
			}
			if a == 0 {
				continue
			}
			contain[k]++
			area[k] += float64(a)
			if bestDiscIoU(im, uint8(k), a, geom, x.units, size/2) > 0.2 {
				reach[k]++
			}
		}
	}
	meanP, best := make([]float64, ng), make([]int, ng)
	for _, f := range pi.Filters {
		for k := 1; k < ng; k++ {
			meanP[k] += f.PartScores[set.Groups[k]] / float64(len(pi.Filters))
		}
		if i := slices.Index(set.Groups, f.BestPart); i > 0 {
			best[i]++
		}
	}
	fmt.Fprintf(w, "%s (%s, %s, %d target images, disc %.0f px): P %.3f\n", filepath.Base(dir), layer, test.ClassNames()[0], images, size, pi.Mean)
	fmt.Fprintf(w, "  %-6s %9s %9s %9s %8s %12s\n", "part", "area px", "contains", "reachable", "mean P", "best of")
	for k := 1; k < ng; k++ {
		if contain[k] == 0 {
			continue
		}
		fmt.Fprintf(w, "  %-6s %9.0f %8.0f%% %8.0f%% %8.3f %8d/%d\n", set.Groups[k], area[k]/float64(contain[k]),
			100*float64(contain[k])/float64(images), 100*float64(reach[k])/float64(contain[k]), meanP[k], best[k], len(pi.Filters))
	}
	return nil
}

// bestDiscIoU is the largest IoU with group k of im that one disc of
// radius r centred on a unit of the size×size map can reach.
func bestDiscIoU(im parts.Image, k uint8, area int, g parts.Geometry, size int, r float64) float64 {
	best := 0.0
	for i := range size {
		for j := range size {
			cx, cy := g.Center(i, j)
			disc, inter := 0, 0
			for y := max(0, int(cy-r-1)); y < min(im.Height, int(cy+r+2)); y++ {
				for x := max(0, int(cx-r-1)); x < min(im.Width, int(cx+r+2)); x++ {
					dx, dy := float64(x)+0.5-cx, float64(y)+0.5-cy
					if dx*dx+dy*dy > r*r {
						continue
					}
					disc++
					if im.GroupMask[y*im.Width+x] == k {
						inter++
					}
				}
			}
			if disc > 0 {
				best = math.Max(best, float64(inter)/float64(disc+area-inter))
			}
		}
	}
	return best
}
