// Package runstore keeps every training run in its own directory so that
// results can be traced, reused and resumed:
//
//	runs/<name>-<key>/
//	  manifest.json   what produced the run: config, dataset, backend, seed, code version
//	  status.json     running | done | failed, with the error and the last good step
//	  metrics.json    final metrics
//	  history.csv     one row per logged step/epoch
//	  checkpoint.npz  parameters, state and optimizer slots (numpy-readable)
//
// The key is a hash of what determines the numbers (the resolved config,
// the dataset spec, the backend and the device). A run whose key exists and
// whose status is done is reused rather than recomputed.
package runstore

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"sort"
	"time"

	"github.com/icnnlab/icnnlab/internal/atomicfile"
)

// EnvVar overrides the default store root.
const EnvVar = "ICNNLAB_RUNS"

// DefaultRoot returns $ICNNLAB_RUNS or ./runs.
func DefaultRoot() string {
	if r := os.Getenv(EnvVar); r != "" {
		return r
	}
	return "runs"
}

// Identity is everything that decides a run's numbers. Two runs with equal
// identities must produce equal results (on a deterministic backend).
type Identity struct {
	Kind    string          `json:"kind"`    // "train", "visualize", …
	Config  json.RawMessage `json:"config"`  // the resolved config, canonical JSON
	Dataset json.RawMessage `json:"dataset"` // dataset spec incl. content hash
	Backend string          `json:"backend"`
	Device  string          `json:"device"`
	Plugins []PluginRef     `json:"plugins,omitempty"`
	// Weights is the file the network started from (train --init-weights).
	Weights *WeightsRef `json:"weights,omitempty"`
}

// WeightsRef records a weights file a run started from.
type WeightsRef struct {
	Path   string `json:"path"`
	Format string `json:"format"`
	SHA256 string `json:"sha256"`
	// Loaded counts the file's tensors that were used; Fresh lists the
	// network's parameters the file did not set; Notes say what else the
	// loader did (a folded pool, a class layer left out).
	Loaded int      `json:"loaded"`
	Fresh  []string `json:"fresh,omitempty"`
	Notes  []string `json:"notes,omitempty"`
}

// PluginRef records a plugin that took part in a run.
type PluginRef struct {
	Kind     string `json:"kind"`
	Name     string `json:"name"`
	Version  string `json:"version"`
	Protocol int    `json:"protocol"`
	SHA256   string `json:"sha256"`
	Source   string `json:"source"`
	// OutputSHA256 is the SHA-256 of what the plugin returned for the run
	// (its serialised subgraphs, constants included). When set, the run key
	// covers it instead of the binary's SHA256 and Source: a rebuilt binary
	// that returns the same graphs reuses the run, and a change to what it
	// returns makes a new one. The binary checksum stays in the manifest.
	OutputSHA256 string `json:"output_sha256,omitempty"`
}

// Key is the run's content key: the first 12 hex digits of the SHA-256 of
// the identity's canonical JSON.
func (id Identity) Key() (string, error) {
	keyed := id
	keyed.Plugins = make([]PluginRef, len(id.Plugins))
	for i, p := range id.Plugins {
		if p.OutputSHA256 != "" {
			p.SHA256, p.Source = "", ""
		}
		keyed.Plugins[i] = p
	}
	b, err := canonicalJSON(keyed)
	if err != nil {
		return "", fmt.Errorf("run identity: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:12], nil
}

// canonicalJSON re-encodes v with sorted object keys and no insignificant
// whitespace so that equal content always hashes the same.
func canonicalJSON(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var generic any
	if err := json.Unmarshal(b, &generic); err != nil {
		return nil, err
	}
	return json.Marshal(generic) // encoding/json sorts map keys
}

// Manifest is written once when a run starts.
type Manifest struct {
	Identity
	Name        string    `json:"name"`
	Key         string    `json:"key"`
	Seed        uint64    `json:"seed"`
	Created     time.Time `json:"created"`
	CodeVersion string    `json:"code_version"`
	GoVersion   string    `json:"go_version"`
	Libraries   []string  `json:"libraries"`
	Host        HostInfo  `json:"host"`
	// Format is ChecksumFormat for runs whose manifest seals itself (its
	// "sha256" field) and records Files; 0 for older runs.
	Format int `json:"format,omitempty"`
	// Files are the checksums of the checkpoint and metrics, updated as
	// they are published.
	Files   map[string]FileSum `json:"files,omitempty"`
	Updated time.Time          `json:"updated,omitzero"`
}

// File names inside a run directory.
const (
	ManifestFile = "manifest.json"
	StatusFile   = "status.json"
	MetricsFile  = "metrics.json"
)

// HostInfo describes the machine a run was started on.
type HostInfo struct {
	OS     string `json:"os"`
	Arch   string `json:"arch"`
	NumCPU int    `json:"num_cpu"`
}

// State of a run.
type State string

const (
	Running State = "running"
	Done    State = "done"
	Failed  State = "failed"
)

// Status is rewritten (atomically) as a run progresses.
type Status struct {
	State    State     `json:"state"`
	Step     int64     `json:"step"`
	Updated  time.Time `json:"updated"`
	Error    string    `json:"error,omitempty"`
	LastGood int64     `json:"last_good_checkpoint_step"`
}

// Store is a directory of runs.
type Store struct{ Root string }

// Open returns a store rooted at root ("": DefaultRoot), creating the
// directory.
func Open(root string) (*Store, error) {
	if root == "" {
		root = DefaultRoot()
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("run store %s: %w", root, err)
	}
	return &Store{Root: root}, nil
}

// Run is one run directory.
type Run struct {
	Dir      string
	Manifest Manifest
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// CodeVersion is the VCS revision the binary was built from (with
// "+dirty" when the tree had changes), or "unknown".
func CodeVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	rev, dirty := "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "unknown (" + info.Main.Version + ")"
	}
	if dirty {
		rev += "+dirty"
	}
	return rev
}

// Create makes (or finds) the run directory for id. If a run with the same
// key exists it is returned with existed = true; the caller decides whether
// it is finished (Status) or should be resumed.
func (s *Store) Create(name string, id Identity, seed uint64, libraries []string) (run *Run, existed bool, err error) {
	key, err := id.Key()
	if err != nil {
		return nil, false, err
	}
	name = unsafeName.ReplaceAllString(name, "_")
	dir := filepath.Join(s.Root, name+"-"+key)
	if _, err := os.Stat(filepath.Join(dir, ManifestFile)); err == nil {
		r, err := Load(dir)
		return r, true, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, false, fmt.Errorf("create run %s: %w", dir, err)
	}
	m := Manifest{
		Identity: id, Name: name, Key: key, Seed: seed, Created: time.Now().UTC(),
		CodeVersion: CodeVersion(), GoVersion: runtime.Version(), Libraries: libraries,
		Host:   HostInfo{OS: runtime.GOOS, Arch: runtime.GOARCH, NumCPU: runtime.NumCPU()},
		Format: ChecksumFormat,
	}
	// Two processes may create the same run at once: the manifest is
	// linked into place only if none is there, and the loser loads the
	// winner's.
	b, err := sealJSON(m)
	if err != nil {
		return nil, false, fmt.Errorf("encode manifest of %s: %w", dir, err)
	}
	created, err := createExclusive(filepath.Join(dir, ManifestFile), b)
	if err != nil {
		return nil, false, err
	}
	if !created {
		r, err := Load(dir)
		return r, true, err
	}
	r := &Run{Dir: dir, Manifest: m}
	if err := r.SetStatus(Status{State: Running}); err != nil {
		return nil, false, err
	}
	return r, false, nil
}

// Load opens an existing run directory. A manifest that does not match
// its own checksum is a *CorruptError.
func Load(dir string) (*Run, error) {
	r := &Run{Dir: dir}
	path := filepath.Join(dir, ManifestFile)
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", dir, err)
	}
	// Manifests older than ChecksumFormat carry no checksum; from that
	// format on, the checksum is required.
	sum, recorded, obj, err := sealedSum(raw)
	corrupt := func(detail string) error {
		return fmt.Errorf("run %s: %w (remove the directory to train the run again)", dir, &CorruptError{Path: path, Kind: "manifest", Detail: detail})
	}
	switch {
	case err != nil:
		return nil, corrupt("does not parse: " + err.Error())
	case recorded == "" && obj["format"] != nil:
		return nil, corrupt("has a format but no " + SealField + " field")
	case recorded != "" && recorded != sum:
		return nil, corrupt(fmt.Sprintf("content SHA-256 %s, the file records %s", sum, recorded))
	}
	if err := json.Unmarshal(raw, &r.Manifest); err != nil {
		return nil, corrupt(err.Error())
	}
	// Decide on the decoded format too: encoding/json matches keys without
	// regard to case, so a flipped case bit ("formAt") or a repeated key
	// would otherwise slip a sealed format past the raw-key check above
	// (found by FuzzLoadManifest).
	if recorded == "" && r.Manifest.Format >= ChecksumFormat {
		return nil, corrupt(fmt.Sprintf("has format %d but no %s field", r.Manifest.Format, SealField))
	}
	return r, nil
}

// List returns every run in the store, oldest first.
func (s *Store) List() ([]*Run, error) {
	entries, err := os.ReadDir(s.Root)
	if err != nil {
		return nil, fmt.Errorf("list runs in %s: %w", s.Root, err)
	}
	var runs []*Run
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		r, err := Load(filepath.Join(s.Root, e.Name()))
		if err != nil {
			continue // not a run directory
		}
		runs = append(runs, r)
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].Manifest.Created.Before(runs[j].Manifest.Created) })
	return runs, nil
}

// Path joins a file name onto the run directory.
func (r *Run) Path(name string) string { return filepath.Join(r.Dir, name) }

// Status reads status.json.
func (r *Run) Status() (Status, error) {
	var st Status
	err := ReadJSON(r.Path(StatusFile), &st)
	return st, err
}

// SetStatus rewrites status.json atomically.
func (r *Run) SetStatus(st Status) error {
	st.Updated = time.Now().UTC()
	return atomicfile.WriteJSON(r.Path(StatusFile), st)
}

// WriteMetrics publishes the final metrics as metrics.json, with its
// checksum in the manifest.
func (r *Run) WriteMetrics(m any) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", r.Path(MetricsFile), err)
	}
	return r.publish(MetricsFile, func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	})
}

// ReadMetrics verifies metrics.json against the manifest and loads it into
// v; a mismatch is a *CorruptError.
func (r *Run) ReadMetrics(v any) error {
	if err := r.Verify(MetricsFile); err != nil {
		return err
	}
	if err := ReadJSON(r.Path(MetricsFile), v); err != nil {
		return &CorruptError{Path: r.Path(MetricsFile), Kind: "metrics", Detail: err.Error()}
	}
	return nil
}

// ReadJSON decodes the JSON file at path into v.
func ReadJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode %s: %w", path, err)
	}
	return nil
}

// ErrNoCheckpoint is returned by LoadCheckpoint when a run has none yet.
var ErrNoCheckpoint = errors.New("no checkpoint")
