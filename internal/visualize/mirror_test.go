package visualize

import (
	"encoding/json"
	"testing"
)

// The host spends a pass through the network on the mirrored training
// images only when the decoder will use them.
func TestUpconvMirrors(t *testing.T) {
	for _, tt := range []struct {
		params string
		want   bool
	}{
		{``, true},
		{`{}`, true},
		{`{"steps": 10}`, true},
		{`{"mirror": true}`, true},
		{`{"mirror": false, "steps": 10}`, false},
	} {
		got, err := upconvMirrors(json.RawMessage(tt.params))
		if err != nil || got != tt.want {
			t.Errorf("upconvMirrors(%q) = %v, %v; want %v", tt.params, got, err, tt.want)
		}
	}
	if _, err := upconvMirrors(json.RawMessage(`{"mirror": "no"}`)); err == nil {
		t.Error(`upconvMirrors({"mirror": "no"}) gave no error`)
	}
}
