package cmdutil

import (
	"runtime/debug"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestBuildInfoFrom(t *testing.T) {
	base := BuildInfo{GoVersion: "go-runtime", Platform: "linux/amd64"}
	tests := []struct {
		name        string
		linkVersion string
		bi          debug.BuildInfo
		want        BuildInfo
	}{
		{
			name:        "vcs stamped, no link version",
			linkVersion: "dev",
			bi: debug.BuildInfo{
				GoVersion: "go1.26.8",
				Main:      debug.Module{Version: "v0.0.0-20260101000000-abcdef123456"},
				Settings: []debug.BuildSetting{
					{Key: "vcs.revision", Value: "abcdef1234567890"},
					{Key: "vcs.modified", Value: "true"},
					{Key: "vcs.time", Value: "2026-01-01T00:00:00Z"},
				},
			},
			want: BuildInfo{
				Version: "v0.0.0-20260101000000-abcdef123456", Commit: "abcdef1234567890", Modified: true,
				CommitTime: "2026-01-01T00:00:00Z", GoVersion: "go1.26.8", Platform: "linux/amd64",
			},
		},
		{
			name:        "link version wins over module version",
			linkVersion: "v1.2.3",
			bi:          debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-x"}},
			want:        BuildInfo{Version: "v1.2.3", GoVersion: "go1.26.8", Platform: "linux/amd64"},
		},
		{
			name:        "go run: devel version, no vcs",
			linkVersion: "",
			bi:          debug.BuildInfo{Main: debug.Module{Version: "(devel)"}},
			want:        BuildInfo{Version: "dev", GoVersion: "go-runtime", Platform: "linux/amd64"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := base
			in.Version = tt.linkVersion
			got := buildInfoFrom(&tt.bi, in)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("buildInfoFrom (-want +got):\n%s", diff)
			}
		})
	}
}
