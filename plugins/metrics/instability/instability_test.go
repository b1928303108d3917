package instability

import (
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/icnnlab/icnnlab/plugins/metrics/featmap"
	"github.com/icnnlab/icnnlab/sdk/parts"
)

// An 80×60 image (diagonal exactly 100) under a 6×8 map with jump 10:
// unit (i, j) is centred at (5+10j, 5+10i).
const (
	imgW, imgH = 80, 60
	mapH, mapW = 6, 8
)

var geom = parts.Geometry{Size: 30, Jump: 10, Start: 5, ImageWidth: imgW, ImageHeight: imgH}

// shot is one image of the tests: where the filter peaks, how strongly,
// and the landmarks.
type shot struct {
	i, j      int
	value     float32
	category  int
	landmarks []parts.Landmark
}

// at places a landmark at offset (dx, dy) from the peak's RF centre.
func at(name string, i, j int, dx, dy float64) parts.Landmark {
	x, y := geom.Center(i, j)
	return parts.Landmark{Name: name, X: x + dx, Y: y + dy, Visible: true}
}

// build makes one-filter activations (a single peak per map over a weak
// uniform floor) and the annotation set.
func build(t *testing.T, categories []string, shots []shot) (*featmap.Maps, *parts.Set) {
	t.Helper()
	var data []float32
	set := &parts.Set{Categories: categories, Groups: []string{"background", "head"}, Landmarks: []string{"head", "tail"}}
	for _, s := range shots {
		m := make([]float32, mapH*mapW)
		for u := range m {
			m[u] = 0.01
		}
		m[s.i*mapW+s.j] = s.value
		data = append(data, m...)
		set.Images = append(set.Images, parts.Image{Width: imgW, Height: imgH, Category: s.category, Landmarks: s.landmarks})
	}
	fm, err := featmap.New(len(shots), 1, mapH, mapW, data)
	if err != nil {
		t.Fatal(err)
	}
	return fm, set
}

func TestDeviation(t *testing.T) {
	wild := func(i, j int) parts.Landmark { return at("head", i, j, 60, 30) }
	steady := func(i, j int) parts.Landmark { return at("head", i, j, 6, 8) } // d = 0.1
	tests := []struct {
		name   string
		shots  []shot
		top    int
		want   float64
		images int
	}{
		{
			name: "fixed offset from the peak: zero instability",
			shots: []shot{
				{i: 0, j: 0, value: 1, landmarks: []parts.Landmark{steady(0, 0)}},
				{i: 3, j: 5, value: 2, landmarks: []parts.Landmark{steady(3, 5)}},
				{i: 5, j: 7, value: 3, landmarks: []parts.Landmark{steady(5, 7)}},
				{i: 2, j: 1, value: 4, landmarks: []parts.Landmark{steady(2, 1)}},
			},
			want: 0, images: 4,
		},
		{
			// d = 0 and d = 50/100: mean 0.25, sample variance 0.125.
			name: "two-point spread",
			shots: []shot{
				{i: 1, j: 1, value: 1, landmarks: []parts.Landmark{at("head", 1, 1, 0, 0)}},
				{i: 2, j: 2, value: 1, landmarks: []parts.Landmark{at("head", 2, 2, 30, 40)}},
			},
			want: math.Sqrt(0.125), images: 2,
		},
		{
			name: "the weakest image falls out of the top 3",
			shots: []shot{
				{i: 1, j: 1, value: 5, landmarks: []parts.Landmark{steady(1, 1)}},
				{i: 2, j: 3, value: 0.5, landmarks: []parts.Landmark{wild(2, 3)}},
				{i: 3, j: 2, value: 4, landmarks: []parts.Landmark{steady(3, 2)}},
				{i: 4, j: 4, value: 6, landmarks: []parts.Landmark{steady(4, 4)}},
			},
			top: 3, want: 0, images: 3,
		},
		{
			// Top 3: the wild image (d = √(60²+30²)/100) and the two
			// strongest steady ones (d = 0.1).
			name: "the strongest image enters the top 3",
			shots: []shot{
				{i: 1, j: 1, value: 5, landmarks: []parts.Landmark{steady(1, 1)}},
				{i: 2, j: 3, value: 9, landmarks: []parts.Landmark{wild(2, 3)}},
				{i: 3, j: 2, value: 4, landmarks: []parts.Landmark{steady(3, 2)}},
				{i: 4, j: 4, value: 1, landmarks: []parts.Landmark{steady(4, 4)}},
			},
			top: 3, want: sampleStd(math.Hypot(60, 30)/100, 0.1, 0.1), images: 3,
		},
		{
			name: "images without the landmark or with it hidden are excluded",
			shots: []shot{
				{i: 1, j: 1, value: 1, landmarks: []parts.Landmark{steady(1, 1)}},
				{i: 2, j: 3, value: 9, landmarks: []parts.Landmark{{Name: "head", X: 79, Y: 59, Visible: false}}},
				{i: 3, j: 4, value: 9, landmarks: []parts.Landmark{at("tail", 3, 4, 50, 0)}},
				{i: 4, j: 4, value: 1, landmarks: []parts.Landmark{steady(4, 4)}},
			},
			want: 0, images: 2,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, set := build(t, []string{"bird"}, tc.shots)
			res, err := Evaluate(m, geom, set, Options{Landmarks: []string{"head"}, TopImages: tc.top})
			if err != nil {
				t.Fatal(err)
			}
			want := FilterScore{Filter: 0, Defined: true, Score: tc.want,
				Landmarks: map[string]float64{"head": tc.want}, Images: map[string]int{"head": tc.images}}
			if diff := cmp.Diff(want, res.Filters[0], cmp.Comparer(close)); diff != "" {
				t.Errorf("filter (-want +got):\n%s", diff)
			}
		})
	}
}

func close(a, b float64) bool { return math.Abs(a-b) <= 1e-12 }

func sampleStd(xs ...float64) float64 {
	var mean, ss float64
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return math.Sqrt(ss / float64(len(xs)-1))
}

func TestDefaultTopHundred(t *testing.T) {
	// 100 strong images with a steady landmark and one weaker image with
	// a far one: the paper's top-100 leaves the weak one out.
	var shots []shot
	for n := range 100 {
		i, j := n%mapH, (n/mapH)%mapW
		shots = append(shots, shot{i: i, j: j, value: float32(2 + n), landmarks: []parts.Landmark{at("head", i, j, -3, 4)}})
	}
	shots = append(shots, shot{i: 0, j: 0, value: 1.5, landmarks: []parts.Landmark{at("head", 0, 0, 70, 50)}})
	m, set := build(t, []string{"bird"}, shots)
	res, err := Evaluate(m, geom, set, Options{Landmarks: []string{"head"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Filters[0]; !close(got.Score, 0) || got.Images["head"] != 100 || res.TopImages != 100 {
		t.Errorf("got %+v (top %d), want D = 0 over 100 images", got, res.TopImages)
	}
}

func TestMeanOverLandmarksAndFilters(t *testing.T) {
	// Two filters on the same two images. Filter 0 peaks at fixed offsets
	// from both landmarks; filter 1 peaks at (0,0) in both images while
	// the head moves by 50 px (d 0 → 0.5) and the tail stays.
	lm := [][]parts.Landmark{
		{at("head", 0, 0, 0, 0), at("tail", 0, 0, 10, 0)},
		{at("head", 0, 0, 30, 40), at("tail", 0, 0, 10, 0)},
	}
	data := make([]float32, 2*2*mapH*mapW)
	set := &parts.Set{Categories: []string{"bird"}, Groups: []string{"background", "head"}, Landmarks: []string{"head", "tail"}}
	for n := range 2 {
		set.Images = append(set.Images, parts.Image{Width: imgW, Height: imgH, Landmarks: lm[n]})
		data[(n*2+1)*mapH*mapW] = 1 // filter 1 at unit (0,0)
	}
	// Filter 0 peaks at unit (0,0) in image 0 and at unit (4,3) in image
	// 1, i.e. 30 px right and 40 px down, exactly where the head moved;
	// the tail is moved along so both stay at a fixed offset from the peak.
	data[0*mapH*mapW] = 1
	data[2*mapH*mapW+4*mapW+3] = 1
	set.Images[1].Landmarks[1] = at("tail", 4, 3, 10, 0)
	m, err := featmap.New(2, 2, mapH, mapW, data)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Evaluate(m, geom, set, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Filter 1 stays at (5,5): head d = 0 and 0.5, so D = √0.125; the
	// tail sits at (15,5) and then (45,45), so d = 0.1 and √(40²+40²)/100.
	f1 := (math.Sqrt(0.125) + sampleStd(0.1, math.Hypot(40, 40)/100)) / 2
	want := []float64{0, f1}
	got := []float64{res.Filters[0].Score, res.Filters[1].Score}
	if diff := cmp.Diff(want, got, cmp.Comparer(close)); diff != "" {
		t.Errorf("scores (-want +got):\n%s", diff)
	}
	if !close(res.Mean, f1/2) || res.Defined != 2 {
		t.Errorf("mean %v over %d, want %v over 2", res.Mean, res.Defined, f1/2)
	}
}

func TestUndefinedFilters(t *testing.T) {
	// The tail appears in one image only: D for the tail needs two.
	shots := []shot{
		{i: 1, j: 1, value: 1, landmarks: []parts.Landmark{at("head", 1, 1, 0, 0), at("tail", 1, 1, 0, 0)}},
		{i: 2, j: 2, value: 1, landmarks: []parts.Landmark{at("head", 2, 2, 0, 0)}},
	}
	m, set := build(t, []string{"bird"}, shots)
	_, err := Evaluate(m, geom, set, Options{})
	if err == nil || !strings.Contains(err.Error(), "no filter has at least two images") {
		t.Fatalf("error %v, want no defined filter", err)
	}
	res, err := Evaluate(m, geom, set, Options{Landmarks: []string{"head"}})
	if err != nil || !res.Filters[0].Defined {
		t.Fatalf("head only: %+v, %v", res, err)
	}
}

func TestMultiCategory(t *testing.T) {
	// Category 0 (cat, Part = head): the peak keeps a fixed offset to the
	// head, D = 0. Category 1 (dog, Part = head, tail): the head jumps,
	// D_head = √0.125, D_tail = 0; its mean is √0.125 / 2. Dog images
	// activate the filter more, so the authors' assigned category is dog.
	steady := func(i, j int) []parts.Landmark { return []parts.Landmark{at("head", i, j, 3, 4)} }
	shots := []shot{
		{i: 1, j: 1, value: 1, category: 0, landmarks: steady(1, 1)},
		{i: 4, j: 6, value: 1, category: 0, landmarks: steady(4, 6)},
		{i: 2, j: 2, value: 7, category: 1, landmarks: []parts.Landmark{at("head", 2, 2, 0, 0), at("tail", 2, 2, 5, 5)}},
		{i: 2, j: 2, value: 7, category: 1, landmarks: []parts.Landmark{at("head", 2, 2, 30, 40), at("tail", 2, 2, 5, 5)}},
	}
	m, set := build(t, []string{"cat", "dog"}, shots)
	opt := Options{MultiCategory: true, CategoryLandmarks: map[string][]string{"cat": {"head"}, "dog": {"head", "tail"}}}
	res, err := Evaluate(m, geom, set, opt)
	if err != nil {
		t.Fatal(err)
	}
	dog := math.Sqrt(0.125) / 2
	want := FilterScore{Filter: 0, Defined: true, Score: 0, Category: "cat",
		Landmarks: map[string]float64{"head": 0}, Images: map[string]int{"head": 2},
		AssignedCategory: "dog", AssignedScore: dog, AssignedDefined: true}
	if diff := cmp.Diff(want, res.Filters[0], cmp.Comparer(close)); diff != "" {
		t.Errorf("filter (-want +got):\n%s", diff)
	}
	if !close(res.Mean, 0) || !close(res.MeanAssigned, dog) {
		t.Errorf("mean %v, assigned mean %v; want 0 and %v", res.Mean, res.MeanAssigned, dog)
	}
}

func TestEvaluateErrors(t *testing.T) {
	m, set := build(t, []string{"bird"}, []shot{
		{i: 0, j: 0, value: 1, landmarks: []parts.Landmark{at("head", 0, 0, 0, 0)}},
		{i: 0, j: 0, value: 1, landmarks: []parts.Landmark{at("head", 0, 0, 0, 0)}},
	})
	tests := []struct {
		name string
		opt  Options
		g    parts.Geometry
		want string
	}{
		{"landmark", Options{Landmarks: []string{"wing"}}, geom, `landmark "wing"`},
		{"top", Options{TopImages: 1}, geom, "top images 1"},
		{"category", Options{Category: "cow", Landmarks: []string{"head"}}, geom, `no image of category "cow"`},
		{"size", Options{}, parts.Geometry{Size: 30, Jump: 10, Start: 5, ImageWidth: 90, ImageHeight: 60}, "image 0: annotation is 80×60"},
		{"multi landmarks", Options{MultiCategory: true, CategoryLandmarks: map[string][]string{"bird": {"beak"}}}, geom, `landmark "beak"`},
		{"multi category", Options{MultiCategory: true, CategoryLandmarks: map[string][]string{"owl": {"head"}}}, geom, `unknown category "owl"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Evaluate(m, tc.g, set, tc.opt)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
