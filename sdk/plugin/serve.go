package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/plugin/protocol"
	protocolv1 "github.com/icnnlab/icnnlab/sdk/plugin/protocol/v1"
)

// ServeOpt configures Serve.
type ServeOpt func(*serveConfig) error

type serveConfig struct {
	logger hclog.Logger
	test   *goplugin.ServeTestConfig
}

// WithLogger sets the logger go-plugin uses in the plugin process. Its
// output goes to stderr, which the host shows in its own log.
func WithLogger(l hclog.Logger) ServeOpt {
	return func(c *serveConfig) error { c.logger = l; return nil }
}

// WithTestConfig serves in-process for tests and debuggers instead of
// taking over the process: go-plugin sends a ReattachConfig on
// tc.ReattachConfigCh that a host connects to, and stops when tc.Context
// is cancelled.
func WithTestConfig(tc *goplugin.ServeTestConfig) ServeOpt {
	return func(c *serveConfig) error {
		if tc == nil || tc.Context == nil {
			return fmt.Errorf("WithTestConfig needs a config with a Context")
		}
		c.test = tc
		return nil
	}
}

// Serve runs p as a plugin process: it answers go-plugin's handshake on
// stdout and serves p's kind over gRPC until the host stops it. Call it
// from main. p must implement exactly one of Mask, Loss, Metric and
// Visualizer, matching p.Info().Kind.
func Serve(p Plugin, opts ...ServeOpt) error {
	var conf serveConfig
	for _, o := range opts {
		if err := o(&conf); err != nil {
			return err
		}
	}
	server, err := NewServerV1(p)
	if err != nil {
		return err
	}
	set, err := protocolv1.ServerPlugins(server)
	if err != nil {
		return err
	}
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig:  protocol.Handshake,
		VersionedPlugins: map[int]goplugin.PluginSet{protocolv1.Version: set},
		GRPCServer: func(o []grpc.ServerOption) *grpc.Server {
			o = append(o, grpc.MaxRecvMsgSize(protocol.MaxMessageBytes), grpc.MaxSendMsgSize(protocol.MaxMessageBytes))
			return grpc.NewServer(o...)
		},
		Logger: conf.logger,
		Test:   conf.test,
	})
	return nil
}

// NewServerV1 adapts p to the protocol v1 interface of its kind
// (protocolv1.Mask, …). Serve uses it; it is exported for hosts that
// embed a plugin without a process boundary in tests.
func NewServerV1(p Plugin) (any, error) {
	if p == nil {
		return nil, fmt.Errorf("serve: plugin is nil")
	}
	info := p.Info()
	if err := info.Check(); err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	wire, err := infoToV1(info)
	if err != nil {
		return nil, fmt.Errorf("serve %s/%s: %w", info.Kind.Plural(), info.Name, err)
	}
	b := base{info: info, wire: wire}
	var server any
	switch info.Kind {
	case KindMask:
		if impl, ok := p.(Mask); ok {
			server = &maskServer{base: b, impl: impl}
		}
	case KindLoss:
		if impl, ok := p.(Loss); ok {
			server = &lossServer{base: b, impl: impl}
		}
	case KindMetric:
		if impl, ok := p.(Metric); ok {
			server = &metricServer{base: b, impl: impl}
		}
	case KindVisualizer:
		if impl, ok := p.(Visualizer); ok {
			server = &visualizerServer{base: b, impl: impl}
		}
	}
	if server == nil {
		return nil, fmt.Errorf("serve %s/%s: Info says kind %q but %T does not implement its interface", info.Kind.Plural(), info.Name, info.Kind, p)
	}
	return server, nil
}

// infoToV1 encodes Info in the protocol's form.
func infoToV1(i Info) (protocolv1.Info, error) {
	var schema []byte
	if i.ParamSchema != nil {
		var err error
		if schema, err = json.Marshal(i.ParamSchema); err != nil {
			return protocolv1.Info{}, fmt.Errorf("encode parameter schema: %w", err)
		}
	}
	return protocolv1.Info{Kind: string(i.Kind), Name: i.Name, Version: i.Version, Description: i.Description, ParamSchema: schema}, nil
}

// InfoFromV1 decodes and checks the Info a plugin sent.
func InfoFromV1(w protocolv1.Info) (Info, error) {
	kind, err := ParseKind(w.Kind)
	if err != nil {
		return Info{}, err
	}
	schema, err := ParseSchema(w.ParamSchema)
	if err != nil {
		return Info{}, err
	}
	info := Info{Kind: kind, Name: w.Name, Version: w.Version, Description: w.Description, ParamSchema: schema}
	return info, info.Check()
}

type base struct {
	info Info
	wire protocolv1.Info
}

func (b *base) GetInfo(context.Context) (protocolv1.Info, error) { return b.wire, nil }

// guard runs f, turning a panic into an error so that one bad request does
// not take the plugin process down. The error names the file and line that
// panicked and the plugin's calls that led there, since the host shows it
// to the user; the whole stack goes to stderr, which the host logs.
func guard(method string, f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(os.Stderr, "panic in %s: %v\n%s", method, r, debug.Stack())
			err = fmt.Errorf("panic in %s: %v%s", method, r, panicSite())
		}
	}()
	return f()
}

// panicSite lists the frames from the one that panicked down to the
// plugin's method (at most 8), as "\n    at function (file:line)" lines. Called from
// the deferred recover, so the stack still holds the panicking frames.
func panicSite() string {
	pcs := make([]uintptr, 64)
	n := runtime.Callers(3, pcs) // skip Callers, panicSite and the deferred func
	frames := runtime.CallersFrames(pcs[:n])
	var b strings.Builder
	inPanic := false
	for shown := 0; shown < 8; {
		fr, more := frames.Next()
		switch {
		case strings.HasPrefix(fr.Function, "runtime."):
			// runtime.gopanic and the runtime's own helpers
			// (runtime.panicIndex, …) sit above the culprit.
			inPanic = true
		case inPanic && shown > 0 && strings.HasPrefix(fr.Function, sdkPluginPackage+"."):
			return b.String() // back in Serve's machinery
		case inPanic:
			fmt.Fprintf(&b, "\n    at %s (%s:%d)", fr.Function, fr.File, fr.Line)
			shown++
		}
		if !more {
			break
		}
	}
	return b.String()
}

// sdkPluginPackage is this package's import path, where the stack shown
// for a panic ends.
const sdkPluginPackage = "github.com/icnnlab/icnnlab/sdk/plugin"

type maskServer struct {
	base
	impl Mask
}

func (s *maskServer) BuildMask(ctx context.Context, w protocolv1.MaskRequest) ([]byte, error) {
	params, err := ValidateParams(s.info.ParamSchema, w.Params)
	if err != nil {
		return nil, err
	}
	req := MaskRequest{Params: params, Layer: w.Layer, Batch: w.Batch, Channels: w.Channels, Height: w.Height, Width: w.Width}
	var out []byte
	err = guard("BuildMask", func() error {
		g, err := s.impl.BuildMask(ctx, req)
		if err != nil {
			return err
		}
		if err := CheckMaskGraph(req, g); err != nil {
			return err
		}
		out, err = graph.Marshal(g)
		return err
	})
	return out, err
}

type lossServer struct {
	base
	impl Loss
}

func (s *lossServer) BuildLoss(ctx context.Context, w protocolv1.LossRequest) ([]byte, error) {
	params, err := ValidateParams(s.info.ParamSchema, w.Params)
	if err != nil {
		return nil, err
	}
	req := LossRequest{Params: params, Layer: w.Layer, Batch: w.Batch, Channels: w.Channels, Height: w.Height,
		Width: w.Width, Classes: w.Classes, Task: w.Task}
	var out []byte
	err = guard("BuildLoss", func() error {
		g, err := s.impl.BuildLoss(ctx, req)
		if err != nil {
			return err
		}
		if err := CheckLossGraph(req, g); err != nil {
			return err
		}
		out, err = graph.Marshal(g)
		return err
	})
	return out, err
}

type metricServer struct {
	base
	impl Metric
}

func (s *metricServer) Evaluate(ctx context.Context, w protocolv1.StreamRequest, activations protocolv1.TensorReader) ([]byte, error) {
	params, err := ValidateParams(s.info.ParamSchema, w.Params)
	if err != nil {
		return nil, err
	}
	var out []byte
	err = guard("Evaluate", func() error {
		res, err := s.impl.Evaluate(ctx, MetricRequest{Params: params, Meta: w.Meta}, activations)
		if err != nil {
			return err
		}
		if !json.Valid(res) {
			return fmt.Errorf("Evaluate returned invalid JSON (%d bytes)", len(res))
		}
		out = res
		return nil
	})
	return out, err
}

type visualizerServer struct {
	base
	impl Visualizer
}

func (s *visualizerServer) Render(ctx context.Context, w protocolv1.StreamRequest, activations protocolv1.TensorReader) ([]protocolv1.File, error) {
	params, err := ValidateParams(s.info.ParamSchema, w.Params)
	if err != nil {
		return nil, err
	}
	var out []protocolv1.File
	err = guard("Render", func() error {
		files, err := s.impl.Render(ctx, VisualizeRequest{Params: params, Meta: w.Meta}, activations)
		if err != nil {
			return err
		}
		for _, f := range files {
			if err := CheckFileName(f.Name); err != nil {
				return err
			}
			out = append(out, protocolv1.File{Name: f.Name, Data: f.Data})
		}
		return nil
	})
	return out, err
}

// CheckFileName reports whether a visualizer output name is a clean
// relative slash-separated path that stays inside the output directory.
func CheckFileName(name string) error {
	if name == "" || path.IsAbs(name) || strings.Contains(name, `\`) || path.Clean(name) != name ||
		name == ".." || strings.HasPrefix(name, "../") {
		return fmt.Errorf("output file name %q must be a clean relative path without \"..\"", name)
	}
	return nil
}
