package masks_test

import (
	"math"
	"testing"

	"github.com/icnnlab/icnnlab/backends"
	_ "github.com/icnnlab/icnnlab/backends/gorgonia"
	"github.com/icnnlab/icnnlab/plugins/masks"
	"github.com/icnnlab/icnnlab/plugins/masks/authorscode"
	"github.com/icnnlab/icnnlab/plugins/masks/l1"
	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// With loss = Σ masked, the gradient on x is the mask where x·mask > 0 and 0
// elsewhere: nothing flows through the argmax or the template.
func TestMaskGradientIsTheMask(t *testing.T) {
	be, err := backends.New("gorgonia")
	if err != nil {
		t.Skipf("gorgonia backend unavailable: %v", err)
	}
	for _, name := range []string{"l1", "authors-code"} {
		var sub *graph.Graph
		if name == "l1" {
			sub, err = l1.Build(l1.Defaults(), 1, 2, 3, 3)
		} else {
			sub, err = authorscode.Build(authorscode.Defaults(), 1, 2, 3, 3)
		}
		if err != nil {
			t.Fatal(err)
		}
		host := graph.New("host")
		x := host.Input("x", tensor.Float32, 1, 2, 3, 3)
		outs, err := host.Inline(sub, "mask", map[string]*graph.Node{masks.InputFeatures: x})
		if err != nil {
			t.Fatal(err)
		}
		loss := host.Sum(outs[masks.OutputMasked])
		if aux := outs[masks.OutputAuxLoss]; aux != nil {
			loss = host.Add(loss, aux)
		}
		host.SetOutput(masks.OutputMask, outs[masks.OutputMask])
		host.SetLoss(loss)
		exe, err := be.Compile(host.MustOK(), backends.CompileOptions{})
		if err != nil {
			t.Fatal(err)
		}
		feeds := map[string]*tensor.Tensor{"x": tieFeatures}
		grads, err := exe.Gradients(backends.Train, feeds, "x")
		if err != nil {
			t.Fatal(err)
		}
		out, err := exe.Run(feeds, masks.OutputMask)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 18 {
			m, xv := out[masks.OutputMask].Float64At(i), float64(tieFeatures.Float32s()[i])
			want := 0.0
			if xv*m > 0 {
				want = m
			}
			if got := grads["x"].Float64At(i); math.Abs(got-want) > 1e-6 {
				t.Errorf("%s: d loss/dx[%d] = %g, want %g (x %g, mask %g)", name, i, got, want, xv, m)
			}
		}
	}
}
