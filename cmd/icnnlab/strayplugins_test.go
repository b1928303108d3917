package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// processGone reports whether pid has exited. A zombie counts as gone: it
// runs no code and holds no memory, and whether anyone reaps it depends on
// the init of the container the test runs in.
func processGone(pid int) bool {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return true
	}
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	return len(fields) > 0 && (fields[0] == "Z" || fields[0] == "X")
}

// Killing icnnlab with SIGKILL (no chance to clean up) takes its plugin
// processes with it: within 2 s none of them runs, whether the host was
// training, drawing a visualizer report or reproducing the tables.
func TestNoPluginOutlivesAKilledHost(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a small network; skipped with -short")
	}
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs /proc to find the plugin processes")
	}
	// visualize needs a finished run.
	finished := t.TempDir()
	if out, err := icnnlab(append(tinyInterpretable, "--runs", finished)...).CombinedOutput(); err != nil {
		t.Fatalf("train the run to visualize: %v\n%s", err, out)
	}
	run := runDir(t, finished)

	for _, tc := range []struct {
		name string
		args func(dir string) []string
		// want is a plugin kind/name the host must have started before
		// the kill, so the kill lands while that work is under way.
		want string
	}{
		{"train", func(dir string) []string { return append(tinyInterpretable, "--runs", filepath.Join(dir, "runs")) }, "masks/l1"},
		{"visualize", func(dir string) []string {
			return []string{"visualize", run, "--no-upconv", "--out", filepath.Join(dir, "viz"), "--images", "32"}
		}, "visualizers/receptive-field"},
		{"reproduce", func(dir string) []string {
			return []string{"reproduce", "paper-tables", "--scale", "test", "--tables", "7", "--reports", "none",
				"--runs", filepath.Join(dir, "runs"), "--out", filepath.Join(dir, "out"), "--threads", "1"}
		}, "metrics/accuracy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := icnnlab(tc.args(t.TempDir())...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			seen := map[int]string{}
			deadline := time.Now().Add(3 * time.Minute)
			for !slices.Contains(mapValues(seen), tc.want) {
				if time.Now().After(deadline) {
					cmd.Process.Kill()
					cmd.Wait()
					t.Fatalf("no %s plugin started within 3 minutes (saw %v)\n%s", tc.want, seen, stderr.String())
				}
				for pid, ref := range pluginChildren(t, cmd.Process.Pid) {
					seen[pid] = ref
				}
				time.Sleep(5 * time.Millisecond)
			}
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			cmd.Wait()
			killed := time.Now()
			for {
				var alive []string
				for pid, ref := range seen {
					if !processGone(pid) {
						alive = append(alive, ref+" (pid "+strconv.Itoa(pid)+")")
					}
				}
				if len(alive) == 0 {
					t.Logf("plugins %v gone %v after the host's SIGKILL", mapValues(seen), time.Since(killed).Round(time.Millisecond))
					return
				}
				if time.Since(killed) > 2*time.Second {
					for pid := range seen {
						syscall.Kill(pid, syscall.SIGKILL)
					}
					t.Fatalf("2 s after the host was killed these plugins still run: %v", alive)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

func mapValues(m map[int]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}
