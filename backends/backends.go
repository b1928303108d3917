// Package backends defines how icnnlab runs a graph: a Backend compiles a
// graph.Graph into an Executable that runs inference and training steps on
// one device. Backends register themselves from their package's init
// (blank-import them, as database/sql drivers are) and are chosen by name
// with the --backend flag or the ICNNLAB_BACKEND environment variable.
package backends

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"sync"

	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// EnvVar names the environment variable that selects the default backend.
const EnvVar = "ICNNLAB_BACKEND"

// DefaultName is used when neither a flag nor EnvVar names a backend.
const DefaultName = "gorgonia"

// Mode is training or evaluation. It decides ModeSwitch branches and dropout.
type Mode uint8

const (
	Eval Mode = iota
	Train
)

func (m Mode) String() string {
	if m == Train {
		return "train"
	}
	return "eval"
}

// OptimizerKind selects the update rule of training steps.
type OptimizerKind string

const (
	SGD  OptimizerKind = "sgd"
	Adam OptimizerKind = "adam"
)

// Optimizer configures training-step updates. Per-parameter learning-rate
// and weight-decay multipliers come from the graph's parameter attributes.
//
// SGD follows PyTorch: g' = g + wd·p; v = momentum·v + g'; p -= lr·v.
// Adam follows PyTorch's Adam (L2 weight decay added to the gradient, bias-corrected moments).
type Optimizer struct {
	Kind         OptimizerKind
	LearningRate float64
	Momentum     float64 // SGD
	WeightDecay  float64
	Beta1, Beta2 float64 // Adam; 0.9 and 0.999 if zero
	Epsilon      float64 // Adam; 1e-8 if zero
}

// Validate checks the optimizer settings, naming the bad field.
func (o Optimizer) Validate() error {
	switch o.Kind {
	case SGD, Adam:
	default:
		return fmt.Errorf("optimizer.kind: %q is not one of sgd, adam", o.Kind)
	}
	if o.LearningRate < 0 {
		return fmt.Errorf("optimizer.learning_rate: %g is negative", o.LearningRate)
	}
	if o.Momentum < 0 || o.Momentum >= 1 {
		return fmt.Errorf("optimizer.momentum: %g is not in [0, 1)", o.Momentum)
	}
	if o.WeightDecay < 0 {
		return fmt.Errorf("optimizer.weight_decay: %g is negative", o.WeightDecay)
	}
	return nil
}

// WithDefaults fills Adam's zero-valued constants.
func (o Optimizer) WithDefaults() Optimizer {
	if o.Kind == "" {
		o.Kind = SGD
	}
	if o.Beta1 == 0 {
		o.Beta1 = 0.9
	}
	if o.Beta2 == 0 {
		o.Beta2 = 0.999
	}
	if o.Epsilon == 0 {
		o.Epsilon = 1e-8
	}
	return o
}

// CompileOptions configure one compilation.
type CompileOptions struct {
	// Device is backend-specific ("cpu", "cuda", "cuda:1"); empty means the default.
	Device string
	// Seed drives dropout masks. A training step's randomness depends only on
	// (Seed, step number), so resumed runs repeat exactly.
	Seed uint64
	// Optimizer is used by TrainStep. Its zero value means plain SGD with
	// learning rate 0 (useful for gradient checks).
	Optimizer Optimizer
	// Threads caps CPU threads (0 = backend default).
	Threads int
	// Autocast runs forward passes in mixed precision: "" (off, float32),
	// "bf16" or "fp16", as torch.autocast does. Backends without it refuse
	// anything but "".
	Autocast string
	// ChannelsLast keeps 4-D parameters and inputs in channels-last (NHWC)
	// memory, as PyTorch's memory_format=torch.channels_last; values and
	// shapes are unchanged. Backends without it refuse it.
	ChannelsLast bool
}

// Autocast modes of CompileOptions.Autocast.
const (
	AutocastOff  = ""
	AutocastBF16 = "bf16"
	AutocastFP16 = "fp16"
)

// Executable is a compiled graph. It owns parameters, state and optimizer
// slots. It is not safe for concurrent use.
type Executable interface {
	// Run evaluates the named outputs in evaluation mode (ModeSwitch eval
	// branches, no dropout) without changing any parameter or state.
	Run(inputs map[string]*tensor.Tensor, outputs ...string) (map[string]*tensor.Tensor, error)
	// TrainStep runs forward in training mode, back-propagates the graph's
	// loss, applies the optimizer, then applies the state updates. It returns
	// the named outputs as computed in the forward pass (before the update).
	TrainStep(inputs map[string]*tensor.Tensor, outputs ...string) (map[string]*tensor.Tensor, error)
	// Gradients runs forward and backward in the given mode without
	// updating anything and returns d loss / d x for each named parameter or
	// input in wrt, plus the loss under the key "loss".
	Gradients(mode Mode, inputs map[string]*tensor.Tensor, wrt ...string) (map[string]*tensor.Tensor, error)

	// Read returns a copy of a parameter or state by name.
	Read(name string) (*tensor.Tensor, error)
	// Write replaces a parameter or state; shape and dtype must match.
	Write(name string, value *tensor.Tensor) error

	// SetLearningRate changes the base learning rate (for schedules).
	SetLearningRate(lr float64)
	// Step is the number of training steps taken.
	Step() int64

	// Snapshot returns everything needed to resume exactly: parameters,
	// state, optimizer slots (under "opt/..." names) and the step counter
	// (under "step"). Restore takes such a map back.
	Snapshot() (map[string]*tensor.Tensor, error)
	Restore(map[string]*tensor.Tensor) error

	// Close frees device memory.
	Close() error
}

// Backend compiles graphs for one kind of device.
type Backend interface {
	// Name is the registry name, e.g. "gorgonia".
	Name() string
	// Description says what runs underneath (library versions, device).
	Description() string
	// Compile checks that every op is supported and prepares g to run.
	// Parameters start from graph.InitParams(g, opts.Seed) and states from their initial values.
	Compile(g *graph.Graph, opts CompileOptions) (Executable, error)
}

// Constructor builds a backend; it fails when the backend cannot run here
// (e.g. a missing shared library), with a message that says how to fix it.
type Constructor func() (Backend, error)

var (
	mu       sync.Mutex
	registry = map[string]Constructor{}
)

// Register makes a backend available by name. It panics on a duplicate, as
// that is a programming error.
func Register(name string, ctor Constructor) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := registry[name]; dup {
		panic("backends: Register called twice for " + name)
	}
	registry[name] = ctor
}

// Names lists registered backends, sorted.
func Names() []string {
	mu.Lock()
	defer mu.Unlock()
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ErrUnknown is wrapped by New for a name that is not registered.
var ErrUnknown = errors.New("unknown backend")

// New constructs the named backend. An empty name means ICNNLAB_BACKEND,
// then DefaultName.
func New(name string) (Backend, error) {
	if name == "" {
		name = os.Getenv(EnvVar)
	}
	if name == "" {
		name = DefaultName
	}
	mu.Lock()
	ctor, ok := registry[name]
	mu.Unlock()
	if !ok {
		names := Names()
		return nil, fmt.Errorf("%w %q (registered: %v; set with --backend or %s)", ErrUnknown, name, names, EnvVar)
	}
	b, err := ctor()
	if err != nil {
		return nil, fmt.Errorf("backend %q: %w", name, err)
	}
	return b, nil
}

// UnsupportedOpError reports an op a backend cannot compile.
type UnsupportedOpError struct {
	Backend string
	Node    *graph.Node
}

func (e *UnsupportedOpError) Error() string {
	return fmt.Sprintf("backend %s: op %s (node %v) is not supported", e.Backend, e.Node.Op(), e.Node)
}

// CheckFeeds validates fed inputs against the graph: every needed input is
// present with the right dtype and shape, and no unknown name is given.
// Backends call it so that every backend reports feed errors identically.
func CheckFeeds(g *graph.Graph, inputs map[string]*tensor.Tensor, needed map[int]bool) error {
	for name, v := range inputs {
		n := g.Leaf(name)
		if n == nil || n.Op() != graph.OpInput {
			var known []string
			for _, in := range g.Inputs() {
				known = append(known, in.Attrs().Name)
			}
			return fmt.Errorf("feed %q: graph %q has no such input (inputs: %v)", name, g.Name(), known)
		}
		if v == nil {
			return fmt.Errorf("feed %q: nil tensor", name)
		}
		if v.DType() != n.DType() || !v.Shape().Equal(n.Shape()) {
			return fmt.Errorf("feed %q: got %v%v, graph %q wants %v%v", name, v.DType(), v.Shape(), g.Name(), n.DType(), n.Shape())
		}
	}
	for _, in := range g.Inputs() {
		if needed != nil && !needed[in.ID()] {
			continue
		}
		if _, ok := inputs[in.Attrs().Name]; !ok {
			return fmt.Errorf("feed %q (%v%v) is missing for graph %q", in.Attrs().Name, in.DType(), in.Shape(), g.Name())
		}
	}
	return nil
}

// ResolveOutputs maps output names to nodes, naming the unknown one.
func ResolveOutputs(g *graph.Graph, names []string) ([]*graph.Node, error) {
	nodes := make([]*graph.Node, len(names))
	for i, name := range names {
		n := g.Output(name)
		if n == nil {
			var known []string
			for _, o := range g.Outputs() {
				known = append(known, o.Name)
			}
			slices.Sort(known)
			return nil, fmt.Errorf("output %q: graph %q has no such output (outputs: %v)", name, g.Name(), known)
		}
		nodes[i] = n
	}
	return nodes, nil
}
