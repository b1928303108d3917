package idx

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func encode(t *testing.T, a *Array) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Encode(&b, a); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestDecodeRoundTripPlainAndGzip(t *testing.T) {
	a := &Array{DType: Uint8, Dims: []int{2, 2, 3}, Data: []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255}}
	raw := encode(t, a)
	// The exact bytes of the MNIST layout: magic 00 00 08 03, dims big-endian.
	if want := []byte{0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3}; !bytes.Equal(raw[:16], want) {
		t.Fatalf("header % x, want % x", raw[:16], want)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	for name, in := range map[string][]byte{"plain": raw, "gzip": gz.Bytes()} {
		got, err := Decode(bytes.NewReader(in), name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if diff := cmp.Diff(a, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
}

func TestFloat64sBigEndian(t *testing.T) {
	tests := []struct {
		dt   DType
		data []byte
		want []float64
	}{
		{Int8, []byte{0xff, 0x02}, []float64{-1, 2}},
		{Int16, []byte{0xff, 0xfe, 0x01, 0x00}, []float64{-2, 256}},
		{Int32, []byte{0, 0, 1, 0, 0xff, 0xff, 0xff, 0xff}, []float64{256, -1}},
		{Float32, []byte{0x3f, 0x80, 0, 0, 0xc0, 0, 0, 0}, []float64{1, -2}},
		{Float64, []byte{0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0x40, 0, 0, 0, 0, 0, 0, 0}, []float64{1, 2}},
	}
	for _, tc := range tests {
		a, err := Decode(bytes.NewReader(encode(t, &Array{DType: tc.dt, Dims: []int{2}, Data: tc.data})), "x")
		if err != nil {
			t.Fatalf("%s: %v", tc.dt, err)
		}
		if diff := cmp.Diff(tc.want, a.Float64s()); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.dt, diff)
		}
	}
}

func TestDecodeErrorsNameFileAndFault(t *testing.T) {
	good := encode(t, &Array{DType: Uint8, Dims: []int{2, 3}, Data: make([]byte, 6)})
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "magic: truncated"},
		{"bad magic", append([]byte{1, 0}, good[2:]...), "not an IDX file"},
		{"bad type", []byte{0, 0, 0x07, 1, 0, 0, 0, 1, 0}, "unknown element type code 0x07"},
		{"no dims", []byte{0, 0, 8, 0}, "zero dimensions"},
		{"short dims", good[:10], "dimension 1 of 2: truncated"},
		{"short data", good[:len(good)-1], "need 6 data bytes, file has 5"},
		{"trailing", append(append([]byte{}, good...), 9), "trailing bytes"},
		{"huge", []byte{0, 0, 0x0E, 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, "need more than"},
	}
	for _, tc := range tests {
		_, err := Decode(bytes.NewReader(tc.in), "sample-ubyte")
		if err == nil || !strings.Contains(err.Error(), "sample-ubyte") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one naming sample-ubyte and %q", tc.name, err, tc.want)
		}
	}
}

func TestReadFileMissingNamesPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "train-images-idx3-ubyte")
	if _, err := ReadFile(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("error %v, want one naming %s", err, path)
	}
	os.WriteFile(path, encode(t, &Array{DType: Uint8, Dims: []int{1}, Data: []byte{7}}), 0o644)
	a, err := ReadFile(path)
	if err != nil || a.Data[0] != 7 {
		t.Fatalf("ReadFile = %v, %v", a, err)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte{0, 0, 8, 1, 0, 0, 0, 2, 5, 6})
	f.Add([]byte{0, 0, 0x0D, 2, 0, 0, 0, 1, 0, 0, 0, 1, 0x3f, 0x80, 0, 0})
	f.Add([]byte{0x1f, 0x8b, 8, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		a, err := Decode(bytes.NewReader(in), "fuzz")
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz") {
				t.Fatalf("error %q does not name the input", err)
			}
			return
		}
		if len(a.Data) != a.Len()*a.DType.Size() {
			t.Fatalf("data %d bytes for dims %v of %s", len(a.Data), a.Dims, a.DType)
		}
		_ = a.Float64s()
		if in[0] != 0x1f { // plain input must re-encode to itself
			var b bytes.Buffer
			if err := Encode(&b, a); err != nil || !bytes.Equal(b.Bytes(), in) {
				t.Fatalf("re-encode differs: %v", err)
			}
		}
	})
}
