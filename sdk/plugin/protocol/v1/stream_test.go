package protocolv1

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"

	"github.com/icnnlab/icnnlab/sdk/plugin/protocol"
	"github.com/icnnlab/icnnlab/sdk/plugin/protocol/v1/internal/pluginv1"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

type namedTensor struct {
	name string
	t    *tensor.Tensor
}

type sliceReader struct{ ts []namedTensor }

func (s *sliceReader) Next() (string, *tensor.Tensor, error) {
	if len(s.ts) == 0 {
		return "", nil, io.EOF
	}
	n := s.ts[0]
	s.ts = s.ts[1:]
	return n.name, n.t, nil
}

func must(tt *tensor.Tensor, err error) *tensor.Tensor {
	if err != nil {
		panic(err)
	}
	return tt
}

// record captures what sendTensors sends, cloning each message because the
// sender reuses its chunk buffer (as gRPC allows once Send returns).
func record(msgs *[]*pluginv1.StreamedInput) func(*pluginv1.StreamedInput) error {
	return func(m *pluginv1.StreamedInput) error {
		*msgs = append(*msgs, proto.Clone(m).(*pluginv1.StreamedInput))
		return nil
	}
}

func replay(msgs []*pluginv1.StreamedInput) func() (*pluginv1.StreamedInput, error) {
	return func() (*pluginv1.StreamedInput, error) {
		if len(msgs) == 0 {
			return nil, io.EOF
		}
		m := msgs[0]
		msgs = msgs[1:]
		return m, nil
	}
}

func TestTensorStreamRoundTrip(t *testing.T) {
	big := make([]float32, 700_000) // 2.8 MB: three chunks
	for i := range big {
		big[i] = float32(i) * 0.5
	}
	in := []namedTensor{
		{"conv5", must(tensor.FromFloat32(tensor.Shape{7, 100, 1000}, big))},
		{"f64", must(tensor.FromFloat64(tensor.Shape{2}, []float64{-1.5, 1e300}))},
		{"labels", must(tensor.FromInt64(tensor.Shape{3}, []int64{-1, 0, 1 << 40}))},
		{"i32", must(tensor.FromInt32(tensor.Shape{1, 2}, []int32{-7, 7}))},
		{"img", must(tensor.FromUint8(tensor.Shape{2, 2}, []uint8{0, 1, 254, 255}))},
		{"flags", must(tensor.FromBool(tensor.Shape{3}, []bool{true, false, true}))},
		{"empty", tensor.Zeros(tensor.Float32, 0, 4)},
		{"scalar", tensor.Scalar32(3)},
	}
	var msgs []*pluginv1.StreamedInput
	if err := sendTensors(record(&msgs), &sliceReader{ts: append([]namedTensor(nil), in...)}); err != nil {
		t.Fatal(err)
	}
	for i, m := range msgs {
		if c, ok := m.GetPart().(*pluginv1.StreamedInput_Chunk); ok && len(c.Chunk) > protocol.ChunkBytes {
			t.Errorf("message %d carries %d bytes, more than %d", i, len(c.Chunk), protocol.ChunkBytes)
		}
	}
	if got := countChunks(msgs); got != 3+6 { // conv5 in 3 chunks, the 5 small non-empty tensors + scalar in 1 each
		t.Errorf("sent %d chunks, want 9", got)
	}
	r := &streamReader{recv: replay(msgs)}
	for _, want := range in {
		name, got, err := r.Next()
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		if name != want.name || !got.Equal(want.t) {
			t.Errorf("got %s %v, want %s %v", name, got, want.name, want.t)
		}
	}
	if _, _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("after the last tensor Next = %v, want io.EOF", err)
	}
}

func countChunks(msgs []*pluginv1.StreamedInput) int {
	n := 0
	for _, m := range msgs {
		if _, ok := m.GetPart().(*pluginv1.StreamedInput_Chunk); ok {
			n++
		}
	}
	return n
}

func header(name string, dt pluginv1.DType, shape ...int64) *pluginv1.StreamedInput {
	return &pluginv1.StreamedInput{Part: &pluginv1.StreamedInput_Tensor{Tensor: &pluginv1.TensorHeader{Name: name, Dtype: dt, Shape: shape}}}
}

func chunk(b ...byte) *pluginv1.StreamedInput {
	return &pluginv1.StreamedInput{Part: &pluginv1.StreamedInput_Chunk{Chunk: b}}
}

func TestTensorStreamErrors(t *testing.T) {
	tests := []struct {
		name    string
		msgs    []*pluginv1.StreamedInput
		wantErr string
	}{
		{"chunk without header", []*pluginv1.StreamedInput{chunk(1)}, "expected a tensor header"},
		{"truncated", []*pluginv1.StreamedInput{header("x", pluginv1.DType_DTYPE_FLOAT32, 2), chunk(0, 0, 0, 0)}, `"x": stream ended after 4 of 8 bytes`},
		{"too much data", []*pluginv1.StreamedInput{header("x", pluginv1.DType_DTYPE_UINT8, 2), chunk(1, 2, 3)}, "more than its 2 bytes"},
		{"header inside data", []*pluginv1.StreamedInput{header("x", pluginv1.DType_DTYPE_UINT8, 2), chunk(1), header("y", pluginv1.DType_DTYPE_UINT8, 1)}, "expected data after 1 of 2 bytes"},
		{"unknown dtype", []*pluginv1.StreamedInput{header("x", pluginv1.DType(42), 1)}, `tensor "x": unknown dtype`},
		{"negative dim", []*pluginv1.StreamedInput{header("x", pluginv1.DType_DTYPE_UINT8, -1)}, "dimension 0 is -1"},
		{"huge shape", []*pluginv1.StreamedInput{header("x", pluginv1.DType_DTYPE_FLOAT64, 1<<30, 1<<30)}, "larger than"},
		{"bad bool", []*pluginv1.StreamedInput{header("x", pluginv1.DType_DTYPE_BOOL, 1), chunk(7)}, "bool element 0 is byte 7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := (&streamReader{recv: replay(tt.msgs)}).Next()
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Next error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestFileStreamRoundTrip(t *testing.T) {
	big := make([]byte, 5*protocol.ChunkBytes/2)
	for i := range big {
		big[i] = byte(i * 7)
	}
	in := []File{{Name: "a/big.bin", Data: big}, {Name: "empty.txt", Data: []byte{}}, {Name: "small.txt", Data: []byte("hi")}}
	var msgs []*pluginv1.RenderOutput
	err := sendFiles(func(m *pluginv1.RenderOutput) error {
		if c, ok := m.GetPart().(*pluginv1.RenderOutput_Chunk); ok && len(c.Chunk) > protocol.ChunkBytes {
			t.Errorf("chunk of %d bytes", len(c.Chunk))
		}
		msgs = append(msgs, proto.Clone(m).(*pluginv1.RenderOutput))
		return nil
	}, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 3+1+1+1+1 { // 3 headers, big in 3 chunks, small in 1
		t.Errorf("sent %d messages, want 7", len(msgs))
	}
	got, err := receiveFiles(func() (*pluginv1.RenderOutput, error) {
		if len(msgs) == 0 {
			return nil, io.EOF
		}
		m := msgs[0]
		msgs = msgs[1:]
		return m, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, got, cmp.Comparer(func(a, b []byte) bool { return string(a) == string(b) })); diff != "" {
		t.Errorf("files (-sent +received):\n%s", diff)
	}
}

func TestReceiveFilesTruncated(t *testing.T) {
	msgs := []*pluginv1.RenderOutput{
		{Part: &pluginv1.RenderOutput_File{File: &pluginv1.FileHeader{Name: "x.png", Size: 10}}},
		{Part: &pluginv1.RenderOutput_Chunk{Chunk: []byte("12345")}},
	}
	_, err := receiveFiles(func() (*pluginv1.RenderOutput, error) {
		if len(msgs) == 0 {
			return nil, io.EOF
		}
		m := msgs[0]
		msgs = msgs[1:]
		return m, nil
	})
	if err == nil || !strings.Contains(err.Error(), `file "x.png" ended after 5 of 10 bytes`) {
		t.Fatalf("error = %v", err)
	}
}
