package zoo

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/icnnlab/icnnlab/sdk/graph"
)

func mustBuild(t *testing.T, spec Spec, hooks Hooks) *Model {
	t.Helper()
	m, err := Build(spec, hooks)
	if err != nil {
		t.Fatalf("Build(%+v): %v", spec, err)
	}
	return m
}

func spec(arch string, size int, width float64) Spec {
	return Spec{Arch: arch, InputSize: size, Width: width, Classes: 1, Loss: LossLogistic, Dropout: 0.5, Batch: 2}
}

// convShapes lists the weight shapes of g's convolutions in order.
func convShapes(g *graph.Graph) []string {
	var out []string
	for _, n := range g.Nodes() {
		if n.Op() == graph.OpConv2D {
			w := n.Inputs()[1].Shape()
			out = append(out, fmt.Sprintf("%dx%dx%dx%d", w[0], w[1], w[2], w[3]))
		}
	}
	return out
}

func TestTopMapSizes(t *testing.T) {
	type key struct {
		arch string
		size int
	}
	// The documented top conv map sides (README.md), at every width.
	want := map[key]int{
		{ArchAlexNet, 64}: 7, {ArchAlexNet, 224}: 13,
		{ArchAlexNetTorchvision, 64}: 7, {ArchAlexNetTorchvision, 224}: 13,
		{ArchVGGM, 64}: 6, {ArchVGGM, 224}: 13,
		{ArchVGGS, 64}: 8, {ArchVGGS, 224}: 18,
		{ArchVGG16, 64}: 8, {ArchVGG16, 224}: 14,
		{ArchSmall64, 64}: 8, {ArchSmall64, 224}: 28,
	}
	for _, arch := range Names() {
		for _, size := range []int{64, 224} {
			for _, width := range []float64{0.125, 1} {
				m := mustBuild(t, spec(arch, size, width), Hooks{})
				top, ok := m.Layer(m.TopConv)
				if !ok {
					t.Fatalf("%s: top conv %q is not in Layers", arch, m.TopConv)
				}
				if top.Size != want[key{arch, size}] {
					t.Errorf("%s@%d w%g: top conv %s map %dx%d, want %d", arch, size, width, top.Name, top.Size, top.Size, want[key{arch, size}])
				}
				if got := m.Graph.Output(FeatureOutput(m.TopConv)); got != top.Out {
					t.Errorf("%s@%d: features/%s is %v, want the top conv's ReLU output %v", arch, size, m.TopConv, got, top.Out)
				}
				if got, want := m.Logits.Shape(), []int{2, 1}; !slices.Equal(got, want) {
					t.Errorf("%s@%d: logits %v, want %v", arch, size, got, want)
				}
				if len(m.Top) != 0 {
					t.Errorf("%s@%d: plain model has interpretable layers %v", arch, size, m.Top)
				}
			}
		}
	}
}

func TestSmallInputsDropPools(t *testing.T) {
	tests := []struct {
		arch    string
		size    int
		dropped []string
	}{
		{ArchVGG16, 224, nil},
		{ArchVGG16, 96, nil},
		{ArchVGG16, 64, []string{"pool4"}},
		{ArchVGG16, 32, []string{"pool3", "pool4"}},
		{ArchAlexNet, 128, nil},
		{ArchAlexNet, 64, []string{"pool2"}},
		{ArchVGGM, 96, []string{"pool2"}},
		{ArchVGGS, 96, nil},
		{ArchVGGS, 64, []string{"pool2"}},
	}
	for _, tc := range tests {
		m := mustBuild(t, spec(tc.arch, tc.size, 0.125), Hooks{})
		if diff := cmp.Diff(tc.dropped, m.DroppedPools); diff != "" {
			t.Errorf("%s@%d dropped pools (-want +got):\n%s", tc.arch, tc.size, diff)
		}
		top, _ := m.Layer(m.TopConv)
		if top.Size < MinTopMap {
			t.Errorf("%s@%d: top map %d < %d", tc.arch, tc.size, top.Size, MinTopMap)
		}
	}
	_, err := Build(spec(ArchSmall64, 40, 1), Hooks{})
	if err == nil || !strings.Contains(err.Error(), "input_size") {
		t.Errorf("small64 at 40 px (5x5 top map): error %v, want one naming input_size", err)
	}
}

func TestVGG16ConvStackParams(t *testing.T) {
	// torchvision's vgg16().features has 14,714,688 parameters; summed by
	// hand: 1,792 + 36,928 + 73,856 + 147,584 + 295,168 + 2·590,080 +
	// 1,180,160 + 5·2,359,808.
	m := mustBuild(t, spec(ArchVGG16, 224, 1), Hooks{})
	if got := m.ConvParamCount(); got != 14_714_688 {
		t.Errorf("VGG-16 conv params = %d, want 14,714,688", got)
	}
	// The FC part: 25088·4096+4096 + 4096·4096+4096 + 4096·1+1.
	if got, want := m.ParamCount()-m.ConvParamCount(), 25088*4096+4096+4096*4096+4096+4096+1; got != want {
		t.Errorf("VGG-16 FC params = %d, want %d", got, want)
	}
	if n := len(convShapes(m.Graph)); n != 13 {
		t.Errorf("VGG-16 has %d convs, want 13", n)
	}
}

func TestSmall64Params(t *testing.T) {
	// conv1 3·32·9+32 = 896; conv2 32·64·9+64 = 18,496; conv3 64·128·9+128 =
	// 73,856; conv4 128·128·9+128 = 147,584; fc1 (128·8·8)·256+256 =
	// 2,097,408; fc2 256+1 = 257.
	const want = 896 + 18_496 + 73_856 + 147_584 + 2_097_408 + 257
	for _, interpretable := range []bool{false, true} {
		m, err := Small64(32, interpretable, Hooks{})
		if err != nil {
			t.Fatal(err)
		}
		if got := m.ParamCount(); got != want {
			t.Errorf("small64 (interpretable %v) params = %d, want %d", interpretable, got, want)
		}
		wantShapes := []string{"32x3x3x3", "64x32x3x3", "128x64x3x3", "128x128x3x3"}
		if diff := cmp.Diff(wantShapes, convShapes(m.Graph)); diff != "" {
			t.Errorf("small64 conv weights (-want +got):\n%s", diff)
		}
		if got := m.Input.Shape(); !slices.Equal(got, []int{32, 3, 64, 64}) {
			t.Errorf("small64 input %v", got)
		}
	}
}

func TestInterpretableInsertsOneConvAndMasksTwice(t *testing.T) {
	for _, arch := range Names() {
		for _, width := range []float64{0.125, 1} {
			s := spec(arch, 64, width)
			plain := mustBuild(t, s, Hooks{})
			var calls []string
			mask := func(g *graph.Graph, layer string, x *graph.Node) *graph.Node {
				calls = append(calls, layer)
				return g.MulScalar(x, 0.5)
			}
			m := mustBuild(t, s, Hooks{Interpretable: true, Mask: mask})

			if diff := cmp.Diff([]string{plain.TopConv, InsertedConv}, calls); diff != "" {
				t.Errorf("%s w%g: mask calls (-want +got):\n%s", arch, width, diff)
			}
			before, after := convShapes(plain.Graph), convShapes(m.Graph)
			top, _ := plain.Layer(plain.TopConv)
			M := top.Channels
			wantAfter := append(slices.Clone(before), fmt.Sprintf("%dx%dx3x3", M, M))
			if diff := cmp.Diff(wantAfter, after); diff != "" {
				t.Errorf("%s w%g: conv weights after inserting (-want +got):\n%s", arch, width, diff)
			}
			if got, want := m.ConvParamCount()-plain.ConvParamCount(), M*M*9+M; got != want {
				t.Errorf("%s w%g: inserted conv adds %d params, want %d", arch, width, got, want)
			}
			if len(m.Top) != 2 {
				t.Fatalf("%s: %d interpretable layers, want 2", arch, len(m.Top))
			}
			ins := m.Top[1]
			if !ins.Inserted || ins.Name != InsertedConv || ins.InChannels != M || ins.Channels != M ||
				ins.Kernel != 3 || ins.Padding != 1 || ins.Stride != 1 || ins.Size != top.Size {
				t.Errorf("%s: inserted layer %+v, want 3x3/1 pad 1 %d→%d on %dx%d", arch, ins, M, M, top.Size, top.Size)
			}
			for _, l := range m.Top {
				if !l.Interpretable || l.Masked == l.Out || l.Masked.Op() != graph.OpMul || l.Masked.Inputs()[0] != l.Out {
					t.Errorf("%s %s: Masked %v is not the hook's result on Out %v", arch, l.Name, l.Masked, l.Out)
				}
				if m.Graph.Output(FeatureOutput(l.Name)) != l.Masked {
					t.Errorf("%s: output features/%s is not the masked map", arch, l.Name)
				}
				if l.Out.Op() != graph.OpRelu {
					t.Errorf("%s %s: pre-mask node is %v, want a ReLU", arch, l.Name, l.Out)
				}
			}
			// The inserted conv reads the masked top, not the raw one.
			insConv := ins.Out.Inputs()[0].Inputs()[0] // relu ← add(bias) ← conv
			if insConv.Op() != graph.OpConv2D || insConv.Inputs()[0] != m.Top[0].Masked {
				t.Errorf("%s: the inserted conv reads %v, want the masked top %v", arch, insConv.Inputs()[0], m.Top[0].Masked)
			}
		}
	}
}

func TestTopOnlyMasksOnce(t *testing.T) {
	var calls []string
	mask := func(g *graph.Graph, layer string, x *graph.Node) *graph.Node {
		calls = append(calls, layer)
		return g.Relu(x)
	}
	m, err := Small64(4, true, Hooks{Mask: mask})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"conv4"}, calls); diff != "" {
		t.Errorf("mask calls (-want +got):\n%s", diff)
	}
	if len(m.Top) != 1 || m.Top[0].Name != "conv4" || m.Top[0].Size != 8 || m.Top[0].Channels != 128 {
		t.Errorf("Top = %+v, want conv4 128x8x8", m.Top)
	}
	if _, ok := m.Layer(InsertedConv); ok {
		t.Error("TopOnly inserted a conv")
	}
}

func TestMaskHookErrors(t *testing.T) {
	tests := []struct {
		name string
		mask MaskFunc
		want string
	}{
		{"nil result", func(*graph.Graph, string, *graph.Node) *graph.Node { return nil }, "returned no node"},
		{"wrong shape", func(g *graph.Graph, _ string, x *graph.Node) *graph.Node { return g.Sum(x, 1) }, "returned float32[2 8 8]"},
		{"graph error", func(g *graph.Graph, _ string, x *graph.Node) *graph.Node { return g.Reshape(x, 7) }, "mask for layer conv4"},
	}
	for _, tc := range tests {
		_, err := Build(spec(ArchSmall64, 64, 0.125), Hooks{Interpretable: true, Mask: tc.mask})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
}

func TestLossesAndOutputs(t *testing.T) {
	t.Run("logistic", func(t *testing.T) {
		m := mustBuild(t, spec(ArchSmall64, 64, 0.125), Hooks{})
		if m.Graph.Loss() != m.Loss || m.Graph.Output("loss") != m.Loss || m.Graph.Output("classification_loss") != m.Loss {
			t.Error("the classification loss is not the graph's loss")
		}
		// softplus(z) - z·y: the loss reads the labels through a Mul with the logits.
		if !readsBoth(m.Loss, m.Logits, m.Labels) {
			t.Error("logistic loss does not combine logits and labels")
		}
		if countOps(m.Graph, graph.OpLogSumExp) != 0 {
			t.Error("logistic loss uses a logsumexp (softmax?)")
		}
	})
	t.Run("softmax", func(t *testing.T) {
		s := spec(ArchVGGM, 64, 0.125)
		s.Classes, s.Loss = 5, LossSoftmax
		m := mustBuild(t, s, Hooks{})
		if got := m.Labels.Shape(); !slices.Equal(got, []int{2, 5}) {
			t.Errorf("labels %v, want [2 5]", got)
		}
		if countOps(m.Graph, graph.OpLogSumExp) != 1 || !readsBoth(m.Loss, m.Logits, m.Labels) {
			t.Error("softmax loss is not a log-softmax of the logits against the labels")
		}
	})
	t.Run("deferred", func(t *testing.T) {
		m := mustBuild(t, spec(ArchSmall64, 64, 0.125), Hooks{DeferLoss: true})
		if m.Graph.Loss() != nil || m.Graph.Output("loss") != nil {
			t.Error("DeferLoss still set the graph loss")
		}
		if m.Loss == nil || m.Graph.Output("classification_loss") != m.Loss {
			t.Error("DeferLoss dropped the classification loss")
		}
	})
	t.Run("dropout", func(t *testing.T) {
		for _, rate := range []float64{0, 0.5} {
			s := spec(ArchVGGS, 64, 0.125)
			s.Dropout = rate
			m := mustBuild(t, s, Hooks{})
			want := 0
			if rate > 0 {
				want = 2 // after fc6 and fc7
			}
			if got := countOps(m.Graph, graph.OpDropout); got != want {
				t.Errorf("rate %g: %d dropout ops, want %d", rate, got, want)
			}
		}
	})
	t.Run("activations", func(t *testing.T) {
		m := mustBuild(t, spec(ArchVGG16, 64, 0.125), Hooks{Activations: true, Interpretable: true})
		for _, l := range m.Layers {
			if m.Graph.Output(ActivationOutput(l.Name)) != l.Masked {
				t.Errorf("act/%s missing or not the layer's output", l.Name)
			}
		}
		if len(m.Layers) != 13+3+1+1 { // convs, pool1-3 (pool4 is dropped at 64 px), pool5, inserted conv
			t.Errorf("%d layers, want 18", len(m.Layers))
		}
	})
}

func countOps(g *graph.Graph, op graph.Op) int {
	n := 0
	for _, node := range g.Nodes() {
		if node.Op() == op {
			n++
		}
	}
	return n
}

func readsBoth(root, a, b *graph.Node) bool {
	anc := root.Graph().Ancestors(root)
	return anc[a.ID()] && anc[b.ID()]
}

func TestWorkloads(t *testing.T) {
	m, err := Workload(WorkloadVGG16224, 32, true, Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"conv5_3", InsertedConv}, []string{m.Top[0].Name, m.Top[1].Name}); diff != "" {
		t.Errorf("vgg16-224 interpretable layers (-want +got):\n%s", diff)
	}
	if m.Top[1].Size != 14 || m.Top[1].Channels != 512 {
		t.Errorf("vgg16-224 inserted conv %dx%dx%d, want 512x14x14", m.Top[1].Channels, m.Top[1].Size, m.Top[1].Size)
	}
	m, err = Workload(WorkloadVGGM112, 32, true, Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	type layer struct {
		Name           string
		Channels, Size int
	}
	var got []layer
	for _, l := range m.Layers {
		got = append(got, layer{l.Name, l.Channels, l.Size})
	}
	want := []layer{{"conv1", 12, 53}, {"pool1", 12, 26}, {"conv2", 32, 12}, {"conv3", 64, 12}, {"conv4", 64, 12}, {"conv5", 64, 12}, {InsertedConv, 64, 12}, {"pool5", 64, 5}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("vggm-112 layers (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"conv5", InsertedConv}, []string{m.Top[0].Name, m.Top[1].Name}); diff != "" {
		t.Errorf("vggm-112 interpretable layers (-want +got):\n%s", diff)
	}
	if _, err := Workload("resnet", 1, false, Hooks{}); err == nil || !strings.Contains(err.Error(), "small64, vgg16-224, vggm-112") {
		t.Errorf("unknown workload: %v", err)
	}
}

// The reproduction's default geometry: at 112 px with MinTopMap 12, VGG-M
// and AlexNet drop pool2 and interpret 12×12 and 13×13 maps; the receptive
// field of VGG-M's inserted conv covers 91 of the 112 px (the paper's
// VGG-M at 224 px: 171 of 224).
func TestMinTopMapGeometry(t *testing.T) {
	for _, tc := range []struct {
		arch    string
		top     int
		dropped []string
		rf      int
	}{
		{ArchVGGM, 12, []string{"pool2"}, 91},
		{ArchAlexNet, 13, []string{"pool2"}, 115},
	} {
		s := spec(tc.arch, 112, 0.125)
		s.MinTopMap = 12
		m := mustBuild(t, s, Hooks{Interpretable: true})
		top, _ := m.Layer(m.TopConv)
		inserted := m.Top[len(m.Top)-1]
		if top.Size != tc.top || inserted.Size != tc.top || !slices.Equal(m.DroppedPools, tc.dropped) || inserted.RF.Size != tc.rf {
			t.Errorf("%s@112, min top map 12: top %d, inserted %d (RF %d px), dropped %v; want %d, RF %d px, dropped %v",
				tc.arch, top.Size, inserted.Size, inserted.RF.Size, m.DroppedPools, tc.top, tc.rf, tc.dropped)
		}
	}
	bad := spec(ArchVGGM, 112, 0.125)
	bad.MinTopMap = 40
	if _, err := Build(bad, Hooks{}); err == nil || !strings.Contains(err.Error(), "needs at least 40x40") {
		t.Errorf("min top map 40 at 112 px: error %v, want one naming the 40x40 minimum", err)
	}
}

// TopLRMult raises the learning rate of the top conv-layer and the
// inserted conv only.
func TestTopLRMult(t *testing.T) {
	m := mustBuild(t, spec(ArchVGGM, 64, 0.125), Hooks{Interpretable: true, TopLRMult: 10})
	got := map[string]float64{}
	for _, p := range m.Graph.Params() {
		got[p.Attrs().Name] = p.Attrs().LRMult
	}
	for name, want := range map[string]float64{"conv5/w": 10, "conv5/b": 10, InsertedConv + "/w": 10, "conv4/w": 1, "conv1/b": 1, "fc8/w": 1} {
		if got[name] != want {
			t.Errorf("%s: LR multiplier %g, want %g", name, got[name], want)
		}
	}
}
