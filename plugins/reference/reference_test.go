package reference_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/go-hclog"

	"github.com/icnnlab/icnnlab/internal/pluginhost"
	_ "github.com/icnnlab/icnnlab/plugins/reference"
	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/plugin"
)

// envServe makes the test binary serve one built-in, as `icnnlab plugin
// serve` does in the real binary.
const envServe = "ICNNLAB_BUILTIN_TEST_SERVE"

func TestMain(m *testing.M) {
	if ref := os.Getenv(envServe); ref != "" {
		if err := pluginhost.ServeBuiltin(ref, plugin.WithLogger(hclog.NewNullLogger())); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestEveryVariantRegistered(t *testing.T) {
	var got []string
	for _, r := range pluginhost.Builtins() {
		got = append(got, r.String())
	}
	want := []string{
		"masks/authors-code", "masks/euclidean", "masks/gaussian", "masks/l1", "masks/none",
		"losses/authors-code", "losses/inter-category", "losses/mi", "losses/mi-paper-grad", "losses/none", "losses/spatial-entropy",
		"metrics/accuracy", "metrics/location-instability", "metrics/part-interpretability",
		"visualizers/receptive-field", "visualizers/upconv",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("built-ins (-want +got):\n%s", diff)
	}
}

// TestOutOfProcess launches a few built-ins through pluginhost, each in a
// re-executed copy of this test binary, and checks what comes back over
// the wire: the graph decodes, meets the contract (the host checks it) and
// has the inputs and outputs the variant documents.
func TestOutOfProcess(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	host := pluginhost.New(pluginhost.Options{
		CallTimeout: 30 * time.Second,
		Logger:      hclog.NewNullLogger(),
		BuiltinCommand: func(ref plugin.Ref) (*exec.Cmd, error) {
			cmd := exec.Command(exe)
			cmd.Env = []string{envServe + "=" + ref.String()}
			return cmd, nil
		},
	})
	t.Cleanup(host.Close)
	ctx := context.Background()

	maskReq := plugin.MaskRequest{Layer: "conv5", Batch: 2, Channels: 3, Height: 4, Width: 4}
	lossReq := plugin.LossRequest{Layer: "conv5", Batch: 2, Channels: 3, Height: 4, Width: 4, Classes: 1, Task: plugin.TaskSingle}
	tests := []struct {
		ref         string
		params      string
		wantInputs  []string
		wantOutputs []string
	}{
		{"masks/l1", `{"beta": 2}`, []string{"features"}, []string{"mask", "masked"}},
		{"masks/authors-code", ``, []string{"features"}, []string{"aux_loss", "mask", "masked"}},
		{"losses/mi", `{"distance": "l2"}`, []string{"features", "labels"}, []string{"loss"}},
		{"losses/authors-code", ``, []string{"epoch", "features", "labels", "mask"}, []string{"loss"}},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			ref, err := plugin.ParseRef(tt.ref)
			if err != nil {
				t.Fatal(err)
			}
			d, err := host.Describe(ctx, ref)
			if err != nil {
				t.Fatal(err)
			}
			if !d.Builtin || d.Info.Version != "1.0.0" || d.Info.Description == "" {
				t.Errorf("Describe = builtin %v, version %q, description %q", d.Builtin, d.Info.Version, d.Info.Description)
			}
			var g *graph.Graph
			switch ref.Kind {
			case plugin.KindMask:
				m, err := host.Mask(ctx, ref)
				if err != nil {
					t.Fatal(err)
				}
				req := maskReq
				req.Params = json.RawMessage(tt.params)
				g, err = m.BuildMask(ctx, req)
				if err != nil {
					t.Fatal(err)
				}
			case plugin.KindLoss:
				l, err := host.Loss(ctx, ref)
				if err != nil {
					t.Fatal(err)
				}
				req := lossReq
				req.Params = json.RawMessage(tt.params)
				g, err = l.BuildLoss(ctx, req)
				if err != nil {
					t.Fatal(err)
				}
			}
			// The host decoded the graph; it must survive another round trip.
			b, err := graph.Marshal(g)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := graph.Unmarshal(b); err != nil {
				t.Fatalf("graph from %s does not decode again: %v", tt.ref, err)
			}
			var inputs, outputs []string
			for _, in := range g.Inputs() {
				inputs = append(inputs, in.Attrs().Name)
			}
			for _, o := range g.Outputs() {
				outputs = append(outputs, o.Name)
			}
			slices.Sort(inputs)
			slices.Sort(outputs)
			if diff := cmp.Diff(tt.wantInputs, inputs); diff != "" {
				t.Errorf("inputs (-want +got):\n%s", diff)
			}
			// Variants may add monitoring outputs; the documented ones must be there.
			for _, name := range tt.wantOutputs {
				if !slices.Contains(outputs, name) {
					t.Errorf("no output %q (outputs %v)", name, outputs)
				}
			}
		})
	}

	// Parameters the schema refuses never reach the plugin.
	m, err := host.Mask(ctx, plugin.Ref{Kind: plugin.KindMask, Name: "gaussian"})
	if err != nil {
		t.Fatal(err)
	}
	req := maskReq
	req.Params = json.RawMessage(`{"sigma": "wide"}`)
	if _, err := m.BuildMask(ctx, req); err == nil {
		t.Error(`gaussian accepted {"sigma": "wide"}`)
	}
}
