package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/icnnlab/icnnlab/internal/reproduce/spec"
	"github.com/icnnlab/icnnlab/internal/reproduce/verdict"
)

// The committed Markdown, CSV and HTML tables are renderings of the
// committed paper-tables.json: rendering the JSON again with today's code
// must give them byte for byte. After a change to the renderers, rerun
// with -update (the measured numbers do not change; only their layout).
func TestCommittedTablesAreCurrent(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("..", "..", "..", "reproductions", "results", "*", JSONFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		t.Fatal("no committed reproductions found")
	}
	for _, jsonPath := range dirs {
		dir := filepath.Dir(jsonPath)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			data, err := os.ReadFile(jsonPath)
			if err != nil {
				t.Fatal(err)
			}
			var r Report
			if err := json.Unmarshal(data, &r); err != nil {
				t.Fatalf("decode %s: %v", jsonPath, err)
			}
			for _, f := range []struct {
				name  string
				write func(*bytes.Buffer) error
			}{
				{MarkdownFile, func(b *bytes.Buffer) error { return r.WriteMarkdown(b) }},
				{CSVFile, func(b *bytes.Buffer) error { return r.WriteCSV(b) }},
				{HTMLFile, func(b *bytes.Buffer) error { return r.WriteHTML(b) }},
			} {
				var got bytes.Buffer
				if err := f.write(&got); err != nil {
					t.Fatalf("render %s: %v", f.name, err)
				}
				path := filepath.Join(dir, f.name)
				if *update {
					if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(string(want), got.String()); diff != "" {
					t.Errorf("%s is not the rendering of %s; run go test ./internal/reproduce/report -run TestCommittedTablesAreCurrent -update (-committed +rendered):\n%s", path, JSONFile, diff)
				}
			}
		})
	}
}

// A table with several treatments (the ablation) lists each treatment's
// rows under every region rule; each row must say which treatment it is.
func TestSensitivityRowsNameTheirVariants(t *testing.T) {
	row := func(treatment string, mean float64) verdict.Row {
		return verdict.Row{Metric: spec.PartInterpretability, Arch: "vgg-m", Column: "bird", Region: "upsample",
			Baseline: "ordinary", Treatment: treatment,
			Base: verdict.Stat{Mean: 0.006, N: 2}, Treat: verdict.Stat{Mean: mean, N: 2}, Diff: verdict.Stat{Mean: mean - 0.006, N: 2},
			Outcome: verdict.RowNotShown}
	}
	table := &verdict.TableResult{Sensitivity: []verdict.Row{row("l1+none", 0.024), row("none+mi", 0.017)}}
	var b strings.Builder
	writeSensitivity(&b, spec.Scale{}, table)
	var rows []string
	for _, line := range strings.Split(b.String(), "\n") {
		if strings.HasPrefix(line, "| upsample |") {
			rows = append(rows, line)
		}
	}
	if len(rows) != 2 {
		t.Fatalf("want 2 sensitivity rows, got %d:\n%s", len(rows), b.String())
	}
	for i, want := range []string{"| ordinary | 0.006 ± 0.000 | l1+none | 0.024 ± 0.000 |", "| ordinary | 0.006 ± 0.000 | none+mi | 0.017 ± 0.000 |"} {
		if !strings.Contains(rows[i], want) {
			t.Errorf("row %d = %q, want it to contain %q", i, rows[i], want)
		}
	}
}
