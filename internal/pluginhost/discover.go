package pluginhost

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/icnnlab/icnnlab/sdk/plugin"
)

const (
	// BinaryPrefix starts the file name of every external plugin:
	// icnnlab-plugin-<kind>-<name>, e.g. icnnlab-plugin-mask-gaussian.
	BinaryPrefix = "icnnlab-plugin-"
	// EnvPluginDir overrides the per-user plugin directory.
	EnvPluginDir = "ICNNLAB_PLUGIN_DIR"
)

// DefaultDir is the per-user plugin directory,
// os.UserConfigDir()/icnnlab/plugins (~/.config/icnnlab/plugins on Linux).
func DefaultDir() (string, error) {
	cfg, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("find the per-user plugin directory: %w", err)
	}
	return filepath.Join(cfg, "icnnlab", "plugins"), nil
}

// ResolveDir picks the plugin directory: the --plugin-dir flag if set,
// else $ICNNLAB_PLUGIN_DIR, else DefaultDir.
func ResolveDir(flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if env := os.Getenv(EnvPluginDir); env != "" {
		return env, nil
	}
	return DefaultDir()
}

// Candidate is a plugin that can be launched: a built-in or an executable.
type Candidate struct {
	Ref     plugin.Ref
	Builtin bool
	Path    string // the executable; empty for built-ins
}

// Source is "builtin" or the executable's path.
func (c Candidate) Source() string {
	if c.Builtin {
		return "builtin"
	}
	return c.Path
}

// ParseBinaryName reads kind and name from an external plugin's file name
// (icnnlab-plugin-<kind>-<name>, kind singular or plural, ".exe" allowed
// on Windows).
func ParseBinaryName(file string) (plugin.Ref, bool) {
	base := filepath.Base(file)
	if runtime.GOOS == "windows" {
		base = strings.TrimSuffix(base, ".exe")
	}
	rest, ok := strings.CutPrefix(base, BinaryPrefix)
	if !ok {
		return plugin.Ref{}, false
	}
	kind, name, ok := strings.Cut(rest, "-")
	if !ok {
		return plugin.Ref{}, false
	}
	k, err := plugin.ParseKind(kind)
	if err != nil || plugin.CheckName(name) != nil {
		return plugin.Ref{}, false
	}
	return plugin.Ref{Kind: k, Name: name}, true
}

// DiscoverDir lists the external plugins in dir. A directory that does not
// exist holds no plugins; files whose names do not follow the pattern, and
// non-executables, are ignored.
func DiscoverDir(dir string) ([]Candidate, error) {
	if dir == "" {
		return nil, nil
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read plugin directory: %w", err)
	}
	var out []Candidate
	for _, e := range entries {
		ref, ok := ParseBinaryName(e.Name())
		if !ok {
			continue
		}
		path := filepath.Join(dir, e.Name())
		st, err := os.Stat(path) // follows symlinks
		if err != nil || !st.Mode().IsRegular() {
			continue
		}
		if runtime.GOOS != "windows" && st.Mode().Perm()&0o111 == 0 {
			continue
		}
		out = append(out, Candidate{Ref: ref, Path: path})
	}
	return out, nil
}

// Discover lists built-ins, then the external plugins in dir.
func Discover(dir string) ([]Candidate, error) {
	var out []Candidate
	for _, r := range Builtins() {
		out = append(out, Candidate{Ref: r, Builtin: true})
	}
	ext, err := DiscoverDir(dir)
	return append(out, ext...), err
}
