//go:build linux && amd64

package gorgonia

import (
	"math/rand/v2"
	"syscall"
	"testing"
	"unsafe"
)

// guardedFloats returns n float32s placed against an inaccessible page:
// ending exactly where one begins or, with atStart, beginning exactly
// where one ends. A vector load or store past the slice then faults
// instead of reading a neighbour's memory, which value tests cannot see.
// The mappings are released when the test ends.
func guardedFloats(t *testing.T, n int, atStart bool) []float32 {
	t.Helper()
	page := syscall.Getpagesize()
	body := (4*n + page - 1) / page * page
	m, err := syscall.Mmap(-1, 0, body+2*page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatalf("mmap: %v", err)
	}
	t.Cleanup(func() { syscall.Munmap(m) })
	if err := syscall.Mprotect(m[:page], syscall.PROT_NONE); err != nil {
		t.Fatalf("mprotect: %v", err)
	}
	if err := syscall.Mprotect(m[page+body:], syscall.PROT_NONE); err != nil {
		t.Fatalf("mprotect: %v", err)
	}
	start := page + body - 4*n
	if atStart {
		start = page
	}
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&m[start])), n)
}

// TestKernelsStayInsideTheirSlices runs the packers, the row adds and the
// pair merge, with the assembly where the CPU has it, on operands that
// border inaccessible pages on either side, over random geometries. An
// over-read (say, an unmasked load at a row's end) kills the test with a
// fault.
func TestKernelsStayInsideTheirSlices(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 2))
	for range 150 {
		g := randomConvGeom(rng)
		rows, ohw := g.colRows(), g.oh*g.ow
		for _, atStart := range []bool{false, true} {
			x := guardedFloats(t, g.c*g.h*g.w, atStart)
			copy(x, randomImage(rng, len(x)))

			layout := newImplicitLayout(g, g.c)
			pk := implicitPacker{planes: guardedFloats(t, layout.planesLen(), atStart)}
			pk.load(layout, x)
			pk.pack(guardedFloats(t, rows*roundUpTo(ohw, implicitPanel), atStart), 0, rows, 0, ohw)

			p := wgradPackers(nil, g, 1)[0]
			p.img = guardedFloats(t, len(p.img), atStart) // zeros, as setup leaves them
			p.load(x)
			p.pack(guardedFloats(t, ohw*roundUpTo(rows, wgradPanel), atStart), 0, ohw, 0, rows)

			addRows(g.h, g.w, x, g.w, guardedFloats(t, g.h*g.w, !atStart), g.w)
			if half := g.w / 2; half > 0 {
				mergePairs(guardedFloats(t, half, atStart), guardedFloats(t, half, !atStart), guardedFloats(t, 2*half, atStart))
			}
		}
	}
}
