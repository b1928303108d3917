package upconv

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/icnnlab/icnnlab/backends"
	_ "github.com/icnnlab/icnnlab/backends/gorgonia"
	"github.com/icnnlab/icnnlab/plugins/visualizers/vizwire"
	"github.com/icnnlab/icnnlab/sdk/graph"
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
// fall well below the mean-image baseline.
func TestTrainBeatsMeanImage(t *testing.T) {
	b, err := backends.New("gorgonia")
	if err != nil {
		t.Fatal(err)
	}
	const n, side, size = 48, 4, 16
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
	d, err := Train(feats, imgs, TrainOptions{Backend: b, Steps: 400, Batch: 8, Hidden: 8, LearningRate: 1e-2, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
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
	if first, last := d.Losses[0], d.Losses[len(d.Losses)-1]; !(last < first) {
		t.Errorf("training loss went from %.4f to %.4f", first, last)
	}
}
