package zoo

import "github.com/icnnlab/icnnlab/sdk/parts"

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

// Geometry places the units of a map with this receptive field on a
// width×height input image (sdk/parts.Geometry: Center, Box, Upsample),
// the one geometry the metrics and visualizers share.
func (rf RF) Geometry(width, height int) parts.Geometry {
	return parts.Geometry{Size: rf.Size, Jump: rf.Jump, Start: rf.Start, ImageWidth: width, ImageHeight: height}
}
