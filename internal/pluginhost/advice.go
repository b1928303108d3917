package pluginhost

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/icnnlab/icnnlab/sdk/plugin"
)

// Error messages that say what to do, kept apart from the launching code.

// nameMismatch explains a plugin whose Info is not what its file name
// says, with both ways out.
func nameMismatch(cand Candidate, info plugin.Info) string {
	says := fmt.Sprintf("says it is %s/%s", info.Kind.Plural(), info.Name)
	if cand.Builtin {
		return says
	}
	dir := filepath.Dir(cand.Path)
	want := BinaryPrefix + string(info.Kind) + "-" + info.Name
	return fmt.Sprintf("%s, but its file name makes it %s; either rename %s to %s (and its line in %s: cd %s && sha256sum %s >> %s, after deleting the old line), "+
		"or set Info().Name to %q (and Kind to %s) and rebuild it",
		says, cand.Ref, filepath.Base(cand.Path), want, SumsFile, dir, want, SumsFile, cand.Ref.Name, cand.Ref.Kind)
}

// notExecutable finds a file named like the plugin ref in dir that
// DiscoverDir skipped for lacking the execute bit.
func notExecutable(dir string, ref plugin.Ref) (string, bool) {
	if dir == "" || runtime.GOOS == "windows" {
		return "", false
	}
	for _, kind := range []string{string(ref.Kind), ref.Kind.Plural()} {
		path := filepath.Join(dir, BinaryPrefix+kind+"-"+ref.Name)
		if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 == 0 {
			return path, true
		}
	}
	return "", false
}

// NotExecutables lists the files in dir that are named like plugins but
// lack the execute bit, which DiscoverDir skips: `plugins list` names them
// rather than leave a plugin silently missing.
func NotExecutables(dir string) []string {
	if dir == "" || runtime.GOOS == "windows" {
		return nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		ref, ok := ParseBinaryName(e.Name())
		if !ok {
			continue
		}
		if path, ok := notExecutable(dir, ref); ok && filepath.Base(path) == e.Name() {
			out = append(out, path)
		}
	}
	return out
}

// NotExecutables lists the plugin directory's files that are named like
// plugins but cannot be run (see the function NotExecutables).
func (h *Host) NotExecutables() []string { return NotExecutables(h.opts.Dir) }
