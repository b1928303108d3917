package spec_test

import (
	"io/fs"
	"maps"
	"slices"
	"testing"
	"testing/fstest"

	"github.com/icnnlab/icnnlab/internal/reproduce/plan"
	"github.com/icnnlab/icnnlab/internal/reproduce/spec"
	"github.com/icnnlab/icnnlab/reproductions"
)

// FuzzParseSpec: a table spec is user-editable YAML. Whatever it holds,
// parsing either fails with an error or yields a spec that validates and
// plans at every scale without panicking.
func FuzzParseSpec(f *testing.F) {
	names, err := fs.Glob(reproductions.Specs, "*.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, n := range names {
		if n == spec.ScalesFile {
			continue
		}
		b, err := fs.ReadFile(reproductions.Specs, n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("id: x\nscales: {test: {seeds: -1}}\n"))
	scales, err := spec.LoadScales(reproductions.Specs)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := spec.ParseSpec(data, "fuzz.yaml")
		if err != nil {
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("ParseSpec accepted a spec that does not validate: %v", err)
		}
		for _, name := range slices.Sorted(maps.Keys(scales)) {
			_, _ = plan.MakePlan([]*spec.Spec{s}, scales[name], plan.PlanOptions{})
		}
	})
}

// FuzzLoadScales: scales.yaml parses into presets that validate, or fails.
func FuzzLoadScales(f *testing.F) {
	b, err := fs.ReadFile(reproductions.Specs, spec.ScalesFile)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte("test: {width: 0.25, image_size: 32}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		scales, err := spec.LoadScales(fstest.MapFS{spec.ScalesFile: {Data: data}})
		if err != nil {
			return
		}
		for name, s := range scales {
			if s.Name != name {
				t.Fatalf("scale %q carries name %q", name, s.Name)
			}
			if err := s.Validate(); err != nil {
				t.Fatalf("LoadScales accepted scale %s that does not validate: %v", name, err)
			}
		}
	})
}
