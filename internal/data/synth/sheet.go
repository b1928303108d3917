package synth

import (
	"fmt"
	"image"
	"image/color"
	"math"
)

// PartColours colourises fine part ids for mask images and contact sheets.
var PartColours = [NumParts]color.RGBA{
	PartNone:     {0, 0, 0, 255},
	PartHead:     {230, 25, 75, 255},
	PartEye:      {255, 255, 255, 255},
	PartEar:      {245, 130, 48, 255},
	PartMuzzle:   {250, 190, 212, 255},
	PartBeak:     {255, 225, 25, 255},
	PartHorn:     {170, 110, 40, 255},
	PartNeck:     {145, 30, 180, 255},
	PartMane:     {220, 190, 255, 255},
	PartTorso:    {60, 180, 75, 255},
	PartWing:     {170, 255, 195, 255},
	PartFrontLeg: {0, 130, 200, 255},
	PartBackLeg:  {70, 240, 240, 255},
	PartTail:     {128, 128, 0, 255},
}

// LandmarkColours colours landmark dots, by landmark index.
var LandmarkColours = [numLandmarks]color.RGBA{
	{255, 0, 0, 255}, {255, 0, 255, 255}, {0, 255, 0, 255}, {0, 64, 255, 255}, {0, 255, 255, 255}, {255, 255, 0, 255},
}

// PartMaskImage colourises a sample's fine part labels.
func PartMaskImage(s *Sample) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, s.Size, s.Size))
	for k, p := range s.PartLabels {
		c := PartColours[p]
		if s.Layers[k] == uint8(LayerOccluder) {
			c = color.RGBA{60, 60, 60, 255}
		}
		img.Pix[4*k], img.Pix[4*k+1], img.Pix[4*k+2], img.Pix[4*k+3] = c.R, c.G, c.B, 255
	}
	return img
}

// ContactSheet lays samples out in a grid of cols columns. Each cell shows
// the image (left) and the image with part masks blended over it, the box
// and the landmarks (right, visible landmarks as filled dots, hidden ones
// hollow), captioned with the category; a legend of part and landmark
// colours runs along the bottom. Samples may have different sizes; cells use
// the largest.
func ContactSheet(samples []*Sample, cols int) *image.RGBA {
	cols = max(cols, 1)
	cell := 0
	for _, s := range samples {
		cell = max(cell, s.Size)
	}
	px := max(1, cell/64) // glyph scale
	caption := 7 * px
	cellW, cellH := 2*cell+3*px, cell+caption+2*px
	rows := (len(samples) + cols - 1) / cols
	legendRows := 3
	width := max(cols*cellW, 60*4*px)
	height := rows*cellH + legendRows*8*px + 4*px
	sheet := image.NewRGBA(image.Rect(0, 0, width, height))
	fillRect(sheet, sheet.Bounds(), color.RGBA{32, 32, 32, 255})
	white := color.RGBA{240, 240, 240, 255}
	for n, s := range samples {
		ox, oy := (n%cols)*cellW+px, (n/cols)*cellH+px
		for y := range s.Size {
			for x := range s.Size {
				k := y*s.Size + x
				c := s.Image.RGBAAt(x, y)
				sheet.SetRGBA(ox+x, oy+y, c)
				if p := s.PartLabels[k]; p != 0 {
					c = blend(c, PartColours[p], 0.6)
				} else if s.Layers[k] == uint8(LayerOccluder) {
					c = blend(c, color.RGBA{0, 0, 0, 255}, 0.5)
				}
				sheet.SetRGBA(ox+s.Size+px+x, oy+y, c)
			}
		}
		if !s.Box.Empty() {
			outline(sheet, s.Box.Add(image.Pt(ox+s.Size+px, oy)), white)
		}
		r := max(1, s.Size/40)
		for k, lm := range s.Landmarks {
			cx, cy := ox+s.Size+px+int(math.Floor(lm.X)), oy+int(math.Floor(lm.Y))
			dot(sheet, cx, cy, r, LandmarkColours[k], lm.Visible, image.Rect(ox+s.Size+px, oy, ox+2*s.Size+px, oy+s.Size))
		}
		drawText(sheet, ox, oy+s.Size+px, px, fmt.Sprintf("%d %s", s.Index, s.CategoryName), white)
	}
	// Legend: parts, then landmarks.
	y := rows*cellH + 2*px
	x := px
	for p := 1; p < NumParts; p++ {
		name := PartNames[p]
		if x+(len(name)+3)*4*px > width {
			x, y = px, y+8*px
		}
		fillRect(sheet, image.Rect(x, y, x+5*px, y+5*px), PartColours[p])
		x = drawText(sheet, x+7*px, y, px, name, white) + 4*px
	}
	x, y = px, y+8*px
	for k, name := range LandmarkNames {
		if x+(len(name)+3)*4*px > width {
			x, y = px, y+8*px
		}
		dot(sheet, x+2*px, y+2*px, 2*px, LandmarkColours[k], true, sheet.Bounds())
		x = drawText(sheet, x+7*px, y, px, name, white) + 4*px
	}
	return sheet
}

func blend(a, b color.RGBA, t float64) color.RGBA {
	m := func(x, y uint8) uint8 { return uint8(math.Round(float64(x)*(1-t) + float64(y)*t)) }
	return color.RGBA{m(a.R, b.R), m(a.G, b.G), m(a.B, b.B), 255}
}

func outline(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	for x := r.Min.X; x < r.Max.X; x++ {
		img.SetRGBA(x, r.Min.Y, c)
		img.SetRGBA(x, r.Max.Y-1, c)
	}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		img.SetRGBA(r.Min.X, y, c)
		img.SetRGBA(r.Max.X-1, y, c)
	}
}

// dot draws a disc of radius r with a black rim, filled or hollow, clipped to clip.
func dot(img *image.RGBA, cx, cy, r int, c color.RGBA, filled bool, clip image.Rectangle) {
	for y := cy - r - 1; y <= cy+r+1; y++ {
		for x := cx - r - 1; x <= cx+r+1; x++ {
			if !(image.Point{x, y}.In(clip)) {
				continue
			}
			d2 := (x-cx)*(x-cx) + (y-cy)*(y-cy)
			switch {
			case d2 <= r*r && (filled || d2 >= (r-1)*(r-1)):
				img.SetRGBA(x, y, c)
			case d2 <= (r+1)*(r+1) && d2 > r*r:
				img.SetRGBA(x, y, color.RGBA{0, 0, 0, 255})
			}
		}
	}
}
