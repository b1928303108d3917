package upconv

import (
	"fmt"

	"github.com/icnnlab/icnnlab/plugins/visualizers/vizwire"
	"github.com/icnnlab/icnnlab/sdk/parts"
)

// InputSide is the side of the map the decoder graph takes for h×w
// features and S×S images: h itself when S = h·2^k (k ≥ 1), otherwise the
// smallest S/2^k (k ≥ 1) at or above h, onto which Resample spreads the
// features. VGG-M's and AlexNet's top conv-layers at 64 px (6×6, 7×7)
// become 8×8; VGG-S's 18×18 at 224 px becomes 28×28. Up-sampling loses
// nothing of the features; the decoder's convolutions learn the rest.
func InputSide(h, w, imageSize int) (int, error) {
	if h != w || h < 1 {
		return 0, fmt.Errorf("upconv: feature map %dx%d must be square and non-empty", h, w)
	}
	if imageSize < 2 || h > imageSize/2 {
		return 0, fmt.Errorf("upconv: feature map side %d is more than half the image side %d: nothing to up-convolve", h, imageSize)
	}
	if k := Log2Ratio(h, imageSize); k >= 1 {
		return h, nil
	}
	best := 0
	for k := 1; imageSize%(1<<k) == 0 && imageSize>>k >= h; k++ {
		best = imageSize >> k
	}
	if best == 0 {
		return 0, fmt.Errorf("upconv: image side %d has no power-of-two divisor leaving a map side of at least %d", imageSize, h)
	}
	return best, nil
}

// Log2Ratio is k with side·2^k = imageSize, or -1.
func Log2Ratio(side, imageSize int) int {
	for k := 0; side > 0 && side<<k <= imageSize; k++ {
		if side<<k == imageSize {
			return k
		}
	}
	return -1
}

// Resample spreads every map of m (h×w units whose receptive fields have
// geometry g) onto a side×side grid of units evenly covering the image:
// new unit (i, j) sits at image position ((j+½)·S/side, (i+½)·S/side) and
// takes the bilinear interpolation of the old units between their
// receptive-field centres (Start + j·Jump), constant beyond the outermost
// ones, as parts.Geometry.Upsample spreads a map onto the pixels. Features thus stay
// where their receptive fields are on the image.
func Resample(m vizwire.Maps, g parts.Geometry, side int) (vizwire.Maps, error) {
	if g.Jump < 1 || g.ImageWidth < 1 || g.ImageHeight < 1 {
		return vizwire.Maps{}, fmt.Errorf("upconv: resampling %dx%d features to %dx%d needs the receptive-field geometry (jump %d, image %dx%d)",
			m.H, m.W, side, side, g.Jump, g.ImageWidth, g.ImageHeight)
	}
	type tap struct {
		i0, i1 int
		f      float64
	}
	taps := func(n, image int) []tap {
		out := make([]tap, side)
		for k := range out {
			u := ((float64(k)+0.5)*float64(image)/float64(side) - g.Start) / float64(g.Jump)
			switch {
			case u <= 0:
				out[k] = tap{0, 0, 0}
			case u >= float64(n-1):
				out[k] = tap{n - 1, n - 1, 0}
			default:
				i := int(u)
				out[k] = tap{i, i + 1, u - float64(i)}
			}
		}
		return out
	}
	rows, cols := taps(m.H, g.ImageHeight), taps(m.W, g.ImageWidth)
	out := vizwire.Maps{N: m.N, C: m.C, H: side, W: side, Data: make([]float32, 0, m.N*m.C*side*side)}
	for n := range m.N {
		for c := range m.C {
			src := m.At(n, c)
			for _, r := range rows {
				for _, q := range cols {
					top := float64(src[r.i0*m.W+q.i0])*(1-q.f) + float64(src[r.i0*m.W+q.i1])*q.f
					bot := float64(src[r.i1*m.W+q.i0])*(1-q.f) + float64(src[r.i1*m.W+q.i1])*q.f
					out.Data = append(out.Data, float32(top*(1-r.f)+bot*r.f))
				}
			}
		}
	}
	return out, nil
}
