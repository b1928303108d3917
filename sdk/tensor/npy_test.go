package tensor

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func must(v *Tensor, err error) *Tensor {
	if err != nil {
		panic(err)
	}
	return v
}

// The fixtures in testdata were written once by numpy 1.24 (np.save and
// np.lib.format.write_array(version=(2,0))); reading them and writing
// them back must reproduce numpy's bytes exactly.
func TestNPYMatchesNumpyFixtures(t *testing.T) {
	cases := []struct {
		file string
		want *Tensor
	}{
		{"f4_2x3.npy", MustFloat32(Shape{2, 3}, []float32{-1, -0.5, 0, 0.5, 1, 1.5})},
		{"f8_vec.npy", must(FromFloat64(Shape{3}, []float64{1.5, -2.25, 1e300}))},
		{"i4_scalar.npy", must(FromInt32(Shape{}, []int32{-7}))},
		{"i8_2x2x1.npy", must(FromInt64(Shape{2, 2, 1}, []int64{1, 2, -3, 1 << 40}))},
		{"u1_empty.npy", must(FromUint8(Shape{0, 4}, []uint8{}))},
		{"b1_3.npy", must(FromBool(Shape{3}, []bool{true, false, true}))},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			got, err := ReadNPY(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(tc.want) {
				t.Fatalf("read %v, want %v", got, tc.want)
			}
			var out bytes.Buffer
			if err := WriteNPY(&out, got); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), raw) {
				t.Errorf("written bytes differ from numpy's:\n got %q\nwant %q", out.Bytes(), raw)
			}
		})
	}
	v2, err := LoadNPY(filepath.Join("testdata", "f4_v2.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if !v2.Equal(MustFloat32(Shape{2, 2}, []float32{1, 1, 1, 1})) {
		t.Errorf("version 2.0 file read as %v", v2)
	}
}

func header(version byte, dict string) []byte {
	var b bytes.Buffer
	b.Write(npyMagic)
	b.WriteByte(version)
	b.WriteByte(0)
	if version == 1 {
		binary.Write(&b, binary.LittleEndian, uint16(len(dict)))
	} else {
		binary.Write(&b, binary.LittleEndian, uint32(len(dict)))
	}
	b.WriteString(dict)
	return b.Bytes()
}

// withoutLen hides a reader's Len method, as a network stream would.
type withoutLen struct{ r io.Reader }

func (w withoutLen) Read(p []byte) (int, error) { return w.r.Read(p) }

func TestNPYRejectsBadFiles(t *testing.T) {
	good := "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n"
	dict := func(descr, fortran, shape string) string {
		return fmt.Sprintf("{'descr': '%s', 'fortran_order': %s, 'shape': %s, }", descr, fortran, shape)
	}
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "too short"},
		{"bad magic", []byte("PK\x03\x04zzzzzzzz"), "bad magic"},
		{"version 9", header(9, good), "version 9.0 is not supported"},
		{"version 1.1", append(append([]byte{}, npyMagic...), 1, 1, 0, 0), "version 1.1 is not supported"},
		{"truncated header length", append(append([]byte{}, npyMagic...), 2, 0, 1), "truncated header length"},
		{"truncated header", header(1, good)[:20], "header truncated: 10 of 58 bytes"},
		{"huge header", append(append([]byte{}, npyMagic...), 2, 0, 0xff, 0xff, 0xff, 0x7f), "exceeds the 1048576-byte limit"},
		{"not a dict", header(1, "['descr']\n"), "not a dict"},
		{"unterminated dict", header(1, "{'descr': '<f4'"), "expected ',' or '}'"},
		{"unterminated string", header(1, "{'descr: <f4}"), "unterminated string"},
		{"key not a string", header(1, "{descr: '<f4'}"), "dict key: expected a quoted string"},
		{"missing colon", header(1, "{'descr' '<f4'}"), `missing ':' after key "descr"`},
		{"trailing junk", header(1, dict("<f4", "False", "(2,)")+" x"), `trailing characters "x"`},
		{"repeated key", header(1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}"), `key "descr" repeated`},
		{"structured dtype", header(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,)}"), "structured dtypes are not supported"},
		{"unknown dtype", header(1, dict("<c8", "False", "(2,)")), `dtype "<c8" is not supported`},
		{"int8 is not uint8", header(1, dict("|i1", "False", "(2,)")), `dtype "|i1" is not supported`},
		{"big endian", header(1, dict(">f4", "False", "(2,)")), `dtype ">f4" is big-endian`},
		{"fortran", header(1, dict("<f4", "True", "(2, 3)")), "fortran_order is True"},
		{"fortran not a bool", header(1, dict("<f4", "0", "(2,)")), "fortran_order: expected True or False"},
		{"missing shape", header(1, "{'descr': '<f4', 'fortran_order': False}"), `key "shape" is missing`},
		{"shape not a tuple", header(1, dict("<f4", "False", "[2]")), "shape: expected '('"},
		{"bad shape", header(1, dict("<f4", "False", "(2,x)")), "expected a dimension"},
		{"negative shape", header(1, dict("<f4", "False", "(2, -3)")), "negative"},
		{"huge dimension", header(1, dict("<f4", "False", "(99999999999,)")), "dimension 99999999999 is out of range"},
		{"overflowing shape", header(1, dict("<f8", "False", "(2147483647, 2147483647, 2147483647)")), "needs more than 9223372036854775807 bytes"},
		{"lying shape", header(1, dict("<f4", "False", "(100000, 100000, 100000)")), "needs 4000000000000000 bytes, got 0"},
		{"truncated data", append(header(1, good), 1, 2, 3, 4, 5), "needs 8 bytes, got 5"},
		{"bad bool", append(header(1, dict("|b1", "False", "(1,)")), 7), "byte value 7"},
		{"unknown key", header(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}"), `unexpected key "x"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadNPY(bytes.NewReader(tc.data))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to mention %q", err, tc.want)
			}
			// A stream of unknown length must fail the same way (the
			// checks must not rely on knowing the size in advance).
			_, err = ReadNPY(withoutLen{bytes.NewReader(tc.data)})
			if err == nil {
				t.Errorf("reading from a stream accepted the file")
			}
		})
	}
}

func TestNPYAcceptsHeaderVariants(t *testing.T) {
	data := []byte{1, 0, 0, 0, 2, 0, 0, 0}
	cases := []struct {
		name string
		dict string
		want *Tensor
	}{
		{"keys in any order, no trailing comma", `{"shape": (2,), "fortran_order": False, "descr": "<i4"}`, must(FromInt32(Shape{2}, []int32{1, 2}))},
		{"extra spaces", "{ 'descr' : '<i4' ,\t'fortran_order' : False , 'shape' : ( 2 , ) , }", must(FromInt32(Shape{2}, []int32{1, 2}))},
		{"python 2 long", "{'descr': '<i4', 'fortran_order': False, 'shape': (2L,), }", must(FromInt32(Shape{2}, []int32{1, 2}))},
		{"2-d", "{'descr': '<i4', 'fortran_order': False, 'shape': (1, 2)}", must(FromInt32(Shape{1, 2}, []int32{1, 2}))},
		{"little-endian byte", "{'descr': '<u1', 'fortran_order': False, 'shape': (8,)}", must(FromUint8(Shape{8}, data))},
		{"bool as ?", "{'descr': '?', 'fortran_order': False, 'shape': (3,)}", must(FromBool(Shape{3}, []bool{true, false, false}))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadNPY(bytes.NewReader(append(header(1, tc.dict+"\n"), data[:tc.want.Len()*tc.want.DType().Size()]...)))
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	// Version 3.0 differs from 2.0 only in allowing UTF-8 in the header.
	v3 := header(3, "{'descr': '<i4', 'fortran_order': False, 'shape': (2,)}\n")
	v3[6] = 3
	got, err := ReadNPY(bytes.NewReader(append(v3, data...)))
	if err != nil || !got.Equal(must(FromInt32(Shape{2}, []int32{1, 2}))) {
		t.Errorf("version 3.0: %v, %v", got, err)
	}
}

// Every dtype survives a write and a read, for scalars, vectors, zero-size
// and higher-rank shapes, and consecutive arrays in one stream are read in
// turn (ReadNPY consumes exactly one array).
func TestNPYRoundTripEveryDType(t *testing.T) {
	arrays := []*Tensor{
		MustFloat32(Shape{2, 3}, []float32{1, -2, 3.5, float32(math.Inf(1)), float32(math.NaN()), -0}),
		must(FromFloat64(Shape{3}, []float64{math.Pi, -1e-300, math.MaxFloat64})),
		must(FromInt32(Shape{}, []int32{math.MinInt32})),
		must(FromInt64(Shape{1, 1, 2}, []int64{math.MinInt64, math.MaxInt64})),
		must(FromUint8(Shape{4}, []uint8{0, 1, 128, 255})),
		must(FromBool(Shape{2, 2}, []bool{true, false, false, true})),
		Zeros(Float32, 0),
		Zeros(Int64, 3, 0, 5),
		Zeros(Bool),
	}
	var stream bytes.Buffer
	for _, x := range arrays {
		if err := WriteNPY(&stream, x); err != nil {
			t.Fatalf("write %v: %v", x, err)
		}
	}
	r := withoutLen{&stream}
	for _, want := range arrays {
		got, err := ReadNPY(r)
		if err != nil {
			t.Fatalf("read back %v: %v", want, err)
		}
		if !got.Equal(want) {
			t.Errorf("read back %v, want %v", got, want)
		}
	}
	if stream.Len() != 0 {
		t.Errorf("%d bytes left over", stream.Len())
	}
}

// A header longer than 65535 bytes needs format 2.0 (numpy does the same).
func TestWriteNPYUsesVersion2ForHugeHeaders(t *testing.T) {
	shape := make([]int, 30000)
	for i := range shape {
		shape[i] = 1
	}
	x := Zeros(Float32, shape...)
	x.Float32s()[0] = 42
	var b bytes.Buffer
	if err := WriteNPY(&b, x); err != nil {
		t.Fatal(err)
	}
	raw := b.Bytes()
	if raw[6] != 2 || raw[7] != 0 {
		t.Fatalf("version %d.%d, want 2.0", raw[6], raw[7])
	}
	hlen := int(binary.LittleEndian.Uint32(raw[8:12]))
	if (12+hlen)%64 != 0 || raw[12+hlen-1] != '\n' {
		t.Errorf("header of %d bytes does not end on a 64-byte boundary with a newline", hlen)
	}
	y, err := ReadNPY(bytes.NewReader(raw))
	if err != nil || !y.Equal(x) {
		t.Fatalf("read back: %v", err)
	}
}

// numpy_golden.txt holds the bytes numpy.save wrote for arrays of every
// dtype and for headers of every length modulo 64 (gen_numpy_golden.py).
// We must read each one to the right dtype and shape and write it back
// byte for byte.
func TestNPYMatchesNumpyGolden(t *testing.T) {
	text, err := os.ReadFile(filepath.Join("testdata", "numpy_golden.txt"))
	if err != nil {
		t.Fatal(err)
	}
	lines := 0
	for i, line := range strings.Split(strings.TrimSpace(string(text)), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, "\t")
		if len(fields) != 3 {
			t.Fatalf("line %d: %d fields", i+1, len(fields))
		}
		raw, err := hex.DecodeString(fields[2])
		if err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		wantShape := Shape{}
		if fields[1] != "" {
			for _, d := range strings.Split(fields[1], ",") {
				var n int
				fmt.Sscan(d, &n)
				wantShape = append(wantShape, n)
			}
		}
		got, err := ReadNPY(bytes.NewReader(raw))
		if err != nil {
			t.Errorf("line %d (%s %v): %v", i+1, fields[0], wantShape, err)
			continue
		}
		if wantDType, _ := descrDType(fields[0]); got.DType() != wantDType || !got.Shape().Equal(wantShape) {
			t.Errorf("line %d: read %v%v, want %s %v", i+1, got.DType(), got.Shape(), fields[0], wantShape)
		}
		var out bytes.Buffer
		if err := WriteNPY(&out, got); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if !bytes.Equal(out.Bytes(), raw) {
			t.Errorf("line %d (%s %v): written bytes differ from numpy's:\n got %q\nwant %q", i+1, fields[0], wantShape, out.Bytes(), raw)
		}
		lines++
	}
	if lines < 200 {
		t.Errorf("only %d golden arrays; the file looks truncated", lines)
	}
}

func TestSaveNPYAndLoadNPY(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.npy")
	x := MustFloat32(Shape{1, 2, 3}, []float32{1, 2, 3, 4, 5, 6})
	if err := SaveNPY(p, x); err != nil {
		t.Fatal(err)
	}
	// Overwriting replaces the file.
	x2 := must(FromInt64(Shape{2}, []int64{7, 8}))
	if err := SaveNPY(p, x2); err != nil {
		t.Fatal(err)
	}
	y, err := LoadNPY(p)
	if err != nil || !y.Equal(x2) {
		t.Fatalf("round trip: %v, %v", y, err)
	}
	// A failed save leaves neither the target nor a temporary file behind.
	if err := SaveNPY(filepath.Join(dir, "bad.npy"), &Tensor{}); err == nil || !strings.Contains(err.Error(), "cannot write dtype invalid") {
		t.Errorf("saving an invalid tensor: %v", err)
	}
	if err := SaveNPY(filepath.Join(dir, "missing", "x.npy"), x); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("saving into a missing directory: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v, want only x.npy", names)
	}

	raw, _ := os.ReadFile(p)
	for _, tc := range []struct {
		name, want string
		data       []byte
	}{
		{"garbage.npy", "bad magic", []byte("not a numpy file")},
		{"trailing.npy", "3 unexpected bytes after the data", append(slices.Clone(raw), 1, 2, 3)},
		{"short.npy", "needs 16 bytes, got 15", raw[:len(raw)-1]},
	} {
		bad := filepath.Join(dir, tc.name)
		os.WriteFile(bad, tc.data, 0o644)
		_, err := LoadNPY(bad)
		if err == nil || !strings.Contains(err.Error(), tc.name) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("LoadNPY(%s) = %v, want an error naming the file and saying %q", tc.name, err, tc.want)
		}
	}
	if _, err := LoadNPY(filepath.Join(dir, "absent.npy")); err == nil || !strings.Contains(err.Error(), "absent.npy") {
		t.Errorf("loading a missing file: %v", err)
	}
}

// With numpy installed, every dtype goes through numpy and back: numpy
// loads what we wrote, saves it again, and the bytes must be unchanged.
func TestNumpyRoundTripLive(t *testing.T) {
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import numpy").Run(); err != nil {
		t.Skipf("numpy is not available (%s -c 'import numpy': %v); the committed golden files still pin the format", py, err)
	}
	dir := t.TempDir()
	arrays := map[string]*Tensor{
		"f4": MustFloat32(Shape{2, 2}, []float32{1.5, -2, 3, 4.25}),
		"f8": must(FromFloat64(Shape{3}, []float64{math.Pi, math.Inf(-1), 0})),
		"i4": must(FromInt32(Shape{}, []int32{-5})),
		"i8": must(FromInt64(Shape{2, 1}, []int64{1 << 50, -1})),
		"u1": must(FromUint8(Shape{3}, []uint8{0, 7, 255})),
		"b1": must(FromBool(Shape{1, 2}, []bool{false, true})),
		"z":  Zeros(Float32, 0, 3),
	}
	script := `import numpy as np, sys
for p in sys.argv[1:]:
    a = np.load(p, allow_pickle=False)
    np.save(p + ".back.npy", a)
    print(p.rsplit("/", 1)[1], a.dtype.str, a.shape, a.sum())`
	args := []string{"-c", script}
	for name, x := range arrays {
		p := filepath.Join(dir, name+".npy")
		if err := SaveNPY(p, x); err != nil {
			t.Fatal(err)
		}
		args = append(args, p)
	}
	out, err := exec.Command(py, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("numpy failed: %v\n%s", err, out)
	}
	t.Logf("numpy says:\n%s", out)
	for name, x := range arrays {
		p := filepath.Join(dir, name+".npy")
		ours, _ := os.ReadFile(p)
		theirs, err := os.ReadFile(p + ".back.npy")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ours, theirs) {
			t.Errorf("%s: numpy rewrote %v differently:\n ours %q\nnumpy %q", name, x, ours, theirs)
		}
	}
}

func FuzzReadNPY(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.npy"))
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	f.Add(header(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0,), }"))
	if text, err := os.ReadFile(filepath.Join("testdata", "numpy_golden.txt")); err == nil {
		for i, line := range strings.Split(string(text), "\n") {
			fields := strings.Split(line, "\t")
			if len(fields) == 3 && i%16 == 1 {
				if raw, err := hex.DecodeString(fields[2]); err == nil {
					f.Add(raw)
				}
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		x, err := ReadNPY(bytes.NewReader(data))
		if err != nil {
			return
		}
		// Whatever parses must survive a write/read round trip unchanged.
		var b bytes.Buffer
		if err := WriteNPY(&b, x); err != nil {
			t.Fatalf("write of a parsed array failed: %v", err)
		}
		y, err := ReadNPY(&b)
		if err != nil || !y.Equal(x) {
			t.Fatalf("round trip changed the array: %v vs %v (%v)", x, y, err)
		}
	})
}
