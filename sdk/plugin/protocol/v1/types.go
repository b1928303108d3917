// Package protocolv1 is version 1 of the icnnlab plugin protocol, as Go
// types: the interfaces both sides implement, the go-plugin glue that
// carries them over gRPC, and the converters to and from the generated
// protobuf code (kept in an internal package so that it can change
// without breaking anybody).
//
// Plugin authors do not use this package directly: sdk/plugin adapts the
// author-facing interfaces to it. The host uses the clients it returns and
// adds validation, timeouts and error naming on top (internal/pluginhost).
package protocolv1

import (
	"context"
	"errors"
	"fmt"

	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// Version is this package's protocol major version, the key of
// go-plugin's VersionedPlugins.
const Version = 1

// Plugin names for go-plugin's PluginSet, one per kind.
const (
	KindMask       = "mask"
	KindLoss       = "loss"
	KindMetric     = "metric"
	KindVisualizer = "visualizer"
)

// Info describes a plugin. ParamSchema is JSON (a subset of JSON Schema);
// empty means the plugin takes no parameters.
type Info struct {
	Kind        string
	Name        string
	Version     string
	Description string
	ParamSchema []byte
}

// MaskRequest asks a mask plugin for its subgraph for one layer.
type MaskRequest struct {
	Params                         []byte
	Layer                          string
	Batch, Channels, Height, Width int
}

// LossRequest asks a loss plugin for its subgraph for one layer.
type LossRequest struct {
	Params                                  []byte
	Layer                                   string
	Batch, Channels, Height, Width, Classes int
	Task                                    string
}

// StreamRequest is the non-tensor part of a metric or visualizer call.
type StreamRequest struct {
	Params []byte
	Meta   []byte
}

// TensorReader yields named tensors one at a time; Next returns io.EOF
// after the last one.
type TensorReader interface {
	Next() (name string, t *tensor.Tensor, err error)
}

// File is one output file of a visualizer.
type File struct {
	Name string
	Data []byte
}

// Mask is served by mask plugins. BuildMask returns sdk/graph.Marshal bytes.
type Mask interface {
	GetInfo(ctx context.Context) (Info, error)
	BuildMask(ctx context.Context, req MaskRequest) ([]byte, error)
}

// Loss is served by loss plugins. BuildLoss returns sdk/graph.Marshal bytes.
type Loss interface {
	GetInfo(ctx context.Context) (Info, error)
	BuildLoss(ctx context.Context, req LossRequest) ([]byte, error)
}

// Metric is served by metric plugins. The result is JSON.
type Metric interface {
	GetInfo(ctx context.Context) (Info, error)
	Evaluate(ctx context.Context, req StreamRequest, activations TensorReader) ([]byte, error)
}

// Visualizer is served by visualizer plugins.
type Visualizer interface {
	GetInfo(ctx context.Context) (Info, error)
	Render(ctx context.Context, req StreamRequest, activations TensorReader) ([]File, error)
}

// PluginError is an error that the plugin's own code returned, as opposed
// to a failure of the connection or the process.
type PluginError struct {
	Method  string
	Message string
}

func (e *PluginError) Error() string { return fmt.Sprintf("%s: %s", e.Method, e.Message) }

// IsPluginError reports whether err came from the plugin's own code.
func IsPluginError(err error) bool {
	var pe *PluginError
	return errors.As(err, &pe)
}
