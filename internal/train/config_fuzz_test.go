package train

import (
	"os"
	"path/filepath"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/icnnlab/icnnlab/internal/data/catalog"
)

// FuzzLoadConfigFile: a run config (YAML or JSON) is user input. Loading
// it either fails with an error or yields a config that validation judges
// without panicking.
func FuzzLoadConfigFile(f *testing.F) {
	def, err := yaml.Marshal(Defaults())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(def, false)
	f.Add([]byte("epochs: 3\nmodel: {arch: small64, width: 0.25}\ninterpretable: {enabled: true, mask: l1, loss: mi}\n"), false)
	f.Add([]byte(`{"epochs": 2, "batch": 8, "data": {"task": "multi", "categories": 3}}`), true)
	f.Add([]byte(`{"optimizer": {"lr": -1}}`), true)
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, asJSON bool) {
		name := "run.yaml"
		if asJSON {
			name = "run.json"
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := LoadConfigFile(path, Defaults())
		if err != nil {
			return
		}
		var src DataSource // nil when data.source names no built-in source
		if b, ok := catalog.Builtin(cfg.Data.Source); ok {
			src = b
		}
		_ = cfg.Validate([]string{"small64", "vgg16"}, src)
	})
}
