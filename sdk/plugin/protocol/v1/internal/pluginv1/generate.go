// Package pluginv1 holds the generated protobuf and gRPC code of plugin
// protocol version 1. It is internal: plugin authors and the host use the
// Go types and converters of the parent package instead, so the wire format
// can evolve without breaking their code.
package pluginv1

// Generators pinned: protoc-gen-go v1.36.12, protoc-gen-go-grpc v1.6.2.
//go:generate protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative plugin.proto
