package upconv

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/plugins/visualizers/vizwire"
	"github.com/icnnlab/icnnlab/sdk/parts"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// TrainOptions configure decoder training.
type TrainOptions struct {
	Backend backends.Backend
	Device  string
	Steps   int
	Batch   int
	Hidden  int
	// LearningRate is Adam's rate at the first step; it decays along a half
	// cosine to FinalLearningRate at the last (equal: a constant rate; 0:
	// LearningRate, constant).
	LearningRate, FinalLearningRate float64
	Seed                            uint64
	// Mirrored, when set, holds the features of the training images
	// mirrored left to right, in the same order: every training image then
	// counts twice, as itself and as its mirror image (the target mirrored
	// too), which doubles the data the decoder sees at no cost in steps.
	Mirrored *vizwire.Maps
	// Geometry is the layer's receptive-field geometry; it places the
	// features when they must be resampled (InputSide).
	Geometry parts.Geometry
}

// Decoder is a trained decoder for one layer's features.
type Decoder struct {
	exec backends.Executable
	spec DecoderSpec
	// FeatureHeight × FeatureWidth is the layer's map; the graph takes
	// spec.Height × spec.Width, resampled along geometry when they differ.
	FeatureHeight, FeatureWidth int
	geometry                    parts.Geometry
	// Features enter the graph standardised per channel c:
	// (x − FeatureShift[c]) · FeatureScale[c], the training features' mean
	// and inverse standard deviation (scale 0 for a channel constant over
	// the training set: it carries nothing), so that every channel has
	// unit scale whatever the layer's magnitudes.
	FeatureShift, FeatureScale []float32
	// Losses is the training loss (pixel MSE) of every step.
	Losses []float64
}

// Close frees the compiled graph.
func (d *Decoder) Close() error { return d.exec.Close() }

// Train fits a decoder from feats [M,C,H,W] to images [M,3,S,S] with Adam.
func Train(feats, images vizwire.Maps, opt TrainOptions) (*Decoder, error) {
	if opt.Backend == nil {
		return nil, errors.New("upconv: no backend to train the decoder")
	}
	if feats.N != images.N || feats.N == 0 {
		return nil, fmt.Errorf("upconv: %d feature maps for %d images", feats.N, images.N)
	}
	if opt.Steps < 1 || opt.Batch < 1 {
		return nil, fmt.Errorf("upconv: steps %d and batch %d must be positive", opt.Steps, opt.Batch)
	}
	side, err := InputSide(feats.H, feats.W, images.H)
	if err != nil {
		return nil, err
	}
	d := &Decoder{FeatureHeight: feats.H, FeatureWidth: feats.W, geometry: opt.Geometry}
	mean := MeanImage(images) // of the images as they are: the baseline's prediction
	if m := opt.Mirrored; m != nil {
		if m.N != feats.N || m.C != feats.C || m.H != feats.H || m.W != feats.W {
			return nil, fmt.Errorf("upconv: mirrored features [%d,%d,%d,%d] for features [%d,%d,%d,%d]", m.N, m.C, m.H, m.W, feats.N, feats.C, feats.H, feats.W)
		}
		feats = Concat(feats, *m)
		images = Concat(images, Mirror(images))
	}
	if feats, err = d.resample(feats, side); err != nil {
		return nil, err
	}
	spec := DecoderSpec{Batch: opt.Batch, Channels: feats.C, Height: side, Width: side, ImageSize: images.H, Hidden: opt.Hidden,
		MeanImage: mean}
	g, err := BuildDecoder(spec)
	if err != nil {
		return nil, err
	}
	exec, err := opt.Backend.Compile(g, backends.CompileOptions{Device: opt.Device, Seed: opt.Seed,
		Optimizer: backends.Optimizer{Kind: backends.Adam, LearningRate: opt.LearningRate}})
	if err != nil {
		return nil, fmt.Errorf("upconv: compile decoder on %s: %w", opt.Backend.Name(), err)
	}
	d.exec, d.spec = exec, spec
	d.FeatureShift, d.FeatureScale = channelStandardisation(feats)
	// Standardised once, not per batch: every item is drawn many times.
	feats = d.standardise(feats)
	rng := rand.New(rand.NewPCG(opt.Seed, 0x75706376))
	order := rng.Perm(feats.N)
	pos := 0
	idx := make([]int, opt.Batch)
	final := opt.FinalLearningRate
	if final <= 0 {
		final = opt.LearningRate
	}
	// The batch buffers are reused: a step only reads its inputs while it
	// runs, and a fresh 5 MB of images per step cost as much as a layer's
	// element-wise kernels.
	featBuf := make([]float32, opt.Batch*feats.C*feats.H*feats.W)
	imageBuf := make([]float32, opt.Batch*images.C*images.H*images.W)
	for step := range opt.Steps {
		exec.SetLearningRate(CosineRate(opt.LearningRate, final, step, opt.Steps))
		for i := range idx {
			if pos == len(order) {
				order, pos = rng.Perm(feats.N), 0
			}
			idx[i], pos = order[pos], pos+1
		}
		f, im := gatherInto(featBuf, feats, idx), gatherInto(imageBuf, images, idx)
		// Only the loss leaves the backend: copying the reconstructions out
		// and scoring them again here cost 5 % of a step.
		out, err := exec.TrainStep(map[string]*tensor.Tensor{InputFeatures: f, InputImages: im}, lossOutput)
		if err != nil {
			d.Close()
			return nil, fmt.Errorf("upconv: training step %d: %w", step+1, err)
		}
		loss := float64(out[lossOutput].Float32s()[0])
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			d.Close()
			return nil, fmt.Errorf("upconv: training step %d: loss is %v", step+1, loss)
		}
		d.Losses = append(d.Losses, loss)
	}
	return d, nil
}

// CosineRate is the learning rate of step (0-based) of steps: from first
// at step 0 to last at the final step along a half cosine.
func CosineRate(first, last float64, step, steps int) float64 {
	if steps <= 1 {
		return first
	}
	t := float64(step) / float64(steps-1)
	return last + (first-last)*(1+math.Cos(math.Pi*t))/2
}

// Concat stacks the items of a then b (equal C, H, W).
func Concat(a, b vizwire.Maps) vizwire.Maps {
	data := make([]float32, 0, len(a.Data)+len(b.Data))
	return vizwire.Maps{N: a.N + b.N, C: a.C, H: a.H, W: a.W, Data: append(append(data, a.Data...), b.Data...)}
}

// Mirror flips every map of m left to right.
func Mirror(m vizwire.Maps) vizwire.Maps {
	out := vizwire.Maps{N: m.N, C: m.C, H: m.H, W: m.W, Data: make([]float32, len(m.Data))}
	for row := 0; row < m.N*m.C*m.H; row++ {
		src, dst := m.Data[row*m.W:(row+1)*m.W], out.Data[row*m.W:(row+1)*m.W]
		for x, v := range src {
			dst[m.W-1-x] = v
		}
	}
	return out
}

// Reconstruct decodes every item of feats (unscaled, as the layer
// produced them) into [N,3,S,S] images.
func (d *Decoder) Reconstruct(feats vizwire.Maps) (vizwire.Maps, error) {
	s := d.spec
	if feats.C != s.Channels || feats.H != d.FeatureHeight || feats.W != d.FeatureWidth {
		return vizwire.Maps{}, fmt.Errorf("upconv: features [%d,%d,%d,%d] for a decoder of [%d,%d,%d]", feats.N, feats.C, feats.H, feats.W, s.Channels, d.FeatureHeight, d.FeatureWidth)
	}
	feats, err := d.resample(feats, s.Height)
	if err != nil {
		return vizwire.Maps{}, err
	}
	feats = d.standardise(feats)
	per := 3 * s.ImageSize * s.ImageSize
	out := vizwire.Maps{N: feats.N, C: 3, H: s.ImageSize, W: s.ImageSize, Data: make([]float32, 0, feats.N*per)}
	idx := make([]int, s.Batch)
	for lo := 0; lo < feats.N; lo += s.Batch {
		n := min(s.Batch, feats.N-lo)
		for i := range idx {
			idx[i] = lo + min(i, n-1) // pad the last batch by repeating its last item
		}
		res, err := d.exec.Run(map[string]*tensor.Tensor{InputFeatures: gatherInto(nil, feats, idx)}, OutputImages)
		if err != nil {
			return vizwire.Maps{}, fmt.Errorf("upconv: reconstruct items %d..%d: %w", lo, lo+n-1, err)
		}
		out.Data = append(out.Data, res[OutputImages].Float32s()[:n*per]...)
	}
	return out, nil
}

// Resampled tells whether the features are resampled before the graph.
func (d *Decoder) Resampled() bool { return d.spec.Height != d.FeatureHeight }

func (d *Decoder) resample(feats vizwire.Maps, side int) (vizwire.Maps, error) {
	if feats.H == side && feats.W == side {
		return feats, nil
	}
	return Resample(feats, d.geometry, side)
}

// standardise is feats with every channel standardised as the decoder's
// input expects (FeatureShift, FeatureScale).
func (d *Decoder) standardise(feats vizwire.Maps) vizwire.Maps {
	out := vizwire.Maps{N: feats.N, C: feats.C, H: feats.H, W: feats.W, Data: make([]float32, len(feats.Data))}
	per := feats.H * feats.W
	for n := range feats.N {
		for c := range feats.C {
			shift, scale := d.FeatureShift[c], d.FeatureScale[c]
			at := (n*feats.C + c) * per
			for i, v := range feats.Data[at : at+per] {
				out.Data[at+i] = (v - shift) * scale
			}
		}
	}
	return out
}

// gatherInto copies the items idx of m into buf (allocated when too short)
// and wraps it as a [len(idx),C,H,W] tensor.
func gatherInto(buf []float32, m vizwire.Maps, idx []int) *tensor.Tensor {
	per := m.C * m.H * m.W
	if len(buf) < len(idx)*per {
		buf = make([]float32, len(idx)*per)
	}
	buf = buf[:len(idx)*per]
	for i, n := range idx {
		copy(buf[i*per:(i+1)*per], m.Item(n))
	}
	return tensor.MustFloat32(tensor.Shape{len(idx), m.C, m.H, m.W}, buf)
}

// channelStandardisation is every channel's mean over all items and
// positions, and its inverse standard deviation (0 for a constant channel).
func channelStandardisation(m vizwire.Maps) (shift, scale []float32) {
	shift, scale = make([]float32, m.C), make([]float32, m.C)
	count := float64(m.N * m.H * m.W)
	for c := range m.C {
		sum, sq := 0.0, 0.0
		for n := range m.N {
			for _, v := range m.At(n, c) {
				sum += float64(v)
				sq += float64(v) * float64(v)
			}
		}
		mean := sum / count
		std := math.Sqrt(max(sq/count-mean*mean, 0))
		shift[c] = float32(mean)
		// A channel whose spread is rounding noise next to its mean is
		// constant: scaling it up would feed the decoder noise.
		if std > 1e-6*max(1, math.Abs(mean)) {
			scale[c] = float32(1 / std)
		}
	}
	return shift, scale
}

// mse is the mean squared difference of two equally long slices.
func mse(a, b []float32) float64 {
	s := 0.0
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		s += d * d
	}
	return s / float64(max(len(a), 1))
}

// Evaluation compares the decoder on held-out images with the trivial
// baseline that predicts the mean training image for every image.
type Evaluation struct {
	Images      int     `json:"images"`
	MSE         float64 `json:"mse"`
	BaselineMSE float64 `json:"baseline_mse"`
	// Ratio is MSE / BaselineMSE: below 1 the features carry information
	// about the image beyond its average.
	Ratio float64 `json:"ratio"`
	// Object and Background split the same errors by the held-out images'
	// part masks (nil without them): where the decoder recovers the image.
	Object     *Region `json:"object,omitempty"`
	Background *Region `json:"background,omitempty"`
	// ZeroFeatures is the share of the held-out feature values that are
	// exactly zero: the part of the maps that tells the decoder nothing
	// about its pixels (most of a masked interpretable layer).
	ZeroFeatures float64 `json:"zero_features"`
}

// Region is the held-out error over one kind of pixel.
type Region struct {
	// Share is the fraction of the held-out pixels in the region.
	Share       float64 `json:"share"`
	MSE         float64 `json:"mse"`
	BaselineMSE float64 `json:"baseline_mse"`
	Ratio       float64 `json:"ratio"`
}

// SplitByObject fills ev.Object and ev.Background: rec and images are
// [N,3,S,S], parts [N,S,S] group ids (0 the background), meanImage [3,S,S].
func SplitByObject(ev *Evaluation, rec, images vizwire.Maps, parts []uint8, meanImage []float32) error {
	px := images.H * images.W
	if len(parts) != images.N*px || len(rec.Data) != len(images.Data) || images.C != 3 {
		return fmt.Errorf("upconv: part masks of %d pixels for %d images of %d×%d", len(parts), images.N, images.H, images.W)
	}
	var sum, base [2]float64 // [background, object]
	var count [2]int
	for n := range images.N {
		img, r, mask := images.Item(n), rec.Item(n), parts[n*px:(n+1)*px]
		for i, v := range img {
			k := 0
			if mask[i%px] != 0 {
				k = 1
			}
			d, b := float64(r[i])-float64(v), float64(meanImage[i])-float64(v)
			sum[k] += d * d
			base[k] += b * b
			count[k]++
		}
	}
	region := func(k int) *Region {
		if count[k] == 0 {
			return nil
		}
		g := &Region{Share: float64(count[k]) / float64(count[0]+count[1]), MSE: sum[k] / float64(count[k]), BaselineMSE: base[k] / float64(count[k])}
		if g.BaselineMSE > 0 {
			g.Ratio = g.MSE / g.BaselineMSE
		}
		return g
	}
	ev.Background, ev.Object = region(0), region(1)
	return nil
}

// Evaluate reconstructs heldout features and scores them against images;
// meanImage is the mean training image [3,S,S].
func (d *Decoder) Evaluate(feats, images vizwire.Maps, meanImage []float32) (Evaluation, vizwire.Maps, error) {
	rec, err := d.Reconstruct(feats)
	if err != nil {
		return Evaluation{}, rec, err
	}
	if len(rec.Data) != len(images.Data) {
		return Evaluation{}, rec, fmt.Errorf("upconv: %d reconstructed values for %d image values", len(rec.Data), len(images.Data))
	}
	ev := Evaluation{Images: images.N, MSE: mse(rec.Data, images.Data), ZeroFeatures: zeroShare(feats.Data)}
	base := 0.0
	for n := range images.N {
		base += mse(meanImage, images.Item(n))
	}
	ev.BaselineMSE = base / float64(max(images.N, 1))
	if ev.BaselineMSE > 0 {
		ev.Ratio = ev.MSE / ev.BaselineMSE
	}
	return ev, rec, nil
}

// zeroShare is the fraction of values that are exactly zero.
func zeroShare(v []float32) float64 {
	zeros := 0
	for _, x := range v {
		if x == 0 {
			zeros++
		}
	}
	return float64(zeros) / float64(max(len(v), 1))
}

// MeanImage averages images [N,3,S,S] into one [3,S,S].
func MeanImage(images vizwire.Maps) []float32 {
	per := images.C * images.H * images.W
	sum := make([]float64, per)
	for n := range images.N {
		for i, v := range images.Item(n) {
			sum[i] += float64(v)
		}
	}
	out := make([]float32, per)
	for i, s := range sum {
		out[i] = float32(s / float64(max(images.N, 1)))
	}
	return out
}
