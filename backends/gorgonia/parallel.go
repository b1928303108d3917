package gorgonia

import (
	"sync"
	"sync/atomic"
)

// parallelFor runs body(i) for i in [0, n) on at most `workers` goroutines.
// Items are independent, so the assignment of items to goroutines does not
// change any result.
func parallelFor(workers, n int, body func(i int)) {
	parallelWorkers(workers, n, func(_, i int) { body(i) })
}

// chunks splits [0, n) into at most k contiguous, nearly equal ranges. The
// split depends only on n and k, never on the thread count, so reductions
// over chunks give the same bits whatever the parallelism.
func chunks(n, k int) [][2]int {
	k = max(min(k, n), 1)
	out := make([][2]int, 0, k)
	for c := range k {
		lo, hi := c*n/k, (c+1)*n/k
		if hi > lo {
			out = append(out, [2]int{lo, hi})
		}
	}
	return out
}

// parallelJob is one parallelWorkers call: items are claimed from next,
// and left counts those not yet finished.
type parallelJob struct {
	body func(worker, i int)
	n    int64
	next atomic.Int64
	left sync.WaitGroup
}

// run claims and runs items as the given worker until none are left.
func (j *parallelJob) run(worker int) {
	for {
		i := j.next.Add(1) - 1
		if i >= j.n {
			return
		}
		j.body(worker, int(i))
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
			}
		}(helpers.queue)
	}
}

// parallelWorkers is parallelFor that also tells body which worker (in
// [0, workers)) runs item i, so that each worker can use its own scratch.
// The caller is worker 0 and runs items too; helpers join as workers 1 ..
// workers-1. The caller waits for the items, not for the helpers: a
// helper that starts late (busy with another call, or a nested call) finds
// nothing left and returns, so no call ever waits on a queue.
func parallelWorkers(workers, n int, body func(worker, i int)) {
	workers = min(workers, n)
	if workers <= 1 {
		for i := range n {
			body(0, i)
		}
		return
	}
	ensureHelpers(workers - 1)
	job := &parallelJob{body: body, n: int64(n)}
	job.left.Add(n)
	for w := 1; w < workers; w++ {
		select {
		case helpers.queue <- helperTask{job: job, worker: w}:
		default: // queue full: the workers already running take the items
		}
	}
	job.run(0)
	job.left.Wait()
}
