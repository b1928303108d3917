package partinterp

import (
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/icnnlab/icnnlab/plugins/metrics/featmap"
	"github.com/icnnlab/icnnlab/sdk/parts"
)

// identity is a geometry whose units are the image pixels, so that the
// up-sampled map is the map itself.
func identity(size int) parts.Geometry {
	return parts.Geometry{Size: 1, Jump: 1, Start: 0.5, ImageWidth: size, ImageHeight: size}
}

// rect is a w×h mask with id inside the half-open rectangle [x0,x1)×[y0,y1).
func rect(w, h, x0, y0, x1, y1 int, id uint8) []uint8 {
	m := make([]uint8, w*h)
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			m[y*w+x] = id
		}
	}
	return m
}

// overlay copies the non-zero ids of b over a.
func overlay(a, b []uint8) []uint8 {
	out := append([]uint8(nil), a...)
	for i, v := range b {
		if v != 0 {
			out[i] = v
		}
	}
	return out
}

// indicator is a float map that is 1 where mask == id.
func indicator(mask []uint8, id uint8) []float32 {
	out := make([]float32, len(mask))
	for i, v := range mask {
		if v == id {
			out[i] = 1
		}
	}
	return out
}

func testSet(categories []string, images ...parts.Image) *parts.Set {
	return &parts.Set{Categories: categories, Groups: []string{"background", "head", "torso"}, Images: images}
}

// stack builds [N,C,H,W] from maps[n][c].
func stack(t *testing.T, h, w int, maps [][][]float32) *featmap.Maps {
	t.Helper()
	var data []float32
	for _, img := range maps {
		for _, m := range img {
			data = append(data, m...)
		}
	}
	fm, err := featmap.New(len(maps), len(maps[0]), h, w, data)
	if err != nil {
		t.Fatal(err)
	}
	return fm
}

func TestTopThreshold(t *testing.T) {
	ramp := make([]float32, 1000)
	for i := range ramp {
		ramp[i] = float32(i + 1)
	}
	tests := []struct {
		name     string
		values   []float32
		fraction float64
		want     float32
		on       int
	}{
		{"top 0.5% of 1000 is 5 units", ramp, 0.005, 996, 5},
		{"0.005·200 is exactly one unit", ramp[:200], 0.005, 200, 1},
		{"fewer than 200 values still keep one unit", ramp[:7], 0.005, 7, 1},
		{"ties at the threshold are all on", []float32{1, 5, 5, 2, 5}, 0.005, 5, 3},
		{"tie straddling the cut keeps every tied unit", []float32{9, 4, 4, 4, 1, 0, 0, 0, 0, 0}, 0.2, 4, 4},
		{"silent filter has no unit on", make([]float32, 400), 0.005, 0, 0},
		{"zeros never on even when the threshold falls on them", []float32{3, 0, 0, 0}, 0.5, 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := TopThreshold(tc.values, tc.fraction)
			on := 0
			for _, v := range tc.values {
				if On(v, got) {
					on++
				}
			}
			if got != tc.want || on != tc.on {
				t.Errorf("threshold %v with %d on, want %v with %d on", got, on, tc.want, tc.on)
			}
		})
	}
}

// paintRegion returns S_f^I of one map as a w×h 0/1 mask.
func paintRegion(opt Options, g parts.Geometry, x []float32, h, w int) []uint8 {
	e := evaluator{g: g, opt: opt, m: &featmap.Maps{H: h, W: w}}
	if e.opt.RegionSize == 0 {
		e.opt.RegionSize = g.Size
	}
	p := newPainter(g.ImageWidth, g.ImageHeight)
	e.paint(p, x, TopThreshold(x, opt.TopFraction))
	out := make([]uint8, len(p.on))
	for i, v := range p.on {
		if v {
			out[i] = 1
		}
	}
	return out
}

func TestRegions(t *testing.T) {
	// A 4×4 map on a 16-px image: unit centres at 2, 6, 10, 14.
	g := parts.Geometry{Size: 4, Jump: 4, Start: 2, ImageWidth: 16, ImageHeight: 16}
	block := make([]float32, 16) // units (1..2, 1..2) on
	for _, u := range []int{5, 6, 9, 10} {
		block[u] = 1
	}
	corner := make([]float32, 16)
	corner[0] = 1
	corner[1] = 0.5 // below the threshold 1, but lifts the interpolation
	tests := []struct {
		name string
		opt  Options
		g    parts.Geometry
		x    []float32
		want []uint8
	}{
		// Up-sampled value ≥ 1 only between the centres 6 and 10:
		// pixel centres 6.5 … 9.5, i.e. pixels 6..9.
		{"upsample plateau", Options{Region: RegionUpsample, TopFraction: 0.25}, g, block, rect(16, 16, 6, 6, 10, 10, 1)},
		// Boxes [4,8) and [8,12) per axis.
		{"box", Options{Region: RegionBox, TopFraction: 0.25}, g, block, rect(16, 16, 4, 4, 12, 12, 1)},
		{"box with region size", Options{Region: RegionBox, TopFraction: 0.25, RegionSize: 2}, g, block, rect(16, 16, 5, 5, 11, 11, 1) /* [5,7)∪[9,11) filled below */},
		// Unit (0,0) alone on: edge replication makes pixels 0..1 (left of
		// the first centre) equal to it; to the right it drops below 1.
		{"upsample at the border", Options{Region: RegionUpsample, TopFraction: 0.01}, g, corner, rect(16, 16, 0, 0, 2, 2, 1)},
		{"round", Options{Region: RegionRound, TopFraction: 0.01, RegionSize: 4}, g, corner, disc16(2, 2, 2)},
	}
	// Box with size 2: boxes [5,7) and [9,11) on each axis, no fill between.
	gap := make([]uint8, 256)
	for _, y := range []int{5, 6, 9, 10} {
		for _, x := range []int{5, 6, 9, 10} {
			gap[y*16+x] = 1
		}
	}
	tests[2].want = gap
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := paintRegion(tc.opt, tc.g, tc.x, 4, 4)
			if diff := cmp.Diff(render(tc.want, 16), render(got, 16)); diff != "" {
				t.Errorf("region (-want +got):\n%s", diff)
			}
		})
	}
}

func disc16(cx, cy, r float64) []uint8 {
	out := make([]uint8, 256)
	for y := range 16 {
		for x := range 16 {
			dx, dy := float64(x)+0.5-cx, float64(y)+0.5-cy
			if dx*dx+dy*dy <= r*r {
				out[y*16+x] = 1
			}
		}
	}
	return out
}

func render(m []uint8, w int) []string {
	var rows []string
	for y := 0; y*w < len(m); y++ {
		var b strings.Builder
		for _, v := range m[y*w : (y+1)*w] {
			b.WriteByte(".#"[min(v, 1)])
		}
		rows = append(rows, b.String())
	}
	return rows
}

func TestPartFilterScoresOneBackgroundFilterZero(t *testing.T) {
	const s = 8
	// Two images; the head is a different rectangle in each, the torso
	// another one. Filter 0 fires exactly on the head, filter 1 on the
	// background, filter 2 on half the head and half the background.
	head := [][]uint8{rect(s, s, 1, 1, 3, 3, 1), rect(s, s, 4, 2, 7, 5, 1)}
	torso := [][]uint8{rect(s, s, 3, 3, 7, 7, 2), rect(s, s, 0, 5, 4, 8, 2)}
	var images []parts.Image
	var maps [][][]float32
	for n := range 2 {
		mask := overlay(head[n], torso[n])
		images = append(images, parts.Image{Width: s, Height: s, GroupMask: mask})
		maps = append(maps, [][]float32{indicator(mask, 1), indicator(mask, 0), nil})
	}
	// Filter 2: 1 on the head's first row and on a same-size background
	// strip: IoU with the head is 2/(4+4-2) = 1/3 in image 0 and
	// 3/(6+9-3) = 1/4 in image 1, both above 0.2.
	maps[0][2] = overlayF(indicator(rect(s, s, 1, 1, 3, 2, 1), 1), indicator(rect(s, s, 5, 0, 7, 1, 1), 1))
	maps[1][2] = overlayF(indicator(rect(s, s, 4, 2, 7, 3, 1), 1), indicator(rect(s, s, 0, 0, 3, 1, 1), 1))
	res, err := Evaluate(stack(t, s, s, maps), identity(s), testSet([]string{"bird"}, images...), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []FilterScore{
		{Filter: 0, Images: 2, Threshold: 1, Score: 1, BestPart: "head", PartScores: map[string]float64{"head": 1, "torso": 0}},
		{Filter: 1, Images: 2, Threshold: 1, Score: 0, PartScores: map[string]float64{"head": 0, "torso": 0}},
		{Filter: 2, Images: 2, Threshold: 1, Score: 1, BestPart: "head", PartScores: map[string]float64{"head": 1, "torso": 0}},
	}
	if diff := cmp.Diff(want, res.Filters); diff != "" {
		t.Errorf("filters (-want +got):\n%s", diff)
	}
	if res.Mean != 2.0/3 {
		t.Errorf("mean %v, want 2/3", res.Mean)
	}
}

func overlayF(a, b []float32) []float32 {
	out := append([]float32(nil), a...)
	for i, v := range b {
		out[i] = max(out[i], v)
	}
	return out
}

func TestIoUMustExceedThreshold(t *testing.T) {
	const s = 10
	// Region: pixels 0..4 of row 0. Head: pixel (0,0) only, so IoU = 1/5 =
	// 0.2 exactly, which is not a hit. Torso: pixels (1..2, 0), IoU 2/5.
	mask := overlay(rect(s, s, 0, 0, 1, 1, 1), rect(s, s, 1, 0, 3, 1, 2))
	x := indicator(rect(s, s, 0, 0, 5, 1, 1), 1)
	res, err := Evaluate(stack(t, s, s, [][][]float32{{x}}), identity(s),
		testSet([]string{"bird"}, parts.Image{Width: s, Height: s, GroupMask: mask}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"head": 0, "torso": 1}
	if diff := cmp.Diff(want, res.Filters[0].PartScores); diff != "" {
		t.Errorf("part scores (-want +got):\n%s", diff)
	}
}

func TestPartScoreAveragesOverImagesContainingThePart(t *testing.T) {
	const s = 8
	head := rect(s, s, 0, 0, 2, 2, 1)
	images := []parts.Image{
		{Width: s, Height: s, GroupMask: head},                      // hit
		{Width: s, Height: s, GroupMask: rect(s, s, 4, 4, 6, 6, 1)}, // miss: filter fires at the corner
		{Width: s, Height: s, GroupMask: make([]uint8, s*s)},        // no head: excluded
		{Width: s, Height: s, GroupMask: rect(s, s, 6, 6, 8, 8, 1)}, // miss
	}
	x := indicator(head, 1)
	maps := [][][]float32{{x}, {x}, {x}, {x}}
	res, err := Evaluate(stack(t, s, s, maps), identity(s), testSet([]string{"bird"}, images...), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Filters[0].PartScores; !cmp.Equal(got, map[string]float64{"head": 1.0 / 3}) {
		t.Errorf("part scores %v, want head 1/3 (torso absent everywhere)", got)
	}
}

func TestMultiCategoryEvaluatesOnAssignedCategory(t *testing.T) {
	const s = 8
	head := rect(s, s, 0, 0, 2, 2, 1)
	torso := rect(s, s, 4, 4, 8, 8, 2)
	mask := overlay(head, torso)
	// Images 0,1: cat; 2,3: dog. Filter 0 fires on the head in cat images
	// (strongly) and on the torso in dog images (weakly): it belongs to cat
	// and is evaluated on the head. Filter 1 the other way round.
	onHead, onTorso := indicator(mask, 1), indicator(mask, 2)
	scale := func(x []float32, k float32) []float32 {
		out := make([]float32, len(x))
		for i, v := range x {
			out[i] = v * k
		}
		return out
	}
	maps := [][][]float32{
		{scale(onHead, 5), scale(onTorso, 0.1)},
		{scale(onHead, 5), scale(onTorso, 0.1)},
		{scale(onTorso, 0.1), scale(onTorso, 9)},
		{scale(onTorso, 0.1), scale(onTorso, 9)},
	}
	var images []parts.Image
	for n := range 4 {
		images = append(images, parts.Image{Width: s, Height: s, Category: n / 2, GroupMask: mask})
	}
	res, err := Evaluate(stack(t, s, s, maps), identity(s), testSet([]string{"cat", "dog"}, images...), Options{MultiCategory: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []FilterScore{
		{Filter: 0, Category: "cat", Images: 2, Threshold: 5, Score: 1, BestPart: "head", PartScores: map[string]float64{"head": 1, "torso": 0}},
		{Filter: 1, Category: "dog", Images: 2, Threshold: 9, Score: 1, BestPart: "torso", PartScores: map[string]float64{"head": 0, "torso": 1}},
	}
	if diff := cmp.Diff(want, res.Filters); diff != "" {
		t.Errorf("filters (-want +got):\n%s", diff)
	}
	// Without assignment, filter 0's threshold over all four images is 5
	// and it misses the torso in dog images, so it still scores 1 on the
	// head (dog heads are not hit: head P = 2/4).
	all, err := Evaluate(stack(t, s, s, maps), identity(s), testSet([]string{"cat", "dog"}, images...), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := all.Filters[0].PartScores["head"]; got != 0.5 {
		t.Errorf("single-set head score %v, want 0.5", got)
	}
	// A fixed category restricts the images.
	dog, err := Evaluate(stack(t, s, s, maps), identity(s), testSet([]string{"cat", "dog"}, images...), Options{Category: "dog"})
	if err != nil {
		t.Fatal(err)
	}
	if got := dog.Filters[1]; got.Images != 2 || got.Score != 1 || got.BestPart != "torso" || got.Category != "dog" {
		t.Errorf("dog-only filter 1: %+v", got)
	}
}

func TestEvaluateErrors(t *testing.T) {
	const s = 4
	okImage := parts.Image{Width: s, Height: s, GroupMask: make([]uint8, s*s)}
	maps := [][][]float32{{make([]float32, s*s)}}
	tests := []struct {
		name string
		set  *parts.Set
		g    parts.Geometry
		opt  Options
		want string
	}{
		{"image count", testSet([]string{"a"}, okImage, okImage), identity(s), Options{}, "2 annotated images for 1"},
		{"image size", testSet([]string{"a"}, parts.Image{Width: 5, Height: 5, GroupMask: make([]uint8, 25)}), identity(s), Options{}, "image 0: annotation is 5×5"},
		{"no mask", testSet([]string{"a"}, parts.Image{Width: s, Height: s}), identity(s), Options{}, "image 0 (category a, evaluated for filter 0): no part-group mask"},
		{"target image without mask", testSet([]string{"a", "b"}, parts.Image{Width: s, Height: s, Category: 1}), identity(s), Options{Category: "b"}, "image 0 (category b, evaluated for filter 0): no part-group mask"},
		{"region", testSet([]string{"a"}, okImage), identity(s), Options{Region: "blob"}, `region "blob"`},
		{"fraction", testSet([]string{"a"}, okImage), identity(s), Options{TopFraction: 2}, "top fraction"},
		{"category", testSet([]string{"a"}, okImage), identity(s), Options{Category: "zebra"}, `category "zebra"`},
		{"geometry", testSet([]string{"a"}, okImage), parts.Geometry{Size: 1, Jump: 4, Start: 0.5, ImageWidth: s, ImageHeight: s}, Options{}, "outside the 4×4 image"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Evaluate(stack(t, s, s, maps), tc.g, tc.set, tc.opt)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// Images outside a filter's evaluation set need no part mask: the
// negatives of a single-category task on a real dataset (VOC Part's
// non-animal objects) have none.
func TestImagesOutsideTheEvaluationNeedNoMask(t *testing.T) {
	const s = 4
	head := rect(s, s, 0, 0, 2, 2, 1)
	set := testSet([]string{"bird", "chair"},
		parts.Image{Width: s, Height: s, Category: 0, GroupMask: head},
		parts.Image{Width: s, Height: s, Category: 1})
	maps := [][][]float32{{indicator(head, 1)}, {make([]float32, s*s)}}
	res, err := Evaluate(stack(t, s, s, maps), identity(s), set, Options{Category: "bird", TopFraction: 0.25})
	if err != nil {
		t.Fatal(err)
	}
	if f := res.Filters[0]; f.Images != 1 || f.Score != 1 || f.BestPart != "head" {
		t.Errorf("bird-only filter on a set with a mask-less chair: %+v, want P_f 1 on head over 1 image", f)
	}
}

func TestMeanIsFinite(t *testing.T) {
	const s = 4
	res, err := Evaluate(stack(t, s, s, [][][]float32{{make([]float32, s*s)}}), identity(s),
		testSet([]string{"a"}, parts.Image{Width: s, Height: s, GroupMask: make([]uint8, s*s)}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if math.IsNaN(res.Mean) || res.Mean != 0 || res.Filters[0].BestPart != "" {
		t.Errorf("silent filter on part-less images: %+v", res)
	}
}
