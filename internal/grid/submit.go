package grid

import (
	"context"

	"github.com/icnnlab/icnnlab/internal/reproduce/plan"
)

// NewRequest resolves a reproduction's command line as `reproduce
// paper-tables` does (plan.Resolve).
func NewRequest(scale string, tables []string, seeds int, data map[string]string) (Request, error) {
	r, err := plan.Resolve(plan.Selection{Scale: scale, Tables: tables, Seeds: seeds, Data: data})
	if err != nil {
		return Request{}, err
	}
	return Request(r.Selection), nil
}

// Engine runs a grid's tasks.
type Engine string

const (
	// EngineSlurm submits one Slurm job array.
	EngineSlurm Engine = "slurm"
	// EngineLocal runs the tasks one after another in this process.
	EngineLocal Engine = "local"
)

// Engines lists the engines.
var Engines = []Engine{EngineSlurm, EngineLocal}

// SubmitLocal runs the given tasks in order in this process, as a batch
// system would run them on its nodes; it stops at the first failure.
func SubmitLocal(ctx context.Context, p *Plan, indexes []int, opts TaskOptions, done func(index int, o *Outcome)) error {
	for _, i := range indexes {
		o, err := RunTask(ctx, p, i, opts)
		if err != nil {
			return err
		}
		if done != nil {
			done(i, o)
		}
	}
	return nil
}
