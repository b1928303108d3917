package pluginhost

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// lockedBuffer is a bytes.Buffer safe for go-plugin's logging goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// When the host stops a plugin itself (here: one that overran its call
// timeout), the process's death by SIGKILL is expected and go-plugin's ERROR line about it is demoted to DEBUG; when a
// plugin dies on its own, the ERROR line stays.
func TestStopIsQuietACrashIsNot(t *testing.T) {
	dir := pluginDir(t, "mask-hang", "mask-crash")
	var log lockedBuffer
	logger := hclog.New(&hclog.LoggerOptions{Name: "plugin", Level: hclog.Debug, Output: &log})
	h := New(Options{Dir: dir, CallTimeout: 500 * time.Millisecond, Logger: logger, BuiltinCommand: reexecBuiltin})
	ctx := context.Background()

	// A plugin that overruns its call timeout is killed by the host, and
	// the call's error says so: the process's SIGKILL is no news.
	hang, err := h.Mask(ctx, ref(t, "masks/hang"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hang.BuildMask(ctx, maskReq); !errors.Is(err, ErrTimeout) {
		t.Fatalf("hung plugin: %v, want %v", err, ErrTimeout)
	}
	killed := regexp.MustCompile(`\[(DEBUG|INFO|WARN|ERROR)\] *plugin\S*: plugin process exited: .*error="signal: killed"`)
	m := killed.FindStringSubmatch(log.String())
	if m == nil {
		t.Fatalf("no record of the plugin's death by SIGKILL, so the test did not test the stop path; log:\n%s", log.String())
	}
	if m[1] != "DEBUG" {
		t.Errorf("stopping a plugin on purpose logs its death at %s, want DEBUG:\n%s", m[1], log.String())
	}
	if regexp.MustCompile(`\[(WARN|ERROR)\]`).MatchString(log.String()) {
		t.Errorf("stopping a plugin on purpose logged a warning or an error:\n%s", log.String())
	}

	crash, err := h.Mask(ctx, ref(t, "masks/crash"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := crash.BuildMask(ctx, maskReq); !errors.Is(err, ErrCrashed) {
		t.Fatalf("crashing plugin: %v, want %v", err, ErrCrashed)
	}
	h.Close()
	if !regexp.MustCompile(`\[ERROR\] *plugin\S*: plugin process exited: .*error="exit status`).MatchString(log.String()) {
		t.Errorf("a plugin that crashed on its own is not logged at ERROR:\n%s", log.String())
	}
}
