package grid

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/icnnlab/icnnlab/internal/data/catalog"
	"github.com/icnnlab/icnnlab/internal/reproduce/spec"
	"github.com/icnnlab/icnnlab/reproductions"
)

// NewRequest resolves a reproduction's command line as `reproduce
// paper-tables` does: the selected tables (by default those of the given
// datasets, else every synthetic one), and the default location of a
// dataset that a real-only table needs but data does not name.
func NewRequest(scale string, tables []string, seeds int, data map[string]string) (Request, error) {
	specs, err := spec.LoadSpecs(reproductions.Specs)
	if err != nil {
		return Request{}, err
	}
	data = maps.Clone(data)
	if data == nil {
		data = map[string]string{}
	}
	specs, err = spec.SelectTables(specs, tables, slices.Sorted(maps.Keys(data)))
	if err != nil {
		return Request{}, fmt.Errorf("--tables: %w", err)
	}
	req := Request{Scale: scale, Seeds: seeds}
	for _, s := range specs {
		req.Tables = append(req.Tables, s.ID)
		if !s.RealOnly {
			continue
		}
		for name := range s.Datasets {
			if info, ok := catalog.DatasetByName(name); ok && info.DefaultPath != nil && data[name] == "" {
				data[name] = info.DefaultPath()
			}
		}
	}
	if len(data) > 0 {
		req.Data = data
	}
	return req, nil
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
