package upconv

import (
	"fmt"
	"image"
	"image/color"
	"math"

	"github.com/icnnlab/icnnlab/plugins/visualizers/draw"
	"github.com/icnnlab/icnnlab/plugins/visualizers/vizwire"
	"github.com/icnnlab/icnnlab/sdk/parts"
)

// Dir is the directory (under the visualization's output) the plugin
// writes into.
const Dir = "upconv"

// Options tune Render.
type Options struct {
	Train TrainOptions
	// Filters to mine patterns for.
	Filters []int
	// Patterns is k of the k-means; Peaks the strongest peaks clustered
	// per filter; Patches the patches shown per pattern.
	Patterns, Peaks, Patches int
	// PatchSize is the side of a patch in image pixels; 0: PatchSide.
	PatchSize int
	// PositionWeight scales the peak position in the descriptor.
	PositionWeight float64
	// Examples is the number of held-out images drawn with their
	// reconstructions; Scale enlarges every drawn image.
	Examples, Scale int
}

// Input is what Render draws from.
type Input struct {
	Meta                          vizwire.Meta
	Activations, Images           vizwire.Maps // held out: pattern mining and evaluation
	TrainActivations, TrainImages vizwire.Maps // decoder training
	// Parts (optional) are the held-out images' part masks [N·S·S]: the
	// held-out error is then split into object and background.
	Parts []uint8
	// TrainMirrored (optional) is the features of the training images
	// mirrored left to right: more training pairs (TrainOptions.Mirrored).
	TrainMirrored *vizwire.Maps
}

// PatternSummary describes one mined pattern.
type PatternSummary struct {
	Size    int       `json:"size"`
	MeanRow float64   `json:"mean_row"`
	MeanCol float64   `json:"mean_col"`
	Images  []int     `json:"images"`
	Peaks   []float32 `json:"peaks"`
}

// FilterSummary lists a filter's patterns and its picture: one row per
// pattern, the top patches then the decoder's reconstruction of the
// pattern's mean feature and of its filter-only feature.
type FilterSummary struct {
	Filter   int              `json:"filter"`
	Patterns []PatternSummary `json:"patterns"`
	Image    string           `json:"image,omitempty"`
}

// Summary is upconv/summary.json.
type Summary struct {
	Layer   string      `json:"layer"`
	Backend string      `json:"backend"`
	Decoder DecoderSpec `json:"decoder"`
	// FeatureHeight × FeatureWidth is the layer's map; when it is not the
	// decoder's input (Decoder.Height × Width) the features were Resampled
	// along the receptive-field geometry first.
	FeatureHeight int  `json:"feature_height"`
	FeatureWidth  int  `json:"feature_width"`
	Resampled     bool `json:"resampled"`
	Steps         int  `json:"steps"`
	// TrainImages trained the decoder; HeldOut scores it.
	TrainImages int `json:"train_images"`
	// Mirrored: the decoder trained on the training images' mirror images
	// too (2·TrainImages pairs).
	Mirrored bool `json:"mirrored"`
	// LearningRate decayed to FinalLearningRate along a half cosine.
	LearningRate      float64    `json:"learning_rate"`
	FinalLearningRate float64    `json:"final_learning_rate"`
	HeldOut           Evaluation `json:"held_out"`
	// FeatureShift and FeatureScale standardise each channel (Decoder).
	FeatureShift []float32 `json:"feature_shift"`
	FeatureScale []float32 `json:"feature_scale"`
	// Losses is the training loss every LossEvery steps.
	Losses    []float64       `json:"losses"`
	LossEvery int             `json:"loss_every"`
	Columns   int             `json:"patches_per_pattern"`
	PatchSize int             `json:"patch_size"`
	Filters   []FilterSummary `json:"filters"`
	// Reconstructions shows held-out images (top row) over their
	// reconstructions (bottom row); MeanImage is the baseline's prediction.
	Reconstructions string `json:"reconstructions"`
	MeanImage       string `json:"mean_image"`
}

// File is one output, relative to Dir.
type File struct {
	Name string
	Data []byte
}

var blank = color.RGBA{255, 255, 255, 255}

// Render trains the decoder, scores it on the held-out images and draws
// the reconstructions and every requested filter's patterns.
func Render(in Input, opt Options) ([]File, *Summary, error) {
	a := in.Activations
	if in.Images.N != a.N {
		return nil, nil, fmt.Errorf("upconv: %d held-out images for %d activation maps", in.Images.N, a.N)
	}
	tr := in.TrainActivations
	if tr.C != a.C || tr.H != a.H || tr.W != a.W {
		return nil, nil, fmt.Errorf("upconv: training features [%d,%d,%d,%d] and held-out features [%d,%d,%d,%d] differ", tr.N, tr.C, tr.H, tr.W, a.N, a.C, a.H, a.W)
	}
	for _, f := range opt.Filters {
		if f < 0 || f >= a.C {
			return nil, nil, fmt.Errorf("upconv: filter %d is out of range [0, %d)", f, a.C)
		}
	}
	trainOpt := opt.Train
	trainOpt.Mirrored = in.TrainMirrored
	dec, err := Train(tr, in.TrainImages, trainOpt)
	if err != nil {
		return nil, nil, err
	}
	defer dec.Close()
	mean := MeanImage(in.TrainImages)
	average := MeanImage(tr) // the average training feature map [C,H,W]
	ev, rec, err := dec.Evaluate(a, in.Images, mean)
	if err != nil {
		return nil, nil, err
	}
	if in.Parts != nil {
		if err := SplitByObject(&ev, rec, in.Images, in.Parts, mean); err != nil {
			return nil, nil, err
		}
	}
	sum := &Summary{Layer: in.Meta.Layer, Backend: opt.Train.Backend.Name(), Decoder: dec.spec,
		FeatureHeight: dec.FeatureHeight, FeatureWidth: dec.FeatureWidth, Resampled: dec.Resampled(), Steps: opt.Train.Steps,
		TrainImages: tr.N, Mirrored: trainOpt.Mirrored != nil, LearningRate: opt.Train.LearningRate, FinalLearningRate: opt.Train.FinalLearningRate, HeldOut: ev, FeatureShift: dec.FeatureShift, FeatureScale: dec.FeatureScale, Columns: opt.Patches, Filters: []FilterSummary{}}
	patch := opt.PatchSize
	if patch <= 0 {
		patch = PatchSide(in.Meta.Geometry)
	}
	sum.PatchSize = patch
	// Patches are drawn as large as the images: enlarged by the scale
	// that brings patch pixels to the image tiles' size.
	patchScale := max(1, int(math.Round(float64(opt.Scale*in.Images.W)/float64(patch))))
	sum.LossEvery = max(1, len(dec.Losses)/200)
	for i := 0; i < len(dec.Losses); i += sum.LossEvery {
		sum.Losses = append(sum.Losses, dec.Losses[i])
	}
	var files []File
	add := func(name string, img image.Image) error {
		png, err := draw.PNG(img)
		if err != nil {
			return fmt.Errorf("upconv: %s: %w", name, err)
		}
		files = append(files, File{Name: name, Data: png})
		return nil
	}
	size := in.Images.H
	var tiles []*image.RGBA
	shown := min(opt.Examples, a.N)
	for n := range shown {
		tiles = append(tiles, draw.Scale(draw.RGB(in.Images, n), opt.Scale))
	}
	for n := range shown {
		tiles = append(tiles, draw.Scale(draw.RGB(rec, n), opt.Scale))
	}
	sum.Reconstructions, sum.MeanImage = "reconstructions.png", "mean-image.png"
	if err := add(sum.Reconstructions, draw.Grid(tiles, max(shown, 1), 2)); err != nil {
		return nil, nil, err
	}
	if err := add(sum.MeanImage, draw.Scale(draw.RGBFromCHW(mean, size, size), opt.Scale)); err != nil {
		return nil, nil, err
	}

	for _, f := range opt.Filters {
		fs := FilterSummary{Filter: f, Patterns: []PatternSummary{}}
		patterns := MinePatterns(a, f, opt.Peaks, opt.Patterns, opt.PositionWeight, opt.Train.Seed)
		if len(patterns) == 0 {
			sum.Filters = append(sum.Filters, fs) // silent on every image: nothing to show
			continue
		}
		// Two features per pattern: the mean map, and the average training
		// map with the filter's channel taken from the pattern's mean.
		feats := vizwire.Maps{N: 2 * len(patterns), C: a.C, H: a.H, W: a.W}
		for _, p := range patterns {
			m := MeanFeature(a, p)
			feats.Data = append(feats.Data, m...)
			feats.Data = append(feats.Data, WithFilter(average, m, a.H, a.W, f)...)
		}
		recs, err := dec.Reconstruct(feats)
		if err != nil {
			return nil, nil, fmt.Errorf("filter %d: %w", f, err)
		}
		var grid []*image.RGBA
		for pi, p := range patterns {
			ps := PatternSummary{Size: len(p.Peaks), MeanRow: p.MeanRow, MeanCol: p.MeanCol}
			for k := range opt.Patches {
				if k >= len(p.Peaks) {
					grid = append(grid, blankTile(patch*patchScale))
					continue
				}
				pk := p.Peaks[k]
				box := draw.UnitBox(in.Meta.Geometry, pk.Row, pk.Col, patch)
				grid = append(grid, draw.Scale(draw.Crop(draw.RGB(in.Images, pk.Image), box), patchScale))
			}
			for _, pk := range p.Peaks {
				ps.Images = append(ps.Images, pk.Image)
				ps.Peaks = append(ps.Peaks, pk.Value)
			}
			grid = append(grid, draw.Scale(draw.RGB(recs, 2*pi), opt.Scale), draw.Scale(draw.RGB(recs, 2*pi+1), opt.Scale))
			fs.Patterns = append(fs.Patterns, ps)
		}
		fs.Image = fmt.Sprintf("filter-%03d.png", f)
		if err := add(fs.Image, draw.Grid(grid, opt.Patches+2, 2)); err != nil {
			return nil, nil, err
		}
		sum.Filters = append(sum.Filters, fs)
	}
	return files, sum, nil
}

// PatchSide is the default patch side (draw.PatchSide).
func PatchSide(g parts.Geometry) int { return draw.PatchSide(g) }

func blankTile(side int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, max(side, 1), max(side, 1)))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = blank.R, blank.G, blank.B, blank.A
	}
	return img
}
