// Package catalog is the one registry of the datasets runs can name in
// data.source: the synthetic part world, Fashion-MNIST and the paper's
// real part datasets. It describes each (categories, landmarks, tasks,
// splits), opens it and builds the training and test sets of a Config.
package catalog

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/icnnlab/icnnlab/internal/data"
	"github.com/icnnlab/icnnlab/internal/data/cub"
	"github.com/icnnlab/icnnlab/internal/data/fashionmnist"
	"github.com/icnnlab/icnnlab/internal/data/ilsvrcpart"
	"github.com/icnnlab/icnnlab/internal/data/partset"
	"github.com/icnnlab/icnnlab/internal/data/synth"
	"github.com/icnnlab/icnnlab/internal/data/vocpart"
)

// Config picks a dataset and task (a run config's data section).
type Config struct {
	Source string `json:"source" yaml:"source"` // a dataset's Name (synth, fashion-mnist, ...)
	// Task is single (target category vs the rest, logistic) or multi (all categories).
	Task       string  `json:"task" yaml:"task"`
	Target     string  `json:"target,omitempty" yaml:"target,omitempty"`
	Categories int     `json:"categories" yaml:"categories"`
	ImageSize  int     `json:"image_size" yaml:"image_size"`
	Difficulty float64 `json:"difficulty" yaml:"difficulty"`
	Train      int     `json:"train" yaml:"train"`
	Test       int     `json:"test" yaml:"test"`
	Seed       uint64  `json:"seed" yaml:"seed"`
}

// Synth is the synthetic part world, the built-in default.
const Synth = "synth"

// Names of the real datasets (--data NAME=PATH).
const (
	DataFashionMNIST = "fashion-mnist"
	DataCUB200       = "cub200"
	DataVOCPart      = "voc-part"
	DataILSVRCPart   = "ilsvrc-part"
)

// DatasetInfo describes a dataset: the synthetic world (SynthInfo) or a
// real dataset the tables can run on instead of it (Datasets).
type DatasetInfo struct {
	Name  string
	Title string
	// Landmarks are the landmarks its loader annotates.
	Landmarks []string
	// Categories are the categories single-category targets and the
	// multi-category task's first k refer to, in the synthetic world's
	// order where the dataset has them.
	Categories []string
	// columnCategory maps a synthetic column to the dataset's category
	// name where they differ (ILSVRC's cattle for cow).
	columnCategory map[string]string
	Single, Multi  bool
	// NegativesFrom names the dataset whose other-category objects are the
	// negatives of single-category tasks ("": the dataset's own).
	NegativesFrom string
	// TrainSplit and TestSplit are the loader's split names.
	TrainSplit, TestSplit string
	// DefaultPath is used when --data names the dataset without a path
	// ("": a path is required).
	DefaultPath func() string
}

// Category is the dataset's category for a single-category column.
func (d *DatasetInfo) Category(column string) string {
	if c, ok := d.columnCategory[column]; ok {
		return c
	}
	return column
}

// cubCategories are the classes of CUB's single-category task: every bird
// against the other VOC classes (its negatives come from VOC Part).
var cubCategories = append([]string{"bird"}, slices.DeleteFunc(slices.Clone(vocpart.Categories), func(c string) bool { return c == "bird" })...)

// Datasets lists the real datasets, in the order reports name them.
var Datasets = []*DatasetInfo{
	{Name: DataVOCPart, Title: "Pascal VOC Part", Landmarks: vocpart.Landmarks, Categories: vocpart.Animals,
		Single: true, Multi: true, TrainSplit: "train", TestSplit: "val"},
	{Name: DataILSVRCPart, Title: "ILSVRC 2013 DET Animal-Part", Landmarks: ilsvrcpart.Landmarks,
		Categories: []string{"bird", "cat", "cattle", "dog", "horse", "sheep"}, columnCategory: map[string]string{"cow": "cattle"},
		Single: true, Multi: true, TrainSplit: "train", TestSplit: "test"},
	{Name: DataCUB200, Title: "CUB-200-2011", Landmarks: cub.Landmarks, Categories: cubCategories,
		Single: true, NegativesFrom: DataVOCPart, TrainSplit: "train", TestSplit: "test"},
	{Name: DataFashionMNIST, Title: "Fashion-MNIST", Categories: fashionmnist.ClassNames,
		Single: true, Multi: true, TrainSplit: "train", TestSplit: "test", DefaultPath: fashionmnist.Dir},
}

// SynthInfo describes the synthetic part world.
var SynthInfo = &DatasetInfo{Name: Synth, Title: "the synthetic part world", Categories: synth.CategoryNames, Single: true, Multi: true}

// BuiltinNames are the data sources a run config may name without a
// caller opening them: the synthetic world and Fashion-MNIST from its
// default location.
var BuiltinNames = []string{Synth, DataFashionMNIST}

// Builtin is the built-in source name names (see BuiltinNames); nothing is
// read until its datasets are built.
func Builtin(name string) (*Source, bool) {
	switch name {
	case Synth:
		return &Source{Info: SynthInfo}, true
	case DataFashionMNIST:
		info, _ := DatasetByName(name)
		return &Source{Info: info, Path: info.DefaultPath()}, true
	}
	return nil, false
}

// DatasetByName finds a real dataset.
func DatasetByName(name string) (*DatasetInfo, bool) {
	for _, d := range Datasets {
		if d.Name == name {
			return d, true
		}
	}
	return nil, false
}

// DatasetNames lists the real datasets' names.
func DatasetNames() []string {
	var names []string
	for _, d := range Datasets {
		names = append(names, d.Name)
	}
	return names
}

// Title is a source's name in reports ("" is the synthetic world).
func Title(name string) string {
	if name == "" || name == Synth {
		return SynthInfo.Title
	}
	if d, ok := DatasetByName(name); ok {
		return d.Title
	}
	return name
}

// Source is an opened dataset: for a real one its annotation files are
// parsed (or, for Fashion-MNIST, the IDX files read); the synthetic world
// needs nothing opened. It is a run's train.DataSource.
type Source struct {
	Info *DatasetInfo
	Path string
	// train and test are the part datasets' collections.
	train, test *partset.Collection
	// negatives are the collections of NegativesFrom (CUB: VOC Part's).
	negTrain, negTest *partset.Collection
}

// Sources are the opened datasets of a reproduction, by name.
type Sources map[string]*Source

// Name is the run configs' data.source.
func (s *Source) Name() string { return s.Info.Name }

// Categories are the names data.target and data.categories refer to.
func (s *Source) Categories() []string { return s.Info.Categories }

// OpenSources opens the datasets at paths (name → root directory),
// parsing every annotation file, so a missing or malformed file fails
// here, before any training; errors name the file and the line, field or
// offset. A dataset whose single-category negatives come from another
// needs that one too.
func OpenSources(paths map[string]string) (Sources, error) {
	srcs := Sources{}
	for _, info := range Datasets { // in a fixed order, negatives' datasets first
		path, ok := paths[info.Name]
		if !ok {
			continue
		}
		s, err := openSource(info, path)
		if err != nil {
			return nil, fmt.Errorf("--data %s=%s: %w", info.Name, path, err)
		}
		srcs[info.Name] = s
	}
	for name := range paths {
		if _, ok := DatasetByName(name); !ok {
			return nil, fmt.Errorf("--data %s: unknown dataset (known: %s)", name, strings.Join(DatasetNames(), ", "))
		}
	}
	for _, s := range srcs {
		if n := s.Info.NegativesFrom; n != "" {
			neg, ok := srcs[n]
			if !ok {
				return nil, fmt.Errorf("--data %s: its single-category task takes the negatives from %s's other categories: give --data %s=PATH too", s.Info.Name, n, n)
			}
			s.negTrain, s.negTest = neg.train, neg.test
		}
	}
	return srcs, nil
}

func openSource(info *DatasetInfo, path string) (*Source, error) {
	st, err := os.Stat(path)
	if err != nil {
		if info.Name == DataFashionMNIST {
			return nil, fmt.Errorf("%w (install the Debian package: apt-get install dataset-fashion-mnist, or give --data %s=DIR)", err, info.Name)
		}
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s is not a directory (want the dataset's root)", path)
	}
	s := &Source{Info: info, Path: path}
	switch info.Name {
	case DataFashionMNIST:
		for _, split := range []string{info.TrainSplit, info.TestSplit} {
			if _, err := fashionmnist.LoadSplitCached(path, split); err != nil {
				return nil, err
			}
		}
	case DataVOCPart:
		if s.train, err = vocpart.Load(path, info.TrainSplit); err != nil {
			return nil, err
		}
		if s.test, err = vocpart.Load(path, info.TestSplit); err != nil {
			return nil, err
		}
	case DataILSVRCPart:
		if s.train, err = ilsvrcpart.Load(path, info.TrainSplit); err != nil {
			return nil, err
		}
		if s.test, err = ilsvrcpart.Load(path, info.TestSplit); err != nil {
			return nil, err
		}
	case DataCUB200:
		d, err := cub.Load(path)
		if err != nil {
			return nil, err
		}
		// The paper's CUB task: every bird is a positive.
		if s.train, err = d.Collection(info.TrainSplit, true); err != nil {
			return nil, err
		}
		if s.test, err = d.Collection(info.TestSplit, true); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("no loader for %s", info.Name)
	}
	return s, nil
}

// Datasets builds the training and test tasks of a run config.
//
// synth: Train and Test count world samples; the single-category task
// keeps every positive in the range plus as many negatives, so it holds
// about 2/k of them. Objects are cropped by their box, as in the paper's
// protocol.
//
// fashion-mnist: Train and Test count the images used, a subset of each
// split drawn by Seed; the first Categories classes take part; single is
// the target class against the others, balanced.
//
// The part datasets: Train and Test are the numbers of examples (at most
// those available), Target the dataset's category, the multi-category
// task takes the first Categories categories. Single-category negatives
// are the objects of the other categories of the dataset (CUB: of VOC
// Part), round-robin by category.
func (s *Source) Datasets(c Config) (trainSet, testSet data.Dataset, err error) {
	if s.Info.Name == Synth {
		return synthDatasets(c)
	}
	if s.Info.Name == DataFashionMNIST {
		build := func(split string, n int) (data.Dataset, error) {
			sp, err := fashionmnist.LoadSplitCached(s.Path, split)
			if err != nil {
				return nil, err
			}
			if c.Task == "single" {
				return fashionmnist.SingleCategory(sp, c.Target, c.Categories, n, c.Seed, c.ImageSize)
			}
			return fashionmnist.MultiCategory(sp, c.Categories, n, c.Seed, c.ImageSize)
		}
		if trainSet, err = build(s.Info.TrainSplit, c.Train); err != nil {
			return nil, nil, fmt.Errorf("training set: %w", err)
		}
		if testSet, err = build(s.Info.TestSplit, c.Test); err != nil {
			return nil, nil, fmt.Errorf("test set: %w", err)
		}
		return trainSet, testSet, nil
	}
	build := func(coll, neg *partset.Collection, n int) (*partset.Task, error) {
		if c.Task == "single" {
			if !s.Info.Single {
				return nil, fmt.Errorf("%s has no single-category task", s.Info.Name)
			}
			negs := []*partset.Collection{coll}
			if s.Info.NegativesFrom != "" {
				if neg == nil {
					return nil, fmt.Errorf("%s: no negatives (%s not opened)", s.Info.Name, s.Info.NegativesFrom)
				}
				negs = []*partset.Collection{neg}
			}
			return partset.SingleCategory(coll, c.Target, negs, n, c.Seed, c.ImageSize)
		}
		if !s.Info.Multi {
			return nil, fmt.Errorf("%s has no multi-category task", s.Info.Name)
		}
		if c.Categories > len(s.Info.Categories) {
			return nil, fmt.Errorf("%d categories, %s has %d", c.Categories, s.Info.Name, len(s.Info.Categories))
		}
		return partset.MultiCategory(coll, s.Info.Categories[:c.Categories], n, c.Seed, c.ImageSize)
	}
	tr, err := build(s.train, s.negTrain, c.Train)
	if err != nil {
		return nil, nil, fmt.Errorf("training set (%s split): %w", s.Info.TrainSplit, err)
	}
	te, err := build(s.test, s.negTest, c.Test)
	if err != nil {
		return nil, nil, fmt.Errorf("test set (%s split): %w", s.Info.TestSplit, err)
	}
	return tr, te, nil
}

func synthDatasets(c Config) (trainSet, testSet data.Dataset, err error) {
	world := synth.NewConfig(c.ImageSize, c.Categories, c.Difficulty, c.Seed)
	if err := world.Validate(); err != nil {
		return nil, nil, fmt.Errorf("data: %w", err)
	}
	split := synth.Splits(c.Train, 0, c.Test)
	build := func(r synth.IndexRange) (*synth.Task, error) {
		if c.Task == "single" {
			return synth.SingleCategoryTask(world, c.Target, r, true)
		}
		return synth.MultiCategoryTask(world, r, true)
	}
	if trainSet, err = build(split.Train); err != nil {
		return nil, nil, fmt.Errorf("training set: %w", err)
	}
	if testSet, err = build(split.Test); err != nil {
		return nil, nil, fmt.Errorf("test set: %w", err)
	}
	return trainSet, testSet, nil
}
