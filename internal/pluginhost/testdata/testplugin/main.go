// Command testplugin is the plugin binary of pluginhost's tests. It is
// built once per test run and copied under several names; what it serves
// is chosen by its file name, icnnlab-plugin-<kind>-<name>:
//
//	mask-none       identity mask (masked = features), a genuine plugin
//	mask-scale      masked = scale·features, parameter "scale" (default 2)
//	mask-bigconst   identity plus an 8 MiB constant output "bank", to
//	                exercise the raised gRPC message limits
//	mask-crash      crashes the process inside BuildMask
//	mask-panic      panics inside BuildMask (the SDK recovers it)
//	mask-hang       never answers BuildMask
//	mask-malformed  answers BuildMask with bytes that are not a graph
//	mask-wrongshape answers with a graph whose "masked" has the wrong shape
//	mask-nanconst   answers with a graph holding a NaN constant
//	mask-impostor   claims to be masks/someone-else
//	loss-meansq     loss = mean(features²)
//	metric-stats    per tensor: shape, count, sum and mean of the elements
//	visualizer-dump one raw little-endian file per tensor plus index.txt
//
// It imports only sdk packages, like any third-party plugin.
package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/plugin"
	"github.com/icnnlab/icnnlab/sdk/plugin/protocol"
	protocolv1 "github.com/icnnlab/icnnlab/sdk/plugin/protocol/v1"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

func main() {
	base := strings.TrimSuffix(filepath.Base(os.Args[0]), ".exe")
	role := strings.TrimPrefix(base, "icnnlab-plugin-")
	var err error
	switch role {
	case "mask-none":
		err = plugin.Serve(mask{name: "none", build: identity})
	case "mask-scale":
		err = plugin.Serve(mask{name: "scale", schema: scaleSchema, build: scale})
	case "mask-bigconst":
		err = plugin.Serve(mask{name: "bigconst", build: bigConst})
	case "mask-crash":
		err = plugin.Serve(mask{name: "crash", build: func(plugin.MaskRequest) (*graph.Graph, error) {
			// A panic in another goroutine cannot be recovered by the SDK:
			// the runtime prints it to stderr and ends the process.
			go panic("crash-test: exiting on purpose")
			select {}
		}})
	case "mask-panic":
		err = plugin.Serve(mask{name: "panic", build: func(plugin.MaskRequest) (*graph.Graph, error) {
			panic("boom")
		}})
	case "mask-hang":
		err = plugin.Serve(mask{name: "hang", build: func(plugin.MaskRequest) (*graph.Graph, error) {
			select {} // ignores its context, like a plugin stuck in a loop
		}})
	case "mask-malformed":
		serveRaw(rawMask{name: "malformed", answer: func(protocolv1.MaskRequest) ([]byte, error) {
			return []byte("this is not a graph"), nil
		}})
	case "mask-wrongshape":
		serveRaw(rawMask{name: "wrongshape", answer: func(r protocolv1.MaskRequest) ([]byte, error) {
			g := graph.New("wrongshape")
			x := g.Input(plugin.MaskInput, tensor.Float32, r.Batch, r.Channels, r.Height, r.Width)
			g.SetOutput(plugin.MaskOutput, g.Sum(x, 3))
			if err := g.Err(); err != nil {
				return nil, err
			}
			return graph.Marshal(g)
		}})
	case "mask-nanconst":
		serveRaw(rawMask{name: "nanconst", answer: func(r protocolv1.MaskRequest) ([]byte, error) {
			g := graph.New("nanconst")
			x := g.Input(plugin.MaskInput, tensor.Float32, r.Batch, r.Channels, r.Height, r.Width)
			bank := tensor.MustFloat32(tensor.Shape{3}, []float32{1, float32(math.NaN()), 2})
			g.SetOutput(plugin.MaskOutput, x)
			g.SetOutput("bank", g.Const(bank))
			if err := g.Err(); err != nil {
				return nil, err
			}
			return graph.Marshal(g)
		}})
	case "mask-impostor":
		serveRaw(rawMask{name: "someone-else"})
	case "loss-meansq":
		err = plugin.Serve(meanSquare{})
	case "metric-stats":
		err = plugin.Serve(stats{})
	case "visualizer-dump":
		err = plugin.Serve(dump{})
	default:
		err = fmt.Errorf("testplugin: no behaviour for file name %q", base)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

type mask struct {
	name   string
	schema *plugin.Schema
	build  func(plugin.MaskRequest) (*graph.Graph, error)
}

func (m mask) Info() plugin.Info {
	return plugin.Info{Kind: plugin.KindMask, Name: m.name, Version: "0.1.0",
		Description: "test mask " + m.name, ParamSchema: m.schema}
}

func (m mask) BuildMask(_ context.Context, r plugin.MaskRequest) (*graph.Graph, error) {
	return m.build(r)
}

func features(g *graph.Graph, r plugin.MaskRequest) *graph.Node {
	return g.Input(plugin.MaskInput, tensor.Float32, r.Batch, r.Channels, r.Height, r.Width)
}

func identity(r plugin.MaskRequest) (*graph.Graph, error) {
	g := graph.New("none")
	g.SetOutput(plugin.MaskOutput, features(g, r))
	return g, g.Err()
}

func ptr(v float64) *float64 { return &v }

var scaleSchema = &plugin.Schema{Type: "object", Properties: map[string]*plugin.Property{
	"scale": {Type: plugin.TypeNumber, Description: "factor applied to the features", Default: json.RawMessage("2"), Minimum: ptr(0)},
}}

func scale(r plugin.MaskRequest) (*graph.Graph, error) {
	var p struct{ Scale float64 }
	if err := json.Unmarshal(r.Params, &p); err != nil {
		return nil, err
	}
	g := graph.New("scale")
	g.SetOutput(plugin.MaskOutput, g.MulScalar(features(g, r), p.Scale))
	return g, g.Err()
}

func bigConst(r plugin.MaskRequest) (*graph.Graph, error) {
	g := graph.New("bigconst")
	g.SetOutput(plugin.MaskOutput, features(g, r))
	bank := make([]float32, 2<<20) // 8 MiB
	for i := range bank {
		bank[i] = float32(i % 1000)
	}
	g.SetOutput("bank", g.Const(tensor.MustFloat32(tensor.Shape{len(bank)}, bank)))
	return g, g.Err()
}

// rawMask serves protocol v1 directly, bypassing the SDK's checks, the way
// a buggy plugin in another language could.
type rawMask struct {
	name   string
	answer func(protocolv1.MaskRequest) ([]byte, error)
}

func (m rawMask) GetInfo(context.Context) (protocolv1.Info, error) {
	return protocolv1.Info{Kind: "mask", Name: m.name, Version: "0.1.0"}, nil
}

func (m rawMask) BuildMask(_ context.Context, r protocolv1.MaskRequest) ([]byte, error) {
	if m.answer == nil {
		return nil, errors.New("not implemented")
	}
	return m.answer(r)
}

func serveRaw(m protocolv1.Mask) {
	set, err := protocolv1.ServerPlugins(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig:  protocol.Handshake,
		VersionedPlugins: map[int]goplugin.PluginSet{protocolv1.Version: set},
		GRPCServer: func(o []grpc.ServerOption) *grpc.Server {
			return grpc.NewServer(append(o, grpc.MaxRecvMsgSize(protocol.MaxMessageBytes), grpc.MaxSendMsgSize(protocol.MaxMessageBytes))...)
		},
	})
}

type meanSquare struct{}

func (meanSquare) Info() plugin.Info {
	return plugin.Info{Kind: plugin.KindLoss, Name: "meansq", Version: "0.1.0", Description: "mean of squared features"}
}

func (meanSquare) BuildLoss(_ context.Context, r plugin.LossRequest) (*graph.Graph, error) {
	g := graph.New("meansq")
	x := g.Input(plugin.LossFeatures, tensor.Float32, r.Batch, r.Channels, r.Height, r.Width)
	g.Input(plugin.LossLabels, tensor.Float32, r.Batch, r.Classes)
	g.SetLoss(g.Mean(g.Square(x)))
	return g, g.Err()
}

type stats struct{}

func (stats) Info() plugin.Info {
	return plugin.Info{Kind: plugin.KindMetric, Name: "stats", Version: "0.1.0", Description: "count, sum and mean of each tensor"}
}

type tensorStats struct {
	Shape []int   `json:"shape"`
	Count int     `json:"count"`
	Sum   float64 `json:"sum"`
	Mean  float64 `json:"mean"`
}

func (stats) Evaluate(_ context.Context, _ plugin.MetricRequest, in plugin.TensorStream) (json.RawMessage, error) {
	out := map[string]tensorStats{}
	for {
		name, t, err := in.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		s := tensorStats{Shape: t.Shape(), Count: t.Len()}
		for i := range t.Len() {
			s.Sum += t.Float64At(i)
		}
		if s.Count > 0 {
			s.Mean = s.Sum / float64(s.Count)
		}
		out[name] = s
	}
	return json.Marshal(out)
}

type dump struct{}

func (dump) Info() plugin.Info {
	return plugin.Info{Kind: plugin.KindVisualizer, Name: "dump", Version: "0.1.0", Description: "raw float32 dump of each tensor"}
}

func (dump) Render(_ context.Context, _ plugin.VisualizeRequest, in plugin.TensorStream) ([]plugin.File, error) {
	var files []plugin.File
	var index strings.Builder
	for {
		name, t, err := in.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		data := make([]byte, 0, 4*t.Len())
		for i := range t.Len() {
			data = binary.LittleEndian.AppendUint32(data, math.Float32bits(float32(t.Float64At(i))))
		}
		files = append(files, plugin.File{Name: "tensors/" + name + ".f32", Data: data})
		fmt.Fprintf(&index, "%s %v\n", name, t.Shape())
	}
	return append(files, plugin.File{Name: "index.txt", Data: []byte(index.String())}), nil
}
