// Package pluginhost finds, verifies, launches and talks to icnnlab
// plugins. Every plugin runs in its own process through hashicorp/go-plugin
// over gRPC, built-ins included: they are compiled into the icnnlab binary
// and run by re-executing it as `icnnlab plugin serve KIND/NAME`, so a
// crashing or hanging plugin never takes the host down, whatever its origin.
package pluginhost

import (
	"fmt"

	"github.com/icnnlab/icnnlab/plugins/builtin"
	"github.com/icnnlab/icnnlab/sdk/plugin"
)

// Builtins lists the plugins compiled into this binary (plugins/builtin),
// sorted by kind, then name.
func Builtins() []plugin.Ref { return builtin.Refs() }

// ServeBuiltin serves the built-in plugin ref ("masks/l1") in this
// process; it is what the hidden `icnnlab plugin serve` command runs in
// the re-executed binary.
func ServeBuiltin(ref string, opts ...plugin.ServeOpt) error {
	r, err := plugin.ParseRef(ref)
	if err != nil {
		return err
	}
	p, ok := builtin.Lookup(r)
	if !ok {
		return fmt.Errorf("no built-in plugin %s (built in: %s)", r, refList(Builtins()))
	}
	return plugin.Serve(p, opts...)
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
