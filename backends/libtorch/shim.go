package libtorch

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// ShimEnv names an explicit path to libicnnlab_torch.so. When set, it is
// the only place the shim is loaded from and where a build writes it.
const ShimEnv = "ICNNLAB_LIBTORCH_SHIM"

// ShimFile is the shim's file name.
const ShimFile = "libicnnlab_torch.so"

// BuildHint is the command that builds the shim, quoted in every error
// about a missing one.
const BuildHint = "icnnlab backend build libtorch"

// The shim's sources travel inside the Go binary, so `icnnlab backend build
// libtorch` works wherever the binary goes, without this repository.
//
//go:embed csrc/build.sh csrc/icnn_torch.cpp csrc/icnn_torch.h
var sources embed.FS

// sourceFiles are hashed in this order; build.sh hashes the same files in
// the same order.
var sourceFiles = []string{"build.sh", "icnn_torch.cpp", "icnn_torch.h"}

// SourceHash identifies the shim sources compiled into this binary: the
// first 12 hex digits of the SHA-256 of the files concatenated. A shim is
// only loaded from a directory ending in this hash, so a stale shim built
// from other sources is never picked up.
func SourceHash() string {
	h := sha256.New()
	for _, name := range sourceFiles {
		b, err := sources.ReadFile("csrc/" + name)
		if err != nil {
			panic("libtorch: embedded shim source missing: " + name) // a build error, not a runtime one
		}
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// CacheRoot is where built shims live by default:
// <user cache dir>/icnnlab/libtorch.
func CacheRoot() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("locate the user cache directory for the libtorch shim (set %s instead): %w", ShimEnv, err)
	}
	return filepath.Join(dir, "icnnlab", "libtorch"), nil
}

// ErrNoShim is wrapped by FindShim when no built shim exists.
var ErrNoShim = errors.New("the libtorch shim is not built")

// FindShim returns the shim to load: $ICNNLAB_LIBTORCH_SHIM when set,
// otherwise the newest <cache root>/<torch version>-<SourceHash>/libicnnlab_torch.so.
func FindShim() (string, error) {
	if p := os.Getenv(ShimEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%w: %s=%s: %v; build it with: %s", ErrNoShim, ShimEnv, p, err, BuildHint)
		}
		return p, nil
	}
	root, err := CacheRoot()
	if err != nil {
		return "", err
	}
	pattern := filepath.Join(root, "*-"+SourceHash(), ShimFile)
	matches, _ := filepath.Glob(pattern)
	if len(matches) == 0 {
		return "", fmt.Errorf("%w (looked for %s): build it with: %s (needs g++ and libtorch: Debian's libtorch-dev, a PyTorch install, or LIBTORCH=/path), or point %s at a built %s",
			ErrNoShim, pattern, BuildHint, ShimEnv, ShimFile)
	}
	newest, newestTime := "", int64(0)
	for _, m := range matches {
		if st, err := os.Stat(m); err == nil && st.ModTime().UnixNano() >= newestTime {
			newest, newestTime = m, st.ModTime().UnixNano()
		}
	}
	return newest, nil
}

// BuildOptions configure Build.
type BuildOptions struct {
	// Output is the .so to write; empty means $ICNNLAB_LIBTORCH_SHIM or the
	// cache directory FindShim searches.
	Output string
	// LibTorch, when set, is a libtorch directory with include/ and lib/
	// (it becomes LIBTORCH for build.sh).
	LibTorch string
	// Log receives what was found and the g++ command (build.sh's stderr);
	// nil discards it.
	Log io.Writer
}

// Build compiles the embedded shim sources with csrc/build.sh and returns
// the path of the built shim. It needs bash, g++ and libtorch.
func Build(ctx context.Context, opts BuildOptions) (string, error) {
	if _, err := exec.LookPath("bash"); err != nil {
		return "", fmt.Errorf("build the libtorch shim: %w", err)
	}
	dir, err := os.MkdirTemp("", "icnnlab-libtorch-src-")
	if err != nil {
		return "", fmt.Errorf("build the libtorch shim: %w", err)
	}
	defer os.RemoveAll(dir)
	for _, name := range sourceFiles {
		b, err := fs.ReadFile(sources, "csrc/"+name)
		if err != nil {
			return "", fmt.Errorf("build the libtorch shim: embedded %s: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return "", fmt.Errorf("build the libtorch shim: %w", err)
		}
	}
	script := filepath.Join(dir, "build.sh")
	env := os.Environ()
	if opts.LibTorch != "" {
		env = append(env, "LIBTORCH="+opts.LibTorch)
	}
	if os.Getenv(ShimEnv) == "" && os.Getenv("XDG_CACHE_HOME") == "" {
		// build.sh uses $XDG_CACHE_HOME or ~/.cache; pin it to Go's choice
		// so that FindShim and build.sh always agree.
		if root, err := CacheRoot(); err == nil {
			env = append(env, "XDG_CACHE_HOME="+filepath.Dir(filepath.Dir(root)))
		}
	}
	out := opts.Output
	if out == "" {
		cmd := exec.CommandContext(ctx, "bash", script, "--print-default")
		cmd.Env = env
		var stderr strings.Builder
		cmd.Stderr = &stderr
		b, err := cmd.Output()
		if err != nil {
			return "", fmt.Errorf("build the libtorch shim: %s", firstNonEmpty(strings.TrimSpace(stderr.String()), err.Error()))
		}
		out = strings.TrimSpace(string(b))
	}
	if abs, err := filepath.Abs(out); err == nil {
		out = abs
	}
	log := opts.Log
	if log == nil {
		log = io.Discard
	}
	var tail tailWriter
	cmd := exec.CommandContext(ctx, "bash", script, out)
	cmd.Env = env
	cmd.Stdout = io.MultiWriter(log, &tail)
	cmd.Stderr = io.MultiWriter(log, &tail)
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build the libtorch shim: %w\n%s", err, tail.String())
	}
	return out, nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// tailWriter keeps the last few KiB written, for error messages.
type tailWriter struct{ b []byte }

func (w *tailWriter) Write(p []byte) (int, error) {
	const keep = 4096
	w.b = append(w.b, p...)
	if len(w.b) > keep {
		w.b = slices.Clone(w.b[len(w.b)-keep:])
	}
	return len(p), nil
}

func (w *tailWriter) String() string { return string(w.b) }
