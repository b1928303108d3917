package build

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/icnnlab/icnnlab/backends/libtorch"
	"github.com/icnnlab/icnnlab/internal/cmd/cmdutil"
	"github.com/icnnlab/icnnlab/internal/cmd/iostreams"
)

func TestNewCmdBuildArgs(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    BuildOptions
		wantErr string
	}{
		{name: "libtorch", args: []string{"libtorch"}, want: BuildOptions{Backend: "libtorch"}},
		{name: "flags", args: []string{"libtorch", "-o", "x.so", "--libtorch", "/opt/libtorch"},
			want: BuildOptions{Backend: "libtorch", Output: "x.so", LibTorch: "/opt/libtorch"}},
		{name: "no backend", args: nil, wantErr: "name the backend to build"},
		{name: "gorgonia", args: []string{"gorgonia"}, wantErr: `backend "gorgonia" has nothing to build`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, _ := iostreams.Test()
			var got *BuildOptions
			cmd := NewCmdBuild(&cmdutil.Factory{IOStreams: ios}, func(o *BuildOptions) error { got = o; return nil })
			cmd.SetArgs(tt.args)
			cmd.SilenceErrors, cmd.SilenceUsage = true, true
			err := cmd.Execute()
			if tt.wantErr != "" {
				var flagErr *cmdutil.FlagError
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.As(err, &flagErr) {
					t.Fatalf("err = %v, want a usage error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, BuildOptions{Backend: got.Backend, Output: got.Output, LibTorch: got.LibTorch}); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBuildRunReportsWhereAnUnsearchedShimIs(t *testing.T) {
	t.Setenv(libtorch.ShimEnv, "")
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	ios, _, stdout, _ := iostreams.Test()
	var asked libtorch.BuildOptions
	opts := &BuildOptions{IO: ios, Backend: "libtorch", Output: "/somewhere/libicnnlab_torch.so",
		Build: func(_ context.Context, o libtorch.BuildOptions) (string, error) { asked = o; return o.Output, nil }}
	if err := buildRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if asked.Output != opts.Output {
		t.Errorf("Build got output %q, want %q", asked.Output, opts.Output)
	}
	want := "built /somewhere/libicnnlab_torch.so\nthe backend loads it only when told where it is: export ICNNLAB_LIBTORCH_SHIM=/somewhere/libicnnlab_torch.so\n"
	if diff := cmp.Diff(want, stdout.String()); diff != "" {
		t.Errorf("stdout (-want +got):\n%s", diff)
	}
}

func TestBuildRunPassesBuildErrorsOn(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	opts := &BuildOptions{IO: ios, Backend: "libtorch",
		Build: func(context.Context, libtorch.BuildOptions) (string, error) {
			return "", errors.New("no libtorch found")
		}}
	if err := buildRun(context.Background(), opts); err == nil || !strings.Contains(err.Error(), "no libtorch found") {
		t.Fatalf("err = %v, want the build error", err)
	}
}
