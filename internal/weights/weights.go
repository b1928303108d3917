// Package weights reads and writes network weights in the two formats
// PyTorch users have on disk: the zip container torch.save writes (a
// pickled state_dict plus one raw storage per tensor) and safetensors.
// It knows nothing about networks: it maps names to tensors. Mapping
// those names onto the zoo's networks is package weights/torchvision.
//
// Readers are strict and all-or-nothing: a file is either read whole,
// every tensor checked against its declared size, or an error names the
// file and, where there is one, the tensor.
package weights

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// Format names.
const (
	FormatTorch       = "torch"
	FormatSafetensors = "safetensors"
)

// Formats lists the format names, for flags and messages.
var Formats = []string{FormatSafetensors, FormatTorch}

// StateDict is a named set of tensors in file order.
type StateDict struct {
	Names   []string
	Tensors map[string]*tensor.Tensor
	// DTypes are the tensors' element types as the file stores them, in
	// PyTorch's spelling ("float32", "float16", "bfloat16", "int64", …).
	// Half-precision tensors are widened to float32 when read.
	DTypes map[string]string
	// Metadata is the file's string metadata: safetensors' __metadata__,
	// or the "icnnlab" entry of a torch state_dict's _metadata.
	Metadata map[string]string
}

// NewStateDict returns an empty state dict.
func NewStateDict() *StateDict {
	return &StateDict{Tensors: map[string]*tensor.Tensor{}, DTypes: map[string]string{}, Metadata: map[string]string{}}
}

// Add appends a tensor (its dtype name follows its element type).
func (sd *StateDict) Add(name string, t *tensor.Tensor) {
	if _, dup := sd.Tensors[name]; !dup {
		sd.Names = append(sd.Names, name)
	}
	sd.Tensors[name] = t
	sd.DTypes[name] = torchDTypeName(t.DType())
}

// File is a weights file that was read whole.
type File struct {
	Path   string
	Format string
	// SHA256 is the hex SHA-256 of the file's bytes.
	SHA256 string
	*StateDict
}

// Read reads a torch.save zip or a safetensors file, telling them apart by
// their first bytes (a zip starts with "PK").
func Read(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("weights %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("weights %s: %w", path, err)
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("weights %s: %w", path, err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	head := make([]byte, 4)
	if _, err := f.ReadAt(head, 0); err != nil && err != io.EOF {
		return nil, fmt.Errorf("weights %s: %w", path, err)
	}
	format := FormatSafetensors
	switch {
	case bytes.HasPrefix(head, []byte("PK")):
		format = FormatTorch
	case head[0] == 0x80 && head[1] >= 2 && head[1] <= 5:
		// A bare pickle: torch.save's format before PyTorch 1.6.
		return nil, fmt.Errorf("weights %s: this is the legacy torch.save format (PyTorch before 1.6), which icnnlab does not read; "+
			"re-save it once with torch.save(torch.load(old), new) or convert it to safetensors (see docs/weights.md)", path)
	}
	var sd *StateDict
	switch format {
	case FormatTorch:
		sd, err = ReadTorch(f, st.Size())
	default:
		sd, err = ReadSafetensors(f, st.Size())
	}
	if err != nil {
		return nil, fmt.Errorf("weights %s (%s): %w", path, format, err)
	}
	return &File{Path: path, Format: format, SHA256: sum, StateDict: sd}, nil
}

// Write writes sd in the named format, atomically (a temporary file renamed
// into place), so a crash never leaves half a file under path.
func Write(path, format string, sd *StateDict) error {
	var write func(io.Writer, *StateDict) error
	switch format {
	case FormatTorch:
		write = WriteTorch
	case FormatSafetensors:
		write = WriteSafetensors
	default:
		return fmt.Errorf("weights %s: unknown format %q (one of %v)", path, format, Formats)
	}
	tmp, err := os.CreateTemp(dirOf(path), ".weights-*.tmp")
	if err != nil {
		return fmt.Errorf("weights %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp, sd); err != nil {
		tmp.Close()
		return fmt.Errorf("weights %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("weights %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("weights %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("weights %s: %w", path, err)
	}
	return nil
}

func dirOf(path string) string {
	for i := len(path) - 1; i >= 0; i-- {
		if os.IsPathSeparator(path[i]) {
			return path[:i+1]
		}
	}
	return "."
}

// elementType describes one stored element type.
type elementType struct {
	torch string // PyTorch's name, e.g. "float16"
	size  int
	// decode turns little-endian bytes into a tensor of the given shape.
	decode func(b []byte, shape tensor.Shape) (*tensor.Tensor, error)
}

func torchDTypeName(d tensor.DType) string {
	switch d {
	case tensor.Float32:
		return "float32"
	case tensor.Float64:
		return "float64"
	case tensor.Int32:
		return "int32"
	case tensor.Int64:
		return "int64"
	case tensor.Uint8:
		return "uint8"
	case tensor.Bool:
		return "bool"
	}
	return d.String()
}

func decodeF32(b []byte, shape tensor.Shape) (*tensor.Tensor, error) {
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return tensor.FromFloat32(shape, v)
}

func decodeF64(b []byte, shape tensor.Shape) (*tensor.Tensor, error) {
	v := make([]float64, len(b)/8)
	for i := range v {
		v[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return tensor.FromFloat64(shape, v)
}

func decodeF16(b []byte, shape tensor.Shape) (*tensor.Tensor, error) {
	v := make([]float32, len(b)/2)
	for i := range v {
		v[i] = halfToFloat32(binary.LittleEndian.Uint16(b[2*i:]))
	}
	return tensor.FromFloat32(shape, v)
}

func decodeBF16(b []byte, shape tensor.Shape) (*tensor.Tensor, error) {
	v := make([]float32, len(b)/2)
	for i := range v {
		v[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16)
	}
	return tensor.FromFloat32(shape, v)
}

func decodeI64(b []byte, shape tensor.Shape) (*tensor.Tensor, error) {
	v := make([]int64, len(b)/8)
	for i := range v {
		v[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return tensor.FromInt64(shape, v)
}

func decodeI32(b []byte, shape tensor.Shape) (*tensor.Tensor, error) {
	v := make([]int32, len(b)/4)
	for i := range v {
		v[i] = int32(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return tensor.FromInt32(shape, v)
}

func decodeI16(b []byte, shape tensor.Shape) (*tensor.Tensor, error) {
	v := make([]int32, len(b)/2)
	for i := range v {
		v[i] = int32(int16(binary.LittleEndian.Uint16(b[2*i:])))
	}
	return tensor.FromInt32(shape, v)
}

func decodeI8(b []byte, shape tensor.Shape) (*tensor.Tensor, error) {
	v := make([]int32, len(b))
	for i := range v {
		v[i] = int32(int8(b[i]))
	}
	return tensor.FromInt32(shape, v)
}

func decodeU8(b []byte, shape tensor.Shape) (*tensor.Tensor, error) {
	return tensor.FromUint8(shape, append([]uint8(nil), b...))
}

func decodeBool(b []byte, shape tensor.Shape) (*tensor.Tensor, error) {
	v := make([]bool, len(b))
	for i := range v {
		v[i] = b[i] != 0
	}
	return tensor.FromBool(shape, v)
}

var (
	typeF32  = elementType{"float32", 4, decodeF32}
	typeF64  = elementType{"float64", 8, decodeF64}
	typeF16  = elementType{"float16", 2, decodeF16}
	typeBF16 = elementType{"bfloat16", 2, decodeBF16}
	typeI64  = elementType{"int64", 8, decodeI64}
	typeI32  = elementType{"int32", 4, decodeI32}
	typeI16  = elementType{"int16", 2, decodeI16}
	typeI8   = elementType{"int8", 1, decodeI8}
	typeU8   = elementType{"uint8", 1, decodeU8}
	typeBool = elementType{"bool", 1, decodeBool}
)

// halfToFloat32 widens an IEEE 754 binary16 value exactly.
func halfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	case exp != 0: // normal
		return math.Float32frombits(sign | (exp+127-15)<<23 | frac<<13)
	case frac == 0: // ±0
		return math.Float32frombits(sign)
	}
	// Subnormal half: normalise.
	e := uint32(127 - 15 + 1)
	for frac&0x400 == 0 {
		frac <<= 1
		e--
	}
	return math.Float32frombits(sign | e<<23 | (frac&0x3ff)<<13)
}

// encodeTensor returns t's elements as little-endian bytes and the element
// type the writers store it as.
func encodeTensor(t *tensor.Tensor) ([]byte, elementType, error) {
	switch t.DType() {
	case tensor.Float32:
		v := t.Float32s()
		b := make([]byte, 4*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
		}
		return b, typeF32, nil
	case tensor.Float64:
		v := t.Float64s()
		b := make([]byte, 8*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(x))
		}
		return b, typeF64, nil
	case tensor.Int64:
		v := t.Int64s()
		b := make([]byte, 8*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint64(b[8*i:], uint64(x))
		}
		return b, typeI64, nil
	case tensor.Int32:
		v := t.Int32s()
		b := make([]byte, 4*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint32(b[4*i:], uint32(x))
		}
		return b, typeI32, nil
	case tensor.Uint8:
		return append([]byte(nil), t.Uint8s()...), typeU8, nil
	case tensor.Bool:
		v := t.Bools()
		b := make([]byte, len(v))
		for i, x := range v {
			if x {
				b[i] = 1
			}
		}
		return b, typeBool, nil
	}
	return nil, elementType{}, fmt.Errorf("cannot store dtype %v", t.DType())
}

// byteSize is numel·size, or an error when it overflows or a dimension is negative.
func byteSize(shape []int64, size int) (numel, bytes int64, err error) {
	numel = 1
	for _, d := range shape {
		if d < 0 {
			return 0, 0, fmt.Errorf("negative dimension in shape %v", shape)
		}
		if d != 0 && numel > math.MaxInt64/8/d {
			return 0, 0, fmt.Errorf("shape %v is too large", shape)
		}
		numel *= d
	}
	return numel, numel * int64(size), nil
}

func intShape(shape []int64) tensor.Shape {
	s := make(tensor.Shape, len(shape))
	for i, d := range shape {
		s[i] = int(d)
	}
	return s
}
