package weights

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// maxSafetensorsHeader is the header limit of the safetensors reference
// implementation (100 MB).
const maxSafetensorsHeader = 100 << 20

// safetensorsTypes maps the format's dtype names to element types.
var safetensorsTypes = map[string]elementType{
	"F32": typeF32, "F64": typeF64, "F16": typeF16, "BF16": typeBF16,
	"I64": typeI64, "I32": typeI32, "I16": typeI16, "I8": typeI8, "U8": typeU8, "BOOL": typeBool,
}

var safetensorsNames = map[string]string{
	"float32": "F32", "float64": "F64", "int64": "I64", "int32": "I32", "uint8": "U8", "bool": "BOOL",
}

type safetensorsEntry struct {
	DType       string   `json:"dtype"`
	Shape       []int64  `json:"shape"`
	DataOffsets []uint64 `json:"data_offsets"`
}

// ReadSafetensors reads a safetensors file from r, which holds size bytes:
// an 8-byte little-endian header length, a JSON header naming each
// tensor's dtype, shape and byte range, then the data. The ranges must
// tile the data exactly (no gaps, overlaps or bytes past the end), as the
// reference implementation requires.
func ReadSafetensors(r io.ReaderAt, size int64) (*StateDict, error) {
	var lenBuf [8]byte
	if size < 8 {
		return nil, fmt.Errorf("%d bytes is too short for a safetensors file (truncated?)", size)
	}
	if _, err := r.ReadAt(lenBuf[:], 0); err != nil {
		return nil, fmt.Errorf("header length: %w", err)
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	if n > maxSafetensorsHeader || n > uint64(size-8) {
		return nil, fmt.Errorf("header length %d does not fit (file %d bytes, limit %d): truncated, or not a safetensors file", n, size, maxSafetensorsHeader)
	}
	header := make([]byte, n)
	if _, err := r.ReadAt(header, 8); err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(header))
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("header is not a JSON object: %w", err)
	}
	if raw == nil {
		return nil, errors.New("header is not a JSON object")
	}
	sd := NewStateDict()
	type placed struct {
		name       string
		et         elementType
		shape      []int64
		begin, end uint64
	}
	var all []placed
	for name, msg := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &sd.Metadata); err != nil {
				return nil, fmt.Errorf("__metadata__ must map strings to strings: %w", err)
			}
			if sd.Metadata == nil {
				sd.Metadata = map[string]string{}
			}
			continue
		}
		var e safetensorsEntry
		d := json.NewDecoder(bytes.NewReader(msg))
		d.DisallowUnknownFields()
		if err := d.Decode(&e); err != nil {
			return nil, fmt.Errorf("tensor %q: header entry: %w", name, err)
		}
		et, ok := safetensorsTypes[e.DType]
		if !ok {
			return nil, fmt.Errorf("tensor %q: dtype %q is not supported (one of F32, F64, F16, BF16, I64, I32, I16, I8, U8, BOOL)", name, e.DType)
		}
		if e.Shape == nil || len(e.DataOffsets) != 2 {
			return nil, fmt.Errorf("tensor %q: header entry needs shape and data_offsets [begin, end]", name)
		}
		_, nbytes, err := byteSize(e.Shape, et.size)
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		begin, end := e.DataOffsets[0], e.DataOffsets[1]
		if end < begin || end-begin != uint64(nbytes) {
			return nil, fmt.Errorf("tensor %q: data_offsets [%d, %d] hold %d bytes, but %s %v needs %d",
				name, begin, end, int64(end-begin), e.DType, e.Shape, nbytes)
		}
		all = append(all, placed{name, et, e.Shape, begin, end})
	}
	dataLen := uint64(size) - 8 - n
	slices.SortFunc(all, func(a, b placed) int {
		if a.begin != b.begin {
			if a.begin < b.begin {
				return -1
			}
			return 1
		}
		if a.end != b.end {
			if a.end < b.end {
				return -1
			}
			return 1
		}
		return strings.Compare(a.name, b.name)
	})
	next := uint64(0)
	for _, p := range all {
		switch {
		case p.begin > next:
			return nil, fmt.Errorf("tensor %q: data_offsets start at %d, leaving bytes [%d, %d) unused: the header does not describe the data", p.name, p.begin, next, p.begin)
		case p.begin < next:
			return nil, fmt.Errorf("tensor %q: data_offsets [%d, %d] overlap the tensor before it (which ends at %d)", p.name, p.begin, p.end, next)
		case p.end > dataLen:
			return nil, fmt.Errorf("tensor %q: data_offsets [%d, %d] reach past the %d data bytes of the file (truncated, or a lying header)", p.name, p.begin, p.end, dataLen)
		}
		next = p.end
	}
	if next != dataLen {
		return nil, fmt.Errorf("the header describes %d data bytes but the file holds %d", next, dataLen)
	}
	for _, p := range all {
		if p.end-p.begin > math.MaxInt32*8 {
			return nil, fmt.Errorf("tensor %q: %d bytes is too large", p.name, p.end-p.begin)
		}
		b := make([]byte, p.end-p.begin)
		if _, err := r.ReadAt(b, int64(8+n+p.begin)); err != nil {
			return nil, fmt.Errorf("tensor %q: %w", p.name, err)
		}
		t, err := p.et.decode(b, intShape(p.shape))
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", p.name, err)
		}
		sd.Names = append(sd.Names, p.name)
		sd.Tensors[p.name] = t
		sd.DTypes[p.name] = p.et.torch
	}
	return sd, nil
}

// WriteSafetensors writes sd in sd.Names order with its metadata as
// __metadata__; the header is padded with spaces to a multiple of 8 bytes
// so the data stays aligned.
func WriteSafetensors(w io.Writer, sd *StateDict) error {
	header := map[string]any{}
	if len(sd.Metadata) > 0 {
		header["__metadata__"] = sd.Metadata
	}
	payloads := make([][]byte, len(sd.Names))
	offset := uint64(0)
	for i, name := range sd.Names {
		t := sd.Tensors[name]
		if t == nil {
			return fmt.Errorf("tensor %q: missing", name)
		}
		if name == "__metadata__" {
			return fmt.Errorf("tensor %q: the name is reserved by the format", name)
		}
		b, et, err := encodeTensor(t)
		if err != nil {
			return fmt.Errorf("tensor %q: %w", name, err)
		}
		payloads[i] = b
		shape := make([]int64, t.Rank())
		for k, d := range t.Shape() {
			shape[k] = int64(d)
		}
		header[name] = safetensorsEntry{DType: safetensorsNames[et.torch], Shape: shape, DataOffsets: []uint64{offset, offset + uint64(len(b))}}
		offset += uint64(len(b))
	}
	hb, err := json.Marshal(header)
	if err != nil {
		return err
	}
	for len(hb)%8 != 0 {
		hb = append(hb, ' ')
	}
	var lenBuf [8]byte
	binary.LittleEndian.PutUint64(lenBuf[:], uint64(len(hb)))
	if _, err := w.Write(lenBuf[:]); err != nil {
		return err
	}
	if _, err := w.Write(hb); err != nil {
		return err
	}
	for _, b := range payloads {
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}
