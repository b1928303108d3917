package gorgonia

import (
	"sync"
	"sync/atomic"
	"testing"
)

// TestParallelWorkersRunsEachItemOnce checks that every item runs exactly
// once, on a worker in range, that no worker index runs two items at the
// same time (kernels index per-worker scratch by it), and that nested
// calls, which can find every helper busy, finish.
func TestParallelWorkersRunsEachItemOnce(t *testing.T) {
	for _, tc := range []struct{ workers, n int }{{1, 5}, {2, 1}, {2, 7}, {3, 100}, {8, 3}, {4, 0}} {
		runs := make([]atomic.Int32, tc.n)
		var busy [16]atomic.Int32
		var bad atomic.Int32
		parallelWorkers(tc.workers, tc.n, func(w, i int) {
			if w < 0 || w >= max(min(tc.workers, tc.n), 1) || busy[w].Add(1) != 1 {
				bad.Add(1)
			}
			// A nested call from inside an item.
			var inner atomic.Int32
			parallelFor(tc.workers, 3, func(int) { inner.Add(1) })
			if inner.Load() != 3 {
				bad.Add(1)
			}
			runs[i].Add(1)
			busy[w].Add(-1)
		})
		if bad.Load() != 0 {
			t.Errorf("workers %d, n %d: %d items saw a bad or shared worker index or a short nested call", tc.workers, tc.n, bad.Load())
		}
		for i := range runs {
			if got := runs[i].Load(); got != 1 {
				t.Errorf("workers %d, n %d: item %d ran %d times", tc.workers, tc.n, i, got)
			}
		}
	}
	// Many concurrent callers share the helpers.
	var wg sync.WaitGroup
	var total atomic.Int64
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				parallelFor(2, 10, func(int) { total.Add(1) })
			}
		}()
	}
	wg.Wait()
	if got := total.Load(); got != 8*50*10 {
		t.Errorf("concurrent callers ran %d items, want %d", got, 8*50*10)
	}
}

// TestParallelForReusesJobs counts the allocations of parallel loops
// whose body captures nothing: the jobs come from the pool.
func TestParallelForReusesJobs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	for _, workers := range []int{1, 2, 4} {
		allocs := testing.AllocsPerRun(200, func() {
			parallelFor(workers, 16, func(i int) { parallelItems.Add(int64(i)) })
			parallelWorkers(workers, 16, func(_, i int) { parallelItems.Add(int64(i)) })
		})
		// A helper that picks its task up late keeps its job out of the
		// pool for a while, so now and then a call takes a new one.
		if allocs > 0.5 {
			t.Errorf("workers %d: %v allocations per pair of calls, want (nearly) none", workers, allocs)
		}
	}
}

var parallelItems atomic.Int64

func BenchmarkParallelFor(b *testing.B) {
	b.ReportAllocs()
	var sink atomic.Int64
	for b.Loop() {
		parallelFor(2, 32, func(i int) { sink.Add(int64(i)) })
	}
}
