package upconv

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/icnnlab/icnnlab/backends"
	_ "github.com/icnnlab/icnnlab/backends/gorgonia"
	"github.com/icnnlab/icnnlab/plugins/visualizers/vizwire"
	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/parts"
)

func TestBuildDecoderShapes(t *testing.T) {
	g, err := BuildDecoder(DecoderSpec{Batch: 4, Channels: 64, Height: 8, Width: 8, ImageSize: 64, Hidden: 32})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]int{}
	for _, p := range g.Params() {
		got[p.Attrs().Name] = p.Shape()
	}
	want := map[string][]int{
		"conv1/w": {32, 64, 3, 3}, "conv1/b": {32},
		"conv2/w": {32, 32, 3, 3}, "conv2/b": {32},
		// 8 → 16 → 32 → 64: three up-convolutions halving the channels, RGB last.
		"upconv1/w": {32, 16, 4, 4}, "upconv1/b": {16},
		"upconv2/w": {16, 8, 4, 4}, "upconv2/b": {8},
		"upconv3/w": {8, 3, 4, 4}, "upconv3/b": {3},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("params (-want +got):\n%s", d)
	}
	if s := g.Output(OutputImages).Shape(); !cmp.Equal([]int(s), []int{4, 3, 64, 64}) {
		t.Errorf("reconstruction shape %v, want [4 3 64 64]", s)
	}
	if g.Loss() == nil || g.Loss().Rank() != 0 {
		t.Errorf("loss %v, want a scalar", g.Loss())
	}
	var leaky, transposed int
	for _, n := range g.Nodes() {
		switch n.Op() {
		case graph.OpLeakyRelu:
			leaky++
		case graph.OpConvTranspose2D:
			transposed++
		}
	}
	if leaky != 4 || transposed != 3 {
		t.Errorf("%d leaky ReLUs and %d transposed convs, want 4 and 3", leaky, transposed)
	}
}

func TestBuildDecoderRejectsSizes(t *testing.T) {
	for _, tc := range []struct {
		spec DecoderSpec
		want string
	}{
		{DecoderSpec{Batch: 1, Channels: 4, Height: 6, Width: 6, ImageSize: 64, Hidden: 8}, "not the feature map side 6 times a power of two"},
		{DecoderSpec{Batch: 1, Channels: 4, Height: 8, Width: 8, ImageSize: 8, Hidden: 8}, "power of two (at least 2)"},
		{DecoderSpec{Batch: 1, Channels: 4, Height: 8, Width: 4, ImageSize: 64, Hidden: 8}, "must be square"},
		{DecoderSpec{Batch: 0, Channels: 4, Height: 8, Width: 8, ImageSize: 16, Hidden: 8}, "must be positive"},
	} {
		_, err := BuildDecoder(tc.spec)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("BuildDecoder(%+v) = %v, want an error containing %q", tc.spec, err, tc.want)
		}
	}
}

// A decoder learns a mapping that the features determine: each image is a
// flat colour given by three feature channels. Its held-out error must
// fall well below the mean-image baseline, also when the feature map side
// (3) does not divide the image side (16) by a power of two and the
// features are resampled (to 4×4) along their receptive fields first.
func TestTrainBeatsMeanImage(t *testing.T) {
	for _, tc := range []struct {
		name      string
		side      int
		geometry  parts.Geometry
		resampled bool
	}{
		{name: "4x4 features", side: 4},
		{name: "3x3 features resampled", side: 3, geometry: parts.Geometry{Size: 8, Jump: 5, Start: 3, ImageWidth: 16, ImageHeight: 16}, resampled: true},
	} {
		t.Run(tc.name, func(t *testing.T) { trainBeatsMeanImage(t, tc.side, tc.geometry, tc.resampled) })
	}
}

func trainBeatsMeanImage(t *testing.T, side int, geom parts.Geometry, resampled bool) {
	b, err := backends.New("gorgonia")
	if err != nil {
		t.Fatal(err)
	}
	const n, size = 48, 16
	feats := vizwire.Maps{N: n, C: 3, H: side, W: side}
	imgs := vizwire.Maps{N: n, C: 3, H: size, W: size}
	for i := range n {
		rgb := [3]float32{float32(i%4) / 3, float32(i/4%3) / 2, float32(i%5) / 4}
		for c := range 3 {
			for range side * side {
				feats.Data = append(feats.Data, rgb[c]*5) // a scale the decoder must undo
			}
		}
		for c := range 3 {
			for range size * size {
				imgs.Data = append(imgs.Data, rgb[c])
			}
		}
	}
	d, err := Train(feats, imgs, TrainOptions{Backend: b, Steps: 400, Batch: 8, Hidden: 8, LearningRate: 1e-2, Seed: 1, Geometry: geom})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.Resampled() != resampled || d.FeatureHeight != side || d.spec.Height != 4 {
		t.Errorf("decoder resampled %v from %dx%d to %dx%d, want %v to 4x4", d.Resampled(), d.FeatureHeight, d.FeatureWidth, d.spec.Height, d.spec.Width, resampled)
	}
	ev, rec, err := d.Evaluate(feats, imgs, MeanImage(imgs))
	if err != nil {
		t.Fatal(err)
	}
	if rec.N != n || rec.H != size {
		t.Errorf("reconstruction [%d,3,%d,%d], want [%d,3,%d,%d]", rec.N, rec.H, rec.W, n, size, size)
	}
	if !(ev.Ratio < 0.3) {
		t.Errorf("MSE %.4f vs mean-image baseline %.4f (ratio %.2f), want the decoder well below the baseline", ev.MSE, ev.BaselineMSE, ev.Ratio)
	}
	// A channel is zero on the items whose colour component is 0: 12, 16
	// and 10 of the 48 items for red, green and blue.
	if want := 38.0 / 144; math.Abs(ev.ZeroFeatures-want) > 1e-12 {
		t.Errorf("zero feature share %v, want %v", ev.ZeroFeatures, want)
	}
	if first, last := d.Losses[0], d.Losses[len(d.Losses)-1]; !(last < first) {
		t.Errorf("training loss went from %.4f to %.4f", first, last)
	}
	// Features of another size are refused, naming both.
	if _, err := d.Reconstruct(vizwire.Maps{N: 1, C: 3, H: side + 1, W: side + 1, Data: make([]float32, 3*(side+1)*(side+1))}); err == nil ||
		!strings.Contains(err.Error(), fmt.Sprintf("features [1,3,%d,%d] for a decoder of [3,%d,%d]", side+1, side+1, side, side)) {
		t.Errorf("Reconstruct of the wrong size: %v", err)
	}
}

func TestInputSide(t *testing.T) {
	for _, tc := range []struct {
		h, w, image, want int
		err               string
	}{
		{h: 8, w: 8, image: 64, want: 8},     // small64 conv4, VGG-S conv5
		{h: 6, w: 6, image: 64, want: 8},     // VGG-M conv5
		{h: 7, w: 7, image: 64, want: 8},     // AlexNet conv5
		{h: 14, w: 14, image: 224, want: 14}, // VGG-16 conv5_3
		{h: 13, w: 13, image: 224, want: 14}, // VGG-M, AlexNet at 224
		{h: 18, w: 18, image: 224, want: 28}, // VGG-S at 224: up, never down
		{h: 3, w: 3, image: 6, want: 3},
		{h: 6, w: 4, image: 64, err: "feature map 6x4 must be square"},
		{h: 40, w: 40, image: 64, err: "feature map side 40 is more than half the image side 64"},
		{h: 4, w: 4, image: 9, err: "image side 9 has no power-of-two divisor leaving a map side of at least 4"},
	} {
		got, err := InputSide(tc.h, tc.w, tc.image)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("InputSide(%d, %d, %d) = %d, %v; want error %q", tc.h, tc.w, tc.image, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("InputSide(%d, %d, %d) = %d, %v; want %d", tc.h, tc.w, tc.image, got, err, tc.want)
		}
	}
}

// Resampling keeps a feature where its receptive field is: VGG-M's conv5
// at 64 px (6×6 units 8 px apart, the first centred at 9.5) onto 8×8
// units centred at 4 + 8j.
func TestResampleFollowsReceptiveFields(t *testing.T) {
	g := parts.Geometry{Size: 75, Jump: 8, Start: 9.5, ImageWidth: 64, ImageHeight: 64}
	m := vizwire.Maps{N: 1, C: 2, H: 6, W: 6, Data: make([]float32, 2*36)}
	m.Data[1*6+2] = 1   // channel 0: unit (1, 2), centred at x 25.5, y 17.5
	for i := range 36 { // channel 1: constant
		m.Data[36+i] = 3
	}
	r, err := Resample(m, g, 8)
	if err != nil {
		t.Fatal(err)
	}
	if r.N != 1 || r.C != 2 || r.H != 8 || r.W != 8 || len(r.Data) != 2*64 {
		t.Fatalf("resampled to [%d,%d,%d,%d] with %d values, want [1,2,8,8]", r.N, r.C, r.H, r.W, len(r.Data))
	}
	best := 0
	for i, v := range r.At(0, 0) {
		if v > r.At(0, 0)[best] {
			best = i
		}
	}
	// The nearest new centres are y 20 (row 2) and x 28 (column 3); there
	// u = (20−9.5)/8 = 1.3125 and (28−9.5)/8 = 2.3125: weight 0.6875².
	if best != 2*8+3 {
		t.Errorf("hottest new unit (%d, %d), want (2, 3)", best/8, best%8)
	}
	if got, want := r.At(0, 0)[2*8+3], float32(0.6875*0.6875); math.Abs(float64(got-want)) > 1e-6 {
		t.Errorf("new unit (2, 3) = %v, want %v", got, want)
	}
	for i, v := range r.At(0, 1) {
		if v != 3 {
			t.Fatalf("constant channel resampled to %v at %d", v, i)
		}
	}
	if _, err := Resample(m, parts.Geometry{}, 8); err == nil || !strings.Contains(err.Error(), "needs the receptive-field geometry") {
		t.Errorf("Resample without geometry: %v", err)
	}
}

// flatColours is n images of a flat colour each and their features:
// channel c of image i is scales[c]·rgb_c + offsets[c] (a constant channel
// when c ≥ 3).
func flatColours(n, side, size int, scales, offsets []float32) (feats, imgs vizwire.Maps) {
	feats = vizwire.Maps{N: n, C: len(scales), H: side, W: side}
	imgs = vizwire.Maps{N: n, C: 3, H: size, W: size}
	for i := range n {
		rgb := [3]float32{float32(i%4) / 3, float32(i/4%3) / 2, float32(i%5) / 4}
		for c := range scales {
			v := offsets[c]
			if c < 3 {
				v += scales[c] * rgb[c]
			}
			for range side * side {
				feats.Data = append(feats.Data, v)
			}
		}
		for c := range 3 {
			for range size * size {
				imgs.Data = append(imgs.Data, rgb[c])
			}
		}
	}
	return feats, imgs
}

// Channels on scales a thousand times apart (and one constant channel)
// are each standardised, so the decoder reads the faint one as well as the
// loud one; with one scale for the whole layer the faint channel would be
// a millionth of the loud one.
func TestTrainStandardisesChannels(t *testing.T) {
	b, err := backends.New("gorgonia")
	if err != nil {
		t.Fatal(err)
	}
	feats, imgs := flatColours(48, 4, 16, []float32{1e-3, 1e3, 1, 0}, []float32{0, 1e4, -2, 7})
	d, err := Train(feats, imgs, TrainOptions{Backend: b, Steps: 300, Batch: 8, Hidden: 8, LearningRate: 1e-2, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.FeatureScale[3] != 0 || d.FeatureShift[3] != 7 {
		t.Errorf("constant channel: shift %v, scale %v; want 7 and 0", d.FeatureShift[3], d.FeatureScale[3])
	}
	// The faint channel's standard deviation is 1e-3 times red's (0.37).
	if s := d.FeatureScale[0]; !(s > 1e3 && s < 1e4) {
		t.Errorf("faint channel scale %v, want about 1/(1e-3·0.37)", s)
	}
	ev, _, err := d.Evaluate(feats, imgs, MeanImage(imgs))
	if err != nil {
		t.Fatal(err)
	}
	if !(ev.Ratio < 0.3) {
		t.Errorf("MSE %.4f vs mean-image baseline %.4f (ratio %.2f), want well below", ev.MSE, ev.BaselineMSE, ev.Ratio)
	}
}

// The decoder starts at the mean training image: after one step of a
// negligible learning rate its error is the mean-image baseline's.
func TestTrainStartsAtMeanImage(t *testing.T) {
	b, err := backends.New("gorgonia")
	if err != nil {
		t.Fatal(err)
	}
	feats, imgs := flatColours(24, 4, 16, []float32{1, 1, 1}, []float32{0, 0, 0})
	d, err := Train(feats, imgs, TrainOptions{Backend: b, Steps: 1, Batch: 8, Hidden: 8, LearningRate: 1e-12, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ev, _, err := d.Evaluate(feats, imgs, MeanImage(imgs))
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(ev.Ratio-1) > 1e-5 {
		t.Errorf("after one negligible step: MSE %.6f, baseline %.6f (ratio %.7f), want the baseline", ev.MSE, ev.BaselineMSE, ev.Ratio)
	}
}

// leftStripes is n items whose image is a grey stripe on the left half
// (brightness by item) and dark on the right, and whose 4×4 feature map
// carries that brightness in its left half.
func leftStripes(n, size int) (feats, imgs vizwire.Maps) {
	const side = 4
	feats = vizwire.Maps{N: n, C: 1, H: side, W: side}
	imgs = vizwire.Maps{N: n, C: 3, H: size, W: size}
	for i := range n {
		v := 0.2 + 0.8*float32(i%5)/4
		for range side {
			for x := range side {
				feats.Data = append(feats.Data, v*float32(max(0, 1-x/(side/2))))
			}
		}
		for range 3 {
			for range size {
				for x := range size {
					imgs.Data = append(imgs.Data, v*float32(max(0, 1-x/(size/2))))
				}
			}
		}
	}
	return feats, imgs
}

// With the mirror images the decoder also learns stripes on the right,
// which no original image has; it still starts at the mean of the
// original images (the baseline's prediction).
func TestTrainOnMirrorImages(t *testing.T) {
	b, err := backends.New("gorgonia")
	if err != nil {
		t.Fatal(err)
	}
	feats, imgs := leftStripes(40, 16)
	mirrored := Mirror(feats)
	heldOutFeats, heldOutImgs := mirrored, Mirror(imgs) // right stripes
	ratio := func(opt TrainOptions, f vizwire.Maps, im vizwire.Maps) float64 {
		t.Helper()
		opt.Backend, opt.Batch, opt.Hidden, opt.Seed = b, 8, 8, 1
		d, err := Train(feats, imgs, opt)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		ev, _, err := d.Evaluate(f, im, MeanImage(imgs))
		if err != nil {
			t.Fatal(err)
		}
		return ev.Ratio
	}
	if r := ratio(TrainOptions{Steps: 1, LearningRate: 1e-12, Mirrored: &mirrored}, feats, imgs); math.Abs(r-1) > 1e-5 {
		t.Errorf("after one negligible step with mirror images: ratio %.6f to the originals' mean image, want 1", r)
	}
	with := ratio(TrainOptions{Steps: 300, LearningRate: 1e-2, FinalLearningRate: 1e-3, Mirrored: &mirrored}, heldOutFeats, heldOutImgs)
	without := ratio(TrainOptions{Steps: 300, LearningRate: 1e-2, FinalLearningRate: 1e-3}, heldOutFeats, heldOutImgs)
	t.Logf("right stripes: ratio %.3f with mirror images, %.3f without", with, without)
	if !(with < 0.3 && with < without/2) {
		t.Errorf("right stripes: ratio %.3f trained with mirror images, %.3f without; want the first well below 0.3 and half the second", with, without)
	}
	bad := vizwire.Maps{N: 3, C: 1, H: 4, W: 4, Data: make([]float32, 48)}
	if _, err := Train(feats, imgs, TrainOptions{Backend: b, Steps: 1, Batch: 8, Hidden: 8, LearningRate: 1e-3, Mirrored: &bad}); err == nil ||
		!strings.Contains(err.Error(), "mirrored features [3,1,4,4] for features [40,1,4,4]") {
		t.Errorf("Train with 3 mirrored maps for 40: %v", err)
	}
}

func TestMirror(t *testing.T) {
	m := vizwire.Maps{N: 1, C: 2, H: 2, W: 3, Data: []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}}
	want := []float32{3, 2, 1, 6, 5, 4, 9, 8, 7, 12, 11, 10}
	if d := cmp.Diff(want, Mirror(m).Data); d != "" {
		t.Errorf("Mirror (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 3, 2, 1, 6, 5, 4, 9, 8, 7, 12, 11, 10}, Concat(m, Mirror(m)).Data); d != "" {
		t.Errorf("Concat (-want +got):\n%s", d)
	}
}

func TestCosineRate(t *testing.T) {
	for _, tc := range []struct {
		step, steps int
		want        float64
	}{
		{0, 101, 1e-2},
		{50, 101, (1e-2 + 1e-4) / 2},
		{100, 101, 1e-4},
		{25, 101, 1e-4 + (1e-2-1e-4)*(1+math.Sqrt2/2)/2},
		{0, 1, 1e-2},
	} {
		if got := CosineRate(1e-2, 1e-4, tc.step, tc.steps); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("CosineRate(step %d of %d) = %g, want %g", tc.step, tc.steps, got, tc.want)
		}
	}
}

// The held-out error splits by the part masks: on 2×2 images whose left
// column is the object, a reconstruction exact on the object and off by
// 0.5 on the background has ratio 0 on the object and its own ratio on
// the background.
func TestSplitByObject(t *testing.T) {
	img := func(v ...float32) []float32 { // the same 2×2 plane in R, G, B
		return append(append(append([]float32{}, v...), v...), v...)
	}
	images := vizwire.Maps{N: 2, C: 3, H: 2, W: 2, Data: append(img(1, 0, 1, 0), img(0.5, 0, 0.5, 0)...)}
	rec := vizwire.Maps{N: 2, C: 3, H: 2, W: 2, Data: append(img(1, 0.5, 1, 0.5), img(0.5, 0.5, 0.5, 0.5)...)}
	parts := []uint8{1, 0, 3, 0, 2, 0, 1, 0}
	mean := img(0.75, 0.25, 0.75, 0.25)
	var ev Evaluation
	if err := SplitByObject(&ev, rec, images, parts, mean); err != nil {
		t.Fatal(err)
	}
	want := Evaluation{
		Object:     &Region{Share: 0.5, MSE: 0, BaselineMSE: 0.0625, Ratio: 0},
		Background: &Region{Share: 0.5, MSE: 0.25, BaselineMSE: 0.0625, Ratio: 4},
	}
	if d := cmp.Diff(want, ev); d != "" {
		t.Errorf("split (-want +got):\n%s", d)
	}
	if err := SplitByObject(&ev, rec, images, parts[:4], mean); err == nil {
		t.Error("SplitByObject with the masks of one image for two: no error")
	}
}
