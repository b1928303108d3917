package protocolv1

import (
	"context"
	"errors"
	"fmt"
	"io"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/icnnlab/icnnlab/sdk/plugin/protocol/v1/internal/pluginv1"
)

// The gRPC servers below adapt the Go interfaces of this package to the
// generated services. Errors returned by the implementation travel as
// gRPC status Unknown with the error's text; malformed requests as
// InvalidArgument.

func invalid(format string, args ...any) error {
	return status.Error(codes.InvalidArgument, fmt.Sprintf(format, args...))
}

type maskServer struct {
	pluginv1.UnimplementedMaskServer
	impl Mask
}

func (s *maskServer) GetInfo(ctx context.Context, _ *pluginv1.GetInfoRequest) (*pluginv1.Info, error) {
	info, err := s.impl.GetInfo(ctx)
	if err != nil {
		return nil, err
	}
	return infoToProto(info), nil
}

func (s *maskServer) BuildMask(ctx context.Context, in *pluginv1.BuildMaskRequest) (*pluginv1.GraphResponse, error) {
	req, err := maskRequestFromProto(in)
	if err != nil {
		return nil, invalid("BuildMask: %v", err)
	}
	g, err := s.impl.BuildMask(ctx, req)
	if err != nil {
		return nil, err
	}
	return &pluginv1.GraphResponse{Graph: g}, nil
}

type lossServer struct {
	pluginv1.UnimplementedLossServer
	impl Loss
}

func (s *lossServer) GetInfo(ctx context.Context, _ *pluginv1.GetInfoRequest) (*pluginv1.Info, error) {
	info, err := s.impl.GetInfo(ctx)
	if err != nil {
		return nil, err
	}
	return infoToProto(info), nil
}

func (s *lossServer) BuildLoss(ctx context.Context, in *pluginv1.BuildLossRequest) (*pluginv1.GraphResponse, error) {
	req, err := lossRequestFromProto(in)
	if err != nil {
		return nil, invalid("BuildLoss: %v", err)
	}
	g, err := s.impl.BuildLoss(ctx, req)
	if err != nil {
		return nil, err
	}
	return &pluginv1.GraphResponse{Graph: g}, nil
}

// receiveHeader reads the StreamHeader that opens every streamed input.
func receiveHeader(recv func() (*pluginv1.StreamedInput, error)) (StreamRequest, error) {
	msg, err := recv()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return StreamRequest{}, invalid("stream ended before its header")
		}
		return StreamRequest{}, err
	}
	h := msg.GetHeader()
	if h == nil {
		return StreamRequest{}, invalid("stream must start with a header, got %T", msg.GetPart())
	}
	return StreamRequest{Params: h.GetParamsJson(), Meta: h.GetMetaJson()}, nil
}

type metricServer struct {
	pluginv1.UnimplementedMetricServer
	impl Metric
}

func (s *metricServer) GetInfo(ctx context.Context, _ *pluginv1.GetInfoRequest) (*pluginv1.Info, error) {
	info, err := s.impl.GetInfo(ctx)
	if err != nil {
		return nil, err
	}
	return infoToProto(info), nil
}

func (s *metricServer) Evaluate(stream pluginv1.Metric_EvaluateServer) error {
	req, err := receiveHeader(stream.Recv)
	if err != nil {
		return err
	}
	result, err := s.impl.Evaluate(stream.Context(), req, &streamReader{recv: stream.Recv})
	if err != nil {
		return err
	}
	return stream.SendAndClose(&pluginv1.EvaluateResponse{ResultJson: result})
}

type visualizerServer struct {
	pluginv1.UnimplementedVisualizerServer
	impl Visualizer
}

func (s *visualizerServer) GetInfo(ctx context.Context, _ *pluginv1.GetInfoRequest) (*pluginv1.Info, error) {
	info, err := s.impl.GetInfo(ctx)
	if err != nil {
		return nil, err
	}
	return infoToProto(info), nil
}

func (s *visualizerServer) Render(stream pluginv1.Visualizer_RenderServer) error {
	req, err := receiveHeader(stream.Recv)
	if err != nil {
		return err
	}
	files, err := s.impl.Render(stream.Context(), req, &streamReader{recv: stream.Recv})
	if err != nil {
		return err
	}
	return sendFiles(stream.Send, files)
}
