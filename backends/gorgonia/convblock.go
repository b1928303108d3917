package gorgonia

import (
	"fmt"
	"io"
	"math"
	"sync"
	"unsafe"

	G "gorgonia.org/gorgonia"
	gt "gorgonia.org/tensor"
)

// A convolution block is Conv2D followed by what usually comes after it in
// a CNN: a per-channel bias, ReLU, and 2x2 stride-2 max-pooling. Lowering
// fuses such chains (see fuse.go) into one convBlock node, so that each
// image's convolution output is biased, rectified and pooled while it is
// still in cache, and the full-size pre-pooling activation is never
// written to memory at all. Pooling records its argmax, and the backward
// pass routes the gradient through the recorded argmax and the ReLU in one
// scatter instead of rescanning the activations.
//
// The arithmetic is the unfused one, rounding included: the bias is added
// to the finished convolution sum, ReLU keeps v > 0 (NaN becomes 0, as the
// relu kernel does), and pooling takes the first maximum of the rectified
// values, so results match the unfused ops bit for bit.

// blockOps says which ops a convBlock has fused after its convolution.
type blockOps struct {
	bias, relu, pool bool
	// xGrad is false when no gradient needs to flow to the block's input
	// (the network's image batch), which saves a full backward convolution.
	xGrad bool
}

// convBlockKernel is (x, w[, b]) -> pool(relu(conv(x, w) + b)).
type convBlockKernel struct {
	g   convGeom
	ops blockOps
	st  *blockState
}

// blockState is what a block's forward pass leaves for its backward pass,
// and scratch kept across runs. It is shared by the forward and gradient
// kernels of one block and never part of a hash: the gradient kernel reads
// the forward output too, so gorgonia always orders it after the forward
// pass.
type blockState struct {
	argmax []int32 // per pooled element: index of the winner in its channel plane
	scratch
}

// scratch holds per-worker and per-chunk buffers of one kernel, kept across
// runs so that a step allocates nothing. Each kernel node runs once at a
// time, and buffers are handed out before its workers start.
type scratch struct {
	mu       sync.Mutex
	workers  []any // per worker: a []T
	partials []any // per chunk of a reduction: a []T
	lefts    []*packedLeft
	loops    []any // per call site: its kept loop (see keptLoop)
}

// The call sites that keep their parallel loop in a kernel's scratch, one
// slot each (a block's forward and gradient kernels share one scratch).
const (
	loopConv = iota
	loopGradInputAsConv
	loopBlockForward
	loopBlockGrad
	loopChannelSum
	loopPool
)

// keptLoop returns the loop state of type L that call site slot keeps in
// s, made on its first call. A parallel loop body that closes over its
// call's operands is a new heap object on every call (the helper
// goroutines may run it after the call's frame is gone, so it escapes);
// a body kept by the kernel, with the operands refilled per call, is made
// once. A step then allocates nothing for its loops.
func keptLoop[L any](s *scratch, slot int) *L {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.loops) <= slot {
		s.loops = append(s.loops, nil)
	}
	if l, ok := s.loops[slot].(*L); ok {
		return l
	}
	l := new(L)
	s.loops[slot] = l
	return l
}

// resized is s with length n, reusing its array when it is large enough.
func resized[E any](s []E, n int) []E {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]E, n)
}

// leftsFor returns n slots for weights packed once per call (one per
// group), shared by the workers.
func leftsFor(s *scratch, n int) []*packedLeft {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.lefts) < n {
		s.lefts = append(s.lefts, new(packedLeft))
	}
	return s.lefts[:n]
}

// scratchFor returns worker w's scratch buffer of n elements of T (not
// cleared).
func scratchFor[T float](s *scratch, w, n int) []T {
	s.mu.Lock()
	defer s.mu.Unlock()
	return grow[T](&s.workers, w, n)
}

// partialFor returns chunk c's buffer of n elements of T (not cleared).
func partialFor[T float](s *scratch, c, n int) []T {
	s.mu.Lock()
	defer s.mu.Unlock()
	return grow[T](&s.partials, c, n)
}

// scratchOrNew is scratchFor when s is set, else a fresh buffer: kernels
// built without scratch (tests, one-off calls) still work.
func scratchOrNew[T float](s *scratch, w, n int) []T {
	if s == nil {
		return make([]T, n)
	}
	return scratchFor[T](s, w, n)
}

func grow[T float](slots *[]any, i, n int) []T {
	for len(*slots) <= i {
		*slots = append(*slots, nil)
	}
	if b, ok := (*slots)[i].([]T); ok && len(b) >= n {
		return b[:n]
	}
	b := make([]T, n)
	(*slots)[i] = b
	return b
}

func (k convBlockKernel) poolShape() (ph, pw int) { return k.g.oh / 2, k.g.ow / 2 }

// outShape is the block's result shape.
func (k convBlockKernel) outShape() []int {
	if k.ops.pool {
		ph, pw := k.poolShape()
		return []int{k.g.n, k.g.o, ph, pw}
	}
	return k.g.yShape()
}

func (k convBlockKernel) name() string { return "conv2d_block" }

func (k convBlockKernel) writeAttrs(w io.Writer) {
	a := attrWriter{w}
	a.ints("geom", k.g.ints()...)
	a.ints("ops", b2i(k.ops.bias), b2i(k.ops.relu), b2i(k.ops.pool), b2i(k.ops.xGrad))
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (k convBlockKernel) overwrites() bool { return true }

func (k convBlockKernel) forward(ctx *runContext, in []G.Value, out G.Value) error {
	switch out.Dtype() {
	case gt.Float32:
		runConvBlock(ctx, k, in, dataOf[float32](out))
	case gt.Float64:
		runConvBlock(ctx, k, in, dataOf[float64](out))
	default:
		return fmt.Errorf("dtype %v is not a float", out.Dtype())
	}
	return nil
}

func runConvBlock[T float](ctx *runContext, k convBlockKernel, in []G.Value, out []T) {
	g := k.g
	l := keptLoop[blockLoop[T]](&k.st.scratch, loopBlockForward)
	l.k, l.out = k, out
	l.x, l.w, l.bias = dataOf[T](in[0]), dataOf[T](in[1]), nil
	if k.ops.bias {
		l.bias = dataOf[T](in[2])
	}
	cg, og := g.c/g.groups, g.o/g.groups
	rows, ohw := g.colRows(), g.oh*g.ow
	if k.ops.pool {
		if len(k.st.argmax) != len(out) {
			k.st.argmax = make([]int32, len(out))
		}
	}
	workers := min(ctx.threads, g.n)
	// Scratch is taken before the workers start, so no worker allocates.
	// Pooling blocks convolve each image into scratch (ys) and pool from
	// there.
	yLen := 0
	if k.ops.pool {
		yLen = g.o * ohw
	}
	l.cols, l.ys, l.phases = resized(l.cols, workers), resized(l.ys, workers), resized(l.phases, workers)
	// The implicit products pack op(B) from the image: no im2col matrix.
	l.implicit = implicitFloat32[T]()
	colLen, phaseLen := rows*ohw, g.phaseLen(cg)
	if l.implicit {
		colLen, phaseLen = 0, 0
		l.packers.prepare(g, cg, workers)
	}
	for wk := range workers {
		buf := scratchFor[T](&k.st.scratch, wk, colLen+yLen+phaseLen)
		l.cols[wk] = buf[:colLen]
		l.ys[wk] = buf[colLen:][:yLen]
		l.phases[wk] = buf[colLen+yLen:]
	}
	// The weights are packed once for all images.
	l.lefts = leftsFor(&k.st.scratch, g.groups)
	for gi, slot := range l.lefts {
		packLeft(slot, false, og, rows, l.w[gi*og*rows:], rows)
	}
	if l.body == nil {
		l.body = l.run
	}
	parallelWorkers(workers, g.n, l.body)
	// Drop the call's operands: the kernel outlives them.
	l.x, l.w, l.bias, l.out = nil, nil, nil, nil
}

// blockLoop is runConvBlock's parallel loop over images, kept by the
// kernel (keptLoop).
type blockLoop[T float] struct {
	k                convBlockKernel
	x, w, bias, out  []T
	cols, ys, phases [][]T // per worker
	lefts            []*packedLeft
	implicit         bool // float32 products packed from the image (implicitProduct)
	packers          implicitPackers
	body             func(wk, n int)
}

// run convolves image n as worker wk, then adds the bias, rectifies and
// pools as the block says.
func (l *blockLoop[T]) run(wk, n int) {
	k, g := l.k, l.k.g
	cg, og := g.c/g.groups, g.o/g.groups
	rows, ohw := g.colRows(), g.oh*g.ow
	xImg := g.c * g.h * g.w
	ph, pw := k.poolShape()
	outImg := g.o * ohw
	if k.ops.pool {
		outImg = g.o * ph * pw
	}
	out := l.out
	col := l.cols[wk]
	y := out[n*outImg:][:outImg]
	if k.ops.pool {
		y = l.ys[wk]
	}
	for gi := range g.groups {
		x := l.x[n*xImg+gi*cg*g.h*g.w:]
		if l.implicit {
			implicitProduct(&l.packers, wk, l.lefts[gi], x, y[gi*og*ohw:])
			continue
		}
		im2col(g, x, cg, col, l.phases[wk])
		leftTimes(l.lefts[gi], false, og, ohw, rows, l.w[gi*og*rows:], rows, col, ohw, 0, y[gi*og*ohw:], ohw)
	}
	if !k.ops.pool {
		biasRelu(y, l.bias, ohw, k.ops.relu)
		return
	}
	for c := range g.o {
		var b T
		if l.bias != nil {
			b = l.bias[c]
		}
		at := n*outImg + c*ph*pw
		if rz, ok := any(y).([]float32); ok && k.ops.relu {
			pool2x2Relu32(rz[c*ohw:(c+1)*ohw], g.ow, float32(b), any(out).([]float32)[at:at+ph*pw], k.st.argmax[at:at+ph*pw])
			continue
		}
		pool2x2Rectified(y[c*ohw:(c+1)*ohw], g.ow, b, k.ops.relu, out[at:at+ph*pw], k.st.argmax[at:at+ph*pw])
	}
}

// biasRelu adds bias[c] to each channel plane of y (planes of size hw) and
// rectifies when relu is set.
func biasRelu[T float](y, bias []T, hw int, relu bool) {
	for c := range len(y) / hw {
		row := y[c*hw : (c+1)*hw]
		if r32, ok := any(row).([]float32); ok && relu {
			// rectify(v + 0) is rectify(v) for every v (−0 and NaN give
			// +0 either way), so a block without bias adds zero.
			var b float32
			if bias != nil {
				b = float32(bias[c])
			}
			done := biasReluVector(r32, b)
			for i, v := range r32[done:] {
				r32[done+i] = rectify(v + b)
			}
			continue
		}
		if bias != nil {
			b := bias[c]
			for i := range row {
				row[i] += b
			}
		}
		if relu {
			reluInPlace(row)
		}
	}
}

// rectify is v where v > 0 and 0 elsewhere (NaN included), computed with
// a bit mask instead of a branch.
func rectify[T float](v T) T { return keepIf(v, v > 0) }

// keepIf is v when keep is set and +0 otherwise, without a branch.
func keepIf[T float](v T, keep bool) T {
	k := b2i(keep)
	if unsafe.Sizeof(v) == 4 {
		b := *(*uint32)(unsafe.Pointer(&v)) & -uint32(k)
		return *(*T)(unsafe.Pointer(&b))
	}
	b := *(*uint64)(unsafe.Pointer(&v)) & -uint64(k)
	return *(*T)(unsafe.Pointer(&b))
}

// reluInPlace keeps v > 0 and writes 0 elsewhere (NaN included) without a
// data-dependent branch, which random-signed activations would mispredict.
func reluInPlace[T float](row []T) {
	for i, v := range row {
		row[i] = rectify(v)
	}
}

// pool2x2Rectified pools one channel plane z (width w, even height and
// width) of a convolution output, after adding b and rectifying when relu
// is set, into y, recording the first maximum of each window in arg.
func pool2x2Rectified[T float](z []T, w int, b T, relu bool, y []T, arg []int32) {
	pw := w / 2
	for oy := range len(y) / pw {
		r0 := z[2*oy*w : (2*oy+1)*w]
		r1 := z[(2*oy+1)*w : (2*oy+2)*w]
		base := int32(2 * oy * w)
		yr := y[oy*pw : (oy+1)*pw]
		ar := arg[oy*pw : (oy+1)*pw]
		for ox := range yr {
			c := 2 * ox
			v0, v1, v2, v3 := r0[c]+b, r0[c+1]+b, r1[c]+b, r1[c+1]+b
			if relu {
				v0, v1, v2, v3 = rectify(v0), rectify(v1), rectify(v2), rectify(v3)
			}
			// The first maximum wins; a NaN wins over numbers (as in maxPool2x2Plane).
			best, at := v0, int32(c)
			if v1 > best || (v1 != v1 && best == best) {
				best, at = v1, int32(c+1)
			}
			if v2 > best || (v2 != v2 && best == best) {
				best, at = v2, int32(w+c)
			}
			if v3 > best || (v3 != v3 && best == best) {
				best, at = v3, int32(w+c+1)
			}
			yr[ox], ar[ox] = best, base+at
		}
	}
}

// pool2x2Relu32 is pool2x2Rectified with ReLU for float32, without
// data-dependent branches: rectified values are +0 or positive numbers
// (never NaN or -0), whose bit patterns order like the values, so the
// first-maximum scan runs on integers and compiles to conditional moves.
// Random-signed activations made the branches of the general version
// mispredict about every other window.
func pool2x2Relu32(z []float32, w int, b float32, y []float32, arg []int32) {
	pw := w / 2
	for oy := range len(y) / pw {
		r0 := z[2*oy*w : (2*oy+1)*w]
		r1 := z[(2*oy+1)*w : (2*oy+2)*w]
		base := int32(2 * oy * w)
		yr := y[oy*pw : (oy+1)*pw]
		ar := arg[oy*pw : (oy+1)*pw]
		for ox := range yr {
			c := 2 * ox
			v0 := math.Float32bits(rectify(r0[c] + b))
			v1 := math.Float32bits(rectify(r0[c+1] + b))
			v2 := math.Float32bits(rectify(r1[c] + b))
			v3 := math.Float32bits(rectify(r1[c+1] + b))
			best, at := v0, int32(c)
			if v1 > best {
				best, at = v1, int32(c+1)
			}
			if v2 > best {
				best, at = v2, int32(w+c)
			}
			if v3 > best {
				best, at = v3, int32(w+c+1)
			}
			yr[ox], ar[ox] = math.Float32frombits(best), base+at
		}
	}
}

func (k convBlockKernel) diffWRT(n int) []bool {
	d := allTrue(n)
	d[0] = k.ops.xGrad
	return d
}

// symDiff: with dz the gradient at the convolution's output (the incoming
// gradient routed back through pooling and ReLU), dx and dw are the usual
// convolution gradients of dz and db is dz summed over images and pixels.
func (k convBlockKernel) symDiff(ctx *runContext, inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	x, w := inputs[0], inputs[1]
	dt := x.Dtype()
	dz := grad
	if k.ops.pool || k.ops.relu {
		var err error
		if dz, err = applyKernel(ctx, convBlockGradKernel{g: k.g, ops: k.ops, st: k.st}, dt, k.g.yShape(), output, grad); err != nil {
			return nil, err
		}
	}
	grads := make(G.Nodes, len(inputs))
	var err error
	if k.ops.xGrad {
		if grads[0], err = applyKernel(ctx, convKernel{role: convGradInput, g: k.g, st: &scratch{}}, dt, k.g.xShape(), w, dz); err != nil {
			return nil, err
		}
	}
	// The weight gradient rebuilds the im2col matrices: keeping the
	// forward pass's (80 MB a vggm-112 step) was 2 ms a step slower, the
	// writes to a fresh 1.6 MB per image costing more than the rebuild.
	if grads[1], err = applyKernel(ctx, convKernel{role: convGradWeight, g: k.g, st: &scratch{}}, dt, k.g.wShape(), x, dz); err != nil {
		return nil, err
	}
	if k.ops.bias {
		b := inputs[2]
		if grads[2], err = applyKernel(ctx, channelSumKernel{n: k.g.n, c: k.g.o, hw: k.g.oh * k.g.ow, st: &scratch{}}, dt, nodeShape(b), dz); err != nil {
			return nil, err
		}
	}
	return grads, nil
}

// convBlockGradKernel is (y, dy) -> dz: the gradient at the convolution's
// output (after the bias) from the gradient dy at the block's output y.
type convBlockGradKernel struct {
	noGradient
	g   convGeom
	ops blockOps
	st  *blockState
}

func (k convBlockGradKernel) name() string { return "conv2d_block_grad" }
func (k convBlockGradKernel) writeAttrs(w io.Writer) {
	convBlockKernel{g: k.g, ops: k.ops}.writeAttrs(w)
}

// overwrites: the ReLU-only form writes every element, and pooling's
// gradient clears each plane just before scattering into it (in cache,
// instead of a separate pass over the whole output before the kernel).
func (k convBlockGradKernel) overwrites() bool { return true }

func (k convBlockGradKernel) forward(ctx *runContext, in []G.Value, out G.Value) error {
	switch out.Dtype() {
	case gt.Float32:
		blockGrad(ctx, k, dataOf[float32](in[0]), dataOf[float32](in[1]), dataOf[float32](out))
	case gt.Float64:
		blockGrad(ctx, k, dataOf[float64](in[0]), dataOf[float64](in[1]), dataOf[float64](out))
	default:
		return fmt.Errorf("dtype %v is not a float", out.Dtype())
	}
	return nil
}

func blockGrad[T float](ctx *runContext, k convBlockGradKernel, y, dy, dz []T) {
	st := k.st
	if st == nil {
		st = &blockState{} // a ReLU-only block built without state (tests)
	}
	l := keptLoop[blockGradLoop[T]](&st.scratch, loopBlockGrad)
	l.k, l.y, l.dy, l.dz = k, y, dy, dz
	if l.reluOnly == nil {
		l.reluOnly, l.pooled = l.runReluOnly, l.runPooled
	}
	body := l.pooled
	if !k.ops.pool {
		body = l.reluOnly
	}
	parallelFor(ctx.threads, k.g.n, body)
	l.y, l.dy, l.dz = nil, nil, nil // the kernel outlives the call's operands
}

// blockGradLoop is blockGrad's parallel loop over images, kept by the
// kernel (keptLoop).
type blockGradLoop[T float] struct {
	k                convBlockGradKernel
	y, dy, dz        []T
	reluOnly, pooled func(n int)
}

// runReluOnly is image n of a block without pooling: y > 0 exactly where
// the pre-activation was > 0.
func (l *blockGradLoop[T]) runReluOnly(n int) {
	g := l.k.g
	y, dy, dz := l.y, l.dy, l.dz
	lo, hi := n*g.o*g.oh*g.ow, (n+1)*g.o*g.oh*g.ow
	if y32, ok := any(y).([]float32); ok {
		lo += reluGradVector(y32[lo:hi], any(dy).([]float32)[lo:hi], any(dz).([]float32)[lo:hi])
	}
	for i, v := range y[lo:hi] {
		dz[lo+i] = keepIf(dy[lo+i], v > 0)
	}
}

// runPooled is image n of a pooling block: each window's winner, recorded
// by the forward pass, receives its pooled gradient.
func (l *blockGradLoop[T]) runPooled(n int) {
	k, g := l.k, l.k.g
	ohw := g.oh * g.ow
	ph, pw := g.oh/2, g.ow/2
	arg := k.st.argmax
	for c := range g.o {
		plane := l.dz[(n*g.o+c)*ohw:][:ohw]
		at := (n*g.o + c) * ph * pw
		clear(plane)
		for j, v := range l.y[at : at+ph*pw] {
			// Windows do not overlap, so each winner is written once.
			if !k.ops.relu || v > 0 {
				plane[arg[at+j]] = l.dy[at+j]
			}
		}
	}
}

// channelSumKernel sums x [N,C,HW] over N and HW into C values (the bias
// gradient), accumulating in float64 in sumInto's fixed order.
type channelSumKernel struct {
	noGradient
	n, c, hw int
	st       *scratch // the kept loop; nil: made per run
}

func (k channelSumKernel) name() string           { return "channel_sum" }
func (k channelSumKernel) writeAttrs(w io.Writer) { attrWriter{w}.ints("nchw", k.n, k.c, k.hw) }
func (k channelSumKernel) overwrites() bool       { return true }

func (k channelSumKernel) forward(ctx *runContext, in []G.Value, out G.Value) error {
	switch out.Dtype() {
	case gt.Float32:
		channelSum(ctx, k, dataOf[float32](in[0]), dataOf[float32](out))
	case gt.Float64:
		channelSum(ctx, k, dataOf[float64](in[0]), dataOf[float64](out))
	default:
		return fmt.Errorf("dtype %v is not a float", out.Dtype())
	}
	return nil
}

func channelSum[T float](ctx *runContext, k channelSumKernel, x, out []T) {
	st := k.st
	if st == nil {
		st = &scratch{}
	}
	l := keptLoop[channelSumLoop[T]](st, loopChannelSum)
	l.k, l.x, l.out = k, x, out
	if l.body == nil {
		l.body = l.run
	}
	parallelFor(ctx.threads, k.c, l.body)
	l.x, l.out = nil, nil // the kernel outlives the call's operands
}

// channelSumLoop is channelSum's parallel loop over channels, kept by the
// kernel (keptLoop).
type channelSumLoop[T float] struct {
	k      channelSumKernel
	x, out []T
	body   func(c int)
}

// run sums channel c.
func (l *channelSumLoop[T]) run(c int) {
	k, x, out := l.k, l.x, l.out
	row := func(n, c int) []T { return x[(n*k.c+c)*k.hw:][:k.hw] }
	// One sequential sum per row, added to the total, is sumInto's
	// order: the fused bias gradient equals the unfused one bit for
	// bit. Four rows are summed side by side, each in its own order:
	// one row alone waits on the latency of every float64 add.
	s := 0.0
	n := 0
	for ; n+4 <= k.n; n += 4 {
		x0, x1, x2, x3 := row(n, c), row(n+1, c), row(n+2, c), row(n+3, c)
		var r0, r1, r2, r3 float64
		for i, v := range x0 {
			r0 += float64(v)
			r1 += float64(x1[i])
			r2 += float64(x2[i])
			r3 += float64(x3[i])
		}
		s += r0
		s += r1
		s += r2
		s += r3
	}
	for ; n < k.n; n++ {
		r := 0.0
		for _, v := range row(n, c) {
			r += float64(v)
		}
		s += r
	}
	out[c] = T(s)
}
