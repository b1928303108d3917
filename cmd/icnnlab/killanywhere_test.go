package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/icnnlab/icnnlab/internal/atomicfile"
	"github.com/icnnlab/icnnlab/internal/runstore"
)

// The moments TestReproduceSurvivesKillAnywhere aims its kills at.
const (
	phaseTrain     = "training"
	phaseMeasure   = "measurement"
	phaseVisualize = "visualizer report"
	phaseWrite     = "table writing"
)

// killsEnv sets how many kills the test lands (default 10); bench/ runs it
// with more.
const killsEnv = "ICNNLAB_KILLS"

// `reproduce paper-tables` killed with SIGKILL at random moments (during
// training, measurement, the visualizer reports and the writing of the
// tables), and rerun after each kill, ends with tables identical to an
// uninterrupted run's, and leaves no temporary or torn file behind.
func TestReproduceSurvivesKillAnywhere(t *testing.T) {
	if testing.Short() {
		t.Skip("reproduces the test-scale tables a dozen times; skipped with -short")
	}
	kills := 10
	if v := os.Getenv(killsEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("$%s=%q: want a positive count", killsEnv, v)
		}
		kills = n
	}
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("ICNNLAB_KILL_SEED"); v != "" {
		seed, _ = strconv.ParseUint(v, 10, 64)
	}
	t.Logf("kill moments drawn with ICNNLAB_KILL_SEED=%d", seed)
	rng := rand.New(rand.NewPCG(seed, 16))

	args := func(dir string) []string {
		return []string{"reproduce", "paper-tables", "--scale", "test", "--threads", "1",
			"--runs", filepath.Join(dir, "runs"), "--out", filepath.Join(dir, "out")}
	}
	whole := t.TempDir()
	if out, err := icnnlab(args(whole)...).CombinedOutput(); err != nil {
		t.Fatalf("uninterrupted run: %v\n%s", err, out)
	}
	want := tablesOf(t, filepath.Join(whole, "out"))

	// A round is one run store killed again and again until an invocation
	// runs to its end; its tables must then equal the uninterrupted run's.
	// On a fast machine a round can end after a few kills (the work left
	// is done before the next kill lands), so the test goes on with fresh
	// rounds until enough kills have landed.
	endRound := func(dir string, out []byte) {
		t.Helper()
		if diff := cmp.Diff(want, tablesOf(t, filepath.Join(dir, "out"))); diff != "" {
			t.Errorf("tables after kills differ from an uninterrupted run's (-want +got):\n%s\n%s", diff, out)
		}
		checkNoTemporaries(t, dir, true)
	}
	dir := t.TempDir()
	plan := []string{phaseTrain, phaseMeasure, phaseTrain, phaseMeasure, phaseTrain, phaseVisualize, phaseVisualize, phaseWrite, phaseVisualize, phaseWrite}
	landed := map[string]int{}
	total, misses, cycles, rounds := 0, 0, 0, 1
	for total < kills {
		if cycles++; cycles > 4*kills {
			t.Fatalf("only %d of %d kills landed in %d runs over %d rounds (%v)", total, kills, cycles-1, rounds, landed)
		}
		// A moment that passed before its kill is skipped the next time,
		// so a phase too short to hit on this machine cannot stall the test.
		target := plan[(total+misses)%len(plan)]
		if total >= len(plan) {
			target = plan[rng.IntN(len(plan))]
		}
		phase, finished := killOnce(t, args(dir), dir, target, rng)
		if finished {
			misses++
			endRound(dir, nil)
			dir = t.TempDir()
			rounds++
			continue
		}
		landed[phase]++
		total++
		checkNoTemporaries(t, dir, false)
	}
	t.Logf("%d kills landed over %d rounds: %v", total, rounds, landed)

	out, err := icnnlab(args(dir)...).CombinedOutput()
	if err != nil {
		t.Fatalf("run after the last kill: %v\n%s", err, out)
	}
	endRound(dir, out)
	for _, p := range []string{phaseTrain, phaseVisualize, phaseWrite} {
		if landed[p] == 0 {
			t.Logf("no kill landed during %s this time", p)
		}
	}
}

var (
	runLine    = regexp.MustCompile(`^run (\d+) of (\d+): `)
	doneLine   = regexp.MustCompile(`^  (trained|reused) `)
	reportLine = regexp.MustCompile(`^report (\d+) of (\d+): `)
)

// killOnce starts the command and SIGKILLs it at a random moment of the
// target phase. It returns the phase the process was in when killed, or
// finished when it exited first.
func killOnce(t *testing.T, args []string, dir, target string, rng *rand.Rand) (phase string, finished bool) {
	t.Helper()
	cmd := icnnlab(args...)
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		lines []string
		done  = make(chan struct{})
	)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			l := sc.Text()
			if i := strings.LastIndexByte(l, '\r'); i >= 0 {
				l = l[i+1:]
			}
			mu.Lock()
			lines = append(lines, l)
			mu.Unlock()
		}
		close(done)
	}()
	last := func() string {
		mu.Lock()
		defer mu.Unlock()
		if len(lines) == 0 {
			return ""
		}
		return lines[len(lines)-1]
	}
	out := filepath.Join(dir, "out")
	start := time.Now()
	before := tempsIn(out)
	// Runs are trained in plan order, so the finished ones are always the
	// first: aim a training kill at a run not yet trained, a measurement
	// kill at any.
	finishedRuns := doneRuns(dir)
	aim := fmt.Sprintf("run %d of ", finishedRuns+1+rng.IntN(max(6-finishedRuns, 1)))
	if target == phaseMeasure {
		aim = fmt.Sprintf("run %d of ", 1+rng.IntN(6))
	}
	var fireAt time.Time
	for {
		select {
		case <-done:
			cmd.Wait()
			return "", true
		default:
		}
		l := last()
		if fireAt.IsZero() {
			switch target {
			case phaseTrain:
				if strings.HasPrefix(l, aim) {
					fireAt = time.Now().Add(time.Duration(rng.IntN(800)) * time.Millisecond)
				}
			case phaseMeasure:
				// Measurement follows training (or the reuse of a
				// finished run) until the run's summary line.
				if strings.HasPrefix(l, aim) {
					fireAt = time.Now().Add(time.Duration(200+rng.IntN(1500)) * time.Millisecond)
				}
			case phaseVisualize:
				if reportLine.MatchString(l) {
					fireAt = time.Now().Add(time.Duration(rng.IntN(1200)) * time.Millisecond)
				}
			case phaseWrite:
				if tablesBeingWritten(out, start, before) {
					fireAt = time.Now()
				}
			}
		}
		if !fireAt.IsZero() && !time.Now().Before(fireAt) {
			phase = phaseNow(l, completions(lines, &mu), doneRuns(dir), out, start, before)
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			<-done
			err := cmd.Wait()
			if err == nil {
				return "", true // it finished in the same instant
			}
			t.Logf("killed during %s (last output %q, %v after start)", phase, l, time.Since(start).Round(time.Millisecond))
			return phase, false
		}
		time.Sleep(time.Millisecond)
	}
}

// phaseNow names what the process was doing, from its last line of
// output, the runs it finished in this invocation (completed) and the
// finished runs in the store (done): run completed+1 is under way, and is
// being measured when the store already holds it finished.
func phaseNow(last string, completed, done int, out string, start time.Time, before map[string]bool) string {
	switch {
	case tablesBeingWritten(out, start, before):
		return phaseWrite
	case reportLine.MatchString(last):
		return phaseVisualize
	case runLine.MatchString(last) && done > completed:
		return phaseMeasure
	case runLine.MatchString(last):
		return phaseTrain
	case strings.HasPrefix(last, "reports in "), strings.HasPrefix(last, "Table "):
		return "verdict printing"
	}
	return "start-up"
}

// completions counts the runs an invocation has finished so far.
func completions(lines []string, mu *sync.Mutex) int {
	mu.Lock()
	defer mu.Unlock()
	n := 0
	for _, l := range lines {
		if doneLine.MatchString(l) {
			n++
		}
	}
	return n
}

// doneRuns counts the finished (trained) runs in the store.
func doneRuns(dir string) int {
	m, _ := filepath.Glob(filepath.Join(dir, "runs", "*", "metrics.json"))
	return len(m)
}

// tempsIn lists the temporary files in out now.
func tempsIn(out string) map[string]bool {
	seen := map[string]bool{}
	entries, _ := os.ReadDir(out)
	for _, e := range entries {
		if atomicfile.IsTemp(e.Name()) {
			seen[e.Name()] = true
		}
	}
	return seen
}

// tablesBeingWritten reports whether the tables are being written now: a
// temporary file of one (not among before) is in out, or some but not all
// of the four table files changed since start.
func tablesBeingWritten(out string, start time.Time, before map[string]bool) bool {
	entries, _ := os.ReadDir(out)
	changed := 0
	for _, e := range entries {
		if !strings.Contains(e.Name(), "paper-tables.") {
			continue
		}
		if atomicfile.IsTemp(e.Name()) {
			if !before[e.Name()] {
				return true
			}
			continue
		}
		if info, err := e.Info(); err == nil && info.ModTime().After(start) {
			changed++
		}
	}
	return changed > 0 && changed < 4
}

// tablesOf is what must not change: every table with its numbers and
// verdicts, and each run's measured values, without timings and without
// whether a run was reused.
func tablesOf(t *testing.T, out string) map[string]any {
	t.Helper()
	var rep map[string]any
	if err := runstore.ReadJSON(filepath.Join(out, "paper-tables.json"), &rep); err != nil {
		t.Fatal(err)
	}
	delete(rep, "wall_seconds")
	runs, _ := rep["runs"].([]any)
	for _, r := range runs {
		if m, ok := r.(map[string]any); ok {
			delete(m, "reused")
			delete(m, "train_seconds")
		}
	}
	csv, err := os.ReadFile(filepath.Join(out, "paper-tables.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rep["csv"] = string(csv)
	return rep
}

// checkNoTemporaries walks dir: no temporary file of a dead writer may
// remain once a run has finished (final), and at any time every JSON
// file must parse and every checkpoint must read: a killed write leaves
// the old file or the new one, never a torn one.
func checkNoTemporaries(t *testing.T, dir string, final bool) {
	t.Helper()
	var temps []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		switch {
		case atomicfile.IsTemp(d.Name()):
			temps = append(temps, rel)
		case strings.HasSuffix(path, ".json"):
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if !json.Valid(b) {
				t.Errorf("%s is not valid JSON (torn?):\n%s", rel, truncate(b))
			}
		case strings.HasSuffix(path, ".npz"):
			if _, err := runstore.ReadNPZ(path); err != nil {
				t.Errorf("%s does not read: %v", rel, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if final && len(temps) > 0 {
		t.Errorf("temporary files left after the final run: %v", temps)
	}
}

func truncate(b []byte) string {
	if len(b) > 300 {
		return fmt.Sprintf("%s… (%d bytes)", bytes.ToValidUTF8(b[:300], nil), len(b))
	}
	return string(b)
}
