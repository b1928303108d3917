package spec_test

import (
	"strings"
	"testing"

	"github.com/icnnlab/icnnlab/internal/reproduce/spec"
)

const validSpec = `
id: "1"
title: "Table 1"
stands_in_for: "VOC"
claim: "higher"
metrics: [part-interpretability, location-instability]
landmarks: [head, neck]
baseline: ordinary
paper:
  source: table1.csv
  values:
    - {metric: part-interpretability, network: VGG-M, variant: ordinary, column: bird, value: 0.357}
scales:
  quick: {archs: [vgg-m], columns: [bird], variants: [interpretable], seeds: 1}
`

func TestParseSpecValid(t *testing.T) {
	s, err := spec.ParseSpec([]byte(validSpec), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := s.PaperValue(spec.PartInterpretability, "vgg-m", "ordinary", "bird"); !ok || v != 0.357 {
		t.Errorf("PaperValue(vgg-m, ordinary, bird) = %v, %v; want 0.357", v, ok)
	}
	if _, ok := s.PaperValue(spec.PartInterpretability, "vgg-m", "interpretable", "bird"); ok {
		t.Errorf("PaperValue found an interpretable value the spec does not have")
	}
	if d := s.DirectionOf(spec.LocationInstability); d != spec.Lower {
		t.Errorf("instability direction %s, want lower", d)
	}
}

// Every invalid spec fails naming the field at fault.
func TestParseSpecErrorsNameTheField(t *testing.T) {
	tests := []struct {
		name, old, new, want string
	}{
		{"unknown field", `claim: "higher"`, "claim: x\ncolour: red", "field colour not found"},
		{"empty id", `id: "1"`, `id: ""`, "id: empty"},
		{"bad metric", `metrics: [part-interpretability, location-instability]`, `metrics: [iou]`, `metrics[0]: "iou" is not one of`},
		{"no landmarks", `landmarks: [head, neck]`, `landmarks: []`, "landmarks: location instability needs landmarks"},
		{"bad landmark", `landmarks: [head, neck]`, `landmarks: [head, wing]`, `landmarks[1]: "wing" is not a synthetic landmark`},
		{"bad baseline", `baseline: ordinary`, `baseline: l1`, `baseline: variant "l1"`},
		{"control baseline", `baseline: ordinary`, `baseline: ordinary@init`, `baseline: "ordinary@init" is an untrained control`},
		{"bad arch", `archs: [vgg-m]`, `archs: [resnet]`, `scales.quick.archs[0]: "resnet" is not one of`},
		{"bad column", `columns: [bird]`, `columns: [fish]`, `scales.quick.columns[0]: "fish" is neither a category`},
		{"avg column", `columns: [bird]`, `columns: [avg]`, `scales.quick.columns[0]: avg is computed`},
		{"bad variant", `variants: [interpretable]`, `variants: [l1+]`, `scales.quick.variants[0]: variant "l1+"`},
		{"no seeds", `seeds: 1}`, `seeds: 0}`, "scales.quick.seeds: 0, want at least 1"},
		{"paper value without column", `column: bird, value`, `column: "", value`, "paper.values[0]: network, variant and column are required"},
		{"paper value without metric", `{metric: part-interpretability, network`, `{network`, "paper.values[0].metric: required when the spec has several metrics"},
		{"paper value of another metric", `{metric: part-interpretability, network`, `{metric: accuracy, network`, `paper.values[0].metric: "accuracy" is not one of`},
		{"similar without tolerance", `baseline: ordinary`, "baseline: ordinary\ndirection: similar", "tolerance.part-interpretability: direction similar needs a positive tolerance"},
		{"bad direction", `baseline: ordinary`, "baseline: ordinary\ndirection: sideways", `direction: "sideways" is not one of`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.Replace(validSpec, tt.old, tt.new, 1)
			if src == validSpec {
				t.Fatalf("test case does not change the spec (%q not found)", tt.old)
			}
			_, err := spec.ParseSpec([]byte(src), "t.yaml")
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "t.yaml") {
				t.Errorf("error = %v, want it to name t.yaml and contain %q", err, tt.want)
			}
		})
	}
}

func TestParseVariant(t *testing.T) {
	tests := []struct {
		in, name, label, paper string
	}{
		{"ordinary", "ordinary", "ordinary", "ordinary"},
		{"interpretable", "l1+mi", "interpretable (l1+mi)", "interpretable"},
		{"l1+mi", "l1+mi", "interpretable (l1+mi)", "interpretable"},
		{"euclidean+mi-paper-grad", "euclidean+mi-paper-grad", "euclidean+mi-paper-grad", "euclidean+mi-paper-grad"},
		// Untrained controls: the paper has no such network, so no paper variant.
		{"interpretable@init", "l1+mi@init", "interpretable (l1+mi) at initialisation", "l1+mi@init"},
		{"ordinary@init", "ordinary@init", "ordinary at initialisation", "ordinary@init"},
		{"l1+none@init", "l1+none@init", "l1+none at initialisation", "l1+none@init"},
	}
	for _, tt := range tests {
		v, err := spec.ParseVariant(tt.in)
		if err != nil {
			t.Fatalf("ParseVariant(%q): %v", tt.in, err)
		}
		if v.Name() != tt.name || v.Label() != tt.label || spec.PaperVariant(tt.in) != tt.paper {
			t.Errorf("ParseVariant(%q): name %q label %q paper %q; want %q %q %q", tt.in, v.Name(), v.Label(), spec.PaperVariant(tt.in), tt.name, tt.label, tt.paper)
		}
	}
	for _, bad := range []string{"", "l1", "+mi", "a+b+c", "@init", "l1+mi@init@init", "l1+mi@trained"} {
		if _, err := spec.ParseVariant(bad); err == nil {
			t.Errorf("ParseVariant(%q) accepted", bad)
		}
	}
}
