// Package protocol holds what every version of the icnnlab plugin protocol
// shares: the go-plugin handshake, message size limits and the chunk size
// used when tensors and files are streamed.
//
// Each protocol major version lives in its own package (protocol/v1, …),
// the way terraform-plugin-go keeps tfprotov5 and tfprotov6 apart; a host
// offers every version it speaks through go-plugin's VersionedPlugins and
// the plugin answers with the highest one it serves.
package protocol

import (
	goplugin "github.com/hashicorp/go-plugin"
)

const (
	// MagicCookieKey and MagicCookieValue are go-plugin's handshake cookie.
	// It is not a secret: it only stops a user from running a plugin binary
	// by hand and wondering why it prints a handshake line and waits.
	MagicCookieKey   = "ICNNLAB_PLUGIN"
	MagicCookieValue = "3f1d7c2a9b8e4d60a5c1f0e2b7d94c18interpretable-cnn"

	// MaxMessageBytes is the largest gRPC message either side accepts.
	// gRPC's default receive limit is 4 MiB, too small for a mask graph
	// carrying a template bank; 256 MiB is Terraform's choice. Tensors and
	// files are streamed in ChunkBytes pieces and never need it.
	MaxMessageBytes = 256 << 20

	// ChunkBytes is the most tensor or file data one streamed message
	// carries.
	ChunkBytes = 1 << 20
)

// Handshake is the go-plugin handshake shared by the host and every plugin.
// ProtocolVersion is only the fallback for a peer that does not negotiate;
// VersionedPlugins on both sides decide the version actually spoken.
var Handshake = goplugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   MagicCookieKey,
	MagicCookieValue: MagicCookieValue,
}
