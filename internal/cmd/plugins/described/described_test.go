package described

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/icnnlab/icnnlab/internal/pluginhost"
	"github.com/icnnlab/icnnlab/sdk/plugin"
)

func TestIdentityJSON(t *testing.T) {
	l1 := pluginhost.Candidate{Ref: plugin.Ref{Kind: plugin.KindMask, Name: "l1"}, Builtin: true}
	gauss := pluginhost.Candidate{Ref: plugin.Ref{Kind: plugin.KindMask, Name: "gaussian"}, Path: "/p/icnnlab-plugin-mask-gaussian"}
	tests := []struct {
		name string
		id   Identity
		want string
	}{
		{name: "described builtin",
			id:   Of(pluginhost.Described{Candidate: l1, Protocol: 1, SHA256: []byte{0xab, 0xcd}, Info: plugin.Info{Version: "1.2.0"}}),
			want: `{"kind":"mask","name":"l1","version":"1.2.0","protocol":1,"source":"builtin","sha256":"abcd"}`},
		{name: "described external names its path",
			id:   Of(pluginhost.Described{Candidate: gauss, Protocol: 1, SHA256: []byte{0x01}, Info: plugin.Info{Version: "0.1.0"}}),
			want: `{"kind":"mask","name":"gaussian","version":"0.1.0","protocol":1,"source":"/p/icnnlab-plugin-mask-gaussian","sha256":"01"}`},
		{name: "unstarted has no version, protocol or hash",
			id:   Unstarted(gauss),
			want: `{"kind":"mask","name":"gaussian","source":"/p/icnnlab-plugin-mask-gaussian"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.id)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("JSON (-want +got):\n%s", diff)
			}
		})
	}
}
