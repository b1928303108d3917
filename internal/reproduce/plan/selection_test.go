package plan

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/icnnlab/icnnlab/internal/data/catalog"
)

func TestResolveNamesTheFlagOfABadSelection(t *testing.T) {
	for _, tc := range []struct {
		sel  Selection
		flag string
	}{
		{Selection{Scale: "huge"}, "--scale"},
		{Selection{Scale: "quick", Tables: []string{"99"}}, "--tables"},
	} {
		_, err := Resolve(tc.sel)
		var se *SelectionError
		if !errors.As(err, &se) || se.Flag != tc.flag {
			t.Errorf("Resolve(%+v) = %v, want a SelectionError naming %s", tc.sel, err, tc.flag)
		}
	}
}

// The default selection is every synthetic table, with no data; a real-only
// table (Fashion-MNIST) takes its dataset's default location.
func TestResolveSelectsTablesAndDefaultData(t *testing.T) {
	r, err := Resolve(Selection{Scale: "quick", Seeds: 2})
	if err != nil {
		t.Fatal(err)
	}
	if r.Data != nil || r.Seeds != 2 || r.Scale.Name != "quick" || len(r.Tables) != len(r.Specs) || len(r.Tables) == 0 {
		t.Errorf("default selection %+v (scale %s): want every synthetic table, seeds 2, no data", r.Selection, r.Scale.Name)
	}
	r, err = Resolve(Selection{Scale: "quick", Tables: []string{"fashion"}})
	if err != nil {
		t.Fatal(err)
	}
	info, _ := catalog.DatasetByName(catalog.DataFashionMNIST)
	want := map[string]string{catalog.DataFashionMNIST: info.DefaultPath()}
	if diff := cmp.Diff(want, r.Data); diff != "" || !cmp.Equal(r.Tables, []string{"fashion"}) {
		t.Errorf("fashion table: tables %v, data (-want +got):\n%s", r.Tables, diff)
	}
}
