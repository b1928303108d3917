package runstore

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// FuzzReadNPZ: a checkpoint is a file anyone may hand to `train --resume`
// or damage on disk. Reading it either fails with an error or yields
// tensors whose element count matches their shape.
func FuzzReadNPZ(f *testing.F) {
	for _, ts := range []map[string]*tensor.Tensor{
		{"conv1.w": tensor.MustFloat32(tensor.Shape{2, 3}, []float32{1, 2, 3, 4, 5, 6}), "step": tensor.MustFloat32(tensor.Shape{}, []float32{7})},
		{},
	} {
		var buf bytes.Buffer
		if err := encodeNPZ(&buf, ts); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	f.Add([]byte("PK\x05\x06" + string(make([]byte, 18))))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "ckpt.npz")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		ts, err := ReadNPZ(path)
		if err != nil {
			return
		}
		for name, x := range ts {
			n := len(x.Float32s()) + len(x.Float64s()) + len(x.Int32s()) + len(x.Int64s()) + len(x.Uint8s()) + len(x.Bools())
			if n != x.Shape().NumElements() {
				t.Fatalf("tensor %q: shape %v but %d elements", name, x.Shape(), n)
			}
		}
	})
}
