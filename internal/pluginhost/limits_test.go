package pluginhost

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

// An answer larger than the host's message limit is a clear error naming
// the plugin and the limit, and the host carries on. The limit is lowered
// to 1 MiB so that the 8 MiB graph of masks/bigconst exceeds it.
func TestOversizedAnswerNamesThePlugin(t *testing.T) {
	dir := pluginDir(t, "mask-none", "mask-bigconst")
	h := New(Options{Dir: dir, Logger: hclog.NewNullLogger(), BuiltinCommand: reexecBuiltin, MaxMessageBytes: 1 << 20})
	t.Cleanup(h.Close)
	ctx := context.Background()
	big, err := h.Mask(ctx, ref(t, "masks/bigconst"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = big.BuildMask(ctx, maskReq)
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("error %v, want cause %v", err, ErrMalformed)
	}
	t.Logf("the message: %v", err)
	for _, w := range []string{"masks/bigconst", "BuildMask", "over the limit of 1048576 bytes", "larger than max"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
	m, err := h.Mask(ctx, ref(t, "masks/none"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.BuildMask(ctx, maskReq); err != nil {
		t.Errorf("a healthy plugin after the oversized answer: %v", err)
	}
}
