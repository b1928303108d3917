package gorgonia

import "sync"

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

// parallelWorkers is parallelFor that also tells body which worker (in
// [0, workers)) runs item i, so that each worker can use its own scratch.
func parallelWorkers(workers, n int, body func(worker, i int)) {
	workers = min(workers, n)
	if workers <= 1 {
		for i := range n {
			body(0, i)
		}
		return
	}
	var wg sync.WaitGroup
	next := make(chan int, n)
	for i := range n {
		next <- i
	}
	close(next)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				body(w, i)
			}
		}()
	}
	wg.Wait()
}
