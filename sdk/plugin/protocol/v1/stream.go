package protocolv1

import (
	"errors"
	"fmt"
	"io"

	"github.com/icnnlab/icnnlab/sdk/plugin/protocol"
	"github.com/icnnlab/icnnlab/sdk/plugin/protocol/v1/internal/pluginv1"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// sendTensors streams every tensor of r: a header, then chunks of at most
// protocol.ChunkBytes. Tensors are encoded one chunk at a time so that a
// large activation is never copied whole into one buffer or one message.
func sendTensors(send func(*pluginv1.StreamedInput) error, r TensorReader) error {
	if r == nil {
		return nil
	}
	for {
		name, t, err := r.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read activations: %w", err)
		}
		if t == nil {
			return fmt.Errorf("activation %q is a nil tensor", name)
		}
		h, err := tensorHeaderToProto(name, t)
		if err != nil {
			return err
		}
		if err := send(&pluginv1.StreamedInput{Part: &pluginv1.StreamedInput_Tensor{Tensor: h}}); err != nil {
			return err
		}
		perChunk := protocol.ChunkBytes / t.DType().Size()
		buf := make([]byte, 0, protocol.ChunkBytes)
		for from := 0; from < t.Len(); from += perChunk {
			to := min(from+perChunk, t.Len())
			buf = encodeElements(buf[:0], t, from, to)
			// The message is marshalled by Send before it returns, so buf
			// can be reused for the next chunk.
			if err := send(&pluginv1.StreamedInput{Part: &pluginv1.StreamedInput_Chunk{Chunk: buf}}); err != nil {
				return err
			}
		}
	}
}

// streamReader is the TensorReader a plugin reads its activations from.
// It pulls messages from the gRPC stream only when asked, so a plugin can
// process one tensor at a time.
type streamReader struct {
	recv func() (*pluginv1.StreamedInput, error)
	done bool
}

func (s *streamReader) Next() (string, *tensor.Tensor, error) {
	if s.done {
		return "", nil, io.EOF
	}
	msg, err := s.recv()
	if errors.Is(err, io.EOF) {
		s.done = true
		return "", nil, io.EOF
	}
	if err != nil {
		return "", nil, fmt.Errorf("receive activations: %w", err)
	}
	h := msg.GetTensor()
	if h == nil {
		return "", nil, fmt.Errorf("activation stream: expected a tensor header, got %T", msg.GetPart())
	}
	dt, shape, size, err := tensorHeaderFromProto(h)
	if err != nil {
		return "", nil, fmt.Errorf("activation stream: %w", err)
	}
	data := make([]byte, 0, min(size, preallocBytes))
	for len(data) < size {
		msg, err := s.recv()
		if err != nil {
			return "", nil, fmt.Errorf("activation %q: stream ended after %d of %d bytes: %w", h.GetName(), len(data), size, err)
		}
		chunk, ok := msg.GetPart().(*pluginv1.StreamedInput_Chunk)
		if !ok {
			return "", nil, fmt.Errorf("activation %q: expected data after %d of %d bytes, got %T", h.GetName(), len(data), size, msg.GetPart())
		}
		if len(data)+len(chunk.Chunk) > size {
			return "", nil, fmt.Errorf("activation %q: chunks carry more than its %d bytes", h.GetName(), size)
		}
		data = append(data, chunk.Chunk...)
	}
	t, err := decodeTensor(dt, shape, data)
	if err != nil {
		return "", nil, fmt.Errorf("activation %q: %w", h.GetName(), err)
	}
	return h.GetName(), t, nil
}

// sendFiles streams files as a header each followed by chunks.
func sendFiles(send func(*pluginv1.RenderOutput) error, files []File) error {
	for _, f := range files {
		h := &pluginv1.FileHeader{Name: f.Name, Size: int64(len(f.Data))}
		if err := send(&pluginv1.RenderOutput{Part: &pluginv1.RenderOutput_File{File: h}}); err != nil {
			return err
		}
		for from := 0; from < len(f.Data); from += protocol.ChunkBytes {
			to := min(from+protocol.ChunkBytes, len(f.Data))
			if err := send(&pluginv1.RenderOutput{Part: &pluginv1.RenderOutput_Chunk{Chunk: f.Data[from:to]}}); err != nil {
				return err
			}
		}
	}
	return nil
}

// preallocBytes caps what is allocated up front for an announced size;
// beyond it the buffer grows as data actually arrives, so a lying header
// costs nothing.
const preallocBytes = 64 << 20

// maxFileBytes bounds the size a file header may announce.
const maxFileBytes = 1 << 36

// receiveFiles reassembles the files sent by sendFiles.
func receiveFiles(recv func() (*pluginv1.RenderOutput, error)) ([]File, error) {
	var files []File
	for {
		msg, err := recv()
		if errors.Is(err, io.EOF) {
			return files, nil
		}
		if err != nil {
			return nil, err
		}
		h := msg.GetFile()
		if h == nil {
			return nil, fmt.Errorf("render output: expected a file header, got %T", msg.GetPart())
		}
		if h.GetSize() < 0 || h.GetSize() > maxFileBytes {
			return nil, fmt.Errorf("render output: file %q announces %d bytes", h.GetName(), h.GetSize())
		}
		size := int(h.GetSize())
		data := make([]byte, 0, min(size, preallocBytes))
		for len(data) < size {
			msg, err := recv()
			if err != nil {
				if errors.Is(err, io.EOF) {
					err = io.ErrUnexpectedEOF
				}
				return nil, fmt.Errorf("render output: file %q ended after %d of %d bytes: %w", h.GetName(), len(data), size, err)
			}
			chunk, ok := msg.GetPart().(*pluginv1.RenderOutput_Chunk)
			if !ok {
				return nil, fmt.Errorf("render output: file %q: expected data after %d of %d bytes, got %T", h.GetName(), len(data), size, msg.GetPart())
			}
			if len(data)+len(chunk.Chunk) > size {
				return nil, fmt.Errorf("render output: file %q: chunks carry more than its %d bytes", h.GetName(), size)
			}
			data = append(data, chunk.Chunk...)
		}
		files = append(files, File{Name: h.GetName(), Data: data})
	}
}
