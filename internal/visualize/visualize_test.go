package visualize

import (
	"context"
	"strings"
	"testing"
)

func TestVisualizeRefusesBadOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  Options
		want string
	}{
		{"no run", Options{Out: "x"}, "visualize: no run given"},
		{"no output", Options{Runs: []string{"r"}}, "visualize: no output directory"},
		{"negative images", Options{Runs: []string{"r"}, Out: "x", Images: -1}, "images -1, train images 0 and filters 0 must not be negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Visualize(context.Background(), tc.opt); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Visualize(%+v) = %v, want %q", tc.opt, err, tc.want)
			}
		})
	}
}

func TestDefaultOptions(t *testing.T) {
	o := DefaultOptions()
	if o.Images != 300 || o.TrainImages != 0 || o.Filters != 8 || o.Host != nil || o.NewBackend != nil {
		t.Errorf("DefaultOptions() = %+v", o)
	}
}

func TestCategoryCounts(t *testing.T) {
	cats := []string{"bird", "sheep", "bird", "cow", "sheep", "bird"}
	if got, want := categoryCounts([]int{0, 1, 2, 4, 3, 5, 9}, cats), "bird 3, sheep 2, cow 1"; got != want {
		t.Errorf("categoryCounts = %q, want %q", got, want)
	}
	if got := categoryCounts(nil, cats); got != "" {
		t.Errorf("categoryCounts(nil) = %q", got)
	}
}
