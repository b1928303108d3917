package protocolv1

import (
	"context"
	"errors"
	"io"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/icnnlab/icnnlab/sdk/plugin/protocol/v1/internal/pluginv1"
)

// The gRPC clients below implement this package's interfaces on the host
// side. Errors the plugin's code returned become *PluginError; transport
// failures (the process died, the deadline passed) stay gRPC status errors
// so that the host can tell them apart.

func fromStatus(method string, err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if ok && st.Code() == codes.Unknown {
		return &PluginError{Method: method, Message: st.Message()}
	}
	return err
}

type maskClient struct{ c pluginv1.MaskClient }

func (m *maskClient) GetInfo(ctx context.Context) (Info, error) {
	info, err := m.c.GetInfo(ctx, &pluginv1.GetInfoRequest{})
	if err != nil {
		return Info{}, fromStatus("GetInfo", err)
	}
	return infoFromProto(info), nil
}

func (m *maskClient) BuildMask(ctx context.Context, req MaskRequest) ([]byte, error) {
	resp, err := m.c.BuildMask(ctx, maskRequestToProto(req))
	if err != nil {
		return nil, fromStatus("BuildMask", err)
	}
	return resp.GetGraph(), nil
}

type lossClient struct{ c pluginv1.LossClient }

func (l *lossClient) GetInfo(ctx context.Context) (Info, error) {
	info, err := l.c.GetInfo(ctx, &pluginv1.GetInfoRequest{})
	if err != nil {
		return Info{}, fromStatus("GetInfo", err)
	}
	return infoFromProto(info), nil
}

func (l *lossClient) BuildLoss(ctx context.Context, req LossRequest) ([]byte, error) {
	resp, err := l.c.BuildLoss(ctx, lossRequestToProto(req))
	if err != nil {
		return nil, fromStatus("BuildLoss", err)
	}
	return resp.GetGraph(), nil
}

func sendHeader(send func(*pluginv1.StreamedInput) error, req StreamRequest) error {
	return send(&pluginv1.StreamedInput{Part: &pluginv1.StreamedInput_Header{
		Header: &pluginv1.StreamHeader{ParamsJson: req.Params, MetaJson: req.Meta},
	}})
}

type metricClient struct{ c pluginv1.MetricClient }

func (m *metricClient) GetInfo(ctx context.Context) (Info, error) {
	info, err := m.c.GetInfo(ctx, &pluginv1.GetInfoRequest{})
	if err != nil {
		return Info{}, fromStatus("GetInfo", err)
	}
	return infoFromProto(info), nil
}

func (m *metricClient) Evaluate(ctx context.Context, req StreamRequest, activations TensorReader) ([]byte, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := m.c.Evaluate(ctx)
	if err != nil {
		return nil, fromStatus("Evaluate", err)
	}
	err = sendHeader(stream.Send, req)
	if err == nil {
		err = sendTensors(stream.Send, activations)
	}
	// io.EOF from Send means the plugin ended the call early (usually with
	// an error); CloseAndRecv returns its real status.
	if err != nil && !errors.Is(err, io.EOF) {
		if st, ok := status.FromError(err); !ok || st.Code() == codes.OK {
			// Our side failed (e.g. reading the activations): abandon the call.
			return nil, err
		}
		return nil, fromStatus("Evaluate", err)
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return nil, fromStatus("Evaluate", err)
	}
	return resp.GetResultJson(), nil
}

type visualizerClient struct{ c pluginv1.VisualizerClient }

func (v *visualizerClient) GetInfo(ctx context.Context) (Info, error) {
	info, err := v.c.GetInfo(ctx, &pluginv1.GetInfoRequest{})
	if err != nil {
		return Info{}, fromStatus("GetInfo", err)
	}
	return infoFromProto(info), nil
}

func (v *visualizerClient) Render(ctx context.Context, req StreamRequest, activations TensorReader) ([]File, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := v.c.Render(ctx)
	if err != nil {
		return nil, fromStatus("Render", err)
	}
	// Send and receive concurrently: a visualizer may start writing files
	// before it has read every activation, and with both directions'
	// flow-control windows full a sequential client would deadlock.
	sendErr := make(chan error, 1)
	go func() {
		err := sendHeader(stream.Send, req)
		if err == nil {
			err = sendTensors(stream.Send, activations)
		}
		if err == nil || errors.Is(err, io.EOF) {
			// io.EOF: the plugin ended the call; Recv reports why.
			sendErr <- stream.CloseSend()
			return
		}
		if _, isStatus := status.FromError(err); !isStatus {
			// Our side failed (reading the activations): abandon the call.
			cancel()
		}
		sendErr <- err
	}()
	files, recvErr := receiveFiles(stream.Recv)
	if recvErr != nil {
		// Unblock the sender if it is still writing, then report the
		// plugin's error rather than the sender's consequence of it.
		cancel()
		if err := <-sendErr; err != nil {
			if _, isStatus := status.FromError(err); !isStatus {
				return nil, err
			}
		}
		return nil, fromStatus("Render", recvErr)
	}
	if err := <-sendErr; err != nil {
		return nil, fromStatus("Render", err)
	}
	return files, nil
}
