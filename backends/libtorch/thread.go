//go:build cgo

package libtorch

import (
	"runtime"
	"sync"
)

// osThread runs functions, one at a time, on one OS thread that it keeps
// for its whole life. Every libtorch call of an executable goes through
// one, because libtorch keeps state per OS thread that a goroutine hopping
// between threads would scatter or reset:
//
//   - the intra-op thread count (OpenMP's, per thread): set once here
//     instead of before every call, since libtorch 1.13's
//     at::set_num_threads has process-wide costs (see icnn_set_num_threads);
//   - OpenMP's team of worker threads, one per calling thread: one thread
//     means one team, kept warm from step to step;
//   - ideep's cache of convolution primitives (thread-local) and glibc's
//     malloc arena (per thread), which keep serving the same thread;
//   - the autograd mode.
type osThread struct {
	calls chan func()
	stop  sync.Once
}

// newOSThread starts the thread and runs setup on it before returning.
func newOSThread(setup func()) *osThread {
	t := &osThread{calls: make(chan func())}
	ready := make(chan struct{})
	go func() {
		// Never unlocked: once calls is closed the goroutine exits still
		// locked, and Go ends the OS thread with it (OpenMP's team too).
		runtime.LockOSThread()
		setup()
		close(ready)
		for f := range t.calls {
			f()
		}
	}()
	<-ready
	return t
}

// do runs f on the thread and waits for it; a panic in f is raised again
// in the caller. f must not call do itself.
func (t *osThread) do(f func()) {
	done := make(chan any, 1)
	t.calls <- func() {
		defer func() { done <- recover() }()
		f()
	}
	if p := <-done; p != nil {
		panic(p)
	}
}

// close ends the thread once no call is running; later calls to do panic.
func (t *osThread) close() {
	t.stop.Do(func() { close(t.calls) })
}
