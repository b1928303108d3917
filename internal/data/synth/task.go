package synth

import (
	"encoding/json"
	"fmt"

	"github.com/icnnlab/icnnlab/internal/data"
)

// GeneratorVersion changes whenever the drawing changes, so dataset specs
// (and cached runs keyed on them) never mix samples of different versions.
const GeneratorVersion = 1

// IndexRange is the half-open sample index range [Start, End).
type IndexRange struct {
	Start int `json:"start"`
	End   int `json:"end"`
}

// Len is the number of indices in the range.
func (r IndexRange) Len() int { return max(0, r.End-r.Start) }

// Split gives disjoint index ranges for training, validation and testing.
type Split struct {
	Train IndexRange `json:"train"`
	Val   IndexRange `json:"val"`
	Test  IndexRange `json:"test"`
}

// Offsets of the validation and test ranges. They are fixed far apart so
// that the test set of a world (Seed) stays the same when the training set
// grows or shrinks.
const (
	valOffset  = 1 << 28
	testOffset = 1 << 29
)

// Splits returns the train/val/test ranges of a world: train [0, train),
// val and test at fixed far offsets. Samples are derived from (Seed, index),
// so the seed selects the actual images and disjoint ranges never share one.
func Splits(train, val, test int) Split {
	return Split{
		Train: IndexRange{0, train},
		Val:   IndexRange{valOffset, valOffset + val},
		Test:  IndexRange{testOffset, testOffset + test},
	}
}

// Task is a classification data set over a range of synthetic samples; it
// implements data.Dataset and also hands out the annotated samples that the
// interpretability metrics need.
type Task struct {
	cfg     Config
	kind    string // "single" or "multi"
	target  int    // single-category target
	rng     IndexRange
	indices []int // sample index of each example
	labels  []int
	crop    bool
}

var _ data.Dataset = (*Task)(nil)

// SingleCategoryTask is the paper's single-category task: objects of target
// are positives (label 1), objects of the other categories negatives
// (label 0), balanced — every positive in r plus as many negatives, drawn
// round-robin from the other categories. With crop set, each object is
// cropped by its box (CropToBox) and warped back to cfg.Size.
func SingleCategoryTask(cfg Config, target string, r IndexRange, crop bool) (*Task, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	t, err := cfg.CategoryIndex(target)
	if err != nil {
		return nil, fmt.Errorf("single-category task: %w", err)
	}
	task := &Task{cfg: cfg, kind: "single", target: t, rng: r, crop: crop}
	var pos []int
	neg := make([][]int, cfg.Categories)
	for i := r.Start; i < r.End; i++ {
		if c := CategoryOf(cfg, i); c == t {
			pos = append(pos, i)
		} else {
			neg[c] = append(neg[c], i)
		}
	}
	var negs []int
	for round := 0; len(negs) < len(pos); round++ {
		took := false
		for c := range neg {
			if round < len(neg[c]) && len(negs) < len(pos) {
				negs, took = append(negs, neg[c][round]), true
			}
		}
		if !took {
			break
		}
	}
	for k := range max(len(pos), len(negs)) {
		if k < len(pos) {
			task.indices, task.labels = append(task.indices, pos[k]), append(task.labels, 1)
		}
		if k < len(negs) {
			task.indices, task.labels = append(task.indices, negs[k]), append(task.labels, 0)
		}
	}
	return task, nil
}

// MultiCategoryTask uses every sample in r with its category as the label.
func MultiCategoryTask(cfg Config, r IndexRange, crop bool) (*Task, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	task := &Task{cfg: cfg, kind: "multi", target: -1, rng: r, crop: crop}
	for i := r.Start; i < r.End; i++ {
		task.indices = append(task.indices, i)
		task.labels = append(task.labels, CategoryOf(cfg, i))
	}
	return task, nil
}

// Len is the number of examples.
func (t *Task) Len() int { return len(t.indices) }

// ImageSize is the side of the example images.
func (t *Task) ImageSize() int { return t.cfg.Size }

// Classes is 1 for the single-category task, else the number of categories.
func (t *Task) Classes() int {
	if t.kind == "single" {
		return 1
	}
	return t.cfg.Categories
}

// ClassNames names the target (single) or all categories (multi).
func (t *Task) ClassNames() []string {
	if t.kind == "single" {
		return []string{CategoryNames[t.target]}
	}
	return append([]string(nil), CategoryNames[:t.cfg.Categories]...)
}

// Config is the world the task draws from.
func (t *Task) Config() Config { return t.cfg }

// Label is example i's label without drawing it.
func (t *Task) Label(i int) int { return t.labels[i] }

// SampleIndex is the world index of example i.
func (t *Task) SampleIndex(i int) int { return t.indices[i] }

// Sample draws example i with its annotations, cropped if the task crops.
func (t *Task) Sample(i int) (*Sample, error) {
	if i < 0 || i >= len(t.indices) {
		return nil, fmt.Errorf("synth task: example %d out of range [0,%d)", i, len(t.indices))
	}
	s := Generate(t.cfg, t.indices[i])
	if t.crop {
		s = CropToBox(s, t.cfg.Size)
	}
	return s, nil
}

// Example draws example i as a normalised CHW image with its label.
func (t *Task) Example(i int) (data.Example, error) {
	s, err := t.Sample(i)
	if err != nil {
		return data.Example{}, err
	}
	return data.Example{Image: s.CHW(), Label: t.labels[i]}, nil
}

// Spec identifies the task; equal specs mean equal data.
func (t *Task) Spec() json.RawMessage {
	spec := struct {
		Source     string     `json:"source"`
		Version    int        `json:"generator_version"`
		Config     Config     `json:"config"`
		Task       string     `json:"task"`
		Target     string     `json:"target,omitempty"`
		Range      IndexRange `json:"range"`
		Crop       bool       `json:"crop"`
		CropMargin float64    `json:"crop_margin,omitempty"`
		Len        int        `json:"len"`
	}{Source: "synth", Version: GeneratorVersion, Config: t.cfg, Task: t.kind, Range: t.rng, Crop: t.crop, Len: len(t.indices)}
	if t.kind == "single" {
		spec.Target = CategoryNames[t.target]
	}
	if t.crop {
		spec.CropMargin = DefaultCropMargin
	}
	b, err := json.Marshal(spec)
	if err != nil {
		panic(fmt.Sprintf("synth task spec: %v", err)) // plain struct of numbers and strings: cannot fail
	}
	return b
}
