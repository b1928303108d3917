package parts

import (
	"fmt"
	"math"
)

// Geometry places the units of one feature map on the input image. It is
// the one receptive-field geometry of the project: the metrics, the
// visualizers' overlays and their mined patches all place a unit through
// it, so a unit's region, its patch and its receptive field agree.
//
// Coordinates are continuous image pixels: pixel column x covers [x, x+1),
// so the centre of pixel (x, y) is (x+0.5, y+0.5). The unit in row i and
// column j of the map has its receptive field centred at
//
//	(Start + j·Jump, Start + i·Jump)   (x, y)
//
// and its receptive field is the Size×Size square around that centre. The
// host computes Size, Jump and Start from the architecture (internal/zoo's
// RF) and adds the image size.
type Geometry struct {
	Size        int     `json:"size"`         // side of the square receptive field, in pixels
	Jump        int     `json:"jump"`         // pixels between neighbouring units (cumulative stride)
	Start       float64 `json:"start"`        // centre of unit (0,0)'s receptive field, along x and along y
	ImageWidth  int     `json:"image_width"`  // input image width in pixels
	ImageHeight int     `json:"image_height"` // input image height in pixels
}

// Validate checks that the geometry can place units on an image.
func (g Geometry) Validate() error {
	switch {
	case g.Size < 1:
		return fmt.Errorf("geometry: receptive-field size %d < 1", g.Size)
	case g.Jump < 1:
		return fmt.Errorf("geometry: jump %d < 1", g.Jump)
	case g.ImageWidth < 1 || g.ImageHeight < 1:
		return fmt.Errorf("geometry: image size %d×%d is empty", g.ImageWidth, g.ImageHeight)
	case math.IsNaN(g.Start) || math.IsInf(g.Start, 0):
		return fmt.Errorf("geometry: start %v is not finite", g.Start)
	}
	return nil
}

// Center is the centre of unit (i, j)'s receptive field in image pixels;
// x comes from the column j, y from the row i.
func (g Geometry) Center(i, j int) (x, y float64) {
	return g.Start + float64(j*g.Jump), g.Start + float64(i*g.Jump)
}

// Diagonal is sqrt(w² + h²), the normaliser of location instability.
func (g Geometry) Diagonal() float64 {
	return math.Hypot(float64(g.ImageWidth), float64(g.ImageHeight))
}

// Rect is a half-open pixel rectangle [X0, X1) × [Y0, Y1).
type Rect struct{ X0, Y0, X1, Y1 int }

// Empty reports whether r holds no pixel.
func (r Rect) Empty() bool { return r.X0 >= r.X1 || r.Y0 >= r.Y1 }

// Clip is r intersected with the w×h image.
func (r Rect) Clip(w, h int) Rect {
	return Rect{max(r.X0, 0), max(r.Y0, 0), min(r.X1, w), min(r.Y1, h)}
}

// Box is the side×side square centred on unit (i, j)'s receptive field,
// not clipped to the image (units near the border see padding). Its left
// and top edges are rounded: the receptive-field recursion keeps them
// integers for side = Size, so rounding only removes floating-point noise.
// Box(i, j, g.Size) is the unit's receptive field.
func (g Geometry) Box(i, j, side int) Rect {
	cx, cy := g.Center(i, j)
	return BoxAround(cx, cy, side)
}

// BoxAround is the side×side square centred at (cx, cy), placed as Box
// places it.
func BoxAround(cx, cy float64, side int) Rect {
	half := float64(side) / 2
	x0, y0 := int(math.Round(cx-half)), int(math.Round(cy-half))
	return Rect{x0, y0, x0 + side, y0 + side}
}

// UnitCoord maps the pixel index px along one axis to the fractional unit
// index of that axis (unit c has its centre at Start + c·Jump), clamped to
// the map's units: beyond the outermost unit centres the map is extended
// by its edge values, as bilinear up-sampling with edge replication does.
func (g Geometry) UnitCoord(px, units int) float64 {
	u := (float64(px) + 0.5 - g.Start) / float64(g.Jump)
	return min(max(u, 0), float64(units-1))
}

// At is the h×w map m (row-major) up-sampled to the centre of pixel
// (px, py): bilinear interpolation between the units' receptive-field
// centres, constant beyond the outermost ones, as Zhou et al. (2015) and
// Network Dissection spread a map over the image.
func (g Geometry) At(m []float32, h, w, px, py int) float64 {
	v := g.UnitCoord(py, h)
	i0 := int(v)
	i1 := min(i0+1, h-1)
	b := v - float64(i0)
	u := g.UnitCoord(px, w)
	j0 := int(u)
	j1 := min(j0+1, w-1)
	a := u - float64(j0)
	// Written as base + fraction·difference, the interpolation is exact
	// when the corners are equal, so a plateau at exactly a threshold
	// stays on.
	x00, x01 := float64(m[i0*w+j0]), float64(m[i0*w+j1])
	x10, x11 := float64(m[i1*w+j0]), float64(m[i1*w+j1])
	top := x00 + a*(x01-x00)
	bottom := x10 + a*(x11-x10)
	return top + b*(bottom-top)
}

// Upsample is the h×w map m spread over the whole image by At, row-major
// ImageHeight×ImageWidth.
func (g Geometry) Upsample(m []float32, h, w int) []float32 {
	out := make([]float32, g.ImageWidth*g.ImageHeight)
	for y := range g.ImageHeight {
		for x := range g.ImageWidth {
			out[y*g.ImageWidth+x] = float32(g.At(m, h, w, x, y))
		}
	}
	return out
}

// CheckCovers reports an error when the centres of an h×w map's units do
// not lie on the image: then the geometry belongs to another layer or
// input size, and every measurement would silently be nonsense.
func (g Geometry) CheckCovers(h, w int) error {
	if err := g.Validate(); err != nil {
		return err
	}
	x0, y0 := g.Center(0, 0)
	x1, y1 := g.Center(h-1, w-1)
	if x0 < 0 || y0 < 0 || x1 > float64(g.ImageWidth) || y1 > float64(g.ImageHeight) {
		return fmt.Errorf("geometry (start %v, jump %d) puts the %d×%d map's unit centres at x∈[%v,%v], y∈[%v,%v], outside the %d×%d image",
			g.Start, g.Jump, h, w, x0, x1, y0, y1, g.ImageWidth, g.ImageHeight)
	}
	return nil
}
