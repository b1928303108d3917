package builtin_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/icnnlab/icnnlab/plugins/builtin"
	"github.com/icnnlab/icnnlab/sdk/plugin"
)

type fakePlugin plugin.Info

func (f fakePlugin) Info() plugin.Info { return plugin.Info(f) }

func TestRegisterRefusesBadPlugins(t *testing.T) {
	first := fakePlugin{Kind: plugin.KindMask, Name: "fake", Version: "1.0.0"}
	builtin.Register(first)
	tests := []struct {
		name string
		p    plugin.Plugin
		want string
	}{
		{"nil", nil, "nil plugin"},
		{"bad name", fakePlugin{Kind: plugin.KindMask, Name: "Bad Name", Version: "1.0.0"}, "builtin.Register"},
		{"twice", fakePlugin{Kind: plugin.KindMask, Name: "fake", Version: "2.0.0"}, "masks/fake registered twice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if msg, _ := r.(string); r == nil || !strings.Contains(msg, tc.want) {
					t.Errorf("panic %v, want one containing %q", r, tc.want)
				}
			}()
			builtin.Register(tc.p)
		})
	}
	if p, ok := builtin.Lookup(plugin.Ref{Kind: plugin.KindMask, Name: "fake"}); !ok || p != plugin.Plugin(first) {
		t.Errorf("Lookup(masks/fake) = %v, %v; want the first registration", p, ok)
	}
	if diff := cmp.Diff([]plugin.Ref{{Kind: plugin.KindMask, Name: "fake"}}, builtin.Refs()); diff != "" {
		t.Errorf("Refs (-want +got):\n%s", diff)
	}
}
