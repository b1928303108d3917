package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// TestEndToEnd follows docs/writing-plugins.md: build the plugin and
// icnnlab, record the plugin's hash in SHA256SUMS, then list, describe and
// evaluate it through the icnnlab binary; a tampered copy must be refused.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two binaries")
	}
	work := t.TempDir()
	pluginDir := filepath.Join(work, "plugins")
	icnnlab := filepath.Join(work, "icnnlab")
	plugin := filepath.Join(pluginDir, "icnnlab-plugin-mask-cosine")
	goBuild(t, plugin, "github.com/icnnlab/icnnlab/examples/plugins/mask-cosine")
	goBuild(t, icnnlab, "github.com/icnnlab/icnnlab/cmd/icnnlab")
	recordSum(t, pluginDir, "icnnlab-plugin-mask-cosine")

	run := func(t *testing.T, env []string, args ...string) (stdout, stderr string, err error) {
		t.Helper()
		cmd := exec.Command(icnnlab, args...)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "ICNNLAB_PLUGIN_DIR=")
		cmd.Env = append(cmd.Env, env...)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err = cmd.Run()
		return out.String(), errOut.String(), err
	}
	mustRun := func(t *testing.T, env []string, args ...string) string {
		t.Helper()
		out, errOut, err := run(t, env, args...)
		if err != nil {
			t.Fatalf("icnnlab %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out, errOut)
		}
		return out
	}

	t.Run("list", func(t *testing.T) {
		out := mustRun(t, nil, "plugins", "list", "--plugin-dir", pluginDir)
		if !containsLine(out, "mask", "cosine", "1.0.0", plugin) || !containsLine(out, "mask", "l1", "builtin") {
			t.Errorf("plugins list:\n%s", out)
		}
		// The environment variable works as the flag does.
		out = mustRun(t, []string{"ICNNLAB_PLUGIN_DIR=" + pluginDir}, "plugins", "list")
		if !containsLine(out, "mask", "cosine", "1.0.0", plugin) {
			t.Errorf("plugins list with ICNNLAB_PLUGIN_DIR:\n%s", out)
		}
	})

	t.Run("info", func(t *testing.T) {
		out := mustRun(t, nil, "plugins", "info", "mask/cosine", "--plugin-dir", pluginDir)
		for _, want := range []string{"masks/cosine 1.0.0", "source:   " + plugin, "radius", "amplitude", "floor"} {
			if !strings.Contains(out, want) {
				t.Errorf("plugins info lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("eval", func(t *testing.T) {
		x := features()
		if err := tensor.SaveNPY(filepath.Join(work, "x.npy"), x); err != nil {
			t.Fatal(err)
		}
		mustRun(t, nil, "plugins", "eval", "mask", "cosine", "--plugin-dir", pluginDir,
			"--features", "x.npy", "--params", `{"radius": 0.3}`, "--out", "out")
		mask := load(t, filepath.Join(work, "out", "mask.npy"))
		masked := load(t, filepath.Join(work, "out", "masked.npy"))
		want := Bank(Params{Radius: 0.3, Amplitude: 1, Floor: -1}, 6, 7)
		b, c, hw := 2, 3, 6*7
		for m := range b * c {
			// The template of map m is the bank slice of its argmax.
			peak := 0
			for k := range hw {
				if x.Float32s()[m*hw+k] > x.Float32s()[m*hw+peak] {
					peak = k
				}
			}
			for k := range hw {
				got, tmpl := mask.Float32s()[m*hw+k], want.Float32s()[peak*hw+k]
				if math.Abs(float64(got-tmpl)) > 1e-6 {
					t.Fatalf("map %d position %d: mask %g, want %g (peak %d)", m, k, got, tmpl, peak)
				}
				if v := max(x.Float32s()[m*hw+k]*got, 0); math.Abs(float64(masked.Float32s()[m*hw+k]-v)) > 1e-6 {
					t.Fatalf("map %d position %d: masked %g, want %g", m, k, masked.Float32s()[m*hw+k], v)
				}
			}
		}
		var summary struct {
			Plugin, Version, Source string
			Params                  map[string]float64
		}
		data, err := os.ReadFile(filepath.Join(work, "out", "summary.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &summary); err != nil {
			t.Fatal(err)
		}
		if summary.Plugin != "masks/cosine" || summary.Version != "1.0.0" || summary.Source != plugin ||
			summary.Params["radius"] != 0.3 || summary.Params["floor"] != -1 {
			t.Errorf("summary.json: %s", data)
		}
	})

	t.Run("tampered binary refused", func(t *testing.T) {
		dir := filepath.Join(work, "tampered")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(plugin)
		if err != nil {
			t.Fatal(err)
		}
		copyPath := filepath.Join(dir, "icnnlab-plugin-mask-cosine")
		if err := os.WriteFile(copyPath, data, 0o755); err != nil {
			t.Fatal(err)
		}
		recordSum(t, dir, "icnnlab-plugin-mask-cosine")
		f, err := os.OpenFile(copyPath, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte{0}); err != nil {
			t.Fatal(err)
		}
		f.Close()
		_, errOut, err := run(t, nil, "plugins", "eval", "mask", "cosine", "--plugin-dir", dir, "--features", "x.npy", "--out", "out-tampered")
		if err == nil {
			t.Fatal("a tampered plugin ran")
		}
		if !strings.Contains(errOut, "refusing plugin "+copyPath+": SHA-256 mismatch") {
			t.Errorf("stderr does not explain the refusal:\n%s", errOut)
		}
		if _, err := os.Stat(filepath.Join(work, "out-tampered")); !os.IsNotExist(err) {
			t.Errorf("out-tampered exists after the refusal (%v)", err)
		}
	})
}

func goBuild(t *testing.T, out, pkg string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-o", out, pkg)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build -o %s %s: %v\n%s", out, pkg, err, b)
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

func load(t *testing.T, path string) *tensor.Tensor {
	t.Helper()
	x, err := tensor.LoadNPY(path)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// containsLine reports whether one line of out has all the fields, in order.
func containsLine(out string, fields ...string) bool {
	for _, line := range strings.Split(out, "\n") {
		got := strings.Fields(line)
		i := 0
		for _, f := range got {
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
