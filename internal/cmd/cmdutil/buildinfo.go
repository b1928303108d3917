package cmdutil

import (
	"runtime"
	"runtime/debug"
)

// BuildInfo describes the running binary.
type BuildInfo struct {
	// Version is the release version: the link-time value when set,
	// otherwise the module version Go stamped (a pseudo-version when built
	// from a VCS checkout), otherwise "dev".
	Version string
	// Commit is the VCS revision, empty when the binary was built without
	// VCS stamping (go run, -buildvcs=false, a source tree without .git).
	Commit string
	// Modified reports uncommitted changes at build time.
	Modified bool
	// CommitTime is the revision's commit time (RFC 3339), if stamped.
	CommitTime string
	GoVersion  string
	Platform   string // GOOS/GOARCH
}

// ReadBuildInfo reads the binary's embedded build information.
func ReadBuildInfo(linkVersion string) BuildInfo {
	info := BuildInfo{
		Version:   linkVersion,
		GoVersion: runtime.Version(),
		Platform:  runtime.GOOS + "/" + runtime.GOARCH,
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		if info.Version == "" {
			info.Version = "dev"
		}
		return info
	}
	return buildInfoFrom(bi, info)
}

func buildInfoFrom(bi *debug.BuildInfo, info BuildInfo) BuildInfo {
	if (info.Version == "" || info.Version == "dev") && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		info.Version = bi.Main.Version
	}
	if info.Version == "" {
		info.Version = "dev"
	}
	if bi.GoVersion != "" {
		info.GoVersion = bi.GoVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Commit = s.Value
		case "vcs.modified":
			info.Modified = s.Value == "true"
		case "vcs.time":
			info.CommitTime = s.Value
		}
	}
	return info
}
