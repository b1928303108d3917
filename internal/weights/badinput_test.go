package weights_test

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/icnnlab/icnnlab/internal/weights"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// sample is a small state_dict both writers can store.
func sample() *weights.StateDict {
	sd := weights.NewStateDict()
	sd.Add("features.0.weight", tensor.MustFloat32(tensor.Shape{2, 1, 1, 1}, []float32{1, -2}))
	sd.Add("features.0.bias", tensor.MustFloat32(tensor.Shape{2}, []float32{0.5, 0.25}))
	return sd
}

func encode(t testing.TB, format string, sd *weights.StateDict) []byte {
	var buf bytes.Buffer
	write := weights.WriteTorch
	if format == weights.FormatSafetensors {
		write = weights.WriteSafetensors
	}
	if err := write(&buf, sd); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// torchZip builds a torch.save-shaped archive with the given pickle and records.
func torchZip(t testing.TB, pkl []byte, records map[string][]byte) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name string, b []byte) {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
	}
	add("archive/data.pkl", pkl)
	for name, b := range records {
		add("archive/"+name, b)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// safetensorsFile builds a file from a header value and data bytes.
func safetensorsFile(t testing.TB, header any, data []byte) []byte {
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	return append(append(out, h...), data...)
}

// onePickle is a state_dict {"w": tensor of the given storage class and numel}.
func onePickle(storage string, numel byte, size []byte) []byte {
	p := []byte("\x80\x02ccollections\nOrderedDict\n)R(X\x01\x00\x00\x00wctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storagectorch\n" + storage +
		"\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK")
	p = append(p, numel)
	p = append(p, []byte("tQK\x00(")...)
	for _, d := range size {
		p = append(p, 'K', d)
	}
	p = append(p, []byte("t(")...)
	stride := byte(1)
	strides := make([]byte, len(size))
	for i := len(size) - 1; i >= 0; i-- {
		strides[i] = stride
		stride *= size[i]
	}
	for _, s := range strides {
		p = append(p, 'K', s)
	}
	p = append(p, []byte("t\x89ccollections\nOrderedDict\n)RtRu.")...)
	return p
}

// TestBadFiles: every broken file is an error that names the file and,
// where one is at fault, the tensor.
func TestBadFiles(t *testing.T) {
	good := encode(t, weights.FormatTorch, sample())
	goodST := encode(t, weights.FormatSafetensors, sample())
	f32 := func(n int) []byte { return make([]byte, 4*n) }
	cases := []struct {
		name string
		file []byte
		want []string // substrings of the error, besides the file name
	}{
		{"truncated zip", good[:len(good)/2], []string{"not a complete zip archive"}},
		{"legacy torch.save", []byte("\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19."), []string{"legacy torch.save format"}},
		{"empty file", nil, []string{"too short for a safetensors file"}},
		{"unknown opcode", torchZip(t, []byte("\x80\x02(i__builtin__\nobject\n."), nil), []string{"unsupported opcode INST"}},
		{"not an opcode", torchZip(t, []byte("\x80\x02\xff."), nil), []string{"unsupported opcode 0xff, not a pickle opcode"}},
		{"unknown class", torchZip(t, []byte("\x80\x02cos\nsystem\nX\x02\x00\x00\x00lstR."), nil), []string{"class os.system is not allowed"}},
		{"a whole module", torchZip(t, []byte("\x80\x02ctorch.nn.modules.linear\nLinear\n)R."), nil), []string{"class torch.nn.modules.linear.Linear is not allowed", "model.state_dict()"}},
		{"storage record missing", torchZip(t, onePickle("FloatStorage", 4, []byte{4}), nil), []string{`tensor "w"`, "data/0 is missing"}},
		{"storage record short", torchZip(t, onePickle("FloatStorage", 4, []byte{4}), map[string][]byte{"data/0": f32(3)}), []string{`tensor "w"`, "holds 12 bytes", "need 16"}},
		{"view past its storage", torchZip(t, onePickle("FloatStorage", 4, []byte{5}), map[string][]byte{"data/0": f32(4)}), []string{"reaches past the storage", "storage's 4 elements"}},
		{"unknown storage class", torchZip(t, onePickle("ComplexFloatStorage", 4, []byte{4}), map[string][]byte{"data/0": f32(8)}), []string{"class torch.ComplexFloatStorage is not allowed"}},
		{"not a state_dict", torchZip(t, []byte("\x80\x02]."), nil), []string{"holds a list, not a state_dict"}},
		{"st header past the end", safetensorsFile(t, map[string]any{"w": map[string]any{"dtype": "F32", "shape": []int{2}, "data_offsets": []int{0, 8}}}, f32(1)),
			[]string{`tensor "w"`, "reach past the 4 data bytes"}},
		{"st offsets overlap", safetensorsFile(t, map[string]any{
			"a": map[string]any{"dtype": "F32", "shape": []int{2}, "data_offsets": []int{0, 8}},
			"b": map[string]any{"dtype": "F32", "shape": []int{2}, "data_offsets": []int{4, 12}}}, f32(3)),
			[]string{`tensor "b"`, "overlap"}},
		{"st gap", safetensorsFile(t, map[string]any{"w": map[string]any{"dtype": "F32", "shape": []int{1}, "data_offsets": []int{4, 8}}}, f32(2)),
			[]string{`tensor "w"`, "unused"}},
		{"st size disagrees with shape", safetensorsFile(t, map[string]any{"w": map[string]any{"dtype": "F32", "shape": []int{3}, "data_offsets": []int{0, 8}}}, f32(2)),
			[]string{`tensor "w"`, "hold 8 bytes", "needs 12"}},
		{"st unknown dtype", safetensorsFile(t, map[string]any{"w": map[string]any{"dtype": "F8_E4M3", "shape": []int{1}, "data_offsets": []int{0, 1}}}, []byte{0}),
			[]string{`tensor "w"`, `dtype "F8_E4M3" is not supported`}},
		{"st trailing data", safetensorsFile(t, map[string]any{"w": map[string]any{"dtype": "F32", "shape": []int{1}, "data_offsets": []int{0, 4}}}, f32(2)),
			[]string{"describes 4 data bytes but the file holds 8"}},
		{"st header length lies", goodST[:20], []string{"header length", "does not fit"}},
	}
	dir := t.TempDir()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_"))
			if err := os.WriteFile(path, tc.file, 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := weights.Read(path)
			if err == nil {
				t.Fatalf("read %s: no error (got %d tensors)", tc.name, len(f.Names))
			}
			if f != nil {
				t.Errorf("a failed read returned a file")
			}
			for _, w := range append([]string{path}, tc.want...) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestWriteRead round-trips both formats in Go, metadata included.
func TestWriteRead(t *testing.T) {
	for _, format := range weights.Formats {
		t.Run(format, func(t *testing.T) {
			sd := sample()
			sd.Metadata["icnnlab.arch"] = "vgg-16"
			path := filepath.Join(t.TempDir(), "w")
			if err := weights.Write(path, format, sd); err != nil {
				t.Fatal(err)
			}
			f, err := weights.Read(path)
			if err != nil {
				t.Fatal(err)
			}
			if f.Format != format || strings.Join(f.Names, ",") != strings.Join(sd.Names, ",") || f.Metadata["icnnlab.arch"] != "vgg-16" {
				t.Errorf("got format %s names %v metadata %v", f.Format, f.Names, f.Metadata)
			}
			for _, n := range sd.Names {
				if !f.Tensors[n].Equal(sd.Tensors[n]) {
					t.Errorf("%s: %v, want %v", n, f.Tensors[n], sd.Tensors[n])
				}
			}
		})
	}
}

func FuzzReadTorch(f *testing.F) {
	f.Add(encode(f, weights.FormatTorch, sample()))
	f.Add(torchZip(f, onePickle("FloatStorage", 4, []byte{2, 2}), map[string][]byte{"data/0": make([]byte, 16)}))
	f.Fuzz(func(t *testing.T, b []byte) {
		sd, err := weights.ReadTorch(bytes.NewReader(b), int64(len(b)))
		if err == nil {
			for _, n := range sd.Names {
				if sd.Tensors[n] == nil {
					t.Fatalf("tensor %q listed but missing", n)
				}
			}
		}
	})
}

func FuzzReadSafetensors(f *testing.F) {
	f.Add(encode(f, weights.FormatSafetensors, sample()))
	f.Add(safetensorsFile(f, map[string]any{"w": map[string]any{"dtype": "BF16", "shape": []int{2}, "data_offsets": []int{0, 4}}}, make([]byte, 4)))
	f.Fuzz(func(t *testing.T, b []byte) {
		sd, err := weights.ReadSafetensors(bytes.NewReader(b), int64(len(b)))
		if err == nil {
			for _, n := range sd.Names {
				if sd.Tensors[n] == nil {
					t.Fatalf("tensor %q listed but missing", n)
				}
			}
		}
	})
}
