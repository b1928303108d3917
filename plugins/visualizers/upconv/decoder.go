// Package upconv inverts a layer's features into images with an
// up-convolution network (Dosovitskiy & Brox, CVPR 2016, "Inverting visual
// representations with convolutional networks"), the thesis's visualiser,
// and mines each filter's recurring activation patterns: the strongest
// peaks of a filter over a data set, clustered by k-means, each cluster
// shown by its top image patches and by the decoder's reconstruction of
// the cluster's mean feature map.
//
// The decoder is an sdk/graph IR graph, compiled and trained by whichever
// backend the run used (backends.Backend): a few 3×3 convolutions, then
// stride-2 transposed convolutions doubling the map until it reaches the
// image, leaky ReLU (slope 0.2) between layers, a pixel-space squared
// error and Adam, as the paper prescribes for conv features.
//
// Two choices make it learn from few images (a run's training split of a
// few hundred) where the plain recipe did not (at the default scale it
// stayed at the mean image, held-out MSE 1.02 times the baseline's): the
// features are standardised per channel (a layer's channels differ in
// scale by orders of magnitude, and an interpretable layer's are mostly
// zero), and the decoder predicts the image as the mean training image plus
// a correction whose last layer starts at zero, so that training starts at
// the mean-image baseline and every step that lowers the loss beats it.
package upconv

import (
	"fmt"
	"math"

	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// Graph names.
const (
	InputFeatures  = "features"       // [B,C,H,W], standardised per channel (Decoder.FeatureShift, FeatureScale)
	InputImages    = "images"         // [B,3,S,S] targets in [0, 1]
	OutputImages   = "reconstruction" // [B,3,S,S]
	lossOutput     = "loss"           // the pixel MSE, scalar (graph.SetLoss names it so)
	LeakySlope     = 0.2
	upKernel       = 4 // transposed conv 4×4, stride 2, padding 1 doubles the side exactly
	minUpChannels  = 8
	convLayerCount = 2
)

// DecoderSpec sizes a decoder.
type DecoderSpec struct {
	Batch, Channels, Height, Width int
	// ImageSize is S of the S×S output; it must be Height·2^k (and Width
	// equal to Height).
	ImageSize int
	// Hidden is the channel count of the 3×3 convolutions; each
	// up-convolution halves it (at least 8) until the last one outputs RGB.
	Hidden int
	// MeanImage [3,S,S] is what the decoder adds its output to (the mean
	// training image); nil: mid-grey.
	MeanImage []float32 `json:"-"`
}

// Upsamplings is k with ImageSize = Height·2^k, or an error naming the sizes.
func (s DecoderSpec) Upsamplings() (int, error) {
	if s.Height != s.Width || s.Height < 1 {
		return 0, fmt.Errorf("upconv: feature map %dx%d must be square and non-empty", s.Height, s.Width)
	}
	k := 0
	for side := s.Height; side < s.ImageSize; side *= 2 {
		k++
	}
	if s.Height<<k != s.ImageSize || k == 0 {
		return 0, fmt.Errorf("upconv: image side %d is not the feature map side %d times a power of two (at least 2)", s.ImageSize, s.Height)
	}
	return k, nil
}

// BuildDecoder builds the decoder graph: inputs "features" and "images",
// output "reconstruction", loss = mean squared pixel error.
func BuildDecoder(s DecoderSpec) (*graph.Graph, error) {
	ups, err := s.Upsamplings()
	if err != nil {
		return nil, err
	}
	if s.Batch < 1 || s.Channels < 1 || s.Hidden < 1 {
		return nil, fmt.Errorf("upconv: batch %d, channels %d and hidden %d must be positive", s.Batch, s.Channels, s.Hidden)
	}
	g := graph.New("upconv-decoder")
	x := g.Input(InputFeatures, tensor.Float32, s.Batch, s.Channels, s.Height, s.Width)
	target := g.Input(InputImages, tensor.Float32, s.Batch, 3, s.ImageSize, s.ImageSize)
	for i := range convLayerCount {
		x = g.LeakyRelu(g.Conv2DLayer(fmt.Sprintf("conv%d", i+1), x, s.Hidden, 3, graph.ConvOptions{Padding: [2]int{1, 1}}), LeakySlope)
	}
	in := s.Hidden
	for i := range ups {
		out := max(in/2, minUpChannels)
		last := i == ups-1
		if last {
			out = 3
		}
		// A stride-2 transposed conv sees about in·k²/4 inputs per output
		// pixel; He initialisation on that fan-in keeps activations at scale.
		// The last layer starts at zero, so the decoder starts at the mean
		// image and learns the correction.
		var wInit graph.Init = graph.Normal(math.Sqrt(2 / (float64(in*upKernel*upKernel) / 4)))
		if last {
			wInit = graph.Zeros()
		}
		name := fmt.Sprintf("upconv%d", i+1)
		w := g.Param(name+"/w", wInit, []int{in, out, upKernel, upKernel})
		b := g.Param(name+"/b", graph.Zeros(), []int{out}, graph.DecayMult(0))
		x = g.Add(g.ConvTranspose2D(x, w, graph.ConvOptions{Stride: [2]int{2, 2}, Padding: [2]int{1, 1}}), g.Reshape(b, 1, out, 1, 1))
		if !last {
			x = g.LeakyRelu(x, LeakySlope)
		}
		in = out
	}
	var rec *graph.Node
	if s.MeanImage != nil {
		mean, err := tensor.FromFloat32(tensor.Shape{1, 3, s.ImageSize, s.ImageSize}, s.MeanImage)
		if err != nil {
			return nil, fmt.Errorf("upconv: mean image: %w", err)
		}
		rec = g.Add(x, g.Const(mean))
	} else {
		rec = g.AddScalar(x, 0.5) // mid-grey: the targets live in [0, 1]
	}
	g.SetOutput(OutputImages, rec)
	g.SetLoss(g.Mean(g.Square(g.Sub(rec, target))))
	if err := g.Err(); err != nil {
		return nil, fmt.Errorf("upconv: build decoder: %w", err)
	}
	return g, nil
}
