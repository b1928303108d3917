package pluginhost

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/icnnlab/icnnlab/plugins/builtin"
	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/plugin"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// envServeBuiltin makes the test binary serve a built-in plugin, the way
// `icnnlab plugin serve` does in the real binary.
const envServeBuiltin = "ICNNLAB_PLUGINHOST_TEST_SERVE"

func TestMain(m *testing.M) {
	if ref := os.Getenv(envServeBuiltin); ref != "" {
		if err := ServeBuiltin(ref, plugin.WithLogger(hclog.NewNullLogger())); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// hostIdentity is a built-in registered by this test binary.
type hostIdentity struct{}

func (hostIdentity) Info() plugin.Info {
	return plugin.Info{Kind: plugin.KindMask, Name: "hostident", Version: "1.0.0", Description: "identity, built in"}
}

func (hostIdentity) BuildMask(_ context.Context, r plugin.MaskRequest) (*graph.Graph, error) {
	g := graph.New("hostident")
	g.SetOutput(plugin.MaskOutput, g.Input(plugin.MaskInput, tensor.Float32, r.Batch, r.Channels, r.Height, r.Width))
	return g, g.Err()
}

func init() {
	builtin.Register(hostIdentity{})
}

// reexecBuiltin launches built-ins by re-executing this test binary.
func reexecBuiltin(ref plugin.Ref) (*exec.Cmd, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = []string{envServeBuiltin + "=" + ref.String()}
	return cmd, nil
}

var (
	buildOnce sync.Once
	buildDir  string
	buildPath string
	buildSum  string
	buildErr  error
)

// testPluginBinary builds testdata/testplugin once per test binary.
func testPluginBinary(t *testing.T) (path, sum string) {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "icnnlab-testplugin-")
		if buildErr != nil {
			return
		}
		buildPath = filepath.Join(buildDir, "testplugin")
		cmd := exec.Command("go", "build", "-o", buildPath, "./testdata/testplugin")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			buildErr = fmt.Errorf("go build ./testdata/testplugin: %v\n%s", err, out.String())
			return
		}
		var raw []byte
		raw, buildErr = FileSHA256(buildPath)
		buildSum = hex.EncodeToString(raw)
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath, buildSum
}

// pluginDir makes a plugin directory holding the test plugin under the
// given roles (e.g. "mask-none"), with a SHA256SUMS listing them all.
func pluginDir(t *testing.T, roles ...string) string {
	t.Helper()
	bin, sum := testPluginBinary(t)
	dir := t.TempDir()
	var sums bytes.Buffer
	for _, role := range roles {
		name := BinaryPrefix + role
		if err := copyExecutable(bin, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&sums, "%s  %s\n", sum, name)
	}
	if err := os.WriteFile(filepath.Join(dir, SumsFile), sums.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// copyExecutable hard-links when it can (cheap), copying otherwise.
func copyExecutable(src, dst string) error {
	if os.Link(src, dst) == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
