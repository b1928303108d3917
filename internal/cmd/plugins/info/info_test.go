package info

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/icnnlab/icnnlab/internal/cmd/cmdutil"
	"github.com/icnnlab/icnnlab/internal/cmd/iostreams"
	"github.com/icnnlab/icnnlab/internal/pluginhost"
	"github.com/icnnlab/icnnlab/sdk/plugin"
)

type fakeHost struct{ d pluginhost.Described }

func (f *fakeHost) Describe(_ context.Context, ref plugin.Ref) (pluginhost.Described, error) {
	if ref != f.d.Ref {
		return pluginhost.Described{}, errors.New("no plugin " + ref.String())
	}
	return f.d, nil
}
func (f *fakeHost) Close() {}

func f64(v float64) *float64 { return &v }

var l1 = pluginhost.Described{
	Candidate: pluginhost.Candidate{Ref: plugin.Ref{Kind: plugin.KindMask, Name: "l1"}, Builtin: true},
	Protocol:  1,
	SHA256:    []byte{0x01, 0x02},
	Info: plugin.Info{Kind: plugin.KindMask, Name: "l1", Version: "1.0.0",
		Description: "The paper's L1 part templates.",
		ParamSchema: &plugin.Schema{Type: "object", Required: []string{"tau"},
			Properties: map[string]*plugin.Property{
				"beta":    {Type: plugin.TypeNumber, Default: json.RawMessage("4"), Minimum: f64(0), Description: "template sharpness"},
				"tau":     {Type: plugin.TypeNumber, Minimum: f64(0), Maximum: f64(1)},
				"variant": {Type: plugin.TypeString, Enum: []string{"paper", "code"}, Default: json.RawMessage(`"paper"`)},
			}}},
}

func TestInfoText(t *testing.T) {
	ios, _, out, _ := iostreams.Test()
	opts := &InfoOptions{IO: ios, Ref: l1.Ref, NewHost: func() (Host, error) { return &fakeHost{d: l1}, nil }}
	if err := infoRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"masks/l1 1.0.0",
		"protocol: 1",
		"source:   builtin",
		"sha256:   0102",
		"",
		"The paper's L1 part templates.",
		"",
		"Parameters:",
		"  NAME     TYPE    DEFAULT     ALLOWED       DESCRIPTION",
		"  beta     number  4           >= 0          template sharpness",
		"  tau      number  (required)  [0, 1]        ",
		"  variant  string  \"paper\"     paper | code  ",
		""}, "\n")
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
}

func TestInfoJSON(t *testing.T) {
	ios, _, out, _ := iostreams.Test()
	opts := &InfoOptions{IO: ios, Ref: l1.Ref, JSON: true, NewHost: func() (Host, error) { return &fakeHost{d: l1}, nil }}
	if err := infoRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	var got Output
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(l1.Info.ParamSchema, got.ParamSchema); diff != "" || got.Source != "builtin" || got.Protocol != 1 {
		t.Errorf("JSON %s; schema diff:\n%s", out, diff)
	}
}

func TestNewCmdInfoArgs(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: ios}
	tests := []struct {
		args    []string
		want    plugin.Ref
		wantErr string
	}{
		{args: []string{"mask/l1", "--json"}, want: plugin.Ref{Kind: plugin.KindMask, Name: "l1"}},
		{args: []string{"losses/neg-mi"}, want: plugin.Ref{Kind: plugin.KindLoss, Name: "neg-mi"}},
		{args: []string{}, wantErr: "takes one argument"},
		{args: []string{"l1"}, wantErr: "want KIND/NAME"},
	}
	for _, tt := range tests {
		var got *InfoOptions
		cmd := NewCmdInfo(f, &pluginhost.Flags{}, func(o *InfoOptions) error { got = o; return nil })
		cmd.SetArgs(tt.args)
		cmd.SilenceErrors, cmd.SilenceUsage = true, true
		err := cmd.Execute()
		if tt.wantErr != "" {
			var fe *cmdutil.FlagError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%v: error %v, want a FlagError containing %q", tt.args, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got.Ref != tt.want {
			t.Errorf("%v: ref %v, err %v; want %v", tt.args, got.Ref, err, tt.want)
		}
	}
}
