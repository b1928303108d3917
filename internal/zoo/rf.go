package zoo

import (
	"image"
	"math"
)

// RF is the receptive field of the units of one feature map, in input-image
// pixels. It follows the standard recursion (as in Dang Ha The Hien's
// "receptive field arithmetic"): for a layer with kernel k, stride s and
// padding p applied to a map whose units have receptive field (size r,
// jump j, start c),
//
//	r' = r + (k-1)·j
//	j' = j·s
//	c' = c + ((k-1)/2 - p)·j
//
// Coordinates are continuous: pixel column x covers [x, x+1), so the input
// image itself has RF{Size: 1, Jump: 1, Start: 0.5}. Metrics that place
// landmarks or part masks on the image use the same convention.
type RF struct {
	Size  int     // side of the square receptive field, in pixels
	Jump  int     // distance in pixels between neighbouring units (cumulative stride)
	Start float64 // centre of unit (0,0)'s receptive field, along x and along y
}

// InputRF is the receptive field of an input pixel.
func InputRF() RF { return RF{Size: 1, Jump: 1, Start: 0.5} }

// Next is the receptive field of a convolution or pooling layer with the
// given square kernel, stride and symmetric padding applied to maps with
// receptive field rf.
func (rf RF) Next(kernel, stride, padding int) RF {
	return RF{
		Size:  rf.Size + (kernel-1)*rf.Jump,
		Jump:  rf.Jump * stride,
		Start: rf.Start + (float64(kernel-1)/2-float64(padding))*float64(rf.Jump),
	}
}

// Center is the centre, in image pixels, of the receptive field of the unit
// in row i and column j of the map; x is horizontal (from j), y vertical
// (from i).
func (rf RF) Center(i, j int) (x, y float64) {
	return rf.Start + float64(j*rf.Jump), rf.Start + float64(i*rf.Jump)
}

// Box is the receptive field of unit (i, j) as a half-open pixel rectangle
// [Min, Max). It is not clipped: units near the border see padding, so the
// box may extend past the image; intersect it with the image bounds when
// only real pixels matter.
func (rf RF) Box(i, j int) image.Rectangle {
	cx, cy := rf.Center(i, j)
	half := float64(rf.Size) / 2
	// The recursion keeps the left edge an integer (it moves by p·j per
	// layer), so rounding only removes floating-point noise.
	x0, y0 := int(math.Round(cx-half)), int(math.Round(cy-half))
	return image.Rect(x0, y0, x0+rf.Size, y0+rf.Size)
}
