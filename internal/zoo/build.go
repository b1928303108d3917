// Package zoo builds the networks of the paper (AlexNet, VGG-M, VGG-S,
// VGG-16) and the small64 benchmark network as sdk/graph IR, sized by input
// resolution and a width multiplier, with the places where the
// interpretable layers go marked and hookable.
//
// Interpretable mode follows the paper (METHOD.md §1): the top conv-layer's
// output after ReLU is masked, and a new 3×3 conv-layer (M filters, M = its
// input channels, zero padding 1, bias) + ReLU + mask is inserted above it.
// The mask itself comes from the caller (a mask plugin) through Hooks.Mask;
// the filter loss is attached later to Model.Top.
//
// See README.md in this directory for each architecture's layers, map sizes
// and parameter counts.
package zoo

import (
	"fmt"

	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// MaskFunc returns the masked version of x, the post-ReLU output [B,C,H,W]
// of the named layer. It must return a node of x's shape in g; it may add
// parameters, constants and state (named under the layer, to stay unique).
type MaskFunc func(g *graph.Graph, layer string, x *graph.Node) *graph.Node

// Hooks customise how Build places the interpretable layers.
type Hooks struct {
	// Interpretable turns on the paper's interpretable layers.
	Interpretable bool
	// TopOnly masks the existing top conv-layer and inserts no new conv.
	// The small64 benchmark uses this: its conv4 128→128 is the one masked
	// layer of ARCHITECTURE.md's workload.
	TopOnly bool
	// Mask is called once per interpretable layer, top conv first, then the
	// inserted conv. nil means identity (useful for tests and the "no
	// mask" ablation).
	Mask MaskFunc
	// DeferLoss leaves g.SetLoss to the caller (who adds a filter loss to
	// Model.Loss first). The classification loss is still built and output
	// as "classification_loss".
	DeferLoss bool
	// Activations outputs every conv and pool layer's result as
	// "act/<layer>" so evaluation can read any layer.
	Activations bool
	// TopLRMult, when positive, multiplies the learning rate of the top
	// conv-layer's and the inserted conv's weights and biases (the authors
	// fine-tune those faster than the pretrained layers below).
	TopLRMult float64
}

// LayerInfo describes one conv or pool layer of a built model.
type LayerInfo struct {
	Name       string
	Kind       LayerKind
	InChannels int
	Channels   int // output channels
	Size       int // side of the square output map
	Kernel     int
	Stride     int
	Padding    int // symmetric
	RF         RF
	// Params counts the layer's trainable values (conv weights and bias).
	Params int
	// Out is the layer's output: after ReLU for a conv, before any mask.
	Out *graph.Node
	// Masked is Out after the mask for interpretable layers, and Out
	// itself otherwise; it is what the next layer reads.
	Masked *graph.Node
	// Interpretable marks a masked layer; Inserted marks the conv that
	// interpretable mode adds above the top conv-layer.
	Interpretable bool
	Inserted      bool
}

// Model is a built network.
type Model struct {
	Spec  Spec
	Graph *graph.Graph
	// Input is "images" float32 [B,3,S,S]; Labels is "labels" float32
	// [B,Classes]: {0,1} targets for logistic, one-hot rows for softmax.
	Input  *graph.Node
	Labels *graph.Node
	// Logits are [B,Classes]; Loss is the scalar classification loss.
	Logits *graph.Node
	Loss   *graph.Node
	// TopConv names the base network's top conv-layer. Its features are
	// always output as "features/<TopConv>", masked or not, so a plain
	// CNN and its interpretable version can be evaluated alike.
	TopConv string
	// Top lists the interpretable layers (empty unless Hooks.Interpretable):
	// the top conv-layer and, unless TopOnly, the inserted conv.
	Top []LayerInfo
	// Layers lists every conv and pool layer in order, the inserted conv included.
	Layers []LayerInfo
	// DroppedPools names pooling layers removed to keep the top map at
	// least MinTopMap wide at this input size.
	DroppedPools []string
}

// Layer returns the named conv or pool layer.
func (m *Model) Layer(name string) (LayerInfo, bool) {
	for _, l := range m.Layers {
		if l.Name == name {
			return l, true
		}
	}
	return LayerInfo{}, false
}

// ParamCount is the number of trainable values of the whole graph
// (including any the mask hook added).
func (m *Model) ParamCount() int {
	n := 0
	for _, p := range m.Graph.Params() {
		n += p.Shape().NumElements()
	}
	return n
}

// ConvParamCount is the number of trainable values of the conv layers.
func (m *Model) ConvParamCount() int {
	n := 0
	for _, l := range m.Layers {
		n += l.Params
	}
	return n
}

// EvaluatedLayer is the paper's "top conv-layer" of the model, the one its
// metrics score: the last inserted interpretable conv when there is one,
// else the base network's top conv-layer.
func (m *Model) EvaluatedLayer() string {
	if n := len(m.Top); n > 0 {
		return m.Top[n-1].Name
	}
	return m.TopConv
}

// FeatureOutput is the output name of a layer's (masked) features.
func FeatureOutput(layer string) string { return "features/" + layer }

// ActivationOutput is the output name of a layer's activations (Hooks.Activations).
func ActivationOutput(layer string) string { return "act/" + layer }

// PreMaskOutput is the output name of an interpretable layer's maps before
// its mask (Hooks.Activations): what the filter loss sees.
func PreMaskOutput(layer string) string { return "premask/" + layer }

// Build validates spec and builds its graph with outputs "logits", "loss"
// (unless hooks.DeferLoss), "classification_loss", "features/<layer>" for
// the top conv and every interpretable layer, and "act/<layer>" (and
// "premask/<layer>" for interpretable layers) with hooks.Activations.
func Build(spec Spec, hooks Hooks) (*Model, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	insert := hooks.Interpretable && !hooks.TopOnly
	planned, topIndex, dropped, err := plan(spec, insert)
	if err != nil {
		return nil, err
	}
	a := archs[spec.Arch]

	g := graph.New(fmt.Sprintf("%s-%dpx-w%g", spec.Arch, spec.InputSize, spec.Width))
	m := &Model{Spec: spec, Graph: g, DroppedPools: dropped, TopConv: planned[topIndex].name}
	m.Input = g.Input("images", tensor.Float32, spec.Batch, 3, spec.InputSize, spec.InputSize)
	m.Labels = g.Input("labels", tensor.Float32, spec.Batch, spec.Classes)

	x := m.Input
	for i, p := range planned {
		info := LayerInfo{
			Name: p.name, Kind: p.kind, InChannels: p.inChannels, Channels: p.channels, Size: p.outSize,
			Kernel: p.kernel, Stride: p.stride, Padding: p.padding, RF: p.rf, Inserted: p.inserted,
		}
		switch p.kind {
		case KindConv:
			info.Out = g.Relu(convLayer(g, p.name, x, p.channels, p.kernel, graph.ConvOptions{
				Stride: [2]int{p.stride, p.stride}, Padding: [2]int{p.padding, p.padding},
			}, topLRMult(hooks, i == topIndex || p.inserted)))
			info.Params = p.channels*p.inChannels*p.kernel*p.kernel + p.channels
		case KindPool:
			info.Out = g.MaxPool2D(x, graph.PoolOptions{
				Kernel: [2]int{p.kernel, p.kernel}, Stride: [2]int{p.stride, p.stride}, Padding: [2]int{p.padding, p.padding},
			})
		}
		if err := g.Err(); err != nil {
			return nil, fmt.Errorf("build %s layer %s: %w", spec.Arch, p.name, err)
		}
		// The planner and the IR's shape inference must agree, or every RF
		// the metrics use would be wrong.
		if want := (tensor.Shape{spec.Batch, p.channels, p.outSize, p.outSize}); !info.Out.Shape().Equal(want) {
			return nil, fmt.Errorf("build %s layer %s: planned shape %v, graph made %v", spec.Arch, p.name, want, info.Out.Shape())
		}
		info.Masked = info.Out
		if hooks.Interpretable && (i == topIndex || p.inserted) {
			masked, err := applyMask(g, hooks.Mask, p.name, info.Out)
			if err != nil {
				return nil, fmt.Errorf("build %s: %w", spec.Arch, err)
			}
			info.Masked, info.Interpretable = masked, true
			m.Top = append(m.Top, info)
		}
		if i == topIndex || info.Interpretable {
			g.SetOutput(FeatureOutput(p.name), info.Masked)
		}
		if hooks.Activations {
			g.SetOutput(ActivationOutput(p.name), info.Masked)
			if info.Interpretable {
				g.SetOutput(PreMaskOutput(p.name), info.Out)
			}
		}
		m.Layers = append(m.Layers, info)
		x = info.Masked
	}

	h := g.Flatten(x)
	for i, width := range a.hidden {
		if spec.Dropout > 0 && a.dropoutBeforeFC {
			h = g.Dropout(h, spec.Dropout)
		}
		h = g.Relu(g.Linear(a.fcNames[i], h, spec.scaled(width)))
		if spec.Dropout > 0 && !a.dropoutBeforeFC {
			h = g.Dropout(h, spec.Dropout)
		}
	}
	m.Logits = g.Linear(a.fcNames[len(a.fcNames)-1], h, spec.Classes)
	switch spec.Loss {
	case LossLogistic:
		// One-vs-all: an independent sigmoid per output (Classes = 1 is the
		// single-category target-vs-rest task).
		m.Loss = g.SigmoidCrossEntropy(m.Logits, m.Labels)
	case LossSoftmax:
		m.Loss = g.SoftmaxCrossEntropy(m.Logits, m.Labels)
	}
	g.SetOutput("logits", m.Logits)
	g.SetOutput("classification_loss", m.Loss)
	if !hooks.DeferLoss {
		g.SetLoss(m.Loss)
	}
	if err := g.Err(); err != nil {
		return nil, fmt.Errorf("build %s: %w", spec.Arch, err)
	}
	return m, nil
}

func topLRMult(h Hooks, top bool) float64 {
	if top && h.TopLRMult > 0 {
		return h.TopLRMult
	}
	return 1
}

// convLayer is graph.Conv2DLayer (He-normal weights, zero bias without
// weight decay) with a learning-rate multiplier on both.
func convLayer(g *graph.Graph, name string, x *graph.Node, out, kernel int, o graph.ConvOptions, lrMult float64) *graph.Node {
	if lrMult == 1 {
		return g.Conv2DLayer(name, x, out, kernel, o)
	}
	w := g.Param(name+"/w", graph.HeNormal(), []int{out, x.Shape()[1], kernel, kernel}, graph.LRMult(lrMult))
	b := g.Param(name+"/b", graph.Zeros(), []int{out}, graph.DecayMult(0), graph.LRMult(lrMult))
	return g.Add(g.Conv2D(x, w, o), g.Reshape(b, 1, out, 1, 1))
}

// applyMask runs the mask hook for one layer and checks what it returned.
func applyMask(g *graph.Graph, mask MaskFunc, layer string, x *graph.Node) (*graph.Node, error) {
	if mask == nil {
		return x, nil
	}
	y := mask(g, layer, x)
	if err := g.Err(); err != nil {
		return nil, fmt.Errorf("mask for layer %s: %w", layer, err)
	}
	switch {
	case y == nil:
		return nil, fmt.Errorf("mask for layer %s returned no node", layer)
	case y.Graph() != g:
		return nil, fmt.Errorf("mask for layer %s returned a node of another graph (%q)", layer, y.Graph().Name())
	case !y.Shape().Equal(x.Shape()) || y.DType() != x.DType():
		return nil, fmt.Errorf("mask for layer %s returned %v%v, want the input's %v%v", layer, y.DType(), y.Shape(), x.DType(), x.Shape())
	}
	return y, nil
}
