// Package plugins_test builds the example plugins the way an author
// builds their own, outside the icnnlab module (docs/writing-plugins.md),
// and runs them through the icnnlab binary.
package plugins_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/icnnlab/icnnlab/sdk/plugin/protocol"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

const sdkModule = "github.com/icnnlab/icnnlab/sdk"

// example is one worked plugin of this directory.
type example struct {
	dir    string // directory under examples/plugins, also the module's copy
	binary string // file name in the plugin directory
}

var (
	maskCosine = example{"mask-cosine", "icnnlab-plugin-mask-cosine"}
	lossSpread = example{"loss-spread", "icnnlab-plugin-loss-spread"}
	examples   = []example{maskCosine, lossSpread}
)

// sdkRequire finds the SDK's version in a go.mod, in a require block or
// on a require line of its own.
var sdkRequire = regexp.MustCompile(`(?m)^\s*(?:require\s+)?` + regexp.QuoteMeta(sdkModule) + `\s+(v\S+)`)

// TestSDKVersionFollowsProtocol keeps the SDK module's major version (as
// the root module and each example require it) equal to the plugin
// protocol version it speaks.
func TestSDKVersionFollowsProtocol(t *testing.T) {
	want := fmt.Sprintf("v%d.", protocol.Handshake.ProtocolVersion)
	for _, gomod := range []string{"../../go.mod", "mask-cosine/go.mod", "loss-spread/go.mod"} {
		data, err := os.ReadFile(gomod)
		if err != nil {
			t.Fatal(err)
		}
		m := sdkRequire.FindSubmatch(data)
		found := m != nil
		if found && !strings.HasPrefix(string(m[1]), want) {
			t.Errorf("%s requires %s %s, want %s* (plugin protocol %d)", gomod, sdkModule, m[1], want, protocol.Handshake.ProtocolVersion)
		}
		if !found {
			t.Errorf("%s does not require %s", gomod, sdkModule)
		}
	}
}

// TestTutorialShowsTheCode keeps docs/writing-plugins.md in step with the
// examples: it quotes each main.go from its Info method to the end.
func TestTutorialShowsTheCode(t *testing.T) {
	doc, err := os.ReadFile("../../docs/writing-plugins.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ dir, from string }{
		{"mask-cosine", "func (cosine) Info()"},
		{"loss-spread", "// Command icnnlab-plugin-loss-spread"}, // the whole file: the tutorial says "save this as main.go"
	} {
		src, err := os.ReadFile(filepath.Join(tt.dir, "main.go"))
		if err != nil {
			t.Fatal(err)
		}
		start := bytes.Index(src, []byte(tt.from))
		if start < 0 {
			t.Fatalf("%s/main.go has no %q", tt.dir, tt.from)
		}
		if !bytes.Contains(doc, src[start:]) {
			t.Errorf("docs/writing-plugins.md does not quote %s/main.go from %q to the end; update the tutorial's code block", tt.dir, tt.from)
		}
		if _, err := os.Stat(filepath.Join(tt.dir, "README.md")); err != nil {
			t.Errorf("%s has no README.md: %v", tt.dir, err)
		}
	}
}

// TestOutOfTree follows docs/writing-plugins.md as an author outside this
// repository would: copy each example into an empty directory, point its
// SDK requirement at this checkout's sdk/ with the documented replace, tidy,
// test and build it, record its hash, then list, describe and evaluate it
// through the icnnlab binary, and train with both.
func TestOutOfTree(t *testing.T) {
	if testing.Short() {
		t.Skip("builds three binaries and trains a tiny network")
	}
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	pluginDir := filepath.Join(work, "plugins")
	icnnlab := filepath.Join(work, "bin", "icnnlab")
	goCmd(t, repo, "build", "-o", icnnlab, "./cmd/icnnlab")

	for _, ex := range examples {
		src := filepath.Join(work, "src", ex.dir)
		copyDir(t, ex.dir, src)
		// The steps of "Set up the module" and "Build it" in the tutorial.
		goCmd(t, src, "mod", "edit", "-replace", sdkModule+"="+filepath.Join(repo, "sdk"))
		goCmd(t, src, "mod", "tidy")
		goCmd(t, src, "vet", "./...")
		goCmd(t, src, "test", "./...")
		goCmd(t, src, "build", "-o", filepath.Join(pluginDir, ex.binary), ".")
		checkModuleGraph(t, src, goCmd(t, src, "list", "-m", "all"))
		recordSum(t, pluginDir, ex.binary)
	}

	run := func(t *testing.T, args ...string) (stdout, stderr string, err error) {
		t.Helper()
		cmd := exec.Command(icnnlab, args...)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "ICNNLAB_PLUGIN_DIR=", "ICNNLAB_RUNS=")
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err = cmd.Run()
		return out.String(), errOut.String(), err
	}
	mustRun := func(t *testing.T, args ...string) string {
		t.Helper()
		out, errOut, err := run(t, args...)
		if err != nil {
			t.Fatalf("icnnlab %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out, errOut)
		}
		return out
	}
	x := features()
	if err := tensor.SaveNPY(filepath.Join(work, "x.npy"), x); err != nil {
		t.Fatal(err)
	}
	labels := tensor.MustFloat32(tensor.Shape{2, 1}, []float32{1, 0})
	if err := tensor.SaveNPY(filepath.Join(work, "labels.npy"), labels); err != nil {
		t.Fatal(err)
	}

	t.Run("list and info", func(t *testing.T) {
		out := mustRun(t, "plugins", "list", "--plugin-dir", pluginDir)
		for _, want := range [][]string{
			{"mask", "cosine", "1.0.0", filepath.Join(pluginDir, maskCosine.binary)},
			{"loss", "spread", "1.0.0", filepath.Join(pluginDir, lossSpread.binary)},
			{"mask", "l1", "builtin"},
		} {
			if !containsLine(out, want...) {
				t.Errorf("plugins list lacks %v:\n%s", want, out)
			}
		}
		out = mustRun(t, "plugins", "info", "loss/spread", "--plugin-dir", pluginDir)
		for _, want := range []string{"losses/spread 1.0.0", "epsilon"} {
			if !strings.Contains(out, want) {
				t.Errorf("plugins info lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("eval mask", func(t *testing.T) {
		mustRun(t, "plugins", "eval", "mask", "cosine", "--plugin-dir", pluginDir,
			"--features", "x.npy", "--params", `{"radius": 0.3}`, "--out", "out-mask")
		mask := load(t, filepath.Join(work, "out-mask", "mask.npy"))
		masked := load(t, filepath.Join(work, "out-mask", "masked.npy"))
		b, c, h, w := 2, 3, 6, 7
		for m := range b * c {
			peak := argmax(x.Float32s()[m*h*w : (m+1)*h*w])
			for k := range h * w {
				// The raised cosine of the example's doc comment, written
				// out again here: amplitude 1, floor -1, r = 0.3.
				d := math.Min(math.Hypot(float64(k/w-peak/w)/float64(h), float64(k%w-peak%w)/float64(w)), 0.6)
				want := math.Max(math.Cos(math.Pi*d/0.6), -1)
				got := mask.Float32s()[m*h*w+k]
				if math.Abs(float64(got)-want) > 1e-6 {
					t.Fatalf("map %d position %d: mask %g, want %g (peak %d)", m, k, got, want, peak)
				}
				xv := float64(x.Float32s()[m*h*w+k])
				if v := masked.Float32s()[m*h*w+k]; math.Abs(float64(v)-max(xv*want, 0)) > 1e-6 {
					t.Fatalf("map %d position %d: masked %g, want %g", m, k, v, max(xv*want, 0))
				}
			}
		}
	})

	t.Run("eval loss", func(t *testing.T) {
		out := mustRun(t, "plugins", "eval", "loss", "spread", "--plugin-dir", pluginDir,
			"--features", "x.npy", "--labels", "labels.npy", "--out", "out-loss")
		// Σ over filters of the mean over images of Σ x·d / (Σ x + 1).
		b, c, h, w := 2, 3, 6, 7
		want := 0.0
		for m := range b * c {
			xs := x.Float32s()[m*h*w : (m+1)*h*w]
			peak := argmax(xs)
			num, den := 0.0, 1.0
			for k, v := range xs {
				num += float64(v) * math.Hypot(float64(k/w-peak/w)/float64(h), float64(k%w-peak%w)/float64(w))
				den += float64(v)
			}
			want += num / den / float64(b)
		}
		var got float64
		if _, err := fmt.Sscanf(out, "loss %g", &got); err != nil {
			t.Fatalf("no loss line in:\n%s", out)
		}
		if math.Abs(got-want) > 1e-5*math.Abs(want) {
			t.Errorf("loss %g, want %g", got, want)
		}
		if _, err := os.Stat(filepath.Join(work, "out-loss", "grad.npy")); err != nil {
			t.Error(err)
		}

		// The gradient check passes on the example as written ...
		out = mustRun(t, "plugins", "eval", "loss", "spread", "--plugin-dir", pluginDir,
			"--features", "x.npy", "--labels", "labels.npy", "--check-grad", "--out", "out-grad")
		if !regexp.MustCompile(`gradient check: max relative error \S+ over 32 entries \(tolerance 0.01\): PASS`).MatchString(out) {
			t.Errorf("no PASS line:\n%s", out)
		}
		// ... and catches the flaw its doc comment warns of: with a tiny
		// epsilon, a silent map's gradient is max d / epsilon, which no
		// finite difference reproduces.
		silent := x.Clone()
		clear(silent.Float32s()[:6*7])
		if err := tensor.SaveNPY(filepath.Join(work, "silent.npy"), silent); err != nil {
			t.Fatal(err)
		}
		out, errOut, err := run(t, "plugins", "eval", "loss", "spread", "--plugin-dir", pluginDir, "--params", `{"epsilon": 1e-6}`,
			"--features", "silent.npy", "--labels", "labels.npy", "--check-grad", "--out", "out-grad-silent")
		if err == nil || !strings.Contains(out, "): FAIL") || !strings.Contains(errOut, "gradient check of losses/spread failed") {
			t.Errorf("a silent map with epsilon 1e-6 passed the gradient check (err %v):\n%s\n%s", err, out, errOut)
		}
	})

	t.Run("train with both", func(t *testing.T) {
		out := mustRun(t, "train", "--arch", "small64", "--width", "0.25", "--categories", "3",
			"--train-samples", "64", "--test-samples", "32", "--epochs", "1", "--threads", "1", "--name", "tiny",
			"--runs", filepath.Join(work, "runs"), "--plugin-dir", pluginDir,
			"--interpretable", "--mask", "cosine", "--filter-loss", "spread", "--filter-loss-params", `{"epsilon": 0.5}`)
		if !strings.Contains(out, "test      loss") {
			t.Errorf("train output:\n%s", out)
		}
		dirs, _ := filepath.Glob(filepath.Join(work, "runs", "tiny-*", "manifest.json"))
		if len(dirs) != 1 {
			t.Fatalf("want one run manifest, found %v", dirs)
		}
		manifest, err := os.ReadFile(dirs[0])
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{filepath.Join(pluginDir, maskCosine.binary), filepath.Join(pluginDir, lossSpread.binary)} {
			if !bytes.Contains(manifest, []byte(strconvQuote(want))) {
				t.Errorf("manifest does not list %s:\n%s", want, manifest)
			}
		}
	})

	t.Run("tampered binary refused", func(t *testing.T) {
		dir := filepath.Join(work, "tampered")
		data, err := os.ReadFile(filepath.Join(pluginDir, maskCosine.binary))
		if err != nil {
			t.Fatal(err)
		}
		copyPath := filepath.Join(dir, maskCosine.binary)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(copyPath, data, 0o755); err != nil {
			t.Fatal(err)
		}
		recordSum(t, dir, maskCosine.binary)
		if err := os.WriteFile(copyPath, append(data, 0), 0o755); err != nil {
			t.Fatal(err)
		}
		_, errOut, err := run(t, "plugins", "eval", "mask", "cosine", "--plugin-dir", dir, "--features", "x.npy", "--out", "out-tampered")
		if err == nil {
			t.Fatal("a tampered plugin ran")
		}
		if !strings.Contains(errOut, "refusing plugin "+copyPath+": SHA-256 mismatch") {
			t.Errorf("stderr does not explain the refusal:\n%s", errOut)
		}
	})
}

// goCmd runs the go command in dir as an author's shell would, outside any
// workspace, and returns its stdout.
func goCmd(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("(cd %s && go %s): %v\n%s%s", dir, strings.Join(args, " "), err, out.String(), errOut.String())
	}
	return out.String()
}

// hostOnly matches the modules a plugin must not depend on: the host
// module itself (with its libtorch backend), its CLI library and gorgonia.
var hostOnly = regexp.MustCompile(`^(github\.com/icnnlab/icnnlab|github\.com/spf13/.*|gorgonia\.org/.*|.*libtorch.*)$`)

// checkModuleGraph fails if `go list -m all` of a plugin module holds a
// host-only module, or lacks the SDK.
func checkModuleGraph(t *testing.T, dir, list string) {
	t.Helper()
	sdk := false
	for _, line := range strings.Split(strings.TrimSpace(list), "\n") {
		mod := strings.Fields(line)[0]
		sdk = sdk || mod == sdkModule
		if hostOnly.MatchString(mod) {
			t.Errorf("%s: the plugin's module graph holds %s (%s)", dir, mod, line)
		}
	}
	if !sdk {
		t.Errorf("%s: the plugin's module graph lacks %s:\n%s", dir, sdkModule, list)
	}
}

// copyDir copies the example's files (not its subdirectories: it has none
// an author needs) into a new directory.
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o755); err != nil {
		t.Fatal(err)
	}
	err := filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, filepath.Base(path)), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// recordSum appends the file's line to dir/SHA256SUMS with sha256sum, as
// the tutorial does, or in Go where sha256sum is missing.
func recordSum(t *testing.T, dir, name string) {
	t.Helper()
	var line []byte
	if _, err := exec.LookPath("sha256sum"); err == nil {
		cmd := exec.Command("sha256sum", name)
		cmd.Dir = dir
		if line, err = cmd.Output(); err != nil {
			t.Fatalf("sha256sum %s: %v", name, err)
		}
	} else {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		line = []byte(hex.EncodeToString(sum[:]) + "  " + name + "\n")
	}
	f, err := os.OpenFile(filepath.Join(dir, "SHA256SUMS"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(line); err != nil {
		t.Fatal(err)
	}
}

// features is [2, 3, 6, 7] with a distinct maximum in every map.
func features() *tensor.Tensor {
	data := make([]float32, 2*3*6*7)
	for i := range data {
		data[i] = float32(math.Abs(math.Sin(float64(i) * 0.37)))
	}
	return tensor.MustFloat32(tensor.Shape{2, 3, 6, 7}, data)
}

func argmax(xs []float32) int {
	best := 0
	for k, v := range xs {
		if v > xs[best] {
			best = k
		}
	}
	return best
}

func load(t *testing.T, path string) *tensor.Tensor {
	t.Helper()
	x, err := tensor.LoadNPY(path)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func strconvQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// containsLine reports whether one line of out has all the fields, in order.
func containsLine(out string, fields ...string) bool {
	for _, line := range strings.Split(out, "\n") {
		i := 0
		for _, f := range strings.Fields(line) {
			if i < len(fields) && f == fields[i] {
				i++
			}
		}
		if i == len(fields) {
			return true
		}
	}
	return false
}
