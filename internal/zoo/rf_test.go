package zoo

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/icnnlab/icnnlab/sdk/parts"
)

func TestRFSmall64ByHand(t *testing.T) {
	// Hand recursion from the input (size 1, jump 1, start 0.5):
	//   conv1 3x3/1 p1: size 1+2·1=3,  jump 1, start 0.5+(1-1)·1 = 0.5
	//   pool1 2x2/2:    size 3+1·1=4,  jump 2, start 0.5+0.5·1   = 1
	//   conv2 3x3/1 p1: size 4+2·2=8,  jump 2, start 1
	//   pool2 2x2/2:    size 8+1·2=10, jump 4, start 1+0.5·2     = 2
	//   conv3:          size 10+2·4=18, jump 4, start 2
	//   pool3:          size 18+1·4=22, jump 8, start 2+0.5·4    = 4
	//   conv4:          size 22+2·8=38, jump 8, start 4
	//   conv_interp:    size 38+2·8=54, jump 8, start 4
	want := map[string]RF{
		"conv1": {3, 1, 0.5}, "pool1": {4, 2, 1}, "conv2": {8, 2, 1}, "pool2": {10, 4, 2},
		"conv3": {18, 4, 2}, "pool3": {22, 8, 4}, "conv4": {38, 8, 4}, InsertedConv: {54, 8, 4},
	}
	m := mustBuild(t, Spec{Arch: ArchSmall64, InputSize: 64, Width: 1, Classes: 1, Loss: LossLogistic, Batch: 1}, Hooks{Interpretable: true})
	got := map[string]RF{}
	for _, l := range m.Layers {
		got[l.Name] = l.RF
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("small64 receptive fields (-want +got):\n%s", diff)
	}
}

func TestRFTextbookVGG16(t *testing.T) {
	// The widely quoted figures for VGG-16 at 224 px: conv5_3 sees 196 px
	// with a 16-px jump, its first unit centred at pixel 8 (start-0.5
	// convention); pool5 of the plain network then sees 196+16 = 212 px
	// with jump 32, centred at 8+0.5·16 = 16.
	plain := mustBuild(t, Spec{Arch: ArchVGG16, InputSize: 224, Width: 1, Classes: 1, Loss: LossLogistic, Batch: 1}, Hooks{})
	want := map[string]RF{
		"conv1_2": {5, 1, 0.5}, "conv3_3": {40, 4, 2}, "conv4_3": {92, 8, 4},
		"conv5_3": {196, 16, 8}, "pool5": {212, 32, 16},
	}
	got := map[string]RF{}
	for name := range want {
		l, ok := plain.Layer(name)
		if !ok {
			t.Fatalf("vgg-16 has no layer %s", name)
		}
		got[name] = l.RF
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("vgg-16 receptive fields (-want +got):\n%s", diff)
	}
}

func TestRFCenterAndBox(t *testing.T) {
	rf := RF{Size: 196, Jump: 16, Start: 8}.Geometry(224, 224)
	tests := []struct {
		i, j int
		x, y float64
		box  parts.Rect
	}{
		{0, 0, 8, 8, parts.Rect{X0: -90, Y0: -90, X1: 106, Y1: 106}},
		{0, 1, 24, 8, parts.Rect{X0: -74, Y0: -90, X1: 122, Y1: 106}},
		{13, 2, 40, 216, parts.Rect{X0: -58, Y0: 118, X1: 138, Y1: 314}},
	}
	for _, tc := range tests {
		x, y := rf.Center(tc.i, tc.j)
		if x != tc.x || y != tc.y {
			t.Errorf("Center(%d,%d) = (%g,%g), want (%g,%g)", tc.i, tc.j, x, y, tc.x, tc.y)
		}
		if got := rf.Box(tc.i, tc.j, rf.Size); got != tc.box {
			t.Errorf("Box(%d,%d) = %v, want %v", tc.i, tc.j, got, tc.box)
		}
	}
	// An even-sized field (a 2x2 pool on the image) is centred between pixels.
	pool := InputRF().Next(2, 2, 0).Geometry(4, 4)
	if x, y := pool.Center(1, 0); x != 1 || y != 3 {
		t.Errorf("2x2 pool Center(1,0) = (%g,%g), want (1,3)", x, y)
	}
	if got, want := pool.Box(1, 0, pool.Size), (parts.Rect{X0: 0, Y0: 2, X1: 2, Y1: 4}); got != want {
		t.Errorf("2x2 pool Box(1,0) = %v, want %v", got, want)
	}
}

// TestRFMatchesBackwardWalk checks the forward recursion against a
// direct count: walk each layer backwards from one unit to the span of
// input pixels it reads (unit u of a layer with kernel k, stride s,
// padding p reads units u·s-p … u·s-p+k-1 of its input).
func TestRFMatchesBackwardWalk(t *testing.T) {
	for _, arch := range Names() {
		for _, size := range []int{64, 224} {
			m := mustBuild(t, Spec{Arch: arch, InputSize: size, Width: 0.125, Classes: 1, Loss: LossLogistic, Batch: 1}, Hooks{Interpretable: true})
			for li, l := range m.Layers {
				for _, u := range []int{0, 1, l.Size - 1} {
					lo, hi := u, u
					for k := li; k >= 0; k-- {
						c := m.Layers[k]
						lo, hi = lo*c.Stride-c.Padding, hi*c.Stride-c.Padding+c.Kernel-1
					}
					box := l.RF.Geometry(size, size).Box(u, u, l.RF.Size)
					if box.X0 != lo || box.X1 != hi+1 || box.Y0 != lo || box.Y1 != hi+1 {
						t.Errorf("%s@%d %s unit %d: RF box %v, backward walk reads pixels [%d, %d]", arch, size, l.Name, u, box, lo, hi)
					}
				}
			}
		}
	}
}
