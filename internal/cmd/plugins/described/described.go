// Package described holds what `icnnlab plugins list` and `icnnlab plugins
// info` both print about a plugin: its name and the build that served it.
package described

import (
	"encoding/hex"

	"github.com/icnnlab/icnnlab/internal/pluginhost"
	"github.com/icnnlab/icnnlab/sdk/plugin"
)

// Identity is one plugin's row in `plugins list` and the head of `plugins
// info`, in both commands' --json. Version, protocol and hash are known only
// once the plugin has started and described itself; a plugin that did so
// always has all three (a semantic version, a negotiated protocol of at
// least 1, the hash of its executable), so omitempty drops them only for a
// listed plugin that failed to start.
type Identity struct {
	Kind     plugin.Kind `json:"kind"`
	Name     string      `json:"name"`
	Version  string      `json:"version,omitempty"`
	Protocol int         `json:"protocol,omitempty"`
	Source   string      `json:"source"`
	SHA256   string      `json:"sha256,omitempty"`
}

// Of is the identity of a plugin that started and described itself.
func Of(d pluginhost.Described) Identity {
	id := Unstarted(d.Candidate)
	id.Version, id.Protocol, id.SHA256 = d.Info.Version, d.Protocol, hex.EncodeToString(d.SHA256)
	return id
}

// Unstarted is what discovery alone knows of a candidate: the identity of a
// plugin that could not be started.
func Unstarted(c pluginhost.Candidate) Identity {
	return Identity{Kind: c.Ref.Kind, Name: c.Ref.Name, Source: c.Source()}
}
