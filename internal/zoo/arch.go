package zoo

import (
	"fmt"

	"github.com/icnnlab/icnnlab/sdk/graph"
)

// MinTopMap is the smallest side of the top conv-layer's map that the zoo
// builds. The mask templates need room to move (the paper's maps are 13×13
// to 14×14), and fewer than 6×6 positions leave little to localise.
const MinTopMap = 6

// LayerKind says what a layer computes.
type LayerKind string

const (
	KindConv LayerKind = "conv" // 2-D convolution with bias, followed by ReLU
	KindPool LayerKind = "pool" // max pooling
)

// layerDef is one conv or pool layer of an architecture at width 1.
type layerDef struct {
	name     string
	kind     LayerKind
	channels int // conv output channels at width 1 (pools keep their input's)
	kernel   int
	stride   int
	padding  int
	// dropRank orders the pools removed on small inputs: the pool with
	// rank 1 goes first, then rank 2, …; 0 means it is never removed.
	dropRank int
}

func conv(name string, channels, kernel, stride, padding int) layerDef {
	return layerDef{name: name, kind: KindConv, channels: channels, kernel: kernel, stride: stride, padding: padding}
}

func pool(name string, kernel, stride, padding, dropRank int) layerDef {
	return layerDef{name: name, kind: KindPool, kernel: kernel, stride: stride, padding: padding, dropRank: dropRank}
}

// archDef describes an architecture as: body (ends with the top conv-layer,
// where the interpretable layers go), head (pools between the top and the
// fully connected part) and the fully connected part.
type archDef struct {
	body []layerDef
	head []layerDef
	// hidden are the widths of the hidden FC layers at width 1; fcNames
	// names them and, last, the class layer.
	hidden  []int
	fcNames []string
	// dropoutBeforeFC puts the dropout of Spec.Dropout before each hidden
	// FC layer (torchvision's AlexNet) instead of after its ReLU.
	dropoutBeforeFC bool
}

// The architectures. Local response normalisation (AlexNet, VGG-M, VGG-S)
// is omitted: the IR has no LRN op, later work found it adds little, and
// batch-norm would change the networks more than dropping LRN does.
// AlexNet's two-GPU channel groups are also omitted (one group per conv).
// Pool paddings are symmetric (the IR's pools pad both sides alike), chosen
// so that the map sizes at 224 px match MatConvNet's imagenet-vgg-m/-s.
var archs = map[string]archDef{
	// Krizhevsky et al. 2012, with torchvision's conv1 padding of 2 so that
	// 224-px inputs give the classic 55/27/13 maps.
	ArchAlexNet: {
		body: []layerDef{
			conv("conv1", 96, 11, 4, 2),
			pool("pool1", 3, 2, 0, 2),
			conv("conv2", 256, 5, 1, 2),
			pool("pool2", 3, 2, 0, 1),
			conv("conv3", 384, 3, 1, 1),
			conv("conv4", 384, 3, 1, 1),
			conv("conv5", 256, 3, 1, 1),
		},
		head:    []layerDef{pool("pool5", 3, 2, 0, 0)},
		hidden:  []int{4096, 4096},
		fcNames: []string{"fc6", "fc7", "fc8"},
	},
	// torchvision's AlexNet, whose pretrained ImageNet weights are the ones
	// people have: Krizhevsky 2014 channel counts, the same geometry as
	// ArchAlexNet, and torchvision's classifier (Dropout, Linear, ReLU,
	// Dropout, Linear, ReLU, Linear). torchvision's AdaptiveAvgPool2d(6) is
	// the identity at 224 px; package weights/torchvision folds it into fc6
	// for other sizes.
	ArchAlexNetTorchvision: {
		body: []layerDef{
			conv("conv1", 64, 11, 4, 2),
			pool("pool1", 3, 2, 0, 2),
			conv("conv2", 192, 5, 1, 2),
			pool("pool2", 3, 2, 0, 1),
			conv("conv3", 384, 3, 1, 1),
			conv("conv4", 256, 3, 1, 1),
			conv("conv5", 256, 3, 1, 1),
		},
		head:            []layerDef{pool("pool5", 3, 2, 0, 0)},
		hidden:          []int{4096, 4096},
		fcNames:         []string{"fc6", "fc7", "fc8"},
		dropoutBeforeFC: true,
	},
	// Chatfield et al. 2014 CNN-M: conv1 96×7×7/2, conv2 256×5×5/2 pad 1,
	// conv3-5 512×3×3 pad 1; 3×3/2 pools.
	ArchVGGM: {
		body: []layerDef{
			conv("conv1", 96, 7, 2, 0),
			pool("pool1", 3, 2, 0, 2),
			conv("conv2", 256, 5, 2, 1),
			pool("pool2", 3, 2, 1, 1),
			conv("conv3", 512, 3, 1, 1),
			conv("conv4", 512, 3, 1, 1),
			conv("conv5", 512, 3, 1, 1),
		},
		head:    []layerDef{pool("pool5", 3, 2, 0, 0)},
		hidden:  []int{4096, 4096},
		fcNames: []string{"fc6", "fc7", "fc8"},
	},
	// Chatfield et al. 2014 CNN-S: conv1 96×7×7/2 with a 3×3/3 pool,
	// conv2 256×5×5/1 pad 1 with a 2×2/2 pool, conv3-5 512×3×3 pad 1, 3×3/3 pool.
	ArchVGGS: {
		body: []layerDef{
			conv("conv1", 96, 7, 2, 0),
			pool("pool1", 3, 3, 1, 2),
			conv("conv2", 256, 5, 1, 1),
			pool("pool2", 2, 2, 1, 1),
			conv("conv3", 512, 3, 1, 1),
			conv("conv4", 512, 3, 1, 1),
			conv("conv5", 512, 3, 1, 1),
		},
		head:    []layerDef{pool("pool5", 3, 3, 0, 0)},
		hidden:  []int{4096, 4096},
		fcNames: []string{"fc6", "fc7", "fc8"},
	},
	// Simonyan & Zisserman 2015, configuration D: 13 conv 3×3 pad 1 in five
	// blocks, 2×2/2 pools. On small inputs the late pools go first, which
	// keeps the expensive high-resolution early blocks unchanged.
	ArchVGG16: {
		body: []layerDef{
			conv("conv1_1", 64, 3, 1, 1), conv("conv1_2", 64, 3, 1, 1),
			pool("pool1", 2, 2, 0, 4),
			conv("conv2_1", 128, 3, 1, 1), conv("conv2_2", 128, 3, 1, 1),
			pool("pool2", 2, 2, 0, 3),
			conv("conv3_1", 256, 3, 1, 1), conv("conv3_2", 256, 3, 1, 1), conv("conv3_3", 256, 3, 1, 1),
			pool("pool3", 2, 2, 0, 2),
			conv("conv4_1", 512, 3, 1, 1), conv("conv4_2", 512, 3, 1, 1), conv("conv4_3", 512, 3, 1, 1),
			pool("pool4", 2, 2, 0, 1),
			conv("conv5_1", 512, 3, 1, 1), conv("conv5_2", 512, 3, 1, 1), conv("conv5_3", 512, 3, 1, 1),
		},
		head:    []layerDef{pool("pool5", 2, 2, 0, 0)},
		hidden:  []int{4096, 4096},
		fcNames: []string{"fc6", "fc7", "fc8"},
	},
	// The CPU benchmark workload of ARCHITECTURE.md: three conv+pool stages
	// to an 8×8 map (at 64 px), then the top conv 128→128 that is made
	// interpretable, then FC 256 → classes. It never drops pools.
	ArchSmall64: {
		body: []layerDef{
			conv("conv1", 32, 3, 1, 1),
			pool("pool1", 2, 2, 0, 0),
			conv("conv2", 64, 3, 1, 1),
			pool("pool2", 2, 2, 0, 0),
			conv("conv3", 128, 3, 1, 1),
			pool("pool3", 2, 2, 0, 0),
			conv("conv4", 128, 3, 1, 1),
		},
		hidden:  []int{256},
		fcNames: []string{"fc1", "fc2"},
	},
}

// ArchLayer is one conv or pool layer of an architecture, in order.
type ArchLayer struct {
	Name string
	Kind LayerKind
}

// ArchLayout is an architecture's layer sequence independent of input
// size: the conv and pool layers (body then head, pools that small
// inputs drop included), the FC layer names (hidden layers, then the class
// layer) and where dropout sits. Weight-file mappings number layers by it.
type ArchLayout struct {
	Layers []ArchLayer
	// TopConv is the last body conv, above which interpretable mode inserts InsertedConv.
	TopConv string
	FC      []string
	// DropoutBeforeFC: dropout precedes each hidden FC layer; otherwise it
	// follows each hidden FC layer's ReLU.
	DropoutBeforeFC bool
}

// Layout returns arch's layer sequence.
func Layout(arch string) (ArchLayout, error) {
	a, ok := archs[arch]
	if !ok {
		return ArchLayout{}, &SpecError{Field: "arch", Reason: fmt.Sprintf("unknown architecture %q", arch)}
	}
	var l ArchLayout
	for _, d := range append(append([]layerDef(nil), a.body...), a.head...) {
		l.Layers = append(l.Layers, ArchLayer{Name: d.name, Kind: d.kind})
	}
	l.TopConv = a.body[len(a.body)-1].name
	l.FC = append([]string(nil), a.fcNames...)
	l.DropoutBeforeFC = a.dropoutBeforeFC
	return l, nil
}

// InsertedConv names the 3×3 conv-layer that interpretable mode inserts
// above the top conv-layer (the paper's "new conv-layer").
const InsertedConv = "conv_interp"

// plannedLayer is a layer with its geometry resolved for one Spec.
type plannedLayer struct {
	layerDef
	inChannels int
	outSize    int
	rf         RF
	inserted   bool // the interpretable conv added above the top
}

// plan resolves channel counts, map sizes and receptive fields for spec,
// dropping pools (in dropRank order) until the top conv map is at least
// spec.MinTopMap (default MinTopMap) wide. withInserted adds the interpretable conv after the top.
// It returns the body+inserted+head layers in order and the dropped pools.
func plan(spec Spec, withInserted bool) (layers []plannedLayer, topIndex int, dropped []string, err error) {
	a, ok := archs[spec.Arch]
	if !ok {
		return nil, 0, nil, &SpecError{Field: "arch", Reason: fmt.Sprintf("unknown architecture %q", spec.Arch)}
	}
	maxRank := 0
	for _, l := range a.body {
		maxRank = max(maxRank, l.dropRank)
	}
	var lastProblem string
	for drop := 0; drop <= maxRank; drop++ {
		layers, topIndex, lastProblem = resolve(spec, a, drop, withInserted)
		if lastProblem == "" {
			for _, l := range a.body {
				if l.dropRank > 0 && l.dropRank <= drop {
					dropped = append(dropped, l.name)
				}
			}
			return layers, topIndex, dropped, nil
		}
	}
	return nil, 0, nil, &SpecError{Field: "input_size", Reason: fmt.Sprintf(
		"%d px is too small for %s: %s even with every optional pool removed", spec.InputSize, spec.Arch, lastProblem)}
}

// resolve computes the geometry with the pools of rank 1..drop removed; it
// returns a description of the problem when a map would vanish or the top
// map is smaller than MinTopMap.
func resolve(spec Spec, a archDef, drop int, withInserted bool) ([]plannedLayer, int, string) {
	var out []plannedLayer
	size, channels, rf := spec.InputSize, 3, InputRF()
	// add appends d, whose channel count (for a conv) is already final.
	add := func(d layerDef, inserted bool) string {
		next := graph.ConvOutSize(size, d.kernel, d.stride, d.padding, 1)
		if next < 1 {
			return fmt.Sprintf("%s would get a %dx%d map from a %dx%d input", d.name, next, next, size, size)
		}
		p := plannedLayer{layerDef: d, inChannels: channels, outSize: next, rf: rf.Next(d.kernel, d.stride, d.padding), inserted: inserted}
		if d.kind == KindConv {
			channels = d.channels
		}
		p.channels = channels
		out = append(out, p)
		size, rf = next, p.rf
		return ""
	}
	widened := func(d layerDef) layerDef {
		if d.kind == KindConv {
			d.channels = spec.scaled(d.channels)
		}
		return d
	}
	for _, d := range a.body {
		if d.dropRank > 0 && d.dropRank <= drop {
			continue
		}
		if problem := add(widened(d), false); problem != "" {
			return nil, 0, problem
		}
	}
	topIndex := len(out) - 1
	if m := spec.minTopMap(); size < m {
		return nil, 0, fmt.Sprintf("the top conv map would be %dx%d (needs at least %dx%d)", size, size, m, m)
	}
	if withInserted {
		// The paper's new layer: M filters where M is the top's channel count.
		if problem := add(conv(InsertedConv, channels, 3, 1, 1), true); problem != "" {
			return nil, 0, problem
		}
	}
	for _, d := range a.head {
		if problem := add(widened(d), false); problem != "" {
			return nil, 0, problem
		}
	}
	return out, topIndex, ""
}
