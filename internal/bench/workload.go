package bench

import (
	"fmt"
	"slices"
	"strings"

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
