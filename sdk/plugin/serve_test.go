package plugin_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/plugin"
	"github.com/icnnlab/icnnlab/sdk/plugin/protocol"
	protocolv1 "github.com/icnnlab/icnnlab/sdk/plugin/protocol/v1"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// serveInProcess serves p with go-plugin's test mode and returns the
// protocol v1 client of its kind, connected over real gRPC.
func serveInProcess(t *testing.T, p plugin.Plugin) any {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	reattach := make(chan *goplugin.ReattachConfig, 1)
	closed := make(chan struct{})
	serveErr := make(chan error, 1)
	go func() {
		serveErr <- plugin.Serve(p, plugin.WithLogger(hclog.NewNullLogger()), plugin.WithTestConfig(&goplugin.ServeTestConfig{
			Context: ctx, ReattachConfigCh: reattach, CloseCh: closed,
		}))
	}()
	var rc *goplugin.ReattachConfig
	select {
	case rc = <-reattach:
	case err := <-serveErr:
		cancel()
		t.Fatalf("Serve: %v", err)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("plugin did not start serving")
	}
	client := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig: protocol.Handshake,
		// A reattached client skips version negotiation and uses Plugins.
		Plugins:          protocolv1.ClientPlugins(),
		Reattach:         rc,
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		GRPCDialOptions: []grpc.DialOption{grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(protocol.MaxMessageBytes), grpc.MaxCallSendMsgSize(protocol.MaxMessageBytes))},
		Logger: hclog.NewNullLogger(),
	})
	t.Cleanup(func() {
		client.Kill()
		cancel()
		<-closed
	})
	rpc, err := client.Client()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := rpc.Dispense(string(p.Info().Kind))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

type scaleMask struct{ panicOn string }

func f64(v float64) *float64 { return &v }

func (scaleMask) Info() plugin.Info {
	return plugin.Info{Kind: plugin.KindMask, Name: "scale", Version: "1.0.0", Description: "masked = scale·features",
		ParamSchema: &plugin.Schema{Type: "object", Properties: map[string]*plugin.Property{
			"scale": {Type: plugin.TypeNumber, Default: json.RawMessage("2"), Minimum: f64(0)},
		}}}
}

func (m scaleMask) BuildMask(_ context.Context, r plugin.MaskRequest) (*graph.Graph, error) {
	if r.Layer == m.panicOn {
		panic("layer " + r.Layer + " is cursed")
	}
	var p struct{ Scale float64 }
	if err := json.Unmarshal(r.Params, &p); err != nil {
		return nil, err
	}
	if p.Scale == 0 {
		return nil, errors.New("scale 0 would erase the layer")
	}
	g := graph.New("scale")
	x := g.Input(plugin.MaskInput, tensor.Float32, r.Batch, r.Channels, r.Height, r.Width)
	g.SetOutput(plugin.MaskOutput, g.MulScalar(x, p.Scale))
	return g, g.Err()
}

func TestMaskOverGRPC(t *testing.T) {
	c := serveInProcess(t, scaleMask{panicOn: "cursed"}).(protocolv1.Mask)
	ctx := context.Background()

	info, err := c.GetInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	decoded, err := plugin.InfoFromV1(info)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(scaleMask{}.Info(), decoded); diff != "" {
		t.Errorf("info after the round trip (-want +got):\n%s", diff)
	}

	req := protocolv1.MaskRequest{Layer: "conv5", Batch: 2, Channels: 3, Height: 4, Width: 5}
	data, err := c.BuildMask(ctx, req) // no params: the plugin side fills the default
	if err != nil {
		t.Fatal(err)
	}
	g, err := graph.Unmarshal(data)
	if err != nil {
		t.Fatal(err)
	}
	if err := plugin.CheckMaskGraph(plugin.MaskRequest{Batch: 2, Channels: 3, Height: 4, Width: 5}, g); err != nil {
		t.Error(err)
	}

	errorCases := []struct {
		name   string
		req    protocolv1.MaskRequest
		want   string
		plugin bool // the plugin's own error (a *PluginError)
	}{
		{"plugin error", protocolv1.MaskRequest{Params: []byte(`{"scale":0}`), Batch: 1}, "scale 0 would erase the layer", true},
		{"param error", protocolv1.MaskRequest{Params: []byte(`{"scale":-1}`), Batch: 1}, `parameter "scale": -1 is below the minimum 0`, true},
		{"panic recovered", protocolv1.MaskRequest{Layer: "cursed", Batch: 1}, "panic in BuildMask: layer cursed is cursed", true},
		{"negative dims", protocolv1.MaskRequest{Batch: -1}, "batch = -1 is out of range", false},
	}
	for _, tc := range errorCases {
		_, err := c.BuildMask(ctx, tc.req)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error = %v, want one containing %q", tc.name, err, tc.want)
		}
		if protocolv1.IsPluginError(err) != tc.plugin {
			t.Errorf("%s: IsPluginError = %v, want %v", tc.name, !tc.plugin, tc.plugin)
		}
	}
	// The panic's error names the file and line that panicked, and stops
	// at the plugin's method.
	_, err = c.BuildMask(ctx, protocolv1.MaskRequest{Layer: "cursed", Batch: 1})
	site := regexp.MustCompile(`panic in BuildMask: layer cursed is cursed\n    at github.com/icnnlab/icnnlab/sdk/plugin_test.scaleMask.BuildMask \(\S+/sdk/plugin/serve_test.go:\d+\)$`)
	if err == nil || !site.MatchString(err.Error()) {
		t.Errorf("panic error = %v, want it to match %s", err, site)
	}
	// The plugin survived the panic.
	if _, err := c.BuildMask(ctx, req); err != nil {
		t.Errorf("BuildMask after a recovered panic: %v", err)
	}
}

// sumMetric sums every tensor and counts how many it saw.
type sumMetric struct{}

func (sumMetric) Info() plugin.Info {
	return plugin.Info{Kind: plugin.KindMetric, Name: "sum", Version: "1.0.0"}
}

func (sumMetric) Evaluate(_ context.Context, req plugin.MetricRequest, in plugin.TensorStream) (json.RawMessage, error) {
	sums := map[string]float64{}
	for {
		name, t, err := in.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		for i := range t.Len() {
			sums[name] += t.Float64At(i)
		}
	}
	return json.Marshal(map[string]any{"meta": req.Meta, "sums": sums})
}

func TestMetricStreamsLargeActivations(t *testing.T) {
	c := serveInProcess(t, sumMetric{}).(protocolv1.Metric)
	big := make([]float32, 3<<20) // 12 MiB: 12 chunks, over gRPC's default 4 MiB limit
	want := 0.0
	for i := range big {
		big[i] = float32(i % 17)
		want += float64(big[i])
	}
	act := plugin.Tensors(
		plugin.NamedTensor{Name: "conv5", Tensor: tensor.MustFloat32(tensor.Shape{3, 1024, 1024}, big)},
		plugin.NamedTensor{Name: "small", Tensor: tensor.MustFloat32(tensor.Shape{2}, []float32{1.5, 2})},
	)
	res, err := c.Evaluate(context.Background(), protocolv1.StreamRequest{Meta: []byte(`{"rf":7}`)}, act)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Meta json.RawMessage
		Sums map[string]float64
	}
	if err := json.Unmarshal(res, &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]float64{"conv5": want, "small": 3.5}, got.Sums); diff != "" {
		t.Errorf("sums (-want +got):\n%s", diff)
	}
	if string(got.Meta) != `{"rf":7}` {
		t.Errorf("meta arrived as %s", got.Meta)
	}
}

// echoVisualizer writes each uint8 tensor back as a file.
type echoVisualizer struct{}

func (echoVisualizer) Info() plugin.Info {
	return plugin.Info{Kind: plugin.KindVisualizer, Name: "echo", Version: "1.0.0"}
}

func (echoVisualizer) Render(_ context.Context, _ plugin.VisualizeRequest, in plugin.TensorStream) ([]plugin.File, error) {
	all, err := plugin.ReadAll(in)
	if err != nil {
		return nil, err
	}
	var files []plugin.File
	for _, nt := range all {
		if nt.Tensor.DType() != tensor.Uint8 {
			return nil, fmt.Errorf("echo: %s is %v, want uint8", nt.Name, nt.Tensor.DType())
		}
		files = append(files, plugin.File{Name: "out/" + nt.Name + ".bin", Data: nt.Tensor.Uint8s()})
	}
	return files, nil
}

func TestVisualizerStreamsLargeFiles(t *testing.T) {
	c := serveInProcess(t, echoVisualizer{}).(protocolv1.Visualizer)
	img := make([]uint8, 9<<20) // 9 MiB each way
	for i := range img {
		img[i] = uint8(i * 31)
	}
	act := plugin.Tensors(plugin.NamedTensor{Name: "img", Tensor: must(tensor.FromUint8(tensor.Shape{len(img)}, img))})
	files, err := c.Render(context.Background(), protocolv1.StreamRequest{}, act)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || files[0].Name != "out/img.bin" || string(files[0].Data) != string(img) {
		t.Fatalf("got %d files, first %q with %d bytes", len(files), files[0].Name, len(files[0].Data))
	}
	// A tensor the visualizer cannot handle fails the call with its error.
	bad := plugin.Tensors(plugin.NamedTensor{Name: "f", Tensor: tensor.Scalar32(1)})
	_, err = c.Render(context.Background(), protocolv1.StreamRequest{}, bad)
	if err == nil || !protocolv1.IsPluginError(err) || !strings.Contains(err.Error(), "echo: f is float32, want uint8") {
		t.Errorf("Render of a float tensor: error = %v, want the plugin's error", err)
	}
}

func must(t *tensor.Tensor, err error) *tensor.Tensor {
	if err != nil {
		panic(err)
	}
	return t
}

func TestServeRefusesInconsistentPlugins(t *testing.T) {
	tests := []struct {
		name string
		p    plugin.Plugin
		want string
	}{
		{"kind without interface", infoOnly{plugin.Info{Kind: plugin.KindLoss, Name: "x", Version: "1.0.0"}}, "does not implement its interface"},
		{"bad version", infoOnly{plugin.Info{Kind: plugin.KindMask, Name: "x", Version: "one"}}, "not a semantic version"},
		{"bad name", infoOnly{plugin.Info{Kind: plugin.KindMask, Name: "X Y", Version: "1.0.0"}}, "lower-case"},
		{"bad kind", infoOnly{plugin.Info{Kind: "filter", Name: "x", Version: "1.0.0"}}, "unknown plugin kind"},
	}
	for _, tt := range tests {
		if err := plugin.Serve(tt.p); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Serve error = %v, want one containing %q", tt.name, err, tt.want)
		}
	}
}

type infoOnly struct{ info plugin.Info }

func (i infoOnly) Info() plugin.Info { return i.info }
