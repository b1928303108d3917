package runstore

import (
	"context"
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
	"sync"
	"syscall"
	"time"

	"github.com/icnnlab/icnnlab/internal/atomicfile"
)

// hostname is os.Hostname, replaceable in tests.
var hostname = os.Hostname

// ClaimFile is the name of the exclusive claim in a claimed directory.
const ClaimFile = "claim.json"

// StaleEnvVar overrides the default stale-claim timeout (a Go duration).
const StaleEnvVar = "ICNNLAB_CLAIM_STALE"

// DefaultStale is how long a claim's heartbeat may stand still before
// another process takes the claim over.
const DefaultStale = 2 * time.Minute

// ClaimInfo is what a claim file says about its holder.
type ClaimInfo struct {
	Host string `json:"host"`
	PID  int    `json:"pid"`
	// Job is the batch system's job of the holder ("" outside one): for a
	// Slurm array task JOB_TASK, else the job ID.
	Job     string    `json:"job,omitempty"`
	Started time.Time `json:"started"`
	// HeartbeatSeconds is how often the holder touches the claim file: its
	// modification time is the heartbeat.
	HeartbeatSeconds float64 `json:"heartbeat_seconds"`
	Token            string  `json:"token"`
}

// ClaimOptions tune Claim. Zero values take defaults.
type ClaimOptions struct {
	// Stale is how long a heartbeat may stand still, as the waiter's own
	// clock measures it (so clocks of different nodes need not agree),
	// before the claim is taken over. Default $ICNNLAB_CLAIM_STALE or
	// DefaultStale.
	Stale time.Duration
	// Heartbeat is how often the holder touches the claim (default Stale/6).
	Heartbeat time.Duration
	// Poll is how often a waiter looks again (default 500 ms).
	Poll time.Duration
	// Log receives one line when the claim is held by another process and
	// one when a stale claim is taken over (nil: none).
	Log io.Writer
}

func (o ClaimOptions) withDefaults() ClaimOptions {
	if o.Stale <= 0 {
		o.Stale = DefaultStale
		if d, err := time.ParseDuration(os.Getenv(StaleEnvVar)); err == nil && d > 0 {
			o.Stale = d
		}
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = max(o.Stale/6, 50*time.Millisecond)
	}
	if o.Poll <= 0 {
		o.Poll = min(500*time.Millisecond, o.Heartbeat)
	}
	return o
}

// Claim is this process's exclusive right to write one directory (a run,
// or a grid task). Its holder keeps it alive with a heartbeat; Release
// gives it up.
type Claim struct {
	Info ClaimInfo
	path string
	file *os.File
	ctx  context.Context
	lose context.CancelCauseFunc
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// ErrClaimLost is the cause of a claim's context when another process took
// the claim over (the holder's heartbeat stalled past the stale timeout).
var ErrClaimLost = errors.New("claim lost")

// Claim takes the run's claim, waiting while another live process holds
// it. See ClaimDir.
func (r *Run) Claim(ctx context.Context, opts ClaimOptions) (*Claim, error) {
	return ClaimDir(ctx, r.Dir, opts)
}

// ClaimDir takes the exclusive claim of dir: it creates dir/claim.json
// only if no claim exists (a hard link of a complete temporary file, so the
// claim is never seen half-written). While another process holds the claim
// it waits, and takes the claim over when the holder is gone: on the same
// host when its PID no longer runs, elsewhere when its heartbeat has not
// moved for opts.Stale. ctx ends the wait.
func ClaimDir(ctx context.Context, dir string, opts ClaimOptions) (*Claim, error) {
	opts = opts.withDefaults()
	host, _ := hostname()
	info := ClaimInfo{Host: host, PID: os.Getpid(), Job: JobID(), Started: time.Now().UTC(),
		HeartbeatSeconds: opts.Heartbeat.Seconds(), Token: randomToken()}
	b, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, ClaimFile)
	var (
		seen      os.FileInfo // the holder's claim as last seen
		seenSince time.Time   // when it last changed, by our clock
		told      bool
	)
	for {
		created, err := createExclusive(path, append(b, '\n'))
		if err != nil {
			return nil, fmt.Errorf("claim %s: %w", dir, err)
		}
		if created {
			// The directory is ours now: clear the temporary files that a
			// writer killed mid-write left (never a live process's).
			if _, err := atomicfile.RemoveStale(dir); err != nil {
				os.Remove(path)
				return nil, fmt.Errorf("claim %s: %w", dir, err)
			}
			return startClaim(ctx, path, info, opts)
		}
		fi, holder, err := readClaim(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue // released between our attempt and the look
		}
		if err != nil {
			return nil, fmt.Errorf("claim %s: %w", dir, err)
		}
		now := time.Now()
		if seen == nil || !os.SameFile(seen, fi) || !seen.ModTime().Equal(fi.ModTime()) {
			seen, seenSince = fi, now
		}
		reason := ""
		switch {
		case holder.Host == host && holder.PID > 0 && !atomicfile.ProcessAlive(holder.PID):
			reason = fmt.Sprintf("its process %d on %s is gone", holder.PID, host)
		case now.Sub(seenSince) > opts.Stale:
			reason = fmt.Sprintf("its heartbeat has not moved for %s", now.Sub(seenSince).Round(time.Second))
		}
		if reason != "" {
			if breakClaim(path, fi) && opts.Log != nil {
				fmt.Fprintf(opts.Log, "%s: took over the claim of %s: %s\n", dir, holder, reason)
			}
			seen = nil
			continue
		}
		if !told && opts.Log != nil {
			fmt.Fprintf(opts.Log, "%s: waiting for %s to finish\n", dir, holder)
			told = true
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the claim of %s (held by %s): %w", dir, holder, context.Cause(ctx))
		case <-time.After(opts.Poll):
		}
	}
}

func (i ClaimInfo) String() string {
	s := fmt.Sprintf("pid %d on %s", i.PID, i.Host)
	if i.Job != "" {
		s += ", job " + i.Job
	}
	return s
}

// ReadClaim returns the current claim of dir and the age of its heartbeat
// (by this machine's clock), or fs.ErrNotExist when dir is not claimed.
func ReadClaim(dir string) (ClaimInfo, time.Duration, error) {
	fi, info, err := readClaim(filepath.Join(dir, ClaimFile))
	if err != nil {
		return info, 0, err
	}
	return info, time.Since(fi.ModTime()), nil
}

func readClaim(path string) (os.FileInfo, ClaimInfo, error) {
	var info ClaimInfo
	f, err := os.Open(path)
	if err != nil {
		return nil, info, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, info, err
	}
	raw, err := io.ReadAll(f)
	if err != nil {
		return nil, info, err
	}
	if err := json.Unmarshal(raw, &info); err != nil {
		// Claims are linked into place complete, so this is damage: a
		// claim nobody can vouch for is left to the stale timeout.
		info = ClaimInfo{Host: "?", Token: "unreadable"}
	}
	return fi, info, nil
}

// breakClaim removes the stale claim seen as stale, and nothing newer: it
// renames the claim aside, and if what it moved is not the claim judged
// stale (a new holder took it meanwhile) it puts it back.
func breakClaim(path string, stale os.FileInfo) bool {
	aside := path + ".stale-" + randomToken()
	if err := os.Rename(path, aside); err != nil {
		return false
	}
	defer os.Remove(aside)
	fi, err := os.Stat(aside)
	if err == nil && os.SameFile(fi, stale) {
		return true
	}
	// A live claim was moved: restore it unless a third process claimed
	// meanwhile (then the moved holder notices its loss at its next
	// heartbeat and stops).
	os.Link(aside, path)
	return false
}

func startClaim(ctx context.Context, path string, info ClaimInfo, opts ClaimOptions) (*Claim, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("claim %s: %w", path, err)
	}
	c := &Claim{Info: info, path: path, file: f, stop: make(chan struct{}), done: make(chan struct{})}
	c.ctx, c.lose = context.WithCancelCause(context.Background())
	go c.heartbeat(opts.Heartbeat)
	return c, nil
}

// heartbeat touches the claim file (through the open file, so a claim that
// was moved aside is not mistaken for ours) and checks that the path still
// names our claim.
func (c *Claim) heartbeat(every time.Duration) {
	defer close(c.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		if err := c.owned(); err != nil {
			c.lose(err)
			return
		}
		now := time.Now()
		tv := syscall.NsecToTimeval(now.UnixNano())
		if err := syscall.Futimes(int(c.file.Fd()), []syscall.Timeval{tv, tv}); err != nil {
			os.Chtimes(c.path, now, now)
		}
	}
}

// owned reports whether the claim file at the path is still ours.
func (c *Claim) owned() error {
	mine, err := c.file.Stat()
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrClaimLost, c.path, err)
	}
	fi, holder, err := readClaim(c.path)
	if err != nil {
		return fmt.Errorf("%w: %s was removed", ErrClaimLost, c.path)
	}
	if !os.SameFile(mine, fi) {
		return fmt.Errorf("%w: %s is now held by %s", ErrClaimLost, c.path, holder)
	}
	return nil
}

// Context returns a context derived from parent that is cancelled, with
// cause ErrClaimLost, if another process takes the claim over.
func (c *Claim) Context(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(parent)
	stop := context.AfterFunc(c.ctx, func() { cancel(context.Cause(c.ctx)) })
	return ctx, func() { stop(); cancel(context.Canceled) }
}

// Release stops the heartbeat and removes the claim if it is still ours.
func (c *Claim) Release() error {
	var err error
	c.once.Do(func() {
		close(c.stop)
		<-c.done
		if c.owned() == nil {
			if rerr := os.Remove(c.path); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
				err = fmt.Errorf("release claim %s: %w", c.path, rerr)
			}
		}
		c.file.Close()
		c.lose(context.Canceled)
	})
	return err
}

// createExclusive creates path with data only if path does not exist, and
// never shows a partial file: the data is written and synced to a
// temporary file that is then hard-linked to path. created is false when
// path already existed.
func createExclusive(path string, data []byte) (created bool, err error) {
	dir := filepath.Dir(path)
	tmp := tempName(dir, filepath.Base(path))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return false, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return false, err
	}
	if err := f.Close(); err != nil {
		return false, err
	}
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
		return false, err
	}
	return true, atomicfile.SyncDir(dir)
}

// tempName is a temporary file for name in dir, named the way atomicfile
// names its own (".NAME.tmp-PID-HEX"), so atomicfile.RemoveStale clears the
// leftovers of a killed writer.
func tempName(dir, name string) string {
	return filepath.Join(dir, "."+name+".tmp-"+strconv.Itoa(os.Getpid())+"-"+randomToken()[:12])
}

func randomToken() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// JobID names the batch job this process runs in: SLURM_ARRAY_JOB_ID_
// SLURM_ARRAY_TASK_ID for an array task, else SLURM_JOB_ID, else "".
func JobID() string {
	if a, t := os.Getenv("SLURM_ARRAY_JOB_ID"), os.Getenv("SLURM_ARRAY_TASK_ID"); a != "" && t != "" {
		return a + "_" + t
	}
	return os.Getenv("SLURM_JOB_ID")
}
