// Package pluginhost finds, verifies, launches and talks to icnnlab
// plugins. Every plugin runs in its own process through hashicorp/go-plugin
// over gRPC, built-ins included: they are compiled into the icnnlab binary
// and run by re-executing it as `icnnlab plugin serve KIND/NAME`, so a
// crashing or hanging plugin never takes the host down, whatever its origin.
package pluginhost

import (
	"fmt"
	"sort"
	"sync"

	"github.com/icnnlab/icnnlab/sdk/plugin"
)

var (
	builtinsMu sync.Mutex
	builtins   = map[plugin.Ref]func() any{}
)

// RegisterBuiltin makes a plugin compiled into this binary available as
// kind/name. Reference plugins call it from init. factory must return a
// value implementing the kind's interface (plugin.Mask, …); it is called
// only in the process that serves the plugin. Registering a bad or
// duplicate name panics: that is a programming error found at start-up.
func RegisterBuiltin(kind, name string, factory func() any) {
	k, err := plugin.ParseKind(kind)
	if err != nil {
		panic(fmt.Sprintf("pluginhost.RegisterBuiltin: %v", err))
	}
	if err := plugin.CheckName(name); err != nil {
		panic(fmt.Sprintf("pluginhost.RegisterBuiltin: %v", err))
	}
	if factory == nil {
		panic(fmt.Sprintf("pluginhost.RegisterBuiltin(%s, %s): nil factory", kind, name))
	}
	ref := plugin.Ref{Kind: k, Name: name}
	builtinsMu.Lock()
	defer builtinsMu.Unlock()
	if _, dup := builtins[ref]; dup {
		panic(fmt.Sprintf("pluginhost.RegisterBuiltin: %s registered twice", ref))
	}
	builtins[ref] = factory
}

// Builtins lists the registered built-in plugins, sorted.
func Builtins() []plugin.Ref {
	builtinsMu.Lock()
	defer builtinsMu.Unlock()
	refs := make([]plugin.Ref, 0, len(builtins))
	for r := range builtins {
		refs = append(refs, r)
	}
	sortRefs(refs)
	return refs
}

func builtinFactory(ref plugin.Ref) (func() any, bool) {
	builtinsMu.Lock()
	defer builtinsMu.Unlock()
	f, ok := builtins[ref]
	return f, ok
}

func sortRefs(refs []plugin.Ref) {
	sort.Slice(refs, func(i, j int) bool {
		if refs[i].Kind != refs[j].Kind {
			return kindOrder(refs[i].Kind) < kindOrder(refs[j].Kind)
		}
		return refs[i].Name < refs[j].Name
	})
}

func kindOrder(k plugin.Kind) int {
	for i, kk := range plugin.Kinds() {
		if k == kk {
			return i
		}
	}
	return len(plugin.Kinds())
}

// ServeBuiltin serves the built-in plugin ref ("masks/l1") in this
// process; it is what the hidden `icnnlab plugin serve` command runs in
// the re-executed binary.
func ServeBuiltin(ref string, opts ...plugin.ServeOpt) error {
	r, err := plugin.ParseRef(ref)
	if err != nil {
		return err
	}
	p, err := NewBuiltin(r)
	if err != nil {
		return err
	}
	return plugin.Serve(p, opts...)
}

// NewBuiltin returns an in-process instance of the built-in plugin r, the
// value `icnnlab plugin serve` serves. Tests (fuzzing every built-in's
// parameters, say) use it to call a plugin without a process between.
func NewBuiltin(r plugin.Ref) (plugin.Plugin, error) {
	factory, ok := builtinFactory(r)
	if !ok {
		return nil, fmt.Errorf("no built-in plugin %s (built in: %s)", r, refList(Builtins()))
	}
	p, ok := factory().(plugin.Plugin)
	if !ok {
		return nil, fmt.Errorf("built-in plugin %s: factory returned a value without an Info method", r)
	}
	if info := p.Info(); info.Kind != r.Kind || info.Name != r.Name {
		return nil, fmt.Errorf("built-in plugin %s: its Info says %s/%s", r, info.Kind.Plural(), info.Name)
	}
	return p, nil
}

func refList(refs []plugin.Ref) string {
	if len(refs) == 0 {
		return "none"
	}
	s := ""
	for i, r := range refs {
		if i > 0 {
			s += ", "
		}
		s += r.String()
	}
	return s
}
