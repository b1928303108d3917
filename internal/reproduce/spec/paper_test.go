package spec

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/icnnlab/icnnlab/reproductions"
)

// TestPaperValuesMatchTheCSVs checks every paper value of every committed
// spec against the paper's table it cites, reproductions/paper/SOURCE:
// the cell of its network, variant and column holds the same number.
func TestPaperValuesMatchTheCSVs(t *testing.T) {
	specs, err := LoadSpecs(reproductions.Specs)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range specs {
		if s.Paper.Source == "" {
			if len(s.Paper.Values) > 0 {
				t.Errorf("spec %s: %d paper values without a source", s.ID, len(s.Paper.Values))
			}
			continue
		}
		cells := readPaperCSV(t, filepath.Join("../../../reproductions/paper", s.Paper.Source))
		for _, v := range s.Paper.Values {
			got, ok := cells[[3]string{v.Network, v.Variant, v.Column}]
			if !ok {
				t.Errorf("spec %s: %s %s %s is not a cell of %s", s.ID, v.Network, v.Variant, v.Column, s.Paper.Source)
				continue
			}
			if got != v.Value {
				t.Errorf("spec %s: %s %s %s = %v, %s says %v", s.ID, v.Network, v.Variant, v.Column, v.Value, s.Paper.Source, got)
			}
		}
	}
}

// readPaperCSV reads one of the paper's tables: comment lines start with
// '#', then a header "network,variant,COLUMN…"; empty cells are skipped.
func readPaperCSV(t *testing.T, path string) map[[3]string]float64 {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := csv.NewReader(strings.NewReader(string(data)))
	r.Comment = '#'
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(rows) < 2 || len(rows[0]) < 3 || rows[0][0] != "network" || rows[0][1] != "variant" {
		t.Fatalf("%s: want a header network,variant,… and rows", path)
	}
	cells := map[[3]string]float64{}
	for _, row := range rows[1:] {
		for c := 2; c < len(row); c++ {
			if row[c] == "" {
				continue
			}
			v, err := strconv.ParseFloat(row[c], 64)
			if err != nil {
				t.Fatalf("%s: %s %s %s: %v", path, row[0], row[1], rows[0][c], err)
			}
			cells[[3]string{row[0], row[1], rows[0][c]}] = v
		}
	}
	return cells
}
