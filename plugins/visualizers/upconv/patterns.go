package upconv

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/icnnlab/icnnlab/plugins/visualizers/vizwire"
)

// Peak is one image's strongest unit of a filter (vizwire.Peak).
type Peak = vizwire.Peak

// Peaks returns filter f's peak in every image where it fires, strongest
// first, at most limit of them (vizwire.Peaks).
func Peaks(a vizwire.Maps, f, limit int) []Peak { return vizwire.Peaks(a, f, limit) }

// PeakDescriptor is the vector a peak is clustered by: the layer's feature
// vector at the peak's unit (all channels), scaled to unit length so that
// patterns group by what co-fires rather than by strength, followed by the
// peak's position on the map (row and column in [0, 1], relative to the
// object since images are cropped by its box) times positionWeight.
func PeakDescriptor(a vizwire.Maps, p Peak, positionWeight float64) []float64 {
	v := make([]float64, a.C, a.C+2)
	norm := 0.0
	for c := range a.C {
		x := float64(a.At(p.Image, c)[p.Row*a.W+p.Col])
		v[c] = x
		norm += x * x
	}
	if norm > 0 {
		norm = math.Sqrt(norm)
		for c := range v {
			v[c] /= norm
		}
	}
	rel := func(i, n int) float64 {
		if n <= 1 {
			return 0.5
		}
		return float64(i) / float64(n-1)
	}
	return append(v, positionWeight*rel(p.Row, a.H), positionWeight*rel(p.Col, a.W))
}

// KMeans clusters points into at most k groups with k-means++ seeding
// (deterministic for a seed) and Lloyd iterations until no point moves.
// It returns each point's cluster; clusters are numbered by decreasing
// size (ties by their smallest member), and empty ones are dropped.
func KMeans(points [][]float64, k int, seed uint64) []int {
	n := len(points)
	if n == 0 {
		return nil
	}
	k = min(max(k, 1), n)
	rng := rand.New(rand.NewPCG(seed, 0x6b6d65616e73))
	centres := [][]float64{slices.Clone(points[rng.IntN(n)])}
	dist := make([]float64, n)
	for len(centres) < k {
		total := 0.0
		for i, p := range points {
			dist[i] = math.Inf(1)
			for _, c := range centres {
				dist[i] = min(dist[i], sqDist(p, c))
			}
			total += dist[i]
		}
		if total == 0 { // fewer distinct points than k
			break
		}
		r := rng.Float64() * total
		pick := n - 1
		for i, d := range dist {
			if r -= d; r < 0 {
				pick = i
				break
			}
		}
		centres = append(centres, slices.Clone(points[pick]))
	}
	assign := make([]int, n)
	for i := range assign {
		assign[i] = -1
	}
	for iter := 0; iter < 100; iter++ {
		moved := false
		for i, p := range points {
			best := 0
			for c := 1; c < len(centres); c++ {
				if sqDist(p, centres[c]) < sqDist(p, centres[best]) {
					best = c
				}
			}
			if assign[i] != best {
				assign[i], moved = best, true
			}
		}
		if !moved {
			break
		}
		for c := range centres {
			sum, count := make([]float64, len(points[0])), 0
			for i, p := range points {
				if assign[i] == c {
					count++
					for d, x := range p {
						sum[d] += x
					}
				}
			}
			if count == 0 {
				continue // keep the old centre; it is dropped below if still empty
			}
			for d := range sum {
				sum[d] /= float64(count)
			}
			centres[c] = sum
		}
	}
	return renumberBySize(assign, len(centres))
}

func renumberBySize(assign []int, k int) []int {
	size, first := make([]int, k), make([]int, k)
	for c := range first {
		first[c] = len(assign)
	}
	for i, c := range assign {
		size[c]++
		first[c] = min(first[c], i)
	}
	order := make([]int, 0, k)
	for c := range k {
		if size[c] > 0 {
			order = append(order, c)
		}
	}
	slices.SortFunc(order, func(x, y int) int {
		if s := cmp.Compare(size[y], size[x]); s != 0 {
			return s
		}
		return cmp.Compare(first[x], first[y])
	})
	rename := make([]int, k)
	for newID, c := range order {
		rename[c] = newID
	}
	out := make([]int, len(assign))
	for i, c := range assign {
		out[i] = rename[c]
	}
	return out
}

func sqDist(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		d := a[i] - b[i]
		s += d * d
	}
	return s
}

// Pattern is one recurring activation pattern of a filter.
type Pattern struct {
	// Peaks are the members, strongest first.
	Peaks []Peak `json:"peaks"`
	// MeanRow and MeanCol are the members' mean peak position on the map.
	MeanRow float64 `json:"mean_row"`
	MeanCol float64 `json:"mean_col"`
}

// MinePatterns collects filter f's strongest peaks (at most peaks of them)
// and clusters them into at most k patterns, largest first.
func MinePatterns(a vizwire.Maps, f, peaks, k int, positionWeight float64, seed uint64) []Pattern {
	ps := Peaks(a, f, peaks)
	if len(ps) == 0 {
		return nil
	}
	desc := make([][]float64, len(ps))
	for i, p := range ps {
		desc[i] = PeakDescriptor(a, p, positionWeight)
	}
	assign := KMeans(desc, k, seed+uint64(f))
	out := make([]Pattern, slices.Max(assign)+1)
	for i, c := range assign {
		out[c].Peaks = append(out[c].Peaks, ps[i]) // ps is sorted, so members stay strongest first
	}
	for c := range out {
		for _, p := range out[c].Peaks {
			out[c].MeanRow += float64(p.Row)
			out[c].MeanCol += float64(p.Col)
		}
		out[c].MeanRow /= float64(len(out[c].Peaks))
		out[c].MeanCol /= float64(len(out[c].Peaks))
	}
	return out
}

// MeanFeature averages the full feature maps [C,H,W] of a pattern's images:
// the feature the decoder renders for the pattern.
func MeanFeature(a vizwire.Maps, p Pattern) []float32 {
	per := a.C * a.H * a.W
	sum := make([]float64, per)
	for _, pk := range p.Peaks {
		for i, v := range a.Item(pk.Image) {
			sum[i] += float64(v)
		}
	}
	out := make([]float32, per)
	for i, s := range sum {
		out[i] = float32(s / float64(len(p.Peaks)))
	}
	return out
}

// WithFilter is base [C,H,W] with channel f replaced by feature's: what
// the decoder makes of the filter's pattern when every other filter is at
// its average (zeroing the others instead would put the decoder far off
// the features it was trained on).
func WithFilter(base, feature []float32, h, w, f int) []float32 {
	out := slices.Clone(base)
	copy(out[f*h*w:(f+1)*h*w], feature[f*h*w:(f+1)*h*w])
	return out
}
