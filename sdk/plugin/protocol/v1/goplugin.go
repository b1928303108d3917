package protocolv1

import (
	"context"
	"errors"
	"fmt"
	"net/rpc"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/icnnlab/icnnlab/sdk/plugin/protocol/v1/internal/pluginv1"
)

// grpcOnly implements the net/rpc half of goplugin.Plugin by refusing it:
// icnnlab plugins speak gRPC only.
type grpcOnly struct{}

var errGRPCOnly = errors.New("icnnlab plugins speak gRPC only")

func (grpcOnly) Server(*goplugin.MuxBroker) (any, error)              { return nil, errGRPCOnly }
func (grpcOnly) Client(*goplugin.MuxBroker, *rpc.Client) (any, error) { return nil, errGRPCOnly }

// MaskPlugin carries a Mask over go-plugin. Impl is set on the plugin
// side only; on the host side Dispense returns a Mask client.
type MaskPlugin struct {
	grpcOnly
	Impl Mask
}

func (p *MaskPlugin) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	pluginv1.RegisterMaskServer(s, &maskServer{impl: p.Impl})
	return nil
}

func (p *MaskPlugin) GRPCClient(_ context.Context, _ *goplugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return Mask(&maskClient{c: pluginv1.NewMaskClient(c)}), nil
}

// LossPlugin carries a Loss over go-plugin.
type LossPlugin struct {
	grpcOnly
	Impl Loss
}

func (p *LossPlugin) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	pluginv1.RegisterLossServer(s, &lossServer{impl: p.Impl})
	return nil
}

func (p *LossPlugin) GRPCClient(_ context.Context, _ *goplugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return Loss(&lossClient{c: pluginv1.NewLossClient(c)}), nil
}

// MetricPlugin carries a Metric over go-plugin.
type MetricPlugin struct {
	grpcOnly
	Impl Metric
}

func (p *MetricPlugin) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	pluginv1.RegisterMetricServer(s, &metricServer{impl: p.Impl})
	return nil
}

func (p *MetricPlugin) GRPCClient(_ context.Context, _ *goplugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return Metric(&metricClient{c: pluginv1.NewMetricClient(c)}), nil
}

// VisualizerPlugin carries a Visualizer over go-plugin.
type VisualizerPlugin struct {
	grpcOnly
	Impl Visualizer
}

func (p *VisualizerPlugin) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	pluginv1.RegisterVisualizerServer(s, &visualizerServer{impl: p.Impl})
	return nil
}

func (p *VisualizerPlugin) GRPCClient(_ context.Context, _ *goplugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return Visualizer(&visualizerClient{c: pluginv1.NewVisualizerClient(c)}), nil
}

// ClientPlugins is the host's PluginSet for protocol version 1: every kind,
// so that any plugin can be dispensed by its kind name.
func ClientPlugins() goplugin.PluginSet {
	return goplugin.PluginSet{
		KindMask:       &MaskPlugin{},
		KindLoss:       &LossPlugin{},
		KindMetric:     &MetricPlugin{},
		KindVisualizer: &VisualizerPlugin{},
	}
}

// ServerPlugins is a plugin process's PluginSet for protocol version 1:
// exactly the one kind impl implements.
func ServerPlugins(impl any) (goplugin.PluginSet, error) {
	switch impl := impl.(type) {
	case Mask:
		return goplugin.PluginSet{KindMask: &MaskPlugin{Impl: impl}}, nil
	case Loss:
		return goplugin.PluginSet{KindLoss: &LossPlugin{Impl: impl}}, nil
	case Metric:
		return goplugin.PluginSet{KindMetric: &MetricPlugin{Impl: impl}}, nil
	case Visualizer:
		return goplugin.PluginSet{KindVisualizer: &VisualizerPlugin{Impl: impl}}, nil
	}
	return nil, fmt.Errorf("protocol v1: %T implements none of Mask, Loss, Metric, Visualizer", impl)
}
