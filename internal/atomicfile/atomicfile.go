// Package atomicfile writes files so that a reader, or a rerun after a
// crash, sees either the old content or the complete new content, never a
// torn file: the data goes to a temporary file in the same directory, is
// synced, renamed over the target, and the directory is synced so the
// rename itself survives a power loss.
//
// A process killed mid-write leaves its temporary file behind. Temporary
// names carry the writer's process id, so RemoveStale can delete exactly
// the leftovers of processes that no longer run, without touching a write
// that another live process has in flight.
package atomicfile

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Perm is the mode of files this package creates (before the umask, as
// os.WriteFile would apply it).
const Perm fs.FileMode = 0o644

// tempMarker separates a target's name from the writer's pid in a
// temporary file's name: ".NAME.tmp-PID-RANDOM".
const tempMarker = ".tmp-"

// Write creates or replaces path with what write produces. write gets a
// buffered writer; an error from it leaves path untouched and removes the
// temporary file.
func Write(path string, write func(w io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	tmp, err := createTemp(dir, filepath.Base(path))
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<16)
	if err = write(bw); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = bw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("rename into %s: %w", path, err)
	}
	if err = SyncDir(dir); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// WriteFile creates or replaces path with data.
func WriteFile(path string, data []byte) error {
	return Write(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteJSON creates or replaces path with v as indented JSON and a final
// newline.
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return WriteFile(path, append(b, '\n'))
}

// SyncDir flushes a directory's entries (a rename or a new file in it) to
// disk. File systems that cannot sync a directory are not an error.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOTSUP) {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// IsTemp reports whether name (a base name) is one of this package's
// temporary files.
func IsTemp(name string) bool {
	_, ok := tempOwner(name)
	return ok
}

// RemoveStale deletes the temporary files in dir (not below it) that were
// left by processes no longer running, and returns their paths. A missing
// dir has nothing stale.
func RemoveStale(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look for stale temporary files in %s: %w", dir, err)
	}
	var removed []string
	for _, e := range entries {
		pid, ok := tempOwner(e.Name())
		if !ok || e.IsDir() || ProcessAlive(pid) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return removed, fmt.Errorf("remove stale temporary file %s: %w", p, err)
		}
		removed = append(removed, p)
	}
	return removed, nil
}

// RemoveStaleTree is RemoveStale for root and every directory below it.
func RemoveStaleTree(root string) ([]string, error) {
	var removed []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && path == root {
			return fs.SkipAll
		}
		if err != nil || !d.IsDir() {
			return err
		}
		r, err := RemoveStale(path)
		removed = append(removed, r...)
		return err
	})
	return removed, err
}

func createTemp(dir, base string) (*os.File, error) {
	prefix := "." + base + tempMarker + strconv.Itoa(os.Getpid()) + "-"
	for range 100 {
		var r [6]byte
		if _, err := rand.Read(r[:]); err != nil {
			return nil, err
		}
		name := filepath.Join(dir, prefix+hex.EncodeToString(r[:]))
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, Perm)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, err
	}
	return nil, fmt.Errorf("no free temporary name %s* in %s", prefix, dir)
}

// tempOwner parses ".NAME.tmp-PID-HEX" and returns PID.
func tempOwner(name string) (int, bool) {
	if !strings.HasPrefix(name, ".") {
		return 0, false
	}
	i := strings.LastIndex(name, tempMarker)
	if i < 1 {
		return 0, false
	}
	pidStr, suffix, ok := strings.Cut(name[i+len(tempMarker):], "-")
	if !ok || len(suffix) != 12 {
		return 0, false
	}
	if _, err := hex.DecodeString(suffix); err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(pidStr)
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, true
}

// ProcessAlive reports whether pid names a running process on this host. A
// process we may not signal (EPERM) still exists. It decides both whose
// temporary files are stale here and whose run claims are (runstore).
func ProcessAlive(pid int) bool {
	if pid == os.Getpid() {
		return true
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
