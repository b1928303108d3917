// Package reproduce plans, runs and reports the reproduction of the paper's
// tables (Zhang, Wu, Zhu, CVPR 2018) on the synthetic part world: declarative
// specs (reproductions/*.yaml) name the paper's numbers and claims and the
// runs that stand in for them at each scale; the planner trains every
// distinct run once, the metrics run as plugins, and the results are
// aggregated over seeds and rendered as Markdown, CSV, JSON and HTML with a
// verdict per table.
package spec

import (
	"bytes"
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/icnnlab/icnnlab/internal/data/catalog"
	"github.com/icnnlab/icnnlab/internal/data/synth"
	"github.com/icnnlab/icnnlab/internal/zoo"
)

// Metric names one of the paper's measures.
type Metric string

// The paper's three measures.
const (
	PartInterpretability Metric = "part-interpretability"
	LocationInstability  Metric = "location-instability"
	Accuracy             Metric = "accuracy"
)

var allMetrics = []Metric{PartInterpretability, LocationInstability, Accuracy}

// Direction is what the paper claims about treatment versus baseline.
type Direction string

// Claimed directions.
const (
	// Higher: the treatment's number is larger (part interpretability).
	Higher Direction = "higher"
	// Lower: the treatment's number is smaller (location instability).
	Lower Direction = "lower"
	// Preserved: the treatment loses at most Tolerance (accuracy).
	Preserved Direction = "preserved"
	// Similar: the two differ by at most Tolerance (thesis: L2 ≈ L1).
	Similar Direction = "similar"
)

var allDirections = []Direction{Higher, Lower, Preserved, Similar}

// DefaultDirection is the paper's claim for a metric.
func DefaultDirection(m Metric) Direction {
	switch m {
	case PartInterpretability:
		return Higher
	case LocationInstability:
		return Lower
	default:
		return Preserved
	}
}

// Column kinds: a category name is a single-category task with that target;
// these two are the multi-category task with that classification loss.
const (
	ColumnMultiLogistic = "multi-logistic"
	ColumnMultiSoftmax  = "multi-softmax"
)

// Spec is one reproduced table.
type Spec struct {
	// ID names the table in --tables ("1", "2", …, "ablation", "thesis").
	ID    string `yaml:"id"`
	Title string `yaml:"title"`
	// StandsInFor says which paper dataset/setting the synthetic runs replace.
	StandsInFor string `yaml:"stands_in_for"`
	// Claim is the paper's claim in words.
	Claim   string   `yaml:"claim"`
	Metrics []Metric `yaml:"metrics"`
	// Direction overrides the metric's default direction for every metric.
	Direction Direction `yaml:"direction,omitempty"`
	// Tolerance per metric for Preserved and Similar (absolute, metric units:
	// accuracy in [0,1]).
	Tolerance map[Metric]float64 `yaml:"tolerance,omitempty"`
	// Landmarks are the synthetic landmarks location instability averages over.
	Landmarks []string `yaml:"landmarks,omitempty"`
	// Baseline is the variant every other variant is compared with.
	Baseline string `yaml:"baseline"`
	// ColumnMap maps our columns to the paper's CSV columns (default: same name).
	ColumnMap map[string]string `yaml:"column_map,omitempty"`
	// PaperNetworks maps our architectures to the paper's network whose
	// numbers stand beside them (default: the same network; see
	// PaperNetwork). For a table on data the paper did not use, run on a
	// network the paper did not train.
	PaperNetworks map[string]string `yaml:"paper_networks,omitempty"`
	// Notes are printed under the table.
	Notes []string `yaml:"notes,omitempty"`
	// SyntheticNotes are printed under the table when it runs on the
	// synthetic world (before Notes).
	SyntheticNotes []string `yaml:"synthetic_notes,omitempty"`
	Paper          Paper    `yaml:"paper"`
	// Scales holds the runs per scale preset; a scale without an entry
	// skips the table.
	Scales map[string]ScaleRuns `yaml:"scales"`
	// Datasets says which columns the paper measured on which of its real
	// datasets (by name, see DatasetInfo): given --data NAME=PATH, those
	// columns run on the real data instead of the synthetic world.
	Datasets map[string]DatasetRuns `yaml:"datasets,omitempty"`
	// RealOnly marks a table without a synthetic form: it runs only on its
	// dataset, and only when selected (--tables or --data), never by default.
	RealOnly bool `yaml:"real_only,omitempty"`
	// NotApplicable names metrics that cannot be measured on the table's
	// data and why; reports say so in words instead of printing a number.
	NotApplicable *NotApplicable `yaml:"not_applicable,omitempty"`
}

// DatasetRuns is how a table runs on one real dataset.
type DatasetRuns struct {
	// Columns are the columns (of any scale) the paper measured on this
	// dataset; a scale's other columns do not run on it.
	Columns []string `yaml:"columns"`
	// ColumnMap maps our columns to the paper's CSV columns on this
	// dataset (default: the table's column_map, then the same name).
	ColumnMap map[string]string `yaml:"column_map,omitempty"`
	// Landmarks are the dataset's landmarks location instability averages over.
	Landmarks []string `yaml:"landmarks,omitempty"`
	// Notes are printed under the table when it runs on this dataset (after the table's).
	Notes []string `yaml:"notes,omitempty"`
}

// NotApplicable is a set of metrics a table cannot measure, with the reason.
type NotApplicable struct {
	Metrics []Metric `yaml:"metrics"`
	Reason  string   `yaml:"reason"`
}

// Paper is the paper's numbers for the table, copied from its CSV.
type Paper struct {
	// Source is the CSV file (in reproductions/paper) the values come from.
	Source string       `yaml:"source"`
	Values []PaperValue `yaml:"values"`
}

// PaperValue is one cell of the paper's table.
type PaperValue struct {
	// Metric is needed when the spec has several metrics.
	Metric  Metric  `yaml:"metric,omitempty"`
	Network string  `yaml:"network"`
	Variant string  `yaml:"variant"`
	Column  string  `yaml:"column"`
	Value   float64 `yaml:"value"`
}

// ScaleRuns are the runs a table needs at one scale.
type ScaleRuns struct {
	Archs []string `yaml:"archs"`
	// Columns are categories (single-category, logistic) or multi-logistic / multi-softmax.
	Columns []string `yaml:"columns"`
	// Variants are compared with the baseline (which is trained too). A
	// variant ending in UntrainedSuffix ("interpretable@init") is an
	// untrained control: trained for 0 epochs, its rows are shown and
	// never judged.
	Variants []string `yaml:"variants"`
	Seeds    int      `yaml:"seeds"`
	// Settings override the scale preset's sizes for this table's runs.
	Settings *RunSettings `yaml:"settings,omitempty"`
}

// RunSettings override a scale's sizes (zero: the scale's value).
type RunSettings struct {
	Width     float64 `yaml:"width,omitempty"`
	ImageSize int     `yaml:"image_size,omitempty"`
	// Categories is the number of categories of the multi-category task.
	Categories int `yaml:"categories,omitempty"`
	// Train and Test are the numbers of training and test images.
	Train  int `yaml:"train,omitempty"`
	Test   int `yaml:"test,omitempty"`
	Epochs int `yaml:"epochs,omitempty"`
	Batch  int `yaml:"batch,omitempty"`
}

func (r *RunSettings) validate() error {
	switch {
	case r.Width < 0:
		return fmt.Errorf("width: %g is negative", r.Width)
	case r.ImageSize != 0 && r.ImageSize < 32:
		return fmt.Errorf("image_size: %d, want >= 32", r.ImageSize)
	case r.Categories != 0 && r.Categories < 2:
		return fmt.Errorf("categories: %d, want >= 2", r.Categories)
	case r.Train < 0, r.Test < 0, r.Epochs < 0, r.Batch < 0:
		return fmt.Errorf("train, test, epochs, batch: want >= 0 (0: the scale's), got %d, %d, %d, %d", r.Train, r.Test, r.Epochs, r.Batch)
	}
	return nil
}

// DirectionOf returns the claimed direction of metric m.
func (s *Spec) DirectionOf(m Metric) Direction {
	if s.Direction != "" {
		return s.Direction
	}
	return DefaultDirection(m)
}

// PaperColumn is the paper's column our column stands for.
func (s *Spec) PaperColumn(col string) string {
	if c, ok := s.ColumnMap[col]; ok {
		return c
	}
	return col
}

// PaperColumnOn is the paper's column of our column on a dataset ("": the
// synthetic world).
func (s *Spec) PaperColumnOn(dataset, col string) string {
	if c, ok := s.Datasets[dataset].ColumnMap[col]; ok && dataset != "" {
		return c
	}
	return s.PaperColumn(col)
}

// PaperNetworkOf is the paper's network whose numbers stand beside arch's.
func (s *Spec) PaperNetworkOf(arch string) string {
	if n, ok := s.PaperNetworks[arch]; ok {
		return n
	}
	return PaperNetwork(arch)
}

// PaperValue looks up the paper's number for a metric, architecture,
// variant and paper column.
func (s *Spec) PaperValue(m Metric, arch, variant, column string) (float64, bool) {
	net := s.PaperNetworkOf(arch)
	pv := PaperVariant(variant)
	for _, v := range s.Paper.Values {
		metric := v.Metric
		if metric == "" {
			metric = s.Metrics[0]
		}
		if metric == m && v.Network == net && v.Variant == pv && v.Column == column {
			return v.Value, true
		}
	}
	return 0, false
}

// PaperNetwork is the paper's name of a zoo architecture.
func PaperNetwork(arch string) string {
	switch arch {
	case zoo.ArchAlexNet:
		return "AlexNet"
	case zoo.ArchVGGM:
		return "VGG-M"
	case zoo.ArchVGGS:
		return "VGG-S"
	case zoo.ArchVGG16:
		return "VGG-16"
	}
	return arch
}

// PaperVariant maps our variant to the paper's row label: the paper's
// interpretable CNN is l1+mi.
func PaperVariant(variant string) string {
	v, err := ParseVariant(variant)
	if err != nil {
		return variant
	}
	if v.Untrained {
		return v.Name() // the paper has no untrained network
	}
	if !v.Interpretable {
		return "ordinary"
	}
	if v.Mask == "l1" && v.Loss == "mi" {
		return "interpretable"
	}
	return v.Name()
}

// ParseSpec reads one spec; name is used in errors. Unknown fields are
// errors, so a typo cannot silently do nothing.
func ParseSpec(data []byte, name string) (*Spec, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var s Spec
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("spec %s: %w", name, err)
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("spec %s: %w", name, err)
	}
	return &s, nil
}

// Validate checks every field; errors name the field.
func (s *Spec) Validate() error {
	if s.ID == "" {
		return fmt.Errorf("id: empty")
	}
	if s.Title == "" {
		return fmt.Errorf("title: empty")
	}
	if len(s.Metrics) == 0 {
		return fmt.Errorf("metrics: empty (want some of %v)", allMetrics)
	}
	for i, m := range s.Metrics {
		if !slices.Contains(allMetrics, m) {
			return fmt.Errorf("metrics[%d]: %q is not one of %v", i, m, allMetrics)
		}
	}
	if s.Direction != "" && !slices.Contains(allDirections, s.Direction) {
		return fmt.Errorf("direction: %q is not one of %v", s.Direction, allDirections)
	}
	for _, m := range s.Metrics {
		d := s.DirectionOf(m)
		if (d == Preserved || d == Similar) && s.Tolerance[m] <= 0 {
			return fmt.Errorf("tolerance.%s: direction %s needs a positive tolerance", m, d)
		}
	}
	for m := range s.Tolerance {
		if !slices.Contains(s.Metrics, m) {
			return fmt.Errorf("tolerance.%s: not one of the spec's metrics %v", m, s.Metrics)
		}
	}
	if slices.Contains(s.Metrics, LocationInstability) && !s.RealOnly {
		if len(s.Landmarks) == 0 {
			return fmt.Errorf("landmarks: location instability needs landmarks (synthetic: %v)", synthLandmarks)
		}
		for i, l := range s.Landmarks {
			if !slices.Contains(synthLandmarks, l) {
				return fmt.Errorf("landmarks[%d]: %q is not a synthetic landmark %v", i, l, synthLandmarks)
			}
		}
	}
	if b, err := ParseVariant(s.Baseline); err != nil {
		return fmt.Errorf("baseline: %w", err)
	} else if b.Untrained {
		return fmt.Errorf("baseline: %q is an untrained control; a control is a variant shown beside the baseline, never the baseline", s.Baseline)
	}
	for i, v := range s.Paper.Values {
		if v.Network == "" || v.Variant == "" || v.Column == "" {
			return fmt.Errorf("paper.values[%d]: network, variant and column are required", i)
		}
		if v.Metric == "" && len(s.Metrics) > 1 {
			return fmt.Errorf("paper.values[%d].metric: required when the spec has several metrics", i)
		}
		if v.Metric != "" && !slices.Contains(s.Metrics, v.Metric) {
			return fmt.Errorf("paper.values[%d].metric: %q is not one of the spec's metrics %v", i, v.Metric, s.Metrics)
		}
	}
	for _, a := range sortedKeys(s.PaperNetworks) {
		if !slices.Contains(zoo.Names(), a) || s.PaperNetworks[a] == "" {
			return fmt.Errorf("paper_networks.%s: want one of %v mapped to a paper network name", a, zoo.Names())
		}
	}
	if len(s.Paper.Values) > 0 && s.Paper.Source == "" {
		return fmt.Errorf("paper.source: the CSV the values come from is required")
	}
	if len(s.Scales) == 0 {
		return fmt.Errorf("scales: empty")
	}
	for _, name := range sortedKeys(s.Scales) {
		if err := s.Scales[name].validate(); err != nil {
			return fmt.Errorf("scales.%s.%w", name, err)
		}
	}
	for _, name := range sortedKeys(s.Datasets) {
		if _, ok := catalog.DatasetByName(name); !ok {
			return fmt.Errorf("datasets.%s: unknown dataset (known: %s)", name, strings.Join(catalog.DatasetNames(), ", "))
		}
		if err := s.validateDataset(name, s.Datasets[name]); err != nil {
			return fmt.Errorf("datasets.%s.%w", name, err)
		}
	}
	if s.RealOnly && len(s.Datasets) == 0 {
		return fmt.Errorf("real_only: the table runs on no dataset (datasets: empty)")
	}
	if na := s.NotApplicable; na != nil {
		if len(na.Metrics) == 0 || strings.TrimSpace(na.Reason) == "" {
			return fmt.Errorf("not_applicable: metrics and reason are required")
		}
		for i, m := range na.Metrics {
			if !slices.Contains(allMetrics, m) || slices.Contains(s.Metrics, m) {
				return fmt.Errorf("not_applicable.metrics[%d]: %q is not a metric outside the spec's metrics %v", i, m, s.Metrics)
			}
		}
	}
	return nil
}

func (s *Spec) validateDataset(name string, d DatasetRuns) error {
	info, _ := catalog.DatasetByName(name)
	if len(d.Columns) == 0 {
		return fmt.Errorf("columns: empty")
	}
	for i, c := range d.Columns {
		switch {
		case IsMulti(c) && !info.Multi:
			return fmt.Errorf("columns[%d]: %s has no multi-category task", i, name)
		case !IsMulti(c) && !info.Single:
			return fmt.Errorf("columns[%d]: %s has no single-category task", i, name)
		case !IsMulti(c) && !slices.Contains(synth.CategoryNames, c):
			return fmt.Errorf("columns[%d]: %q is neither a category %v nor %s/%s", i, c, synth.CategoryNames, ColumnMultiLogistic, ColumnMultiSoftmax)
		case !IsMulti(c) && !slices.Contains(info.Categories, info.Category(c)):
			return fmt.Errorf("columns[%d]: %s has no category %q", i, name, info.Category(c))
		}
	}
	for col := range d.ColumnMap {
		if col != "avg" && !slices.Contains(d.Columns, col) {
			return fmt.Errorf("column_map.%s: not one of the columns %v", col, d.Columns)
		}
	}
	if slices.Contains(s.Metrics, LocationInstability) {
		if len(d.Landmarks) == 0 {
			return fmt.Errorf("landmarks: location instability needs landmarks (%s: %v)", name, info.Landmarks)
		}
		for i, l := range d.Landmarks {
			if !slices.Contains(info.Landmarks, l) {
				return fmt.Errorf("landmarks[%d]: %q is not a landmark of %s %v", i, l, name, info.Landmarks)
			}
		}
	} else if len(d.Landmarks) > 0 {
		return fmt.Errorf("landmarks: only location instability uses landmarks")
	}
	return nil
}

var synthLandmarks = []string{"head", "neck", "torso", "front_legs", "back_legs", "tail"}

func (r ScaleRuns) validate() error {
	if len(r.Archs) == 0 {
		return fmt.Errorf("archs: empty")
	}
	for i, a := range r.Archs {
		if !slices.Contains(zoo.Names(), a) {
			return fmt.Errorf("archs[%d]: %q is not one of %v", i, a, zoo.Names())
		}
	}
	if len(r.Columns) == 0 {
		return fmt.Errorf("columns: empty")
	}
	for i, c := range r.Columns {
		if c == "avg" {
			return fmt.Errorf("columns[%d]: avg is computed, not a column to run", i)
		}
		if c != ColumnMultiLogistic && c != ColumnMultiSoftmax && !slices.Contains(synth.CategoryNames, c) {
			return fmt.Errorf("columns[%d]: %q is neither a category %v nor %s/%s", i, c, synth.CategoryNames, ColumnMultiLogistic, ColumnMultiSoftmax)
		}
	}
	if len(r.Variants) == 0 {
		return fmt.Errorf("variants: empty")
	}
	for i, v := range r.Variants {
		if _, err := ParseVariant(v); err != nil {
			return fmt.Errorf("variants[%d]: %w", i, err)
		}
	}
	if r.Seeds < 1 {
		return fmt.Errorf("seeds: %d, want at least 1", r.Seeds)
	}
	if r.Settings != nil {
		if err := r.Settings.validate(); err != nil {
			return fmt.Errorf("settings.%w", err)
		}
	}
	return nil
}

// LoadSpecs reads every *.yaml spec in fsys except scales.yaml, sorted by
// table order (numbers first, then names).
func LoadSpecs(fsys fs.FS) ([]*Spec, error) {
	names, err := fs.Glob(fsys, "*.yaml")
	if err != nil {
		return nil, err
	}
	var specs []*Spec
	seen := map[string]string{}
	for _, n := range names {
		if n == ScalesFile {
			continue
		}
		data, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		s, err := ParseSpec(data, n)
		if err != nil {
			return nil, err
		}
		if prev, ok := seen[s.ID]; ok {
			return nil, fmt.Errorf("spec %s: id %q is also used by %s", n, s.ID, prev)
		}
		seen[s.ID] = n
		specs = append(specs, s)
	}
	sortSpecs(specs)
	return specs, nil
}

func sortSpecs(specs []*Spec) {
	sort.SliceStable(specs, func(i, j int) bool { return tableOrder(specs[i].ID) < tableOrder(specs[j].ID) })
}

// tableOrder sorts numbered tables numerically, then the rest by name.
func tableOrder(id string) string {
	if len(id) == 1 && id[0] >= '0' && id[0] <= '9' {
		return "0" + id
	}
	if len(id) == 2 && id[0] >= '0' && id[0] <= '9' {
		return id
	}
	return "~" + id
}

// SelectSpecs keeps the specs whose ID is in ids (all when ids is empty),
// erroring on an unknown id.
func SelectSpecs(specs []*Spec, ids []string) ([]*Spec, error) {
	if len(ids) == 0 {
		return specs, nil
	}
	var out []*Spec
	for _, id := range ids {
		id = strings.TrimSpace(id)
		var found *Spec
		for _, s := range specs {
			if s.ID == id {
				found = s
			}
		}
		if found == nil {
			var known []string
			for _, s := range specs {
				known = append(known, s.ID)
			}
			return nil, fmt.Errorf("table %q: no such table (tables: %s)", id, strings.Join(known, ", "))
		}
		if !slices.Contains(out, found) {
			out = append(out, found)
		}
	}
	sortSpecs(out)
	return out, nil
}

// SelectTables picks the tables of a reproduction: the tables ids when
// given; else, when real datasets are given (--data), the tables the paper
// measured on them; else every table with a synthetic form. A real-only
// table (Fashion-MNIST) thus never enters the default selection.
func SelectTables(specs []*Spec, ids, datasets []string) ([]*Spec, error) {
	if len(ids) > 0 {
		return SelectSpecs(specs, ids)
	}
	var out []*Spec
	for _, s := range specs {
		onGiven := false
		for _, d := range datasets {
			_, has := s.Datasets[d]
			onGiven = onGiven || has
		}
		if onGiven || (len(datasets) == 0 && !s.RealOnly) {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no table runs on %s", strings.Join(datasets, ", "))
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// IsMulti reports whether a column is the multi-category task.
func IsMulti(column string) bool {
	return column == ColumnMultiLogistic || column == ColumnMultiSoftmax
}
