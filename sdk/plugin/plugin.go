// Package plugin is what an icnnlab plugin author imports: the plugin
// kinds and their Go interfaces, the parameter schema and its validator,
// the contracts a returned graph must meet, and Serve for a plugin's main.
//
// A plugin is a separate process that the host starts through
// hashicorp/go-plugin and talks to over gRPC (protocol/v1). Mask and loss
// plugins return graphs in the sdk/graph IR, which the host's backend
// compiles, so their math runs on the backend's device with no per-step
// traffic; metric and visualizer plugins receive activations streamed in
// chunks.
//
// A minimal mask plugin:
//
//	type identity struct{}
//
//	func (identity) Info() plugin.Info {
//		return plugin.Info{Kind: plugin.KindMask, Name: "none", Version: "1.0.0",
//			Description: "no mask: masked = features"}
//	}
//
//	func (identity) BuildMask(ctx context.Context, r plugin.MaskRequest) (*graph.Graph, error) {
//		g := graph.New("none")
//		g.SetOutput("masked", g.Input("features", tensor.Float32, r.Batch, r.Channels, r.Height, r.Width))
//		return g, g.Err()
//	}
//
//	func main() {
//		if err := plugin.Serve(identity{}); err != nil {
//			log.Fatal(err)
//		}
//	}
package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// Info describes a plugin.
type Info struct {
	Kind        Kind
	Name        string
	Version     string // semantic version, e.g. "1.2.0"
	Description string
	// ParamSchema declares the parameters; nil means none.
	ParamSchema *Schema
}

// Check reports whether the info is complete and well formed.
func (i Info) Check() error {
	if _, err := ParseKind(string(i.Kind)); err != nil {
		return err
	}
	if err := CheckName(i.Name); err != nil {
		return err
	}
	if err := CheckSemver(i.Version); err != nil {
		return fmt.Errorf("plugin %s/%s: %w", i.Kind.Plural(), i.Name, err)
	}
	if err := i.ParamSchema.Check(); err != nil {
		return fmt.Errorf("plugin %s/%s: %w", i.Kind.Plural(), i.Name, err)
	}
	return nil
}

// Plugin is what every kind implements.
type Plugin interface {
	Info() Info
}

// Mask names and tensor layout of a mask subgraph.
const (
	MaskInput  = "features" // input [B, C, H, W]
	MaskOutput = "masked"   // output, same shape and dtype as the input

	// MaskTemplate is the optional output [B, C, H, W], same dtype as the
	// input: the template each map was multiplied by. The host feeds it to
	// a loss that asks for LossMask.
	MaskTemplate = "mask"
	// MaskAuxLoss is the optional float scalar output [] the host adds to
	// the training loss (variants with learned parameters declare it).
	MaskAuxLoss = "aux_loss"
)

// MaskRequest asks for the mask subgraph of one layer.
type MaskRequest struct {
	Params                         json.RawMessage // validated against the schema, defaults filled in
	Layer                          string          // the layer's name in the host network
	Batch, Channels, Height, Width int
}

// Mask plugins return a subgraph with input "features" [B, C, H, W] and
// output "masked" of the same shape. They may declare params, states with
// update rules, the optional outputs "mask" (MaskTemplate) and "aux_loss"
// (MaskAuxLoss), and further outputs the host ignores.
type Mask interface {
	Plugin
	BuildMask(ctx context.Context, req MaskRequest) (*graph.Graph, error)
}

// Loss names and tensor layout of a loss subgraph.
const (
	LossFeatures = "features" // input [B, C, H, W]
	LossLabels   = "labels"   // input [B, Classes]
	LossOutput   = "loss"     // float scalar, set with Graph.SetLoss

	// LossMask is the optional input [B, C, H, W] through which the host
	// feeds the layer's mask plugin output MaskTemplate (the template each
	// map was multiplied by), for losses defined on the masked maps.
	LossMask = MaskTemplate
	// LossEpoch is the optional float scalar input [] holding the 1-based
	// training epoch, for losses that carry their own schedule.
	LossEpoch = "epoch"
)

// Tasks a loss is built for.
const (
	TaskSingle = "single" // one class per image (softmax)
	TaskMulti  = "multi"  // independent binary labels per class
)

// LossRequest asks for the loss subgraph of one layer.
type LossRequest struct {
	Params                                  json.RawMessage
	Layer                                   string
	Batch, Channels, Height, Width, Classes int
	Task                                    string // TaskSingle or TaskMulti
}

// Loss plugins return a subgraph with inputs "features" [B, C, H, W] and
// (optionally) "labels" [B, Classes], and a scalar loss set with SetLoss.
type Loss interface {
	Plugin
	BuildLoss(ctx context.Context, req LossRequest) (*graph.Graph, error)
}

// StreamRequest is the non-tensor part of a metric or visualizer call.
type StreamRequest struct {
	Params json.RawMessage
	// Meta is host-provided JSON: architecture and receptive-field
	// geometry, annotations, … as the calling command documents.
	Meta json.RawMessage
}

// MetricRequest and VisualizeRequest are the requests of their kinds.
type (
	MetricRequest    = StreamRequest
	VisualizeRequest = StreamRequest
)

// TensorStream yields named tensors one at a time; Next returns io.EOF
// after the last one. Activations for metrics and visualizers arrive this
// way, streamed in chunks, so a plugin need not hold them all at once.
type TensorStream interface {
	Next() (name string, t *tensor.Tensor, err error)
}

// NamedTensor pairs a tensor with its name.
type NamedTensor struct {
	Name   string
	Tensor *tensor.Tensor
}

// Tensors returns a TensorStream over a fixed list.
func Tensors(ts ...NamedTensor) TensorStream { return &sliceStream{ts: ts} }

type sliceStream struct{ ts []NamedTensor }

func (s *sliceStream) Next() (string, *tensor.Tensor, error) {
	if len(s.ts) == 0 {
		return "", nil, io.EOF
	}
	t := s.ts[0]
	s.ts = s.ts[1:]
	return t.Name, t.Tensor, nil
}

// ReadAll drains a TensorStream.
func ReadAll(s TensorStream) ([]NamedTensor, error) {
	var out []NamedTensor
	for {
		name, t, err := s.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, NamedTensor{Name: name, Tensor: t})
	}
}

// Metric plugins compute JSON results from activations.
type Metric interface {
	Plugin
	Evaluate(ctx context.Context, req MetricRequest, activations TensorStream) (json.RawMessage, error)
}

// File is one output of a visualizer. Name is a relative, slash-separated
// path; the host refuses absolute paths and "..".
type File struct {
	Name string
	Data []byte
}

// Visualizer plugins render files from activations.
type Visualizer interface {
	Plugin
	Render(ctx context.Context, req VisualizeRequest, activations TensorStream) ([]File, error)
}
