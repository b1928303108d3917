package papertables

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestEntriesFlag(t *testing.T) {
	var m map[string]string
	f := entriesFlag{m: &m, typ: "K=V", add: func(m map[string]string, item string) error {
		k, v, ok := strings.Cut(item, "=")
		if !ok {
			return errors.New("no = in " + item)
		}
		m[k] = v
		return nil
	}}
	if got := f.String(); got != "" {
		t.Errorf("empty flag prints %q, want \"\"", got)
	}
	for _, v := range []string{"b=2, a=1", "c=3"} {
		if err := f.Set(v); err != nil {
			t.Fatalf("Set(%q): %v", v, err)
		}
	}
	if diff := cmp.Diff(map[string]string{"a": "1", "b": "2", "c": "3"}, m); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
	if got, want := f.String(), "a=1,b=2,c=3"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if err := f.Set("d=4,oops"); err == nil || !strings.Contains(err.Error(), "no = in oops") {
		t.Errorf("Set with a bad entry: error %v, want the entry's", err)
	}
	if f.Type() != "K=V" {
		t.Errorf("Type() = %q", f.Type())
	}
}
