// Package idx reads the IDX array format of the MNIST family of datasets:
// a 4-byte magic (two zero bytes, a type code, the number of dimensions),
// one big-endian uint32 per dimension, then the values in row-major order,
// big-endian. Files may be gzip-compressed, as they are distributed.
package idx

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
)

// DType is the IDX element type code (third magic byte).
type DType byte

// The element types the format defines.
const (
	Uint8   DType = 0x08
	Int8    DType = 0x09
	Int16   DType = 0x0B
	Int32   DType = 0x0C
	Float32 DType = 0x0D
	Float64 DType = 0x0E
)

// Size is the number of bytes of one element, 0 for an unknown type.
func (d DType) Size() int {
	switch d {
	case Uint8, Int8:
		return 1
	case Int16:
		return 2
	case Int32, Float32:
		return 4
	case Float64:
		return 8
	}
	return 0
}

func (d DType) String() string {
	switch d {
	case Uint8:
		return "uint8"
	case Int8:
		return "int8"
	case Int16:
		return "int16"
	case Int32:
		return "int32"
	case Float32:
		return "float32"
	case Float64:
		return "float64"
	}
	return fmt.Sprintf("unknown(0x%02x)", byte(d))
}

// MaxBytes bounds the data of one array (2 GiB), so that a corrupt header
// fails with an error instead of an impossible allocation.
const MaxBytes = 1 << 31

// Array is a decoded IDX array. Data holds the raw big-endian values.
type Array struct {
	DType DType
	Dims  []int
	Data  []byte
}

// Len is the number of elements (the product of Dims).
func (a *Array) Len() int {
	n := 1
	for _, d := range a.Dims {
		n *= d
	}
	return n
}

// Uint8s returns the values of a uint8 array without copying.
func (a *Array) Uint8s() ([]uint8, error) {
	if a.DType != Uint8 {
		return nil, fmt.Errorf("idx array is %s, want uint8", a.DType)
	}
	return a.Data, nil
}

// Float64s converts any element type to float64.
func (a *Array) Float64s() []float64 {
	n := a.Len()
	out := make([]float64, n)
	b := a.Data
	for i := range n {
		switch a.DType {
		case Uint8:
			out[i] = float64(b[i])
		case Int8:
			out[i] = float64(int8(b[i]))
		case Int16:
			out[i] = float64(int16(binary.BigEndian.Uint16(b[2*i:])))
		case Int32:
			out[i] = float64(int32(binary.BigEndian.Uint32(b[4*i:])))
		case Float32:
			out[i] = float64(math.Float32frombits(binary.BigEndian.Uint32(b[4*i:])))
		case Float64:
			out[i] = math.Float64frombits(binary.BigEndian.Uint64(b[8*i:]))
		}
	}
	return out
}

// Decode reads one IDX array from r; name labels errors (normally the file
// name). Gzip-compressed input is recognised by its magic and inflated.
func Decode(r io.Reader, name string) (*Array, error) {
	br := bufio.NewReader(r)
	if head, err := br.Peek(2); err == nil && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("idx %s: gzip header: %w", name, err)
		}
		defer zr.Close()
		br = bufio.NewReader(zr)
	}
	var magic [4]byte
	if _, err := io.ReadFull(br, magic[:]); err != nil {
		return nil, fmt.Errorf("idx %s: magic: %w", name, truncated(err))
	}
	if magic[0] != 0 || magic[1] != 0 {
		return nil, fmt.Errorf("idx %s: magic % x does not start with two zero bytes (not an IDX file)", name, magic)
	}
	dt := DType(magic[2])
	if dt.Size() == 0 {
		return nil, fmt.Errorf("idx %s: unknown element type code 0x%02x (want 08, 09, 0B, 0C, 0D or 0E)", name, magic[2])
	}
	nd := int(magic[3])
	if nd == 0 {
		return nil, fmt.Errorf("idx %s: zero dimensions", name)
	}
	a := &Array{DType: dt, Dims: make([]int, nd)}
	total := uint64(dt.Size())
	for k := range nd {
		var d [4]byte
		if _, err := io.ReadFull(br, d[:]); err != nil {
			return nil, fmt.Errorf("idx %s: dimension %d of %d: %w", name, k, nd, truncated(err))
		}
		v := binary.BigEndian.Uint32(d[:])
		total *= uint64(v)
		if total > MaxBytes {
			return nil, fmt.Errorf("idx %s: dimensions %v... need more than %d bytes", name, a.Dims[:k+1], uint64(MaxBytes))
		}
		a.Dims[k] = int(v)
	}
	// Read at most total+1 bytes, growing with what is actually there, so a
	// header that promises much more than the file holds costs no memory.
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, io.LimitReader(br, int64(total)+1)); err != nil {
		return nil, fmt.Errorf("idx %s: data: %w", name, err)
	}
	switch got := uint64(buf.Len()); {
	case got < total:
		return nil, fmt.Errorf("idx %s: truncated: dims %v of %s need %d data bytes, file has %d", name, a.Dims, dt, total, got)
	case got > total:
		return nil, fmt.Errorf("idx %s: trailing bytes after the %d data bytes of dims %v", name, total, a.Dims)
	}
	a.Data = buf.Bytes()
	return a, nil
}

// ReadFile decodes the IDX file at path (plain or gzip-compressed).
func ReadFile(path string) (*Array, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("idx: %w", err)
	}
	defer f.Close()
	return Decode(f, path)
}

// Encode writes a in IDX format (uncompressed); tests and tools use it to
// make files.
func Encode(w io.Writer, a *Array) error {
	if len(a.Dims) == 0 || len(a.Dims) > 255 {
		return fmt.Errorf("idx encode: %d dimensions, want 1..255", len(a.Dims))
	}
	if a.DType.Size() == 0 {
		return fmt.Errorf("idx encode: element type %s", a.DType)
	}
	if want := a.Len() * a.DType.Size(); want != len(a.Data) {
		return fmt.Errorf("idx encode: dims %v of %s need %d bytes, have %d", a.Dims, a.DType, want, len(a.Data))
	}
	hdr := []byte{0, 0, byte(a.DType), byte(len(a.Dims))}
	for _, d := range a.Dims {
		hdr = binary.BigEndian.AppendUint32(hdr, uint32(d))
	}
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	_, err := w.Write(a.Data)
	return err
}

func truncated(err error) error {
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		return fmt.Errorf("truncated (unexpected end of file)")
	}
	return err
}
