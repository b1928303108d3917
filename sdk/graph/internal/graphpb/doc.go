// Package graphpb is the generated protobuf code of the serialised graph
// format (sdk/graph/proto/icnnlab/graph/v1/graph.proto); use graph.Marshal
// and graph.Unmarshal instead of these types.
//
// Regenerate (protoc-gen-go v1.36.12) with `cd sdk && go generate ./graph`.
package graphpb
