package cmdutil

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDedent(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"tabs", "\n\t\tfirst\n\t\t  indented\n\n\t\tlast\n\t", "first\n  indented\n\nlast\n"},
		{"no indent", "a\nb", "a\nb"},
		{"spaces", "\n    a\n      b\n", "a\n  b\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Dedent(tt.in)); diff != "" {
				t.Errorf("Dedent (-want +got):\n%s", diff)
			}
		})
	}
}

func TestExamples(t *testing.T) {
	got := Examples("\n\t\t# comment\n\t\t$ icnnlab version\n\n\t\t$ icnnlab bench\n\t")
	want := "  # comment\n  $ icnnlab version\n\n  $ icnnlab bench"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Examples (-want +got):\n%s", diff)
	}
}
