package train

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/internal/pluginhost"
	"github.com/icnnlab/icnnlab/internal/zoo"
	_ "github.com/icnnlab/icnnlab/plugins/reference" // registers the built-ins this binary serves
	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/plugin"
)

// envServe makes the test binary serve one built-in plugin, as `icnnlab
// plugin serve` does in the real binary.
const envServe = "ICNNLAB_TRAIN_TEST_SERVE"

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

// newPluginHost launches built-ins by re-executing this test binary, so
// every plugin runs in another process as in the real binary.
func newPluginHost(t *testing.T) *pluginhost.Host {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	host := pluginhost.New(pluginhost.Options{
		CallTimeout: 60 * time.Second,
		Logger:      hclog.NewNullLogger(),
		BuiltinCommand: func(ref plugin.Ref) (*exec.Cmd, error) {
			cmd := exec.Command(exe)
			cmd.Env = []string{envServe + "=" + ref.String()}
			return cmd, nil
		},
	})
	t.Cleanup(host.Close)
	return host
}

// partialBackend is gorgonia with one op taken away, either declared in
// its Capabilities (refused before compiling) or only discovered while
// lowering (refused by Compile with an UnsupportedOpError, as a backend
// without Capabilities does).
type partialBackend struct {
	backends.Backend
	missing  graph.Op
	declared bool
}

func (p partialBackend) Name() string { return "partial-gorgonia" }

func (p partialBackend) Capabilities() backends.Capabilities {
	if !p.declared {
		return backends.Capabilities{}
	}
	ops := map[graph.Op]bool{}
	for _, op := range graph.AllOps() {
		ops[op] = op != p.missing
	}
	return backends.Capabilities{Ops: ops}
}

func (p partialBackend) Compile(g *graph.Graph, opts backends.CompileOptions) (backends.Executable, error) {
	for _, n := range g.Nodes() {
		if n.Op() == p.missing {
			return nil, &backends.UnsupportedOpError{Backend: p.Name(), Node: n}
		}
	}
	return p.Backend.Compile(g, opts)
}

// pluginOnlyOp returns an op that the plugin call named by prefix (e.g.
// "mask plugin") puts into the graph and that the host's own part of the
// graph does not use, so that taking it away fails only because of the
// plugin.
func pluginOnlyOp(t *testing.T, g *graph.Graph, parts *interpretableParts, prefix string) graph.Op {
	t.Helper()
	host := map[graph.Op]bool{}
	byPlugin := map[graph.Op]bool{}
	for _, n := range g.Nodes() {
		switch what := parts.originOf(n.ID()); {
		case what == "":
			host[n.Op()] = true
		case strings.HasPrefix(what, prefix):
			byPlugin[n.Op()] = true
		}
	}
	for _, op := range graph.AllOps() {
		if byPlugin[op] && !host[op] && op != graph.OpInput && op != graph.OpConst {
			return op
		}
	}
	t.Fatalf("no op is used only by the %s; the test needs one", prefix)
	return 0
}

// A plugin whose graph holds an op the backend lacks is refused with an
// error naming the plugin, the layer and the op — whether the backend
// declares its ops or only finds out while compiling.
func TestPluginOpTheBackendLacksNamesThePlugin(t *testing.T) {
	host := newPluginHost(t)
	cfg := tinyConfig()
	cfg.Interpretable.Enabled = true
	gorgonia, err := backends.New("gorgonia")
	if err != nil {
		t.Fatal(err)
	}
	// Build the model as Open does, to learn which nodes each plugin added.
	trainSet, _, err := openDatasets(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	spec := zoo.Spec{
		Arch: cfg.Model.Arch, InputSize: cfg.Data.ImageSize, Width: cfg.Model.Width,
		Classes: trainSet.Classes(), Loss: cfg.Model.Loss, Dropout: cfg.Model.Dropout, Batch: cfg.Batch,
		MinTopMap: cfg.Model.MinTopMap,
	}
	model, parts, err := buildInterpretable(context.Background(), spec, cfg.Interpretable, cfg.Data.Task, host, zoo.Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		plugin, ref string
		declared    bool
	}{
		{"mask plugin", cfg.Interpretable.Mask, true},
		{"mask plugin", cfg.Interpretable.Mask, false},
		{"loss plugin", cfg.Interpretable.Loss, true},
		{"loss plugin", cfg.Interpretable.Loss, false},
	} {
		t.Run(fmt.Sprintf("%s/declared=%v", tc.plugin, tc.declared), func(t *testing.T) {
			op := pluginOnlyOp(t, model.Graph, parts, tc.plugin)
			be := partialBackend{Backend: gorgonia, missing: op, declared: tc.declared}
			_, err := Open(cfg, Options{Backend: be, Device: "cpu", Plugins: host})
			if err == nil {
				t.Fatalf("Open on a backend without op %s: no error", op)
			}
			t.Log(err)
			for _, want := range []string{tc.plugin, tc.ref, "op " + op.String(), "backend partial-gorgonia does not implement"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
		})
	}
}
