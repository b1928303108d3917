//go:build cgo

package libtorch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/icnnlab/icnnlab/backends"
)

// The shim is built at most once per test binary, into the user cache
// under the source hash, so later test runs reuse it.
var (
	ensureOnce sync.Once
	ensureErr  error
	ensureSkip string
)

// libtorchHeadersPresent reports whether some libtorch to build against is
// installed, the way build.sh looks for one.
func libtorchHeadersPresent() bool {
	if os.Getenv("LIBTORCH") != "" {
		return true
	}
	if _, err := os.Stat("/usr/include/torch/csrc/api/include/torch/version.h"); err == nil {
		return true
	}
	return false
}

// ensureShim finds the shim or builds it. Without libtorch it skips, unless
// the CI environment variable is set: CI must test this backend.
func ensureShim(t testing.TB) {
	t.Helper()
	ensureOnce.Do(func() {
		if _, err := FindShim(); err == nil {
			return
		} else if !errors.Is(err, ErrNoShim) {
			ensureErr = err
			return
		}
		if !libtorchHeadersPresent() && os.Getenv("CI") == "" {
			ensureSkip = "SKIPPING the libtorch backend tests: no libtorch here (install libtorch-dev or set LIBTORCH=/path) and CI is not set"
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		var log strings.Builder
		start := time.Now()
		path, err := Build(ctx, BuildOptions{Log: &log})
		if err != nil {
			ensureErr = fmt.Errorf("build the shim for the tests: %w", err)
			return
		}
		fmt.Fprintf(os.Stderr, "libtorch tests: built %s in %v\n", path, time.Since(start).Round(time.Second))
	})
	if ensureSkip != "" {
		t.Skip(ensureSkip)
	}
	if ensureErr != nil {
		t.Fatal(ensureErr)
	}
}

// newTestBackend builds the shim if needed and constructs the backend
// through the registry, as --backend libtorch does.
func newTestBackend(t testing.TB) backends.Backend {
	t.Helper()
	ensureShim(t)
	be, err := backends.New(Name)
	if err != nil {
		t.Fatal(err)
	}
	return be
}
