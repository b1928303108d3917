package train

import (
	"fmt"

	"github.com/icnnlab/icnnlab/internal/data"
	"github.com/icnnlab/icnnlab/internal/data/catalog"
	"github.com/icnnlab/icnnlab/internal/zoo"
)

// DataSource supplies the datasets of runs whose data a caller loads
// itself: `icnnlab reproduce paper-tables --data` passes the paper's real
// datasets (and Fashion-MNIST from a given directory) this way, through
// Options.Data. The run's config names the source in data.source; the
// run identity covers the datasets' Spec, as for the built-in sources.
type DataSource interface {
	// Name is the data.source of the runs it serves.
	Name() string
	// Categories are the names data.target must be among the first
	// data.categories of.
	Categories() []string
	// Datasets builds the training and test sets of c.
	Datasets(c DataConfig) (trainSet, testSet data.Dataset, err error)
}

// openDatasets validates cfg and builds its datasets: with src nil from
// the built-in source data.source names (catalog.Builtin), else from src.
func openDatasets(cfg Config, src DataSource) (trainSet, testSet data.Dataset, err error) {
	given := src != nil
	if !given {
		if b, ok := catalog.Builtin(cfg.Data.Source); ok {
			src = b
		}
	}
	if err := cfg.Validate(zoo.Names(), src); err != nil {
		return nil, nil, err
	}
	if trainSet, testSet, err = src.Datasets(cfg.Data); err != nil {
		if given {
			return nil, nil, fmt.Errorf("data.source %s: %w", src.Name(), err)
		}
		return nil, nil, err
	}
	return trainSet, testSet, nil
}

var _ DataSource = (*catalog.Source)(nil)
