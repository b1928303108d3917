package partset

import (
	"image"
	"math"
)

// Region is a rectangle in continuous pixel coordinates: pixel (x, y)
// covers [x, x+1) × [y, y+1).
type Region struct{ X0, Y0, X1, Y1 float64 }

// RegionOf is the region covered by the pixels of r.
func RegionOf(r image.Rectangle) Region {
	return Region{float64(r.Min.X), float64(r.Min.Y), float64(r.Max.X), float64(r.Max.Y)}
}

// Empty reports whether the region has no area.
func (r Region) Empty() bool { return !(r.X1 > r.X0 && r.Y1 > r.Y0) }

// ResampleBilinear resamples region r of the w×h plane src to an out×out
// plane (the aspect ratio is not kept). Output pixel centres map linearly
// into r; samples outside the plane take the nearest edge value.
func ResampleBilinear(src []float32, w, h int, r Region, out int) []float32 {
	dst := make([]float32, out*out)
	sx, sy := (r.X1-r.X0)/float64(out), (r.Y1-r.Y0)/float64(out)
	for j := range out {
		// Pixel-index coordinate of the output pixel centre.
		by := r.Y0 + (float64(j)+0.5)*sy - 0.5
		y0 := int(math.Floor(by))
		ty := float32(by - float64(y0))
		ya, yb := clamp(y0, h-1), clamp(y0+1, h-1)
		for i := range out {
			bx := r.X0 + (float64(i)+0.5)*sx - 0.5
			x0 := int(math.Floor(bx))
			tx := float32(bx - float64(x0))
			xa, xb := clamp(x0, w-1), clamp(x0+1, w-1)
			top := src[ya*w+xa]*(1-tx) + src[ya*w+xb]*tx
			bot := src[yb*w+xa]*(1-tx) + src[yb*w+xb]*tx
			dst[j*out+i] = top*(1-ty) + bot*ty
		}
	}
	return dst
}

// ResampleNearest resamples region r of the w×h label plane src to out×out
// by nearest neighbour (labels must not be blended); outside the plane is 0.
func ResampleNearest(src []uint8, w, h int, r Region, out int) []uint8 {
	dst := make([]uint8, out*out)
	sx, sy := (r.X1-r.X0)/float64(out), (r.Y1-r.Y0)/float64(out)
	for j := range out {
		y := int(math.Floor(r.Y0 + (float64(j)+0.5)*sy))
		if y < 0 || y >= h {
			continue
		}
		for i := range out {
			x := int(math.Floor(r.X0 + (float64(i)+0.5)*sx))
			if x >= 0 && x < w {
				dst[j*out+i] = src[y*w+x]
			}
		}
	}
	return dst
}

func clamp(v, hi int) int { return max(0, min(v, hi)) }

// Planes splits an image into three float32 planes with values in [0,1]
// (grey images are replicated to every channel).
func Planes(img image.Image) (planes [3][]float32, w, h int) {
	b := img.Bounds()
	w, h = b.Dx(), b.Dy()
	for c := range planes {
		planes[c] = make([]float32, w*h)
	}
	switch m := img.(type) {
	case *image.Gray:
		for y := range h {
			for x := range w {
				v := float32(m.Pix[y*m.Stride+x]) / 255
				planes[0][y*w+x], planes[1][y*w+x], planes[2][y*w+x] = v, v, v
			}
		}
	case *image.YCbCr:
		for y := range h {
			for x := range w {
				c := m.YCbCrAt(b.Min.X+x, b.Min.Y+y)
				r, g, bl := ycbcrToRGB(c.Y, c.Cb, c.Cr)
				planes[0][y*w+x], planes[1][y*w+x], planes[2][y*w+x] = r, g, bl
			}
		}
	default:
		for y := range h {
			for x := range w {
				r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
				planes[0][y*w+x], planes[1][y*w+x], planes[2][y*w+x] = float32(r)/65535, float32(g)/65535, float32(bl)/65535
			}
		}
	}
	return planes, w, h
}

func ycbcrToRGB(y, cb, cr uint8) (float32, float32, float32) {
	// JFIF conversion, as image/color does, without its 8-bit rounding.
	fy, fcb, fcr := float32(y), float32(cb)-128, float32(cr)-128
	r := fy + 1.402*fcr
	g := fy - 0.344136*fcb - 0.714136*fcr
	b := fy + 1.772*fcb
	return clamp01(r / 255), clamp01(g / 255), clamp01(b / 255)
}

func clamp01(v float32) float32 { return max(0, min(v, 1)) }

// ImageNet channel statistics: real photographs are normalised with them,
// as the paper's ImageNet-pretrained networks expect.
var (
	ChannelMean = [3]float32{0.485, 0.456, 0.406}
	ChannelStd  = [3]float32{0.229, 0.224, 0.225}
)

// CropCHW crops region r of img, resamples it bilinearly to size×size and
// returns the normalised 3×size×size channel-major image.
func CropCHW(img image.Image, r Region, size int) []float32 {
	planes, w, h := Planes(img)
	out := make([]float32, 0, 3*size*size)
	for c := range 3 {
		for _, v := range ResampleBilinear(planes[c], w, h, r, size) {
			out = append(out, (v-ChannelMean[c])/ChannelStd[c])
		}
	}
	return out
}
