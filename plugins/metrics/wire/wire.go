// Package wire is the request format of the metric plugins
// (part-interpretability, location-instability, accuracy): what the host
// puts in plugin.MetricRequest's Meta and Params, and the names of the
// tensors it streams. Host (internal/metricsrun) and plugins
// (plugins/metrics/*/plugin.go) both use it, so the two sides cannot drift
// apart; an external metric plugin can read the same JSON.
//
// Meta is one JSON object:
//
//	{
//	  "geometry": {"size": 54, "jump": 8, "start": 4, "image_width": 64, "image_height": 64},
//	  "annotations": { ...an annotation file, docs/metrics.md... },
//	  "task": "single",
//	  "categories": 1,
//	  "category_names": ["bird"]
//	}
//
// "geometry" is parts.Geometry. "annotations" is the annotation file
// object that parts.Marshal writes, embedded as JSON (RLE masks only:
// there is no directory for PNG masks). "task" is "single" or "multi";
// "category_names" are, for "single", the target category (at most one:
// evaluate on its images only; none: on every image) and, for "multi", the
// categories to evaluate on (none: all of the annotation file's), each
// filter being assigned its category as the paper does; "categories" is
// their number.
//
// Tensors: "activations" float32 [N,C,H,W] for part-interpretability and
// location-instability; "logits" [N] or [N,K] float and "labels" [N] int64
// for accuracy.
package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/icnnlab/icnnlab/plugins/metrics/featmap"
	"github.com/icnnlab/icnnlab/sdk/parts"
	"github.com/icnnlab/icnnlab/sdk/plugin"
)

// Plugin names, all of kind metric.
const (
	PartInterpretability = "part-interpretability"
	LocationInstability  = "location-instability"
	Accuracy             = "accuracy"
)

// Names of the streamed tensors.
const (
	TensorActivations = "activations"
	TensorLogits      = "logits"
	TensorLabels      = "labels"
)

// Meta is the decoded Meta of a part-interpretability or
// location-instability request.
type Meta struct {
	Geometry    parts.Geometry
	Annotations *parts.Set
	// Task is plugin.TaskSingle or plugin.TaskMulti.
	Task string
	// Categories are the category_names (see the package doc).
	Categories []string
}

type metaJSON struct {
	Geometry      *parts.Geometry `json:"geometry"`
	Annotations   json.RawMessage `json:"annotations"`
	Task          string          `json:"task"`
	Categories    *int            `json:"categories"`
	CategoryNames []string        `json:"category_names"`
}

// EncodeMeta checks m and writes it as Meta JSON.
func EncodeMeta(m Meta) (json.RawMessage, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	ann, err := parts.Marshal(m.Annotations)
	if err != nil {
		return nil, fmt.Errorf("meta: annotations: %w", err)
	}
	n := len(m.Categories)
	names := m.Categories
	if names == nil {
		names = []string{}
	}
	g := m.Geometry
	out, err := json.Marshal(metaJSON{
		Geometry:      &g,
		Annotations:   ann,
		Task:          m.Task,
		Categories:    &n,
		CategoryNames: names,
	})
	if err != nil {
		return nil, fmt.Errorf("meta: %w", err)
	}
	return out, nil
}

// DecodeMeta reads Meta JSON; errors name the field at fault.
func DecodeMeta(data json.RawMessage) (*Meta, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("meta is empty: want a JSON object with geometry, annotations, task and categories")
	}
	var w metaJSON
	if err := decodeStrict(data, &w); err != nil {
		return nil, fmt.Errorf("meta: %w", err)
	}
	if w.Geometry == nil {
		return nil, errors.New(`meta: "geometry" is missing`)
	}
	if len(bytes.TrimSpace(w.Annotations)) == 0 || string(bytes.TrimSpace(w.Annotations)) == "null" {
		return nil, errors.New(`meta: "annotations" is missing`)
	}
	set, err := parts.Parse(w.Annotations, nil)
	if err != nil {
		return nil, fmt.Errorf(`meta: "annotations": %w`, err)
	}
	if w.Categories == nil {
		return nil, errors.New(`meta: "categories" is missing`)
	}
	if *w.Categories != len(w.CategoryNames) {
		return nil, fmt.Errorf(`meta: "categories" is %d but "category_names" has %d names`, *w.Categories, len(w.CategoryNames))
	}
	m := &Meta{
		Geometry:    *w.Geometry,
		Annotations: set,
		Task:        w.Task,
		Categories:  w.CategoryNames,
	}
	if len(m.Categories) == 0 {
		m.Categories = nil
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	return m, nil
}

func (m Meta) check() error {
	if err := m.Geometry.Validate(); err != nil {
		return fmt.Errorf(`meta: "geometry": %w`, err)
	}
	if m.Annotations == nil {
		return errors.New(`meta: "annotations" is missing`)
	}
	switch m.Task {
	case plugin.TaskSingle:
		if len(m.Categories) > 1 {
			return fmt.Errorf(`meta: "category_names": task %q takes at most one (target) category, got %q`, m.Task, m.Categories)
		}
	case plugin.TaskMulti:
	default:
		return fmt.Errorf(`meta: "task" is %q, want %q or %q`, m.Task, plugin.TaskSingle, plugin.TaskMulti)
	}
	for i, c := range m.Categories {
		if !slices.Contains(m.Annotations.Categories, c) {
			return fmt.Errorf(`meta: "category_names"[%d]: %q is not a category of the annotations %q`, i, c, m.Annotations.Categories)
		}
		if slices.Contains(m.Categories[:i], c) {
			return fmt.Errorf(`meta: "category_names"[%d]: %q appears twice`, i, c)
		}
	}
	return nil
}

// Evaluation returns the activations and annotations a metric should see
// and whether filters are assigned categories: for the multi task with
// category names, only the images of those categories (copied out of
// maps); otherwise maps and the annotations as they are. For the single
// task the caller restricts to TargetCategory itself.
func (m *Meta) Evaluation(maps *featmap.Maps) (*featmap.Maps, *parts.Set, error) {
	set := m.Annotations
	if len(set.Images) != maps.N {
		return nil, nil, fmt.Errorf("%d annotated images for %d activation maps (%q is [%d,%d,%d,%d])",
			len(set.Images), maps.N, TensorActivations, maps.N, maps.C, maps.H, maps.W)
	}
	if m.Task != plugin.TaskMulti || len(m.Categories) == 0 {
		return maps, set, nil
	}
	keep := map[int]bool{}
	for _, c := range m.Categories {
		keep[slices.Index(set.Categories, c)] = true
	}
	sub := &parts.Set{Categories: set.Categories, Groups: set.Groups, Landmarks: set.Landmarks}
	per := maps.C * maps.H * maps.W
	var data []float32
	for n, im := range set.Images {
		if keep[im.Category] {
			sub.Images = append(sub.Images, im)
			data = append(data, maps.Data[n*per:(n+1)*per]...)
		}
	}
	if len(sub.Images) == 0 {
		return nil, nil, fmt.Errorf("no image of the categories %q", m.Categories)
	}
	out, err := featmap.New(len(sub.Images), maps.C, maps.H, maps.W, data)
	if err != nil {
		return nil, nil, err
	}
	return out, sub, nil
}

// TargetCategory is the single task's target category, or "" (every image,
// or the multi task).
func (m *Meta) TargetCategory() string {
	if m.Task == plugin.TaskSingle && len(m.Categories) == 1 {
		return m.Categories[0]
	}
	return ""
}

// decodeStrict decodes one JSON object into v, refusing unknown fields and
// trailing data.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("trailing data after the top-level object")
	}
	return nil
}
