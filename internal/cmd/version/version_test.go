package version

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/internal/cmd/cmdutil"
	"github.com/icnnlab/icnnlab/internal/cmd/iostreams"
	"github.com/icnnlab/icnnlab/sdk/graph"
)

func TestNewCmdVersionArgs(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantRun bool
		wantErr string
	}{
		{name: "no args", args: nil, wantRun: true},
		{name: "extra arg", args: []string{"now"}, wantErr: `takes no arguments, got ["now"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, _ := iostreams.Test()
			f := &cmdutil.Factory{IOStreams: ios}
			ran := false
			cmd := NewCmdVersion(f, func(*VersionOptions) error { ran = true; return nil })
			cmd.SetArgs(tt.args)
			cmd.SilenceErrors, cmd.SilenceUsage = true, true
			err := cmd.Execute()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				var flagErr *cmdutil.FlagError
				if !errors.As(err, &flagErr) {
					t.Errorf("err is %T, want a *cmdutil.FlagError so usage is hinted", err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if ran != tt.wantRun {
				t.Errorf("run function called = %v, want %v", ran, tt.wantRun)
			}
		})
	}
}

type describedBackend struct{ name, desc string }

func (b describedBackend) Name() string        { return b.name }
func (b describedBackend) Description() string { return b.desc }
func (b describedBackend) Compile(*graph.Graph, backends.CompileOptions) (backends.Executable, error) {
	return nil, errors.New("not used by version")
}

func TestVersionRun(t *testing.T) {
	ios, _, out, _ := iostreams.Test()
	opts := &VersionOptions{
		IO: ios,
		Build: func() cmdutil.BuildInfo {
			return cmdutil.BuildInfo{Version: "v0.1.0", Commit: "0123abcd", CommitTime: "2026-01-02T03:04:05Z",
				Modified: true, GoVersion: "go1.26.8", Platform: "linux/amd64"}
		},
		BackendNames: func() []string { return []string{"cpu-lib", "gpu-lib"} },
		NewBackend: func(name string) (backends.Backend, error) {
			if name == "gpu-lib" {
				return nil, errors.New(`backend "gpu-lib": libgpu.so: cannot open shared object file`)
			}
			return describedBackend{name, "pure Go, float32"}, nil
		},
	}
	if err := versionRun(opts); err != nil {
		t.Fatal(err)
	}
	want := "icnnlab v0.1.0\n" +
		"commit:   0123abcd (2026-01-02T03:04:05Z) with uncommitted changes\n" +
		"go:       go1.26.8 linux/amd64\n" +
		"backends:\n" +
		"  cpu-lib  pure Go, float32\n" +
		"  gpu-lib  unavailable: libgpu.so: cannot open shared object file\n"
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
}

func TestVersionRunWithoutBackendsOrCommit(t *testing.T) {
	ios, _, out, _ := iostreams.Test()
	opts := &VersionOptions{
		IO: ios,
		Build: func() cmdutil.BuildInfo {
			return cmdutil.BuildInfo{Version: "dev", GoVersion: "go1.26.8", Platform: "linux/arm64"}
		},
		BackendNames: func() []string { return nil },
		NewBackend:   func(string) (backends.Backend, error) { t.Fatal("no backend should be constructed"); return nil, nil },
	}
	if err := versionRun(opts); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"icnnlab dev\n", "commit:   unknown (built without VCS stamping", "backends: none registered"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output %q lacks %q", out.String(), want)
		}
	}
}
