package gorgonia

// addRows adds a rows×cols block of src (row stride srcStride) into dst
// (row stride dstStride): dst[r·dstStride + j] += src[r·srcStride + j].
// col2im adds each im2col row into the input rows it came from this way;
// float32 runs eight columns at a time in assembly, with the same single
// add per element as the loop.
func addRows[T float](rows, cols int, src []T, srcStride int, dst []T, dstStride int) {
	if rows <= 0 || cols <= 0 {
		return
	}
	// Both blocks must lie inside their slices, for the assembly as for
	// the loop.
	_ = src[(rows-1)*srcStride+cols-1]
	_ = dst[(rows-1)*dstStride+cols-1]
	if s32, ok := any(src).([]float32); ok && useConvAVX2 {
		d32 := any(dst).([]float32)
		addRowsAVX2(rows, cols, &s32[0], srcStride, &d32[0], dstStride)
		return
	}
	for r := range rows {
		d := dst[r*dstStride:][:cols]
		for j, v := range src[r*srcStride:][:cols] {
			d[j] += v
		}
	}
}

// mergePairs adds two phase rows back into the image row they came from:
// dst[2m] += even[m], dst[2m+1] += odd[m] (len(dst) = 2·len(even)). float32
// runs eight pairs at a time in assembly, with the same single add per
// element as the loop.
func mergePairs[T float](even, odd, dst []T) {
	n := len(even)
	if n == 0 {
		return
	}
	_, _, _ = odd[n-1], dst[2*n-1], even[n-1]
	if e32, ok := any(even).([]float32); ok && useConvAVX2 {
		mergePairsAVX2(n, &e32[0], &any(odd).([]float32)[0], &any(dst).([]float32)[0])
		return
	}
	d := pairsOf(dst[:2*n])
	for m := range d {
		d[m][0] += even[m]
		d[m][1] += odd[m]
	}
}
