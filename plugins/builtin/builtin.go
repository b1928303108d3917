// Package builtin is the registry of the plugins compiled into the icnnlab
// binary. Register takes a plugin.Plugin, so a compiled-in plugin is typed
// like any third-party one and imports only the SDK; plugins/reference
// registers every reference mask, loss, metric and visualizer. The host
// (internal/pluginhost) serves each out of process by re-executing the
// binary (`icnnlab plugin serve KIND/NAME`).
package builtin

import (
	"fmt"
	"slices"
	"sync"

	"github.com/icnnlab/icnnlab/sdk/plugin"
)

var (
	mu         sync.Mutex
	registered = map[plugin.Ref]plugin.Plugin{}
)

// Register makes p a plugin of this binary under the kind and name its
// Info declares. A nil plugin, an Info that fails its check or a name
// registered twice panics: that is a programming error found at start-up.
func Register(p plugin.Plugin) {
	if p == nil {
		panic("builtin.Register: nil plugin")
	}
	info := p.Info()
	if err := info.Check(); err != nil {
		panic(fmt.Sprintf("builtin.Register: %v", err))
	}
	ref := plugin.Ref{Kind: info.Kind, Name: info.Name}
	mu.Lock()
	defer mu.Unlock()
	if _, dup := registered[ref]; dup {
		panic(fmt.Sprintf("builtin.Register: %s registered twice", ref))
	}
	registered[ref] = p
}

// Lookup returns the plugin registered as ref.
func Lookup(ref plugin.Ref) (plugin.Plugin, bool) {
	mu.Lock()
	defer mu.Unlock()
	p, ok := registered[ref]
	return p, ok
}

// Refs lists the registered plugins by kind (in plugin.Kinds order), then
// by name.
func Refs() []plugin.Ref {
	mu.Lock()
	defer mu.Unlock()
	refs := make([]plugin.Ref, 0, len(registered))
	for r := range registered {
		refs = append(refs, r)
	}
	slices.SortFunc(refs, func(a, b plugin.Ref) int {
		if a.Kind != b.Kind {
			return slices.Index(plugin.Kinds(), a.Kind) - slices.Index(plugin.Kinds(), b.Kind)
		}
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return refs
}
