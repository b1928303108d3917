package matv5_test

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/icnnlab/icnnlab/internal/data/matv5"
	"github.com/icnnlab/icnnlab/internal/data/matv5/mattest"
)

// anno is shaped like a Pascal VOC Part annotation: a struct with a char
// field and a struct array of objects, each with a mask and a parts struct
// array (one object has none: an empty double, as MATLAB writes []).
func anno() *matv5.Array {
	mask := mattest.Mask([]uint8{0, 1, 1, 0, 1, 0}, 2, 3, true)
	part := mattest.StructArray([]string{"part_name", "mask"}, [][]*matv5.Array{
		{mattest.Text("head"), mattest.Mask([]uint8{0, 1, 0, 0, 0, 0}, 2, 3, false)},
		{mattest.Text("lfleg"), mattest.Mask([]uint8{0, 0, 0, 0, 1, 0}, 2, 3, false)},
	})
	empty := &matv5.Array{Class: matv5.Empty}
	objects := mattest.StructArray([]string{"class", "classIndex", "mask", "parts"}, [][]*matv5.Array{
		{mattest.Text("cat"), mattest.Scalar(8), mask, part},
		{mattest.Text("chair"), mattest.Scalar(9), mask, empty},
	})
	a := mattest.StructArray([]string{"imname", "objects", "notes"}, [][]*matv5.Array{{
		mattest.Text("2008_000123"), objects,
		{Class: matv5.Cell, Dims: []int{1, 2}, Cells: []*matv5.Array{mattest.Text("é"), mattest.Scalar(-2.5)}},
	}})
	a.Name = "anno"
	return a
}

// normalise fills in what decoding adds: field values carry their field
// name and [] decodes as a 0×0 double.
func normalise(a *matv5.Array) {
	if a.Class == matv5.Empty {
		a.Class, a.Dims = matv5.Double, []int{0, 0}
	}
	for _, c := range a.Cells {
		normalise(c)
	}
	for _, e := range a.Elems {
		for f, v := range e {
			v.Name = a.FieldNames[f]
			normalise(v)
		}
	}
}

func TestDecodeRoundTrip(t *testing.T) {
	for _, compress := range []bool{false, true} {
		b := mattest.Encode([]*matv5.Array{anno(), mattest.Scalar(3)}, compress)
		f, err := matv5.Decode(b, "anno.mat")
		if err != nil {
			t.Fatalf("compress %v: %v", compress, err)
		}
		want := anno()
		normalise(want)
		got, ok := f.Var("anno")
		if !ok || len(f.Vars) != 2 {
			t.Fatalf("compress %v: vars %d, anno found %v", compress, len(f.Vars), ok)
		}
		if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("compress %v (-want +got):\n%s", compress, diff)
		}
		if !strings.HasPrefix(f.Header, "MATLAB 5.0 MAT-file") {
			t.Errorf("header %q", f.Header)
		}
	}
}

func TestAccessors(t *testing.T) {
	f, err := matv5.Decode(mattest.Encode([]*matv5.Array{anno()}, true), "x.mat")
	if err != nil {
		t.Fatal(err)
	}
	a, _ := f.Var("anno")
	objects, ok := a.Field(0, "objects")
	if !ok || objects.Len() != 2 {
		t.Fatalf("objects %v %v", objects, ok)
	}
	m, _ := objects.Field(0, "mask")
	plane, rows, cols, err := m.RowMajorUint8()
	if err != nil || rows != 2 || cols != 3 || !m.Logical {
		t.Fatalf("mask %v %dx%d logical %v", err, rows, cols, m.Logical)
	}
	if diff := cmp.Diff([]uint8{0, 1, 1, 0, 1, 0}, plane); diff != "" {
		t.Errorf("row-major mask (-want +got):\n%s", diff)
	}
	if _, ok := objects.Field(0, "nope"); ok {
		t.Error("unknown field found")
	}
	if _, ok := objects.Field(2, "mask"); ok {
		t.Error("element 2 of 2 found")
	}
}

func TestBigEndianFile(t *testing.T) {
	// A 1×1 double "x" = 2, written big-endian by hand.
	be := binary.BigEndian
	var body []byte
	el := func(typ uint32, data []byte) {
		body = be.AppendUint32(be.AppendUint32(body, typ), uint32(len(data)))
		body = append(body, data...)
		for len(body)%8 != 0 {
			body = append(body, 0)
		}
	}
	el(6, be.AppendUint32(be.AppendUint32(nil, 6), 0))
	el(5, be.AppendUint32(be.AppendUint32(nil, 1), 1))
	el(1, []byte("x"))
	el(9, be.AppendUint64(nil, 0x4000000000000000))
	hdr := make([]byte, 128)
	copy(hdr, "MATLAB 5.0 MAT-file")
	be.PutUint16(hdr[124:], 0x0100)
	copy(hdr[126:], "MI")
	file := append(hdr, be.AppendUint32(be.AppendUint32(nil, 14), uint32(len(body)))...)
	file = append(file, body...)
	f, err := matv5.Decode(file, "be.mat")
	if err != nil {
		t.Fatal(err)
	}
	if x, _ := f.Var("x"); x == nil || len(x.Numbers) != 1 || x.Numbers[0] != 2 {
		t.Fatalf("x = %+v", x)
	}
}

func TestErrorsNameFileAndOffset(t *testing.T) {
	plain := mattest.Encode([]*matv5.Array{anno()}, false)
	packed := mattest.Encode([]*matv5.Array{anno()}, true)
	corrupt := func(b []byte, off int, v byte) []byte {
		c := bytes.Clone(b)
		c[off] = v
		return c
	}
	// A compressed element whose inflated miMATRIX is cut short.
	var z bytes.Buffer
	w := zlib.NewWriter(&z)
	w.Write(mattest.Matrix(anno())[:40])
	w.Close()
	shortInner := append(bytes.Clone(plain[:128]), append(binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, 15), uint32(z.Len())), z.Bytes()...)...)
	// A struct whose dimensions promise far more elements than it holds.
	huge := mattest.StructArray([]string{"a"}, [][]*matv5.Array{{mattest.Scalar(1)}})
	huge.Dims = []int{1, 1 << 20}
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"huge struct", mattest.Encode([]*matv5.Array{huge}, false), "1048576 elements of 1 fields cannot fit"},
		{"short header", plain[:100], "offset 0: header: file has 100 bytes"},
		{"not MATLAB", corrupt(plain, 0, 'X'), "not a Level 5 MAT-file"},
		{"endian", corrupt(plain, 127, 'X'), "offset 126: header: endian indicator"},
		{"truncated", plain[:len(plain)-20], "offset 128: data element of type 14 claims"},
		{"top-level type", corrupt(plain, 128, 3), "offset 128: top-level element of type 3"},
		{"flags type", corrupt(plain, 136, 5), "offset 136: array flags: type 5"},
		{"sparse", corrupt(plain, 144, 5), "offset 136: array class sparse is not supported"},
		{"bad zlib", corrupt(packed, 136, 0), "offset 128: compressed element"},
		{"short inner", shortInner, "of the compressed element at offset 128"},
	}
	for _, tc := range tests {
		_, err := matv5.Decode(tc.in, "Annotations_Part/2008_000123.mat")
		var me *matv5.Error
		if err == nil || !errors.As(err, &me) || !strings.Contains(err.Error(), "Annotations_Part/2008_000123.mat") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want a *matv5.Error naming the file and %q", tc.name, err, tc.want)
		}
	}
}

func TestReadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.mat")
	if _, err := matv5.ReadFile(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("missing file: error %v", err)
	}
	os.WriteFile(path, mattest.Encode([]*matv5.Array{mattest.Scalar(1)}, true), 0o644)
	if _, err := matv5.ReadFile(path); err != nil {
		t.Fatal(err)
	}
}

func FuzzReadMAT(f *testing.F) {
	f.Add(mattest.Encode([]*matv5.Array{anno()}, false))
	f.Add(mattest.Encode([]*matv5.Array{anno()}, true))
	f.Add(mattest.Encode([]*matv5.Array{mattest.Scalar(1), mattest.Text("ab")}, false))
	f.Fuzz(func(t *testing.T, in []byte) {
		file, err := matv5.Decode(in, "fuzz.mat")
		if err != nil {
			var me *matv5.Error
			if !errors.As(err, &me) || me.File != "fuzz.mat" || me.Offset < 0 || me.Offset > int64(len(in)) {
				t.Fatalf("error %v (%T) is not a *matv5.Error within the file", err, err)
			}
			return
		}
		var walk func(a *matv5.Array)
		walk = func(a *matv5.Array) {
			if a.Class.Numeric() && len(a.Numbers) != a.Len() {
				t.Fatalf("%q: %d numbers for dims %v", a.Name, len(a.Numbers), a.Dims)
			}
			for _, c := range a.Cells {
				walk(c)
			}
			for _, e := range a.Elems {
				for _, v := range e {
					walk(v)
				}
			}
		}
		for _, v := range file.Vars {
			walk(v)
		}
	})
}
