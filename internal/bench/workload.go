package bench

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/icnnlab/icnnlab/internal/pluginhost"
	"github.com/icnnlab/icnnlab/internal/train"
	"github.com/icnnlab/icnnlab/internal/zoo"
	"github.com/icnnlab/icnnlab/sdk/graph"
)

// LossOutput is the graph output every workload reports per step.
const LossOutput = "loss"

// Workload is a network to time.
type Workload struct {
	Name  string
	Build func(batch int) (*Network, error)
}

// Network is a workload's training graph at one batch size.
type Network struct {
	Graph *graph.Graph
	// Labels names the inputs fed random {0,1} targets; every other input
	// gets standard-normal noise.
	Labels map[string]bool
}

// Names lists the workloads, sorted.
func Names() []string {
	names := zoo.WorkloadNames()
	slices.Sort(names)
	return names
}

// Lookup returns the named workload: the ordinary (non-interpretable)
// network of the model zoo's benchmark workloads.
func Lookup(name string) (Workload, error) {
	if !slices.Contains(zoo.WorkloadNames(), name) {
		return Workload{}, fmt.Errorf("workload: %q is not one of %s", name, strings.Join(Names(), ", "))
	}
	return Workload{
		Name: name,
		Build: func(batch int) (*Network, error) {
			m, err := zoo.Workload(name, batch, false, zoo.Hooks{})
			if err != nil {
				return nil, err
			}
			return &Network{Graph: m.Graph, Labels: map[string]bool{m.Labels.Attrs().Name: true}}, nil
		},
	}, nil
}

// interpretableWorkload builds the interpretable version of a workload:
// the paper's L1 masks and the exact −MI loss, obtained from the built-in
// plugins (out of process, once) and inlined into the graph, with λ = 1.
// small64 masks only its top conv (ARCHITECTURE.md); vggm-112 and
// vgg16-224 use the paper's placement with the inserted masked conv.
func interpretableWorkload(ctx context.Context, name string, host *pluginhost.Host) Workload {
	return Workload{
		Name: name,
		Build: func(batch int) (*Network, error) {
			var spec zoo.Spec
			hooks := zoo.Hooks{}
			switch name {
			case zoo.WorkloadSmall64:
				spec, hooks.TopOnly = zoo.Small64Spec(batch), true
			case zoo.WorkloadVGGM112:
				spec = zoo.VGGM112Spec(batch)
			default:
				spec = zoo.VGG16At224Spec(batch)
			}
			ic := train.DefaultInterpretable()
			ic.Enabled, ic.LambdaSchedule = true, "constant"
			m, _, err := train.BuildInterpretable(ctx, spec, ic, "single", host, hooks)
			if err != nil {
				return nil, err
			}
			return &Network{Graph: m.Graph, Labels: map[string]bool{m.Labels.Attrs().Name: true}}, nil
		},
	}
}
