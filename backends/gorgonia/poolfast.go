package gorgonia

import "math"

// poolKey32 maps a float32 to an int32 that orders like the value under
// max-pooling's rules: a NaN is above everything (all NaNs alike, so the
// first one in scan order wins), -0 and +0 are equal (the first wins), and
// otherwise integer order is float order. Comparing keys lets the compiler
// use conditional moves where a float comparison would branch, and
// branches on the signs of activations are mispredicted about half the
// time.
func poolKey32(v float32) int32 {
	bits := math.Float32bits(v)
	mag := int32(bits & 0x7fffffff)
	sign := int32(bits) >> 31       // 0 or -1
	key := mag ^ sign - sign        // -mag for negative values
	nan := (0x7f800000 - mag) >> 31 // -1 when mag is above +Inf's bits
	return key&^nan | math.MaxInt32&nan
}

// maxPoolPlane32 is maxPoolPlane's forward pass for float32 with the same
// first-maximum and NaN rules: each input row's horizontal window maxima
// first (keys and plane indices in rowKey/rowAt, poolRowScratch entries
// each), then each output folds its window's rows top to bottom. The
// row-major first maximum of a window is the first maximum of the first
// row holding the window's maximum, so the two passes pick the same
// element as one scan.
func maxPoolPlane32(g poolGeom, x0s, x1s []int, x, y []float32, arg []int32, rowKey, rowAt []int32) {
	rowsUsed := min(g.h, (g.oh-1)*g.sh-g.ph+g.kh)
	vector3s2 := g.kw == 3 && g.sw == 2 && g.pw == 0
	// stride is the scratch entries per input row. With an even width, the
	// 3x3 stride-2 windows of the rows are those of the plane read as one
	// long row (w/2 windows per row, the last ow ≤ w/2 of each unused), so
	// the vector loop runs over the whole plane at once: small maps (pool5's
	// 12x12) have too few windows per row for it.
	stride := g.ow
	done := 0
	if vector3s2 && g.w%2 == 0 {
		stride = g.w / 2
		n := rowsUsed * stride
		done = poolRowKeys3s2(x[:rowsUsed*g.w], rowKey[:n], rowAt[:n], 0)
	}
	for iy := range rowsUsed {
		row := x[iy*g.w : (iy+1)*g.w]
		keys, ats := rowKey[iy*stride:iy*stride+g.ow], rowAt[iy*stride:iy*stride+g.ow]
		from := min(max(done-iy*stride, 0), g.ow)
		if vector3s2 && g.w%2 != 0 {
			from = poolRowKeys3s2(row, keys, ats, iy*g.w)
		}
		for ox := from; ox < g.ow; ox++ {
			x0, x1 := x0s[ox], x1s[ox]
			best, at := poolKey32(row[x0]), int32(x0)
			for ix := x0 + 1; ix < x1; ix++ {
				best, at = poolPick(best, at, poolKey32(row[ix]), int32(ix))
			}
			keys[ox], ats[ox] = best, int32(iy*g.w)+at
		}
	}
	for oy := range g.oh {
		y0, y1, _, _ := g.window(oy, 0)
		out := y[oy*g.ow : (oy+1)*g.ow]
		keys0, ats0 := rowKey[y0*stride:y0*stride+g.ow], rowAt[y0*stride:y0*stride+g.ow]
		for ox := range out {
			best, at := keys0[ox], ats0[ox]
			for iy := y0 + 1; iy < y1; iy++ {
				best, at = poolPick(best, at, rowKey[iy*stride+ox], rowAt[iy*stride+ox])
			}
			out[ox] = x[at]
			if arg != nil {
				arg[oy*g.ow+ox] = at
			}
		}
	}
}

// poolRowScratch is the entries of each of maxPoolPlane32's two scratch
// slices.
func poolRowScratch(g poolGeom) int { return g.h * max(g.ow, (g.w+1)/2) }

// poolPick returns (key, at) when key is above best, else (best, bestAt),
// without a branch: mask is all ones exactly when best-key is negative.
func poolPick(best, bestAt, key, at int32) (int32, int32) {
	mask := int32((int64(best) - int64(key)) >> 63)
	return best ^ (best^key)&mask, bestAt ^ (bestAt^at)&mask
}
