package upconv

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/icnnlab/icnnlab/plugins/visualizers/vizwire"
	"github.com/icnnlab/icnnlab/sdk/parts"
)

func TestKMeans(t *testing.T) {
	for _, tc := range []struct {
		name   string
		points [][]float64
		k      int
		want   []int
	}{
		{"two blobs, larger first", [][]float64{{0, 0}, {10, 10}, {0.1, 0}, {10, 10.2}, {0, 0.2}}, 2, []int{0, 1, 0, 1, 0}},
		{"three blobs", [][]float64{{5, 5}, {0, 0}, {0, 9}, {5.1, 5}, {0.1, 0}, {0, 9.1}, {5, 5.1}}, 3, []int{0, 1, 2, 0, 1, 2, 0}},
		{"k above distinct points", [][]float64{{1, 1}, {1, 1}, {2, 2}}, 5, []int{0, 0, 1}},
		{"k of 1", [][]float64{{1}, {5}, {9}}, 1, []int{0, 0, 0}},
		{"no points", nil, 3, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for seed := range uint64(5) {
				if d := cmp.Diff(tc.want, KMeans(tc.points, tc.k, seed)); d != "" {
					t.Errorf("seed %d (-want +got):\n%s", seed, d)
				}
			}
		})
	}
}

// A hand-made layer: filter 0 fires on ten images in two ways. On images
// 0–4 (the "head" pattern) it peaks top-left with channel 1 co-firing;
// on 5–9 (the "legs" pattern) bottom-right with channel 2. Images 10 and
// 11 leave it silent and must not appear.
func TestMinePatternsHandMade(t *testing.T) {
	const n, c, h, w = 12, 3, 4, 4
	a := vizwire.Maps{N: n, C: c, H: h, W: w, Data: make([]float32, n*c*h*w)}
	set := func(img, ch, i, j int, v float32) { a.At(img, ch)[i*w+j] = v }
	for img := range 10 {
		v := float32(10 - img) // distinct strengths: image 0 strongest
		if img < 5 {
			set(img, 0, 0, 1, v)
			set(img, 1, 0, 1, 2*v)
		} else {
			set(img, 0, 3, 2, v)
			set(img, 2, 3, 2, 2*v)
		}
		set(img, 0, 2, 2, v/4) // a weaker unit that is not the peak
	}
	got := MinePatterns(a, 0, 100, 2, 0.5, 7)
	peaks := func(imgs []int, row, col int) []Peak {
		var out []Peak
		for _, i := range imgs {
			out = append(out, Peak{Image: i, Row: row, Col: col, Value: float32(10 - i)})
		}
		return out
	}
	want := []Pattern{
		{Peaks: peaks([]int{0, 1, 2, 3, 4}, 0, 1), MeanRow: 0, MeanCol: 1},
		{Peaks: peaks([]int{5, 6, 7, 8, 9}, 3, 2), MeanRow: 3, MeanCol: 2},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("patterns (-want +got):\n%s", d)
	}

	// The pattern's mean feature averages its images' maps; the
	// filter's feature is a base map with channel 0 from the pattern.
	mean := MeanFeature(a, got[1])
	if v := mean[1*h*w+0*w+0]; v != 0 {
		t.Errorf("legs pattern: channel 1 mean %v at (0,0), want 0", v)
	}
	if v, want := mean[2*h*w+3*w+2], float32(2*(5+4+3+2+1))/5; v != want {
		t.Errorf("legs pattern: channel 2 mean %v at (3,2), want %v", v, want)
	}
	base := make([]float32, len(mean))
	for i := range base {
		base[i] = -1
	}
	single := WithFilter(base, mean, h, w, 0)
	if single[2*h*w+3*w+2] != -1 || single[3*w+2] != mean[3*w+2] || base[3*w+2] != -1 {
		t.Errorf("filter feature keeps the pattern's other channels, drops channel 0 or changes the base: %v", single)
	}

	// Limiting the peaks keeps the strongest.
	if got := Peaks(a, 0, 3); !cmp.Equal(got, peaks([]int{0, 1, 2}, 0, 1)) {
		t.Errorf("Peaks(limit 3) = %v", got)
	}
}

func TestPatchSide(t *testing.T) {
	for _, tc := range []struct {
		g    parts.Geometry
		want int
	}{
		{parts.Geometry{Size: 75, Jump: 8, ImageWidth: 64, ImageHeight: 64}, 32}, // VGG-M conv5: capped at half the image
		{parts.Geometry{Size: 18, Jump: 4, ImageWidth: 64, ImageHeight: 64}, 18}, // a mid layer: its receptive field
		{parts.Geometry{Size: 38, Jump: 8, ImageWidth: 64, ImageHeight: 48}, 24},
	} {
		if got := PatchSide(tc.g); got != tc.want {
			t.Errorf("PatchSide(%+v) = %d, want %d", tc.g, got, tc.want)
		}
	}
}
