package gorgonia

import (
	"sync"
	"sync/atomic"
)

// parallelFor runs body(i) for i in [0, n) on at most `workers` goroutines.
// Items are independent, so the assignment of items to goroutines does not
// change any result.
func parallelFor(workers, n int, body func(i int)) {
	if min(workers, n) <= 1 {
		for i := range n {
			body(i)
		}
		return
	}
	job := startJob(n)
	job.body1 = body
	job.runAll(workers)
}

// taskRunner is a parallel loop body that its owner keeps across calls
// (a kernel's or the executable's own struct), so that handing it to the
// helpers allocates nothing, where a closure is a new object per call.
type taskRunner interface{ runTask(i int) }

// parallelTasks is parallelFor with a kept body: r.runTask(i) for i in [0, n).
func parallelTasks(workers, n int, r taskRunner) {
	if min(workers, n) <= 1 {
		for i := range n {
			r.runTask(i)
		}
		return
	}
	job := startJob(n)
	job.body3 = r
	job.runAll(workers)
}

// chunksInto splits [0, n) into at most k contiguous, nearly equal ranges,
// written over dst (a kept dst makes the split allocate nothing). The
// split depends only on n and k, never on the thread count, so reductions
// over chunks give the same bits whatever the parallelism.
func chunksInto(dst [][2]int, n, k int) [][2]int {
	k = max(min(k, n), 1)
	out := dst[:0]
	for c := range k {
		lo, hi := c*n/k, (c+1)*n/k
		if hi > lo {
			out = append(out, [2]int{lo, hi})
		}
	}
	return out
}

// parallelJob is one parallelWorkers or parallelFor call: items are
// claimed from next, and left counts those not yet finished. Jobs are
// pooled: refs counts the caller and every helper handed the job, and
// whoever drops it to zero returns the job to the pool, so a job is reused
// only when no goroutine can still read it (a helper that arrives late
// still holds a reference, and the job stays out of the pool until it
// leaves). A new job per call was an allocation per parallel loop.
type parallelJob struct {
	body1 func(i int)         // parallelFor's body, or
	body2 func(worker, i int) // parallelWorkers', or
	body3 taskRunner          // parallelTasks'
	n     int64
	next  atomic.Int64
	left  sync.WaitGroup
	refs  atomic.Int32
}

var jobPool = sync.Pool{New: func() any { return new(parallelJob) }}

// startJob takes a job for n items from the pool, held by the caller.
func startJob(n int) *parallelJob {
	job := jobPool.Get().(*parallelJob)
	job.n = int64(n)
	job.next.Store(0)
	job.refs.Store(1)
	job.left.Add(n)
	return job
}

// release drops one reference; the last one returns the job to the pool.
func (j *parallelJob) release() {
	if j.refs.Add(-1) == 0 {
		j.body1, j.body2, j.body3 = nil, nil, nil
		jobPool.Put(j)
	}
}

// runAll hands the job to up to workers-1 helpers, runs items as worker 0
// until none are left, waits for the items (not for the helpers: a helper
// that starts late, busy with another call or a nested one, finds nothing
// left and returns, so no call ever waits on a queue) and releases the
// caller's reference.
func (j *parallelJob) runAll(workers int) {
	workers = int(min(int64(workers), j.n))
	ensureHelpers(workers - 1)
	for w := 1; w < workers; w++ {
		j.refs.Add(1)
		select {
		case helpers.queue <- helperTask{job: j, worker: w}:
		default: // queue full: the workers already running take the items
			j.refs.Add(-1)
		}
	}
	j.run(0)
	j.left.Wait()
	j.release()
}

// run claims and runs items as the given worker until none are left.
func (j *parallelJob) run(worker int) {
	for {
		i := j.next.Add(1) - 1
		if i >= j.n {
			return
		}
		switch {
		case j.body1 != nil:
			j.body1(int(i))
		case j.body2 != nil:
			j.body2(worker, int(i))
		default:
			j.body3.runTask(int(i))
		}
		j.left.Done()
	}
}

// helperTask asks a helper goroutine to join job as worker.
type helperTask struct {
	job    *parallelJob
	worker int
}

// The helper goroutines, started on demand and kept for the life of the
// process (idle ones block on the queue and cost nothing): starting fresh
// goroutines, a channel of items and a WaitGroup for each parallel kernel
// call cost allocations and start-up latency on every step.
var helpers struct {
	sync.Mutex
	started int
	queue   chan helperTask
}

// ensureHelpers starts helper goroutines until there are at least n.
func ensureHelpers(n int) {
	helpers.Lock()
	defer helpers.Unlock()
	if helpers.queue == nil {
		helpers.queue = make(chan helperTask, 256)
	}
	for ; helpers.started < n; helpers.started++ {
		go func(queue <-chan helperTask) {
			for t := range queue {
				t.job.run(t.worker)
				t.job.release()
			}
		}(helpers.queue)
	}
}

// parallelWorkers is parallelFor that also tells body which worker (in
// [0, workers)) runs item i, so that each worker can use its own scratch.
// The caller is worker 0 and runs items too; helpers join as workers 1 ..
// workers-1.
func parallelWorkers(workers, n int, body func(worker, i int)) {
	if min(workers, n) <= 1 {
		for i := range n {
			body(0, i)
		}
		return
	}
	job := startJob(n)
	job.body2 = body
	job.runAll(workers)
}
