package synth

import (
	"image"
	"math"
)

// DefaultCropMargin is the margin CropToBox adds on every side of the box,
// as a fraction of the box's width and height.
const DefaultCropMargin = 0.1

// CropToBox crops the object by its bounding box plus DefaultCropMargin and
// warps the crop to outSize × outSize, as the paper's protocol feeds
// box-cropped objects to the network. See CropRegion.
func CropToBox(s *Sample, outSize int) *Sample {
	return CropRegion(s, MarginBox(s.Box, DefaultCropMargin, s.Size), outSize)
}

// MarginBox grows r by margin × its width/height on each side, clipped to
// the size×size image; an empty r becomes the whole image.
func MarginBox(r image.Rectangle, margin float64, size int) image.Rectangle {
	if r.Empty() {
		return image.Rect(0, 0, size, size)
	}
	mx := int(math.Ceil(float64(r.Dx()) * margin))
	my := int(math.Ceil(float64(r.Dy()) * margin))
	return image.Rect(r.Min.X-mx, r.Min.Y-my, r.Max.X+mx, r.Max.Y+my).Intersect(image.Rect(0, 0, size, size))
}

// CropRegion cuts region r out of s and resamples it to outSize × outSize
// (the aspect ratio is not kept). The image is resampled bilinearly, the
// label maps by nearest neighbour; landmarks move with the same mapping and
// stay visible only if their new pixel still lies on their group. The box is
// recomputed from the new labels.
func CropRegion(s *Sample, r image.Rectangle, outSize int) *Sample {
	r = r.Intersect(image.Rect(0, 0, s.Size, s.Size))
	if r.Empty() {
		r = image.Rect(0, 0, s.Size, s.Size)
	}
	n := outSize * outSize
	out := &Sample{
		Index: s.Index, Size: outSize, Category: s.Category, CategoryName: s.CategoryName, Flipped: s.Flipped,
		Image: image.NewRGBA(image.Rect(0, 0, outSize, outSize)), PartLabels: make([]uint8, n), Groups: make([]uint8, n), Layers: make([]uint8, n),
	}
	sx, sy := float64(r.Dx())/float64(outSize), float64(r.Dy())/float64(outSize)
	for j := range outSize {
		// Source position of the output pixel centre.
		fy := float64(r.Min.Y) + (float64(j)+0.5)*sy
		ny := min(int(fy), r.Max.Y-1)
		by := fy - 0.5
		y0 := int(math.Floor(by))
		ty := by - float64(y0)
		y0c, y1c := clampInt(y0, r.Min.Y, r.Max.Y-1), clampInt(y0+1, r.Min.Y, r.Max.Y-1)
		for i := range outSize {
			fx := float64(r.Min.X) + (float64(i)+0.5)*sx
			nx := min(int(fx), r.Max.X-1)
			src := ny*s.Size + nx
			k := j*outSize + i
			out.PartLabels[k], out.Groups[k], out.Layers[k] = s.PartLabels[src], s.Groups[src], s.Layers[src]

			bx := fx - 0.5
			x0 := int(math.Floor(bx))
			tx := bx - float64(x0)
			x0c, x1c := clampInt(x0, r.Min.X, r.Max.X-1), clampInt(x0+1, r.Min.X, r.Max.X-1)
			for c := range 3 {
				p := func(x, y int) float64 { return float64(s.Image.Pix[4*(y*s.Size+x)+c]) }
				top := p(x0c, y0c)*(1-tx) + p(x1c, y0c)*tx
				bot := p(x0c, y1c)*(1-tx) + p(x1c, y1c)*tx
				out.Image.Pix[4*k+c] = uint8(math.Round(top*(1-ty) + bot*ty))
			}
			out.Image.Pix[4*k+3] = 255
		}
	}
	out.Landmarks = make([]Landmark, len(s.Landmarks))
	for k, lm := range s.Landmarks {
		out.Landmarks[k] = Landmark{Name: lm.Name, X: (lm.X - float64(r.Min.X)) / sx, Y: (lm.Y - float64(r.Min.Y)) / sy, Visible: lm.Visible}
	}
	wasVisible := make([]bool, len(out.Landmarks))
	for k := range out.Landmarks {
		wasVisible[k] = out.Landmarks[k].Visible
	}
	out.refreshVisibility()
	for k := range out.Landmarks {
		out.Landmarks[k].Visible = out.Landmarks[k].Visible && wasVisible[k]
	}
	out.Box = tightBox(out.PartLabels, outSize)
	return out
}

func clampInt(v, lo, hi int) int { return max(lo, min(hi, v)) }
