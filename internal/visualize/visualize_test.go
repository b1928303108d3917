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
	if o.Images != 300 || o.TrainImages != 500 || o.Filters != 8 || o.Host != nil || o.NewBackend != nil {
		t.Errorf("DefaultOptions() = %+v", o)
	}
}
