package zoo

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSpecValidateNamesFields(t *testing.T) {
	good := Spec{Arch: ArchVGGM, InputSize: 64, Width: 0.125, Classes: 1, Loss: LossLogistic, Dropout: 0.5, Batch: 8}
	tests := []struct {
		name   string
		edit   func(*Spec)
		fields []string
		hint   string // part of the message listing allowed values
	}{
		{"good", func(*Spec) {}, nil, ""},
		{"arch", func(s *Spec) { s.Arch = "resnet" }, []string{"arch"}, "alexnet, alexnet-torchvision, small64, vgg-16, vgg-m, vgg-s"},
		{"input size", func(s *Spec) { s.InputSize = 0 }, []string{"input_size"}, "positive"},
		{"width zero", func(s *Spec) { s.Width = 0 }, []string{"width"}, "(0, 4]"},
		{"width huge", func(s *Spec) { s.Width = 8 }, []string{"width"}, "(0, 4]"},
		{"classes", func(s *Spec) { s.Classes = 0 }, []string{"classes"}, "positive"},
		{"loss", func(s *Spec) { s.Loss = "hinge" }, []string{"loss"}, "logistic, softmax"},
		{"softmax one class", func(s *Spec) { s.Loss = LossSoftmax }, []string{"loss"}, "classes >= 2"},
		{"dropout", func(s *Spec) { s.Dropout = 1 }, []string{"dropout"}, "[0, 1)"},
		{"batch", func(s *Spec) { s.Batch = -1 }, []string{"batch"}, "positive"},
		{"several", func(s *Spec) { s.Arch, s.Batch = "", 0 }, []string{"arch", "batch"}, ""},
	}
	for _, tc := range tests {
		s := good
		tc.edit(&s)
		err := s.Validate()
		var fields []string
		for _, e := range unjoin(err) {
			var se *SpecError
			if !errors.As(e, &se) {
				t.Fatalf("%s: %v is not a *SpecError", tc.name, e)
			}
			fields = append(fields, se.Field)
		}
		if diff := cmp.Diff(tc.fields, fields); diff != "" {
			t.Errorf("%s: bad fields (-want +got):\n%s", tc.name, diff)
		}
		if tc.hint != "" && (err == nil || !strings.Contains(err.Error(), tc.hint)) {
			t.Errorf("%s: error %q does not say %q", tc.name, err, tc.hint)
		}
		if _, buildErr := Build(s, Hooks{}); (buildErr == nil) != (err == nil) {
			t.Errorf("%s: Validate says %v but Build says %v", tc.name, err, buildErr)
		}
	}
}

func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func TestNames(t *testing.T) {
	want := []string{"alexnet", "alexnet-torchvision", "small64", "vgg-16", "vgg-m", "vgg-s"}
	if diff := cmp.Diff(want, Names()); diff != "" {
		t.Errorf("Names (-want +got):\n%s", diff)
	}
}
