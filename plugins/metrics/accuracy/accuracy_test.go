package accuracy

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

func TestBinary(t *testing.T) {
	// Predictions: +, -, +, - (0 is negative), +; labels 1 1 0 0 1.
	logits := tensor.MustFloat32(tensor.Shape{5, 1}, []float32{2.5, -0.1, 0.3, 0, 7})
	got, err := Binary(logits, []int{1, 1, 0, 0, 1})
	if err != nil {
		t.Fatal(err)
	}
	want := &Result{Correct: 3, Total: 5, Accuracy: 0.6, Confusion: [][]int{{1, 1}, {1, 2}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("binary (-want +got):\n%s", diff)
	}
}

func TestMultiClass(t *testing.T) {
	logits, err := tensor.FromFloat64(tensor.Shape{4, 3}, []float64{
		0.1, 0.7, 0.2, // → 1
		3, 3, 1, // tie → 0
		-1, -2, -0.5, // → 2
		0, 1, 0, // → 1
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := MultiClass(logits, []int{1, 1, 2, 0})
	if err != nil {
		t.Fatal(err)
	}
	want := &Result{Correct: 2, Total: 4, Accuracy: 0.5, Confusion: [][]int{{0, 1, 0}, {1, 1, 0}, {0, 0, 1}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("multi-class (-want +got):\n%s", diff)
	}
}

func TestErrors(t *testing.T) {
	nan := float32(0)
	nan /= nan
	tests := []struct {
		name string
		run  func() error
		want string
	}{
		{"binary shape", func() error {
			_, err := Binary(tensor.Zeros(tensor.Float32, 2, 2), []int{0, 1})
			return err
		}, "want [N] or [N 1]"},
		{"binary label", func() error {
			_, err := Binary(tensor.Zeros(tensor.Float32, 2), []int{0, 2})
			return err
		}, "label 1 is 2"},
		{"binary count", func() error {
			_, err := Binary(tensor.Zeros(tensor.Float32, 2), []int{0})
			return err
		}, "1 labels for 2 predictions"},
		{"binary nan", func() error {
			_, err := Binary(tensor.MustFloat32(tensor.Shape{2}, []float32{1, nan}), []int{0, 1})
			return err
		}, "logit 1 is NaN"},
		{"binary dtype", func() error {
			_, err := Binary(tensor.Zeros(tensor.Int32, 2), []int{0, 1})
			return err
		}, "dtype int32"},
		{"multi shape", func() error {
			_, err := MultiClass(tensor.Zeros(tensor.Float32, 2, 1), []int{0, 0})
			return err
		}, "C ≥ 2"},
		{"multi label", func() error {
			_, err := MultiClass(tensor.Zeros(tensor.Float32, 2, 3), []int{0, 3})
			return err
		}, "label 1 is 3"},
		{"empty", func() error {
			_, err := MultiClass(tensor.Zeros(tensor.Float32, 0, 3), nil)
			return err
		}, "no predictions"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.run(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
