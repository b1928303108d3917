package pluginhost

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/go-hclog"

	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/plugin"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

func newHost(t *testing.T, dir string, timeout time.Duration) *Host {
	t.Helper()
	h := New(Options{Dir: dir, CallTimeout: timeout, Logger: hclog.NewNullLogger(), BuiltinCommand: reexecBuiltin})
	t.Cleanup(h.Close)
	return h
}

func ref(t *testing.T, s string) plugin.Ref {
	t.Helper()
	r, err := plugin.ParseRef(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

var maskReq = plugin.MaskRequest{Layer: "conv5", Batch: 2, Channels: 3, Height: 4, Width: 5}

func TestExternalMask(t *testing.T) {
	dir := pluginDir(t, "mask-none", "mask-scale", "mask-bigconst")
	h := newHost(t, dir, 0)
	ctx := context.Background()

	m, err := h.Mask(ctx, ref(t, "masks/none"))
	if err != nil {
		t.Fatal(err)
	}
	g, err := m.BuildMask(ctx, maskReq)
	if err != nil {
		t.Fatal(err)
	}
	if g.Output(plugin.MaskOutput) != g.Leaf(plugin.MaskInput) {
		t.Errorf("identity mask: output %v is not the input", g.Output(plugin.MaskOutput))
	}

	d, err := h.Describe(ctx, ref(t, "masks/none"))
	if err != nil {
		t.Fatal(err)
	}
	_, sum := testPluginBinary(t)
	if d.Protocol != 1 || d.Info.Version != "0.1.0" || d.Source() != filepath.Join(dir, "icnnlab-plugin-mask-none") || hex.EncodeToString(d.SHA256) != sum {
		t.Errorf("Describe = protocol %d, version %q, source %q, sha256 %x", d.Protocol, d.Info.Version, d.Source(), d.SHA256)
	}

	// Parameters are validated and defaulted on the host, then used by the plugin.
	scale, err := h.Mask(ctx, ref(t, "masks/scale"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		params string
		want   float32
	}{{`{"scale": 3}`, 3}, {``, 2}} {
		g, err := scale.BuildMask(ctx, plugin.MaskRequest{Params: json.RawMessage(tc.params), Batch: 1, Channels: 1, Height: 1, Width: 1})
		if err != nil {
			t.Fatal(err)
		}
		if got := scalarConsts(g); !cmp.Equal(got, []float32{tc.want}) {
			t.Errorf("params %q: constants %v, want [%v]", tc.params, got, tc.want)
		}
	}
	_, err = scale.BuildMask(ctx, plugin.MaskRequest{Params: json.RawMessage(`{"scale": -1}`), Batch: 1, Channels: 1, Height: 1, Width: 1})
	var pe *plugin.ParamError
	if !errors.As(err, &pe) || pe.Field != "scale" || !strings.Contains(err.Error(), "masks/scale") {
		t.Errorf("bad params: error %v, want a ParamError for \"scale\" naming masks/scale", err)
	}

	// A graph larger than gRPC's default 4 MiB message limit.
	big, err := h.Mask(ctx, ref(t, "masks/bigconst"))
	if err != nil {
		t.Fatal(err)
	}
	g, err = big.BuildMask(ctx, maskReq)
	if err != nil {
		t.Fatal(err)
	}
	if bank := g.Output("bank"); bank == nil || bank.Shape().NumElements() != 2<<20 {
		t.Errorf("bank output = %v, want 2Mi elements", bank)
	}
}

func scalarConsts(g *graph.Graph) []float32 {
	var out []float32
	for _, n := range g.Nodes() {
		if n.Op() == graph.OpConst && n.Attrs().Value.Len() == 1 {
			out = append(out, n.Attrs().Value.Float32s()[0])
		}
	}
	return out
}

func TestBuiltinRunsOutOfProcess(t *testing.T) {
	h := newHost(t, t.TempDir(), 0)
	ctx := context.Background()
	m, err := h.Mask(ctx, ref(t, "masks/hostident"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.BuildMask(ctx, maskReq); err != nil {
		t.Fatal(err)
	}
	d, err := h.Describe(ctx, ref(t, "masks/hostident"))
	if err != nil {
		t.Fatal(err)
	}
	self, _ := os.Executable()
	selfSum, _ := FileSHA256(self)
	if !d.Builtin || d.Source() != "builtin" || d.Info.Description != "identity, built in" || hex.EncodeToString(d.SHA256) != hex.EncodeToString(selfSum) {
		t.Errorf("Describe = %+v", d)
	}
	h.mu.Lock()
	pid := h.running[d.Ref].client.ReattachConfig().Pid
	h.mu.Unlock()
	if pid == os.Getpid() || pid == 0 {
		t.Errorf("built-in served by pid %d, want a separate process (host %d)", pid, os.Getpid())
	}
}

func TestFailuresNameThePluginAndHostSurvives(t *testing.T) {
	dir := pluginDir(t, "mask-none", "mask-crash", "mask-panic", "mask-hang", "mask-malformed", "mask-wrongshape", "mask-nanconst", "mask-impostor")
	h := newHost(t, dir, 500*time.Millisecond)
	ctx := context.Background()
	tests := []struct {
		plugin string
		cause  error
		want   []string
	}{
		{"masks/crash", ErrCrashed, []string{"plugin process exited", "crash-test: exiting on purpose"}},
		{"masks/panic", ErrFailed, []string{"panic in BuildMask: boom\n    at main.main.func", "testplugin/main.go:"}}, // the file and line that panicked
		{"masks/hang", ErrTimeout, []string{"no answer within 500ms", "if it is merely slow, raise --plugin-timeout, now 500ms"}},
		{"masks/malformed", ErrMalformed, []string{"graph does not decode"}},
		{"masks/wrongshape", ErrMalformed, []string{`output "masked" is float32[2 3 4], want float32[2 3 4 5]`}},
		{"masks/nanconst", ErrMalformed, []string{`graph "nanconst": const node 1 float32[3] holds NaN (element 1)`}},
	}
	for _, tt := range tests {
		t.Run(tt.plugin, func(t *testing.T) {
			m, err := h.Mask(ctx, ref(t, tt.plugin))
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, err = m.BuildMask(ctx, maskReq)
			if !errors.Is(err, tt.cause) {
				t.Fatalf("error %v, want cause %v", err, tt.cause)
			}
			t.Logf("the message: %v", err)
			path := filepath.Join(dir, BinaryPrefix+strings.Replace(strings.Replace(tt.plugin, "masks/", "mask-", 1), "/", "-", 1))
			for _, w := range append(tt.want, tt.plugin, path, "BuildMask") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("failing took %v", d)
			}
		})
	}
	t.Run("impostor", func(t *testing.T) {
		_, err := h.Mask(ctx, ref(t, "masks/impostor"))
		if !errors.Is(err, ErrStart) || !strings.Contains(err.Error(), "says it is masks/someone-else") {
			t.Errorf("error %v, want a start error saying who it claims to be", err)
		}
		// Both ways out: rename the file, or change the name in Info.
		for _, fix := range []string{
			"rename icnnlab-plugin-mask-impostor to icnnlab-plugin-mask-someone-else",
			"cd " + dir + " && sha256sum icnnlab-plugin-mask-someone-else >> SHA256SUMS",
			`or set Info().Name to "impostor" (and Kind to mask) and rebuild it`,
		} {
			if err == nil || !strings.Contains(err.Error(), fix) {
				t.Errorf("error %v does not name the fix %q", err, fix)
			}
		}
	})
	t.Run("wrong kind", func(t *testing.T) {
		if _, err := h.Loss(ctx, ref(t, "masks/none")); err == nil || !strings.Contains(err.Error(), "is a mask plugin, not a loss plugin") {
			t.Errorf("error %v", err)
		}
	})
	// After all that, the host still works, and a crashed plugin is
	// relaunched on the next call.
	m, err := h.Mask(ctx, ref(t, "masks/none"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.BuildMask(ctx, maskReq); err != nil {
		t.Errorf("healthy plugin after failures: %v", err)
	}
	crash, err := h.Mask(ctx, ref(t, "masks/crash"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := crash.BuildMask(ctx, maskReq); !errors.Is(err, ErrCrashed) {
		t.Errorf("second call to the crashing plugin: %v, want it relaunched and crashing again", err)
	}
}

func TestChecksumRefusals(t *testing.T) {
	dir := pluginDir(t, "mask-none", "mask-scale")
	bin := filepath.Join(dir, "icnnlab-plugin-mask-none")
	_, goodSum := testPluginBinary(t)

	// Tamper with a private copy (the directory holds hard links to the build).
	os.Remove(bin)
	src, _ := testPluginBinary(t)
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, append(data, 0), 0o755); err != nil {
		t.Fatal(err)
	}
	tamperedSum, _ := FileSHA256(bin)

	h := newHost(t, dir, 0)
	_, err = h.Mask(context.Background(), ref(t, "masks/none"))
	var ce *ChecksumError
	if !errors.As(err, &ce) {
		t.Fatalf("tampered binary: error %v, want a ChecksumError", err)
	}
	for _, w := range []string{bin, "SHA-256 mismatch", filepath.Join(dir, SumsFile), goodSum, hex.EncodeToString(tamperedSum), "sha256sum icnnlab-plugin-mask-none"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}

	// No entry for the binary.
	if err := os.WriteFile(filepath.Join(dir, SumsFile), []byte(goodSum+"  icnnlab-plugin-mask-scale\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = h.Mask(context.Background(), ref(t, "masks/none"))
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "has no entry for it") || !strings.Contains(err.Error(), ">> SHA256SUMS") {
		t.Errorf("missing entry: error %v", err)
	}

	// No SHA256SUMS at all.
	os.Remove(filepath.Join(dir, SumsFile))
	_, err = h.Mask(context.Background(), ref(t, "masks/scale"))
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "there is no "+filepath.Join(dir, SumsFile)) {
		t.Errorf("missing SHA256SUMS: error %v", err)
	}
}

func TestLossMetricVisualizer(t *testing.T) {
	dir := pluginDir(t, "loss-meansq", "metric-stats", "visualizer-dump")
	h := newHost(t, dir, 0)
	ctx := context.Background()

	loss, err := h.Loss(ctx, ref(t, "losses/meansq"))
	if err != nil {
		t.Fatal(err)
	}
	g, err := loss.BuildLoss(ctx, plugin.LossRequest{Batch: 2, Channels: 3, Height: 4, Width: 4, Classes: 5, Task: plugin.TaskSingle})
	if err != nil {
		t.Fatal(err)
	}
	if g.Loss() == nil || g.Leaf(plugin.LossLabels) == nil {
		t.Errorf("loss graph lacks its loss or labels input")
	}
	if _, err := loss.BuildLoss(ctx, plugin.LossRequest{Batch: 1, Task: "both"}); err == nil || !strings.Contains(err.Error(), `task "both"`) {
		t.Errorf("bad task: error %v", err)
	}

	// 3 MiB of activations: streamed in chunks, summed by the plugin.
	act := make([]float32, 768<<10)
	want := 0.0
	for i := range act {
		act[i] = float32(i%100) / 4
		want += float64(act[i])
	}
	conv := tensor.MustFloat32(tensor.Shape{3, 256, 1024}, act)
	metric, err := h.Metric(ctx, ref(t, "metrics/stats"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := metric.Evaluate(ctx, plugin.MetricRequest{}, plugin.Tensors(plugin.NamedTensor{Name: "conv5", Tensor: conv}))
	if err != nil {
		t.Fatal(err)
	}
	var stats map[string]struct {
		Shape []int
		Count int
		Sum   float64
	}
	if err := json.Unmarshal(res, &stats); err != nil {
		t.Fatal(err)
	}
	if s := stats["conv5"]; s.Count != len(act) || math.Abs(s.Sum-want) > 1e-6*want || !cmp.Equal(s.Shape, []int{3, 256, 1024}) {
		t.Errorf("stats = %+v, want count %d sum %g", s, len(act), want)
	}

	vis, err := h.Visualizer(ctx, ref(t, "visualizers/dump"))
	if err != nil {
		t.Fatal(err)
	}
	files, err := vis.Render(ctx, plugin.VisualizeRequest{}, plugin.Tensors(plugin.NamedTensor{Name: "conv5", Tensor: conv}))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 || files[0].Name != "tensors/conv5.f32" || files[1].Name != "index.txt" {
		t.Fatalf("files = %d, names %v", len(files), fileNames(files))
	}
	if len(files[0].Data) != 4*len(act) {
		t.Fatalf("dump is %d bytes, want %d", len(files[0].Data), 4*len(act))
	}
	for i := range act {
		if got := math.Float32frombits(binary.LittleEndian.Uint32(files[0].Data[4*i:])); got != act[i] {
			t.Fatalf("dump element %d = %v, want %v", i, got, act[i])
		}
	}
	if string(files[1].Data) != "conv5 [3 256 1024]\n" {
		t.Errorf("index.txt = %q", files[1].Data)
	}
}

func fileNames(files []plugin.File) []string {
	var out []string
	for _, f := range files {
		out = append(out, f.Name)
	}
	return out
}

func TestResolve(t *testing.T) {
	dir := pluginDir(t, "mask-none", "mask-hostident")
	// Files that are not plugins are ignored.
	os.WriteFile(filepath.Join(dir, "README"), []byte("x"), 0o755)
	os.WriteFile(filepath.Join(dir, BinaryPrefix+"mask-notexec"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(dir, BinaryPrefix+"filter-x"), []byte("x"), 0o755)
	h := newHost(t, dir, 0)

	cands, err := h.Candidates()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range cands {
		got = append(got, c.Ref.String()+" "+filepath.Base(c.Source()))
	}
	want := []string{"masks/hostident builtin", "masks/hostident icnnlab-plugin-mask-hostident", "masks/none icnnlab-plugin-mask-none"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("candidates (-want +got):\n%s", diff)
	}
	if _, err := h.Resolve(ref(t, "masks/hostident")); err == nil || !strings.Contains(err.Error(), "is both builtin and") {
		t.Errorf("name clash: error %v", err)
	}
	if _, err := h.Resolve(ref(t, "masks/nothere")); err == nil || !strings.Contains(err.Error(), "icnnlab-plugin-mask-nothere") {
		t.Errorf("missing plugin: error %v", err)
	}
	// A plugin file without the execute bit is named as such, with the fix.
	notExec := filepath.Join(dir, BinaryPrefix+"mask-notexec")
	if _, err := h.Resolve(ref(t, "masks/notexec")); err == nil || err.Error() != "plugin masks/notexec: "+notExec+" is not executable; make it so with: chmod +x "+notExec {
		t.Errorf("non-executable plugin: error %v", err)
	}
	if diff := cmp.Diff([]string{notExec}, h.NotExecutables()); diff != "" {
		t.Errorf("NotExecutables (-want +got):\n%s", diff)
	}
}

func TestReadSums(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	tests := []struct {
		name    string
		file    string
		want    map[string]string
		wantErr string
	}{
		{name: "sha256sum text and binary modes, comments, CRLF",
			file: "# plugins\n" + sum + "  icnnlab-plugin-mask-a\r\n" + strings.ToUpper(sum) + " *icnnlab-plugin-loss-b\n\n",
			want: map[string]string{"icnnlab-plugin-mask-a": sum, "icnnlab-plugin-loss-b": sum}},
		{name: "short hash", file: "abcd  x\n", wantErr: "SHA256SUMS:1: want"},
		{name: "no name", file: sum + "  \n", wantErr: "SHA256SUMS:1: no file name"},
		{name: "not hex", file: strings.Repeat("zz", 32) + "  x\n", wantErr: "SHA256SUMS:1"},
		{name: "second line for a file", file: sum + "  icnnlab-plugin-mask-a\n" + sum + "  icnnlab-plugin-loss-b\n" + strings.Repeat("cd", 32) + " *icnnlab-plugin-mask-a\n",
			wantErr: "SHA256SUMS:3: a second line for icnnlab-plugin-mask-a (the first is line 1); keep one: delete both and run: cd "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, SumsFile), []byte(tt.file), 0o644)
			sums, err := ReadSums(dir)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for k, v := range sums {
				got[k] = hex.EncodeToString(v)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("sums (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzReadSums(f *testing.F) {
	f.Add([]byte(strings.Repeat("ab", 32) + "  icnnlab-plugin-mask-a\n"))
	f.Add([]byte("# x\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, SumsFile), data, 0o644); err != nil {
			t.Fatal(err)
		}
		sums, err := ReadSums(dir)
		if err != nil {
			return
		}
		for name, sum := range sums {
			if len(sum) != 32 || name == "" {
				t.Fatalf("accepted entry %q with %d-byte hash", name, len(sum))
			}
		}
	})
}

func TestParseBinaryName(t *testing.T) {
	tests := []struct {
		file string
		want string
		ok   bool
	}{
		{"icnnlab-plugin-mask-l1", "masks/l1", true},
		{"/x/icnnlab-plugin-losses-neg-mi", "losses/neg-mi", true},
		{"icnnlab-plugin-visualizer-rf_map", "visualizers/rf_map", true},
		{"icnnlab-plugin-mask", "", false},
		{"icnnlab-plugin-mask-", "", false},
		{"icnnlab-plugin-shader-x", "", false},
		{"plugin-mask-x", "", false},
	}
	for _, tt := range tests {
		r, ok := ParseBinaryName(tt.file)
		if ok != tt.ok || (ok && r.String() != tt.want) {
			t.Errorf("ParseBinaryName(%q) = %v, %v; want %q, %v", tt.file, r, ok, tt.want, tt.ok)
		}
	}
}
