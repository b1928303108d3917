package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/icnnlab/icnnlab/internal/data"
)

// constSet is a deterministic in-memory multi-category dataset: image i is
// filled with its label, so it can be learnt.
type constSet struct {
	n, size, classes int
	name             string
}

func (s constSet) Len() int             { return s.n }
func (s constSet) ImageSize() int       { return s.size }
func (s constSet) Classes() int         { return s.classes }
func (s constSet) ClassNames() []string { return []string{"a", "b", "c"}[:s.classes] }
func (s constSet) Spec() json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"const":%q,"n":%d}`, s.name, s.n))
}
func (s constSet) Example(i int) (data.Example, error) {
	img := make([]float32, 3*s.size*s.size)
	for k := range img {
		img[k] = float32(i%s.classes) - 1
	}
	return data.Example{Image: img, Label: i % s.classes}, nil
}

type constSource struct {
	calls int
	fail  error
}

func (c *constSource) Name() string         { return "const" }
func (c *constSource) Categories() []string { return []string{"a", "b", "c"} }
func (c *constSource) Datasets(d DataConfig) (data.Dataset, data.Dataset, error) {
	c.calls++
	if c.fail != nil {
		return nil, nil, c.fail
	}
	return constSet{d.Train, d.ImageSize, d.Categories, "train"}, constSet{d.Test, d.ImageSize, d.Categories, "test"}, nil
}

func TestDataSourceSuppliesTheDatasets(t *testing.T) {
	cfg := tinyConfig()
	cfg.Data.Source = "const"
	cfg.Epochs = 1
	src := &constSource{}
	opts := options(t, openStore(t))
	opts.Data = src
	res, err := Run(context.Background(), cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	if src.calls != 1 || res.Metrics.TestImages != cfg.Data.Test {
		t.Errorf("source called %d times, %d test images; want 1 call and %d images", src.calls, res.Metrics.TestImages, cfg.Data.Test)
	}
	if !strings.Contains(string(res.Run.Manifest.Identity.Dataset), `"const":"train"`) {
		t.Errorf("run identity's dataset %s is not the source's training set", res.Run.Manifest.Identity.Dataset)
	}
}

func TestDataSourceErrors(t *testing.T) {
	base := tinyConfig()
	base.Data.Source = "const"
	for _, tc := range []struct {
		name string
		edit func(*Config)
		fail error
		want string
	}{
		{"source name differs", func(c *Config) { c.Data.Source = "synth" }, nil, `data.source: "synth", but the datasets come from const`},
		{"target not a category", func(c *Config) { c.Data.Task, c.Data.Target, c.Model.Loss = "single", "zebra", "logistic" }, nil, `data.target: "zebra" is not allowed (allowed: a, b, c)`},
		{"too many categories", func(c *Config) { c.Data.Categories = 4 }, nil, "data.categories: 4 is not in [2, 3]"},
		{"other fields still checked", func(c *Config) { c.Epochs = -1 }, nil, "epochs: -1 is negative"},
		{"loader error wrapped", func(*Config) {}, errors.New("bad.mat: offset 12: truncated"), "data.source const: bad.mat: offset 12: truncated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			tc.edit(&cfg)
			opts := options(t, openStore(t))
			opts.Data = &constSource{fail: tc.fail}
			_, err := Open(cfg, opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}
