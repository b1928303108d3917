package list

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/icnnlab/icnnlab/internal/cmd/cmdutil"
	"github.com/icnnlab/icnnlab/internal/cmd/iostreams"
	"github.com/icnnlab/icnnlab/internal/pluginhost"
	"github.com/icnnlab/icnnlab/sdk/plugin"
)

type fakeHost struct {
	cands   []pluginhost.Candidate
	errs    map[plugin.Ref]error
	notExec []string
	closed  bool
}

func (f *fakeHost) Candidates() ([]pluginhost.Candidate, error) { return f.cands, nil }

func (f *fakeHost) NotExecutables() []string { return f.notExec }

func (f *fakeHost) Describe(_ context.Context, ref plugin.Ref) (pluginhost.Described, error) {
	if err := f.errs[ref]; err != nil {
		return pluginhost.Described{}, err
	}
	for _, c := range f.cands {
		if c.Ref == ref {
			return pluginhost.Described{Candidate: c, Protocol: 1, SHA256: []byte{0xab, 0xcd},
				Info: plugin.Info{Kind: ref.Kind, Name: ref.Name, Version: "1.2.0"}}, nil
		}
	}
	return pluginhost.Described{}, errors.New("unknown")
}

func (f *fakeHost) Close() { f.closed = true }

var (
	l1    = plugin.Ref{Kind: plugin.KindMask, Name: "l1"}
	negMI = plugin.Ref{Kind: plugin.KindLoss, Name: "neg-mi"}
	gauss = plugin.Ref{Kind: plugin.KindMask, Name: "gaussian"}
)

func TestListTable(t *testing.T) {
	host := &fakeHost{
		cands: []pluginhost.Candidate{{Ref: l1, Builtin: true}, {Ref: negMI, Builtin: true},
			{Ref: gauss, Path: "/p/icnnlab-plugin-mask-gaussian"}},
		errs:    map[plugin.Ref]error{gauss: errors.New("plugin masks/gaussian: refusing plugin /p/icnnlab-plugin-mask-gaussian: SHA-256 mismatch")},
		notExec: []string{"/p/icnnlab-plugin-loss-spread"},
	}
	ios, _, out, errOut := iostreams.Test()
	err := listRun(context.Background(), &ListOptions{IO: ios, NewHost: func() (Host, error) { return host, nil }})
	if !errors.Is(err, cmdutil.ErrSilent) {
		t.Errorf("error %v, want ErrSilent because one plugin failed", err)
	}
	want := strings.Join([]string{
		"KIND  NAME      VERSION  PROTOCOL  SOURCE",
		"mask  l1        1.2.0    1         builtin",
		"loss  neg-mi    1.2.0    1         builtin",
		"mask  gaussian  ?        ?         /p/icnnlab-plugin-mask-gaussian",
		""}, "\n")
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("table (-want +got):\n%s", diff)
	}
	if !strings.Contains(errOut.String(), "masks/gaussian: refusing plugin") {
		t.Errorf("stderr %q does not explain the failure", errOut.String())
	}
	if note := "note: /p/icnnlab-plugin-loss-spread is named like a plugin but is not executable, so it is not listed; make it so with: chmod +x /p/icnnlab-plugin-loss-spread\n"; !strings.Contains(errOut.String(), note) {
		t.Errorf("stderr %q lacks %q", errOut.String(), note)
	}
	if !host.closed {
		t.Error("host not closed")
	}
}

func TestListJSON(t *testing.T) {
	host := &fakeHost{cands: []pluginhost.Candidate{{Ref: l1, Builtin: true}}}
	ios, _, out, _ := iostreams.Test()
	if err := listRun(context.Background(), &ListOptions{IO: ios, JSON: true, NewHost: func() (Host, error) { return host, nil }}); err != nil {
		t.Fatal(err)
	}
	want := `[
  {
    "kind": "mask",
    "name": "l1",
    "version": "1.2.0",
    "protocol": 1,
    "source": "builtin",
    "sha256": "abcd"
  }
]
`
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("JSON (-want +got):\n%s", diff)
	}
}

func TestNewCmdListFlags(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: ios}
	var got *ListOptions
	cmd := NewCmdList(f, &pluginhost.Flags{}, func(o *ListOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"--json"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got == nil || !got.JSON || got.NewHost == nil {
		t.Errorf("options = %+v", got)
	}
	cmd = NewCmdList(f, &pluginhost.Flags{}, func(*ListOptions) error { return nil })
	cmd.SetArgs([]string{"extra"})
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	var fe *cmdutil.FlagError
	if err := cmd.Execute(); !errors.As(err, &fe) {
		t.Errorf("extra argument: error %v, want a FlagError", err)
	}
}
