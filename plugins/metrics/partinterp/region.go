package partinterp

import (
	"math"

	"github.com/icnnlab/icnnlab/sdk/parts"
)

// painter is a reusable image-sized bitmap for one region S_f^I. It tracks
// the bounding box of what was painted so that counting and clearing touch
// only that part: regions of strong units are small next to the image.
type painter struct {
	w, h           int
	on             []bool
	x0, y0, x1, y1 int // painted bounding box, half-open; empty when x0 ≥ x1
}

func newPainter(w, h int) *painter {
	return &painter{w: w, h: h, on: make([]bool, w*h), x0: w, y0: h}
}

func (p *painter) grow(x0, y0, x1, y1 int) {
	p.x0, p.y0 = min(p.x0, x0), min(p.y0, y0)
	p.x1, p.y1 = max(p.x1, x1), max(p.y1, y1)
}

// box paints the size×size square centred at (cx, cy), placed as
// parts.BoxAround places it, clipped to the image.
func (p *painter) box(cx, cy float64, size int) {
	r := parts.BoxAround(cx, cy, size).Clip(p.w, p.h)
	if r.Empty() {
		return
	}
	for y := r.Y0; y < r.Y1; y++ {
		row := p.on[y*p.w : (y+1)*p.w]
		for x := r.X0; x < r.X1; x++ {
			row[x] = true
		}
	}
	p.grow(r.X0, r.Y0, r.X1, r.Y1)
}

// disc paints the pixels whose centres lie within radius r of (cx, cy).
func (p *painter) disc(cx, cy, r float64) {
	x0, x1 := max(0, int(math.Floor(cx-r-0.5))), min(p.w, int(math.Ceil(cx+r))+1)
	y0, y1 := max(0, int(math.Floor(cy-r-0.5))), min(p.h, int(math.Ceil(cy+r))+1)
	painted := false
	for y := y0; y < y1; y++ {
		dy := float64(y) + 0.5 - cy
		for x := x0; x < x1; x++ {
			dx := float64(x) + 0.5 - cx
			if dx*dx+dy*dy <= r*r {
				p.on[y*p.w+x] = true
				painted = true
			}
		}
	}
	if painted {
		p.grow(x0, y0, x1, y1)
	}
}

// count returns the painted area and, in inter, the painted pixels per
// group id of mask; it clears the bitmap for the next region.
func (p *painter) count(mask []uint8, inter *[256]int) int {
	*inter = [256]int{}
	area := 0
	for y := p.y0; y < p.y1; y++ {
		for x := p.x0; x < p.x1; x++ {
			i := y*p.w + x
			if p.on[i] {
				area++
				inter[mask[i]]++
				p.on[i] = false
			}
		}
	}
	p.x0, p.y0, p.x1, p.y1 = p.w, p.h, 0, 0
	return area
}

// paintUpsampled paints the pixels whose bilinearly up-sampled activation
// is on: the map is interpolated between unit centres (parts.Geometry.At),
// then thresholded at t, as Network Dissection does.
func paintUpsampled(p *painter, g parts.Geometry, x []float32, h, w int, t float32) {
	imin, imax, jmin, jmax := h, -1, w, -1
	for u, v := range x {
		if On(v, t) {
			i, j := u/w, u%w
			imin, imax = min(imin, i), max(imax, i)
			jmin, jmax = min(jmin, j), max(jmax, j)
		}
	}
	if imax < 0 {
		return
	}
	// A pixel can only be on if one of the (up to) four units it
	// interpolates is on, so it lies within one unit step of an on unit.
	px0, px1 := pixelSpan(jmin, jmax, g.Start, g.Jump, w, g.ImageWidth)
	py0, py1 := pixelSpan(imin, imax, g.Start, g.Jump, h, g.ImageHeight)
	tt := float64(t)
	painted := false
	for py := py0; py < py1; py++ {
		for px := px0; px < px1; px++ {
			if val := g.At(x, h, w, px, py); val >= tt && val > 0 {
				p.on[py*p.w+px] = true
				painted = true
			}
		}
	}
	if painted {
		p.grow(px0, py0, px1, py1)
	}
}

// pixelSpan is the half-open pixel range along one axis whose fractional
// unit coordinate lies within [lo-1, hi+1], clipped to the image; at the
// map's edges it extends to the image border (clamped coordinates).
func pixelSpan(lo, hi int, start float64, jump, units, pixels int) (int, int) {
	p0, p1 := 0, pixels
	if lo >= 1 {
		p0 = max(0, int(math.Floor(start+float64((lo-1)*jump)-0.5)))
	}
	if hi <= units-2 {
		p1 = min(pixels, int(math.Ceil(start+float64((hi+1)*jump)-0.5))+1)
	}
	return p0, p1
}
