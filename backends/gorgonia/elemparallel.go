package gorgonia

import (
	"sync"

	"github.com/icnnlab/icnnlab/sdk/graph"
)

// elementGrain is the fewest elements worth a parallel task of an
// elementwise kernel (tens of microseconds of work against about one of
// hand-off).
const elementGrain = 1 << 15

// unaryParts runs a unary kernel's forward or backward pass over equal
// parts of its elements as parallel tasks. Each element's result depends
// only on that element, so the split changes no bit. Tasks come from a
// pool and are handed to the helpers as taskRunners: a call allocates
// nothing, where a closure per call would.
type unaryParts[T float] struct {
	backward     bool
	fk           unaryKernel
	bk           unaryGradKernel
	x, y, dy, dx []T
	parts        int
	mu           sync.Mutex
	err          error
}

var (
	unaryParts32 = sync.Pool{New: func() any { return new(unaryParts[float32]) }}
	unaryParts64 = sync.Pool{New: func() any { return new(unaryParts[float64]) }}
)

func unaryPartsPool[T float]() *sync.Pool {
	var zero T
	if _, ok := any(zero).(float32); ok {
		return &unaryParts32
	}
	return &unaryParts64
}

func (t *unaryParts[T]) runTask(i int) {
	n := len(t.x)
	lo, hi := i*n/t.parts, (i+1)*n/t.parts
	var err error
	if t.backward {
		err = unaryBackward(t.bk, t.x[lo:hi], t.y[lo:hi], t.dy[lo:hi], t.dx[lo:hi])
	} else {
		err = unaryForward(t.fk, t.x[lo:hi], t.y[lo:hi])
	}
	if err != nil {
		t.mu.Lock()
		t.err = err
		t.mu.Unlock()
	}
}

// elementParts is how many tasks n elements make at the given thread count.
func elementParts(threads, n int) int {
	return max(min(threads, n/elementGrain), 1)
}

// unaryForwardParallel is unaryForward over parts of x and y in parallel.
func unaryForwardParallel[T float](ctx *runContext, k unaryKernel, x, y []T) error {
	parts := elementParts(ctx.threads, len(x))
	if parts == 1 || len(y) != len(x) {
		return unaryForward(k, x, y)
	}
	pool := unaryPartsPool[T]()
	t := pool.Get().(*unaryParts[T])
	*t = unaryParts[T]{fk: k, x: x, y: y, parts: parts}
	parallelTasks(parts, parts, t)
	err := t.err
	*t = unaryParts[T]{}
	pool.Put(t)
	return err
}

// unaryBackwardParallel is unaryBackward over parts of its slices in parallel.
func unaryBackwardParallel[T float](ctx *runContext, k unaryGradKernel, x, y, dy, dx []T) error {
	parts := elementParts(ctx.threads, len(x))
	if parts == 1 || len(y) != len(x) || len(dy) != len(x) || len(dx) != len(x) {
		return unaryBackward(k, x, y, dy, dx)
	}
	pool := unaryPartsPool[T]()
	t := pool.Get().(*unaryParts[T])
	*t = unaryParts[T]{backward: true, bk: k, x: x, y: y, dy: dy, dx: dx, parts: parts}
	parallelTasks(parts, parts, t)
	err := t.err
	*t = unaryParts[T]{}
	pool.Put(t)
	return err
}

// argMaxParts runs a float32 argmax over equal parts of its outer indices
// as parallel tasks (pooled, like unaryParts). Each output scans its own
// row in the serial order, so the split changes no index.
type argMaxParts struct {
	k            argMaxKernel
	x            []float32
	idx          []int64
	outer, parts int
}

var argMaxPartsPool = sync.Pool{New: func() any { return new(argMaxParts) }}

func (t *argMaxParts) runTask(i int) {
	argMaxOuter(t.k, t.x, t.idx, i*t.outer/t.parts, (i+1)*t.outer/t.parts)
}

// argMaxParallel is argMax over parts of the outer indices in parallel.
func argMaxParallel(ctx *runContext, k argMaxKernel, x []float32, idx []int64) {
	outer := numElements(k.inShape[:k.axis])
	parts := min(elementParts(ctx.threads, len(x)), outer)
	if parts <= 1 {
		argMax(k, x, idx)
		return
	}
	t := argMaxPartsPool.Get().(*argMaxParts)
	*t = argMaxParts{k: k, x: x, idx: idx, outer: outer, parts: parts}
	parallelTasks(parts, parts, t)
	*t = argMaxParts{}
	argMaxPartsPool.Put(t)
}

// binaryParts runs a float32 broadcast binary op over equal ranges of its
// output's elements as parallel tasks (pooled, like unaryParts). A range
// may start or end inside an innermost row (operands of one shape make one
// long row); each piece of a row is computed by binaryRow with the offsets
// the serial walk gives its elements, so the split changes no bit.
type binaryParts struct {
	op      graph.Op
	p       plan
	a, b, y []float32
	parts   int
}

var binaryPartsPool = sync.Pool{New: func() any { return new(binaryParts) }}

func (t *binaryParts) runTask(i int) {
	op, a, b, y := t.op, t.a, t.b, t.y
	lo, hi := i*len(y)/t.parts, (i+1)*len(y)/t.parts
	if lo >= hi {
		return
	}
	n := t.p.shape[len(t.p.shape)-1]
	t.p.rowsIn(lo/n, (hi-1)/n+1, func(o, ia, ib, rowLen, inca, incb int) {
		start, end := max(lo, o), min(hi, o+rowLen)
		d := start - o
		binaryRow(op, a, b, y, start, ia+d*inca, ib+d*incb, end-start, inca, incb)
	})
}

// binaryForwardParallel is binaryForward over ranges of rows in parallel.
func binaryForwardParallel(ctx *runContext, k binaryKernel, a, b, y []float32) {
	parts := elementParts(ctx.threads, len(y))
	if parts <= 1 {
		binaryForward(k, a, b, y)
		return
	}
	p := broadcastPlan(k.outShape, k.aShape, k.bShape)
	if p.numRows() == 0 || numElements(p.shape) != len(y) {
		binaryForward(k, a, b, y)
		return
	}
	t := binaryPartsPool.Get().(*binaryParts)
	*t = binaryParts{op: k.op, p: p, a: a, b: b, y: y, parts: parts}
	parallelTasks(parts, parts, t)
	*t = binaryParts{}
	binaryPartsPool.Put(t)
}
