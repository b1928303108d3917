// Package draw holds the raster helpers the visualizer plugins share:
// images from CHW tensors, activation maps up-sampled onto the image along
// the receptive-field geometry, overlays, colour maps, grids and PNG
// encoding. Everything works on image.RGBA and plain slices, so the
// plugins stay independent of any GUI or font library (captions live in
// the HTML report, not in the pixels).
package draw

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"

	"github.com/icnnlab/icnnlab/plugins/visualizers/vizwire"
	"github.com/icnnlab/icnnlab/sdk/parts"
)

// RGB converts item n of a float32 [N,3,S,S] image tensor in [0, 1] to an
// image, clamping out-of-range values (decoder outputs overshoot).
func RGB(imgs vizwire.Maps, n int) *image.RGBA {
	return RGBFromCHW(imgs.Item(n), imgs.H, imgs.W)
}

// RGBFromCHW converts one 3×h×w channel-major image in [0, 1].
func RGBFromCHW(chw []float32, h, w int) *image.RGBA {
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	plane := h * w
	for y := range h {
		for x := range w {
			i := y*w + x
			out.SetRGBA(x, y, color.RGBA{unit(chw[i]), unit(chw[plane+i]), unit(chw[2*plane+i]), 255})
		}
	}
	return out
}

func unit(v float32) uint8 {
	switch {
	case !(v > 0): // NaN too
		return 0
	case v >= 1:
		return 255
	}
	return uint8(math.Round(float64(v) * 255))
}

// Threshold marks the values at or above t (and above 0: a silent unit
// never marks a region).
func Threshold(v []float32, t float32) []bool {
	out := make([]bool, len(v))
	for i, x := range v {
		out[i] = x >= t && x > 0
	}
	return out
}

// Overlay returns img with the pixels outside region dimmed to a third,
// the region tinted with c and outlined, as Zhou et al.'s receptive-field
// figures show where a unit fires.
func Overlay(img *image.RGBA, region []bool, c color.RGBA) *image.RGBA {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	in := func(x, y int) bool { return x >= 0 && y >= 0 && x < w && y < h && region[y*w+x] }
	for y := range h {
		for x := range w {
			p := img.RGBAAt(b.Min.X+x, b.Min.Y+y)
			if !in(x, y) {
				out.SetRGBA(x, y, color.RGBA{p.R / 3, p.G / 3, p.B / 3, 255})
				continue
			}
			if !in(x-1, y) || !in(x+1, y) || !in(x, y-1) || !in(x, y+1) {
				out.SetRGBA(x, y, c)
				continue
			}
			out.SetRGBA(x, y, Blend(p, c, 0.25))
		}
	}
	return out
}

// Blend mixes a towards b by t in [0, 1].
func Blend(a, b color.RGBA, t float64) color.RGBA {
	mix := func(x, y uint8) uint8 { return uint8(math.Round(float64(x)*(1-t) + float64(y)*t)) }
	return color.RGBA{mix(a.R, b.R), mix(a.G, b.G), mix(a.B, b.B), 255}
}

// Heat maps v in [0, 1] (clamped) to a perceptually ordered colour ramp:
// black, purple, red, orange, pale yellow (like matplotlib's "inferno").
func Heat(v float64) color.RGBA {
	stops := [...]color.RGBA{{0, 0, 4, 255}, {87, 16, 110, 255}, {188, 55, 84, 255}, {249, 142, 9, 255}, {252, 255, 164, 255}}
	if !(v > 0) {
		return stops[0]
	}
	if v >= 1 {
		return stops[len(stops)-1]
	}
	u := v * float64(len(stops)-1)
	i := int(u)
	return Blend(stops[i], stops[i+1], u-float64(i))
}

// HeatOverlay blends a per-pixel heat map (values in [0, 1]) over img with
// weight alpha.
func HeatOverlay(img *image.RGBA, heat []float32, alpha float64) *image.RGBA {
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := range b.Dy() {
		for x := range b.Dx() {
			p := img.RGBAAt(b.Min.X+x, b.Min.Y+y)
			out.SetRGBA(x, y, Blend(p, Heat(float64(heat[y*b.Dx()+x])), alpha))
		}
	}
	return out
}

// Matrix draws rows×cols values in [0, 1] as cell×cell squares of Heat
// colours, one pixel of grey between cells.
func Matrix(values [][]float64, cell int) *image.RGBA {
	rows := len(values)
	cols := 0
	for _, r := range values {
		cols = max(cols, len(r))
	}
	out := image.NewRGBA(image.Rect(0, 0, cols*(cell+1)+1, rows*(cell+1)+1))
	fill(out, out.Bounds(), color.RGBA{128, 128, 128, 255})
	for i, r := range values {
		for j, v := range r {
			x, y := 1+j*(cell+1), 1+i*(cell+1)
			fill(out, image.Rect(x, y, x+cell, y+cell), Heat(v))
		}
	}
	return out
}

func fill(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	r = r.Intersect(img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.SetRGBA(x, y, c)
		}
	}
}

// Scale enlarges img by an integer factor with nearest-neighbour sampling,
// so 64-px images stay sharp in a report.
func Scale(img *image.RGBA, factor int) *image.RGBA {
	if factor <= 1 {
		return img
	}
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx()*factor, b.Dy()*factor))
	for y := range out.Bounds().Dy() {
		for x := range out.Bounds().Dx() {
			out.SetRGBA(x, y, img.RGBAAt(b.Min.X+x/factor, b.Min.Y+y/factor))
		}
	}
	return out
}

// Crop copies r out of img; the parts of r outside img are grey, so patches
// at the border keep their size and their centre.
func Crop(img *image.RGBA, r image.Rectangle) *image.RGBA {
	out := image.NewRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
	fill(out, out.Bounds(), color.RGBA{96, 96, 96, 255})
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if (image.Point{x, y}).In(img.Bounds()) {
				out.SetRGBA(x-r.Min.X, y-r.Min.Y, img.RGBAAt(x, y))
			}
		}
	}
	return out
}

// Grid lays tiles out in rows of cols, pad pixels of white between and
// around them; every cell is as large as the largest tile.
func Grid(tiles []*image.RGBA, cols, pad int) *image.RGBA {
	if len(tiles) == 0 || cols < 1 {
		return image.NewRGBA(image.Rect(0, 0, 1, 1))
	}
	cw, ch := 0, 0
	for _, t := range tiles {
		cw, ch = max(cw, t.Bounds().Dx()), max(ch, t.Bounds().Dy())
	}
	cols = min(cols, len(tiles))
	rows := (len(tiles) + cols - 1) / cols
	out := image.NewRGBA(image.Rect(0, 0, cols*(cw+pad)+pad, rows*(ch+pad)+pad))
	fill(out, out.Bounds(), color.RGBA{255, 255, 255, 255})
	for k, t := range tiles {
		x, y := pad+(k%cols)*(cw+pad), pad+(k/cols)*(ch+pad)
		b := t.Bounds()
		for ty := range b.Dy() {
			for tx := range b.Dx() {
				out.SetRGBA(x+tx, y+ty, t.RGBAAt(b.Min.X+tx, b.Min.Y+ty))
			}
		}
	}
	return out
}

// PNG encodes img.
func PNG(img image.Image) ([]byte, error) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("encode png: %w", err)
	}
	return buf.Bytes(), nil
}

// UnitBox is the side×side square centred on unit (i, j)'s receptive
// field (parts.Geometry.Box), in image pixels: where a mined patch is cut.
func UnitBox(g parts.Geometry, i, j, side int) image.Rectangle {
	r := g.Box(i, j, side)
	return image.Rect(r.X0, r.Y0, r.X1, r.Y1)
}

// Cross draws a plus sign of arm length arm centred on (x, y), two pixels
// thick with a one-pixel dark rim so that it shows on any background;
// pixels outside img are skipped.
func Cross(img *image.RGBA, x, y, arm int, c color.RGBA) {
	set := func(px, py int, c color.RGBA) {
		if (image.Point{px, py}).In(img.Bounds()) {
			img.SetRGBA(px, py, c)
		}
	}
	dark := color.RGBA{0, 0, 0, 255}
	for _, pass := range []struct {
		c     color.RGBA
		width int
	}{{dark, 2}, {c, 1}} {
		for d := -arm - pass.width + 1; d <= arm+pass.width-1; d++ {
			for w := -pass.width; w < pass.width; w++ {
				set(x+d, y+w, pass.c)
				set(x+w, y+d, pass.c)
			}
		}
	}
}

// PatchSide is the default side of a mined patch: the unit's receptive
// field, but at most half the image. The theoretical receptive field of a
// top conv-layer often covers the whole image (VGG-M's conv5: 75 px of
// 64), which would make every patch the whole image; the effective one is
// much smaller (Luo et al. 2016), and a patch of half the image shows what
// is at the peak.
func PatchSide(g parts.Geometry) int {
	side := g.Size
	if half := min(g.ImageWidth, g.ImageHeight) / 2; half > 0 && side > half {
		side = half
	}
	return max(side, 1)
}
