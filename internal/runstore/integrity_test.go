package runstore

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/icnnlab/icnnlab/sdk/tensor"
)

func newRun(t *testing.T) *Run {
	t.Helper()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	id := Identity{Kind: "train", Config: json.RawMessage(`{"seed":18446744073709551615,"lr":0.01}`), Dataset: json.RawMessage(`{}`), Backend: "gorgonia", Device: "cpu"}
	r, _, err := s.Create("run", id, 1, []string{"lib"})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func writeAll(t *testing.T, r *Run) {
	t.Helper()
	if err := r.SaveCheckpoint(map[string]*tensor.Tensor{"w": tensor.MustFloat32(tensor.Shape{3}, []float32{1, 2, 3})}); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteMetrics(map[string]float64{"test_accuracy": 0.5}); err != nil {
		t.Fatal(err)
	}
}

// Every file kind the manifest covers: a flipped byte anywhere in it is a
// *CorruptError that names the file, never a silent load.
func TestFlippedByteIsDetectedInEveryFileKind(t *testing.T) {
	kinds := []struct {
		file string
		kind string
		load func(r *Run) error
	}{
		{ManifestFile, "manifest", func(r *Run) error { _, err := Load(r.Dir); return err }},
		{CheckpointFile, "checkpoint", func(r *Run) error { _, err := r.LoadCheckpoint(); return err }},
		{MetricsFile, "metrics", func(r *Run) error { var m map[string]float64; return r.ReadMetrics(&m) }},
	}
	for _, k := range kinds {
		t.Run(k.kind, func(t *testing.T) {
			r := newRun(t)
			writeAll(t, r)
			if err := k.load(r); err != nil {
				t.Fatalf("intact %s: %v", k.file, err)
			}
			path := r.Path(k.file)
			orig, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			for i := range orig {
				for _, mask := range []byte{0x01, 0x80} {
					flipped := append([]byte(nil), orig...)
					flipped[i] ^= mask
					if err := os.WriteFile(path, flipped, 0o644); err != nil {
						t.Fatal(err)
					}
					fresh := &Run{Dir: r.Dir, Manifest: r.Manifest}
					err := k.load(fresh)
					var ce *CorruptError
					if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) {
						t.Fatalf("byte %d ^ %#x of %s: error %v, want a *CorruptError", i, mask, k.file, err)
					}
					if ce.Path != path || ce.Kind != k.kind || !strings.Contains(err.Error(), path) {
						t.Fatalf("byte %d of %s: error %q does not name the %s %s", i, k.file, err, k.kind, path)
					}
				}
			}
			if err := os.WriteFile(path, orig, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := k.load(r); err != nil {
				t.Errorf("restored %s: %v", k.file, err)
			}
		})
	}
}

// A crash between the manifest update and the rename leaves the previous
// checkpoint on disk: it still verifies.
func TestPreviousCheckpointVerifiesAfterACrashBeforeTheRename(t *testing.T) {
	r := newRun(t)
	writeAll(t, r)
	old, _ := os.ReadFile(r.Path(CheckpointFile))
	if err := r.SaveCheckpoint(map[string]*tensor.Tensor{"w": tensor.MustFloat32(tensor.Shape{3}, []float32{4, 5, 6})}); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(r.Path(CheckpointFile), old, 0o644) // the rename that did not happen
	got, err := (&Run{Dir: r.Dir, Manifest: r.Manifest}).LoadCheckpoint()
	if err != nil || got["w"].Float32s()[0] != 1 {
		t.Fatalf("previous checkpoint: %v, %v", got, err)
	}
}

// A reader holding an old manifest sees a checkpoint published since.
func TestVerifyRereadsTheManifest(t *testing.T) {
	r := newRun(t)
	writeAll(t, r)
	reader, err := Load(r.Dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		r.SaveCheckpoint(map[string]*tensor.Tensor{"w": tensor.MustFloat32(tensor.Shape{1}, []float32{float32(10 + i)})})
	}
	if _, err := reader.LoadCheckpoint(); err != nil {
		t.Errorf("checkpoint published after the reader loaded the manifest: %v", err)
	}
}

func TestLegacyRunsLoadUnverified(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, ManifestFile), []byte(`{"kind":"train","name":"old","key":"abc"}`), 0o644)
	r, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.WriteMetrics(map[string]int{"a": 1}); err != nil {
		t.Fatal(err)
	}
	var m map[string]int
	if err := r.ReadMetrics(&m); err != nil || m["a"] != 1 {
		t.Errorf("legacy metrics: %v %v", m, err)
	}
}

func TestSealedJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.json")
	type doc struct {
		N    uint64   `json:"n"`
		Tags []string `json:"tags"`
	}
	if err := WriteSealedJSON(path, doc{N: 18446744073709551615, Tags: []string{"a<b"}}); err != nil {
		t.Fatal(err)
	}
	var got doc
	if err := ReadSealedJSON(path, "plan", &got); err != nil || got.N != 18446744073709551615 {
		t.Fatalf("read: %+v %v", got, err)
	}
	raw, _ := os.ReadFile(path)
	os.WriteFile(path, []byte(strings.Replace(string(raw), "18446744073709551615", "18446744073709551614", 1)), 0o644)
	if err := ReadSealedJSON(path, "plan", &got); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "corrupt plan "+path) {
		t.Errorf("changed number: %v", err)
	}
	os.WriteFile(path, []byte(`{"n":1}`), 0o644)
	if err := ReadSealedJSON(path, "plan", &got); !errors.Is(err, ErrCorrupt) {
		t.Errorf("no checksum: %v", err)
	}
}

func TestTwoCreatorsShareOneManifest(t *testing.T) {
	s, _ := Open(t.TempDir())
	id := Identity{Kind: "train", Config: json.RawMessage(`{}`), Dataset: json.RawMessage(`{}`)}
	var wg sync.WaitGroup
	created := make(chan bool, 8)
	for range 8 {
		wg.Go(func() {
			_, existed, err := s.Create("r", id, 1, nil)
			if err != nil {
				t.Error(err)
			}
			created <- !existed
		})
	}
	wg.Wait()
	close(created)
	n := 0
	for c := range created {
		if c {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d creators made the run, want 1", n)
	}
}

func TestClaimIsExclusiveAndWaits(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	a, err := ClaimDir(ctx, dir, ClaimOptions{Stale: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	info, age, err := ReadClaim(dir)
	if err != nil || info.PID != os.Getpid() || info.Token != a.Info.Token || age > time.Minute {
		t.Fatalf("ReadClaim = %+v, %v, %v", info, age, err)
	}
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if _, err := ClaimDir(short, dir, ClaimOptions{Stale: time.Minute, Poll: 20 * time.Millisecond}); err == nil || !strings.Contains(err.Error(), "held by pid") {
		t.Fatalf("second claim while held: %v", err)
	}
	got := make(chan *Claim)
	go func() {
		b, err := ClaimDir(ctx, dir, ClaimOptions{Stale: time.Minute, Poll: 20 * time.Millisecond})
		if err != nil {
			t.Error(err)
		}
		got <- b
	}()
	time.Sleep(100 * time.Millisecond)
	if err := a.Release(); err != nil {
		t.Fatal(err)
	}
	select {
	case b := <-got:
		b.Release()
	case <-time.After(5 * time.Second):
		t.Fatal("waiter did not get the released claim")
	}
	if _, err := os.Stat(filepath.Join(dir, ClaimFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("claim file after release: %v", err)
	}
}

func TestStaleClaimsAreTakenOver(t *testing.T) {
	host, _ := os.Hostname()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		claim ClaimInfo
		stale time.Duration
		// quick: taken over well before the stale timeout.
		quick bool
	}{
		{"dead process on this host", ClaimInfo{Host: host, PID: dead.Process.Pid, Token: "x"}, time.Hour, true},
		{"silent holder elsewhere", ClaimInfo{Host: "other-node", PID: 1, Token: "y"}, 300 * time.Millisecond, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			b, _ := json.Marshal(tt.claim)
			os.WriteFile(filepath.Join(dir, ClaimFile), b, 0o644)
			var log strings.Builder
			start := time.Now()
			c, err := ClaimDir(context.Background(), dir, ClaimOptions{Stale: tt.stale, Poll: 20 * time.Millisecond, Log: &log})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Release()
			waited := time.Since(start)
			if tt.quick && waited > time.Second || !tt.quick && waited < tt.stale {
				t.Errorf("took over after %v (stale timeout %v)", waited, tt.stale)
			}
			if !strings.Contains(log.String(), "took over the claim of") {
				t.Errorf("log: %q", log.String())
			}
		})
	}
}

// A live holder's heartbeat keeps waiters out past the stale timeout.
func TestHeartbeatKeepsALiveClaim(t *testing.T) {
	dir := t.TempDir()
	a, err := ClaimDir(context.Background(), dir, ClaimOptions{Stale: 300 * time.Millisecond, Heartbeat: 30 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Release()
	// Pretend the holder lives on another host, so only the heartbeat counts.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if b, err := claimAs(ctx, dir, "elsewhere"); err == nil {
		b.Release()
		t.Fatal("a claim with a live heartbeat was taken over")
	}
}

// claimAs claims dir pretending to run on host.
func claimAs(ctx context.Context, dir, host string) (*Claim, error) {
	old := hostname
	hostname = func() (string, error) { return host, nil }
	defer func() { hostname = old }()
	return ClaimDir(ctx, dir, ClaimOptions{Stale: 300 * time.Millisecond, Poll: 20 * time.Millisecond})
}

// A holder whose claim was taken over learns it through its context.
func TestLostClaimCancelsTheHolder(t *testing.T) {
	dir := t.TempDir()
	a, err := ClaimDir(context.Background(), dir, ClaimOptions{Stale: time.Minute, Heartbeat: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Release()
	ctx, cancel := a.Context(context.Background())
	defer cancel()
	os.Remove(filepath.Join(dir, ClaimFile))
	os.WriteFile(filepath.Join(dir, ClaimFile), []byte(`{"host":"x","pid":1,"token":"z"}`), 0o644)
	select {
	case <-ctx.Done():
		if !errors.Is(context.Cause(ctx), ErrClaimLost) {
			t.Errorf("cause %v, want ErrClaimLost", context.Cause(ctx))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("holder did not notice the loss of its claim")
	}
	if err := a.Release(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, ClaimFile)); err != nil {
		t.Errorf("release removed the new holder's claim: %v", err)
	}
}

// FuzzLoadManifest feeds Load arbitrary manifest bytes: it returns a run or
// an error, never panics, and a sealed manifest that loads has a checksum
// that matches.
func FuzzLoadManifest(f *testing.F) {
	r := newRunF(f)
	seed, _ := os.ReadFile(r.Path(ManifestFile))
	f.Add(seed)
	f.Add([]byte(`{"kind":"train","format":2}`))
	f.Add([]byte(`{"sha256":"00","format":2}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, ManifestFile), data, 0o644)
		run, err := Load(dir)
		if err == nil && run.Manifest.Format >= ChecksumFormat {
			if err := verifySealed(filepath.Join(dir, ManifestFile), "manifest", data, true); err != nil {
				t.Fatalf("loaded a manifest whose seal does not verify: %v", err)
			}
		}
	})
}

// FuzzReadSealedJSON: arbitrary bytes are a *CorruptError or a value.
func FuzzReadSealedJSON(f *testing.F) {
	path := filepath.Join(f.TempDir(), "x.json")
	WriteSealedJSON(path, map[string]any{"a": 1, "b": []string{"x"}})
	seed, _ := os.ReadFile(path)
	f.Add(seed)
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "x.json")
		os.WriteFile(p, data, 0o644)
		var v map[string]any
		if err := ReadSealedJSON(p, "test", &v); err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("error %v is not ErrCorrupt", err)
		}
	})
}

func newRunF(f *testing.F) *Run {
	s, err := Open(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	r, _, err := s.Create("run", Identity{Kind: "train", Config: json.RawMessage(`{"lr":0.01}`), Dataset: json.RawMessage(`{}`)}, 1, nil)
	if err != nil {
		f.Fatal(err)
	}
	return r
}
