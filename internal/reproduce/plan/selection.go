package plan

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/icnnlab/icnnlab/internal/data/catalog"
	"github.com/icnnlab/icnnlab/internal/reproduce/spec"
	"github.com/icnnlab/icnnlab/reproductions"
)

// Selection is a reproduction as a command line asks for it: `reproduce
// paper-tables` and `grid submit` resolve theirs here, so both plan the
// same runs.
type Selection struct {
	// Scale names a scale of reproductions/scales.yaml.
	Scale string
	// Tables are table IDs; none selects the tables of Data's datasets,
	// else every table with a synthetic form (see spec.SelectTables).
	Tables []string
	// Seeds overrides the scale's number of seeds (0: the scale's).
	Seeds int
	// Data maps real datasets to their roots.
	Data map[string]string
}

// A SelectionError is a selection given wrongly; Flag names the
// command-line flag that gave it.
type SelectionError struct {
	Flag string
	Err  error
}

func (e *SelectionError) Error() string { return e.Flag + ": " + e.Err.Error() }
func (e *SelectionError) Unwrap() error { return e.Err }

// Resolved is a selection resolved against the specs compiled into the
// binary.
type Resolved struct {
	// Selection has the selected tables' IDs in Tables, and in Data the
	// given datasets plus the default location of every dataset that a
	// selected real-only table (Fashion-MNIST) needs but the selection did
	// not name (nil when there are none).
	Selection
	Specs []*spec.Spec
	Scale spec.Scale
}

// Resolve resolves sel: its scale, its tables and its datasets' roots.
func Resolve(sel Selection) (*Resolved, error) {
	specs, err := spec.LoadSpecs(reproductions.Specs)
	if err != nil {
		return nil, err
	}
	scales, err := spec.LoadScales(reproductions.Specs)
	if err != nil {
		return nil, err
	}
	scale, ok := scales[sel.Scale]
	if !ok {
		return nil, &SelectionError{"--scale", fmt.Errorf("%q is not one of %s", sel.Scale, strings.Join(slices.Sorted(maps.Keys(scales)), ", "))}
	}
	data := maps.Clone(sel.Data)
	if data == nil {
		data = map[string]string{}
	}
	specs, err = spec.SelectTables(specs, sel.Tables, slices.Sorted(maps.Keys(data)))
	if err != nil {
		return nil, &SelectionError{"--tables", err}
	}
	r := &Resolved{Selection: Selection{Scale: sel.Scale, Seeds: sel.Seeds}, Specs: specs, Scale: scale}
	for _, s := range specs {
		r.Tables = append(r.Tables, s.ID)
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
		r.Data = data
	}
	return r, nil
}
