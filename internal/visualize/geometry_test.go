package visualize_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/icnnlab/icnnlab/backends"
	_ "github.com/icnnlab/icnnlab/backends/gorgonia"
	"github.com/icnnlab/icnnlab/internal/zoo"
	"github.com/icnnlab/icnnlab/plugins/metrics/featmap"
	"github.com/icnnlab/icnnlab/plugins/visualizers/draw"
	"github.com/icnnlab/icnnlab/plugins/visualizers/receptivefield"
	"github.com/icnnlab/icnnlab/plugins/visualizers/upconv"
	"github.com/icnnlab/icnnlab/plugins/visualizers/vizwire"
	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/parts"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// TestOneGeometryPlacesAUnit runs a hand-made network on an image with
// one bright 2×2 blob and checks that the three pictures of the firing
// unit agree: the receptive-field overlay's region (the map up-sampled and
// thresholded, as the receptive-field visualizer draws it), the mined
// patch (cut around the peak, as upconv cuts it) and the metrics' unit
// centre (the arg-max unit's receptive-field centre, as location
// instability places it) all sit on the blob.
//
// The network: an identity 3×3 convolution (pad 1), a 2×2 max-pool and a
// 3×3 convolution whose centre weight is 2 and the others 1 (pad 1), then
// ReLU. On 16×16 pixels its units have receptive field Size 8, Jump 2,
// Start 1. The blob covers pixels x ∈ {8, 9}, y ∈ {4, 5} (centre (9, 5)),
// so pooled unit (2, 4) alone sees it; the last convolution makes that
// unit 2 and its eight neighbours 1.
func TestOneGeometryPlacesAUnit(t *testing.T) {
	const side = 16
	g := graph.New("one-geometry")
	x := g.Input("images", tensor.Float32, 1, 1, side, side)
	identity := make([]float32, 9)
	identity[4] = 1
	peaked := []float32{1, 1, 1, 1, 2, 1, 1, 1, 1}
	pad1 := graph.ConvOptions{Padding: [2]int{1, 1}}
	h := g.Conv2D(x, g.Const(tensor.MustFloat32(tensor.Shape{1, 1, 3, 3}, identity)), pad1)
	h = g.MaxPool2D(h, graph.PoolOptions{Kernel: [2]int{2, 2}, Stride: [2]int{2, 2}})
	h = g.Relu(g.Conv2D(h, g.Const(tensor.MustFloat32(tensor.Shape{1, 1, 3, 3}, peaked)), pad1))
	g.SetOutput("features", h)
	geom := zoo.InputRF().Next(3, 1, 1).Next(2, 2, 0).Next(3, 1, 1).Geometry(side, side)
	if want := (parts.Geometry{Size: 8, Jump: 2, Start: 1, ImageWidth: side, ImageHeight: side}); geom != want {
		t.Fatalf("geometry %+v, want %+v", geom, want)
	}

	backend, err := backends.New("gorgonia")
	if err != nil {
		t.Fatal(err)
	}
	exec, err := backend.Compile(g, backends.CompileOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer exec.Close()
	img := tensor.Zeros(tensor.Float32, 1, 1, side, side)
	for _, p := range [][2]int{{8, 4}, {9, 4}, {8, 5}, {9, 5}} {
		img.Float32s()[p[1]*side+p[0]] = 1
	}
	out, err := exec.Run(map[string]*tensor.Tensor{"images": img}, "features")
	if err != nil {
		t.Fatal(err)
	}
	acts, err := vizwire.AsMaps("features", out["features"])
	if err != nil {
		t.Fatal(err)
	}
	blob := [2]float64{9, 5}

	// The metrics: the arg-max unit and its receptive-field centre.
	i, j, _ := featmap.ArgMax(acts.At(0, 0), acts.W)
	cx, cy := geom.Center(i, j)
	if got := [2]float64{cx, cy}; got != blob {
		t.Errorf("arg-max unit (%d,%d) has its receptive field centred at %v, want the blob's centre %v", i, j, got, blob)
	}
	if rf := geom.Box(i, j, geom.Size); centre(rf) != blob {
		t.Errorf("receptive field %+v is centred at %v, want %v", rf, centre(rf), blob)
	}

	// The mined patch: upconv's strongest peak, cut as its report cuts it.
	peaks := upconv.Peaks(acts, 0, 1)
	if len(peaks) != 1 || peaks[0].Row != i || peaks[0].Col != j {
		t.Fatalf("upconv peaks %+v, want the arg-max unit (%d,%d)", peaks, i, j)
	}
	patch := draw.UnitBox(geom, peaks[0].Row, peaks[0].Col, upconv.PatchSide(geom))
	if got := [2]float64{float64(patch.Min.X+patch.Max.X) / 2, float64(patch.Min.Y+patch.Max.Y) / 2}; got != blob {
		t.Errorf("patch %v is centred at %v, want %v", patch, got, blob)
	}

	// The overlay: the unit and its eight neighbours are at or above the
	// threshold T_f (the 9th largest of 64 units), so the region is the
	// plateau between their centres, x ∈ [7, 11], y ∈ [3, 7]: pixels 7…10
	// by 3…6, centred on the blob.
	fraction := 9.0 / 64
	threshold := receptivefield.Threshold(acts, 0, fraction)
	region := draw.Threshold(geom.Upsample(acts.At(0, 0), acts.H, acts.W), threshold)
	var wantRegion []bool
	var sx, sy, n float64
	for p, on := range region {
		px, py := p%side, p/side
		wantRegion = append(wantRegion, px >= 7 && px <= 10 && py >= 3 && py <= 6)
		if on {
			sx, sy, n = sx+float64(px)+0.5, sy+float64(py)+0.5, n+1
		}
	}
	if diff := cmp.Diff(wantRegion, region); diff != "" {
		t.Errorf("overlay region (-want +got):\n%s", diff)
	}
	if got := [2]float64{sx / n, sy / n}; got != blob {
		t.Errorf("overlay region's centroid %v, want %v", got, blob)
	}

	// The receptive-field visualizer itself, with a part painted exactly
	// where the region should be: all of the region falls on that part.
	labels := make([]uint8, side*side)
	for p, on := range wantRegion {
		if on {
			labels[p] = 1
		}
	}
	images, err := vizwire.AsMaps("images", tensor.Zeros(tensor.Float32, 1, 3, side, side))
	if err != nil {
		t.Fatal(err)
	}
	meta := vizwire.Meta{Layer: "conv2", Geometry: geom, Groups: []string{"background", "blob"}}
	_, sum, err := receptivefield.Render(receptivefield.Input{Meta: meta, Activations: acts, Images: images, Parts: labels},
		receptivefield.Options{TopImages: 1, TopFraction: fraction, Scale: 1})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]float64{"background": 0, "blob": 1}, sum.Filters[0].Coverage); diff != "" {
		t.Errorf("receptive-field coverage (-want +got):\n%s", diff)
	}
}

func centre(r parts.Rect) [2]float64 {
	return [2]float64{float64(r.X0+r.X1) / 2, float64(r.Y0+r.Y1) / 2}
}
