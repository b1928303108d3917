package runstore

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"time"

	"github.com/icnnlab/icnnlab/internal/atomicfile"
)

// ChecksumFormat is the manifest format from which a run's manifest seals
// itself and records the SHA-256 of every checkpoint and metrics file it
// publishes. Runs of earlier formats load without verification.
const ChecksumFormat = 2

// SealField is the key under which a sealed JSON object carries the SHA-256
// of its own canonical content.
const SealField = "sha256"

// ErrCorrupt is wrapped by every error about a file whose content does not
// match its recorded checksum (or does not parse).
var ErrCorrupt = errors.New("corrupt file")

// CorruptError names a corrupt file and what was expected of it.
type CorruptError struct {
	Path string
	// Kind is what the file is: manifest, checkpoint, metrics, …
	Kind   string
	Detail string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("corrupt %s %s: %s", e.Kind, e.Path, e.Detail)
}

// Unwrap makes errors.Is(err, ErrCorrupt) hold.
func (e *CorruptError) Unwrap() error { return ErrCorrupt }

// FileSum is the recorded checksum of one published file.
type FileSum struct {
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	// Previous is the checksum of the version this one replaced. The
	// manifest is written before the file is renamed into place, so after a
	// crash between the two the old file is still the one on disk; it
	// verifies against Previous.
	Previous string `json:"previous_sha256,omitempty"`
}

// fileKinds name the files a manifest records, for error messages.
var fileKinds = map[string]string{CheckpointFile: "checkpoint", MetricsFile: "metrics"}

func kindOf(name string) string {
	if k, ok := fileKinds[name]; ok {
		return k
	}
	return "file"
}

// sealedSum returns the SHA-256 of a JSON object's canonical form (sorted
// keys, numbers as written, no SealField) and the object with SealField
// removed.
func sealedSum(raw []byte) (sum string, recorded string, obj map[string]any, err error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&obj); err != nil {
		return "", "", nil, err
	}
	if obj == nil {
		return "", "", nil, errors.New("not a JSON object")
	}
	if r, ok := obj[SealField].(string); ok {
		recorded = r
	}
	delete(obj, SealField)
	canon, err := json.Marshal(obj)
	if err != nil {
		return "", "", nil, err
	}
	h := sha256.Sum256(canon)
	return hex.EncodeToString(h[:]), recorded, obj, nil
}

// sealJSON encodes v (which must encode as a JSON object) with its own
// checksum under SealField.
func sealJSON(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	sum, _, obj, err := sealedSum(b)
	if err != nil {
		return nil, err
	}
	obj[SealField] = sum
	out, err := json.MarshalIndent(obj, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// WriteSealedJSON writes v, a JSON object, atomically with the SHA-256 of
// its own content in the field "sha256", so ReadSealedJSON detects any
// change to the file.
func WriteSealedJSON(path string, v any) error {
	b, err := sealJSON(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return atomicfile.WriteFile(path, b)
}

// ReadSealedJSON reads a file written by WriteSealedJSON into v. A file
// whose content does not match its checksum, that lacks one, or that does
// not parse is a *CorruptError of the given kind.
func ReadSealedJSON(path, kind string, v any) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := verifySealed(path, kind, raw, true); err != nil {
		return err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return &CorruptError{Path: path, Kind: kind, Detail: err.Error()}
	}
	return nil
}

// verifySealed checks raw's own checksum; a missing checksum is an error
// only when required.
func verifySealed(path, kind string, raw []byte, required bool) error {
	sum, recorded, _, err := sealedSum(raw)
	switch {
	case err != nil:
		return &CorruptError{Path: path, Kind: kind, Detail: "does not parse: " + err.Error()}
	case recorded == "" && required:
		return &CorruptError{Path: path, Kind: kind, Detail: "has no " + SealField + " field"}
	case recorded != "" && recorded != sum:
		return &CorruptError{Path: path, Kind: kind, Detail: fmt.Sprintf("content SHA-256 %s, the file records %s", sum, recorded)}
	}
	return nil
}

// fileSHA256 hashes a file.
func fileSHA256(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("read %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// checksummed reports whether the run records checksums of its files.
func (r *Run) checksummed() bool { return r.Manifest.Format >= ChecksumFormat }

// publish writes name in the run directory so that no reader ever sees a
// torn file and, for a checksummed run, so that the manifest always holds a
// checksum the file on disk matches: the data goes to a synced temporary
// file, the manifest is rewritten with the new checksum (keeping the old
// one as Previous), and only then is the file renamed into place.
func (r *Run) publish(name string, write func(io.Writer) error) (err error) {
	path := r.Path(name)
	if !r.checksummed() {
		return atomicfile.Write(path, write)
	}
	// Named as atomicfile names its temporary files, so that
	// atomicfile.RemoveStale clears what a killed writer left.
	tmp := tempName(r.Dir, name)
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	h := sha256.New()
	cw := &countingWriter{w: io.MultiWriter(f, h)}
	if err = write(cw); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	sum := FileSum{SHA256: hex.EncodeToString(h.Sum(nil)), Size: cw.n}
	if old, ok := r.Manifest.Files[name]; ok && old.SHA256 != sum.SHA256 {
		sum.Previous = old.SHA256
	}
	m := r.Manifest
	m.Files = maps.Clone(r.Manifest.Files)
	if m.Files == nil {
		m.Files = map[string]FileSum{}
	}
	m.Files[name] = sum
	m.Updated = time.Now().UTC()
	if err = writeManifest(r.Dir, m); err != nil {
		return err
	}
	r.Manifest = m
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename into %s: %w", path, err)
	}
	return atomicfile.SyncDir(r.Dir)
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Verify checks a published file of the run against the checksum in the
// manifest. A file the manifest does not record is corrupt in a
// checksummed run (publish records before it renames), and unverified in
// an older one. The manifest is reread when the file does not match the
// copy in memory, since another process may have published since.
func (r *Run) Verify(name string) error {
	path := r.Path(name)
	if !r.checksummed() {
		return nil
	}
	var got string
	var size int64
	for attempt := 0; ; attempt++ {
		var err error
		got, size, err = fileSHA256(path)
		if err != nil {
			return err
		}
		sum, ok := r.Manifest.Files[name]
		if ok && (got == sum.SHA256 || got == sum.Previous) {
			return nil
		}
		if attempt == 2 {
			if !ok {
				return &CorruptError{Path: path, Kind: kindOf(name), Detail: "the manifest records no checksum for it"}
			}
			return &CorruptError{Path: path, Kind: kindOf(name),
				Detail: fmt.Sprintf("SHA-256 %s (%d bytes), the manifest records %s (%d bytes)", got, size, sum.SHA256, sum.Size)}
		}
		fresh, err := Load(r.Dir)
		if err != nil {
			return err
		}
		r.Manifest = fresh.Manifest
	}
}

// Quarantine renames a corrupt file of the run out of the way (to
// NAME.corrupt-TIME), so it is neither reused nor lost, and returns the new path.
func (r *Run) Quarantine(name string) (string, error) {
	to := r.Path(name + ".corrupt-" + time.Now().UTC().Format("20060102T150405.000000000Z"))
	if err := os.Rename(r.Path(name), to); err != nil {
		return "", fmt.Errorf("set aside corrupt %s: %w", r.Path(name), err)
	}
	return to, nil
}

// writeManifest seals and writes a manifest atomically.
func writeManifest(dir string, m Manifest) error {
	b, err := sealJSON(m)
	if err != nil {
		return fmt.Errorf("encode manifest of %s: %w", dir, err)
	}
	return atomicfile.WriteFile(filepath.Join(dir, ManifestFile), b)
}
