// Package matv5 reads the subset of the MATLAB Level 5 MAT-file format that
// annotation files use: the 128-byte header, miMATRIX variables of class
// struct, cell, char and the numeric classes (double, single, integers,
// logical), zlib-compressed elements (miCOMPRESSED, MATLAB 7+) and the small
// data element format. Sparse, object and function arrays are rejected.
// Errors name the file and the byte offset of the fault (for data inside a
// compressed element, the offset in its inflated stream as well).
package matv5

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Data element types (the tag's type field).
const (
	miINT8       = 1
	miUINT8      = 2
	miINT16      = 3
	miUINT16     = 4
	miINT32      = 5
	miUINT32     = 6
	miSINGLE     = 7
	miDOUBLE     = 9
	miINT64      = 12
	miUINT64     = 13
	miMATRIX     = 14
	miCOMPRESSED = 15
	miUTF8       = 16
	miUTF16      = 17
	miUTF32      = 18
)

// Class is an array's MATLAB class (mx*_CLASS).
type Class uint8

// The array classes.
const (
	Empty  Class = 0 // an miMATRIX element with no content ([] in a cell or field)
	Cell   Class = 1
	Struct Class = 2
	Object Class = 3
	Char   Class = 4
	Sparse Class = 5
	Double Class = 6
	Single Class = 7
	Int8   Class = 8
	Uint8  Class = 9
	Int16  Class = 10
	Uint16 Class = 11
	Int32  Class = 12
	Uint32 Class = 13
	Int64  Class = 14
	Uint64 Class = 15
)

var classNames = map[Class]string{Empty: "empty", Cell: "cell", Struct: "struct", Object: "object", Char: "char", Sparse: "sparse",
	Double: "double", Single: "single", Int8: "int8", Uint8: "uint8", Int16: "int16", Uint16: "uint16", Int32: "int32", Uint32: "uint32", Int64: "int64", Uint64: "uint64"}

func (c Class) String() string {
	if s, ok := classNames[c]; ok {
		return s
	}
	return fmt.Sprintf("class(%d)", uint8(c))
}

// Numeric reports whether the class holds numbers.
func (c Class) Numeric() bool { return c >= Double && c <= Uint64 }

// Limits that keep corrupt files from costing unbounded memory or time.
const (
	MaxElements  = 1 << 27 // elements of one array
	MaxInflated  = 1 << 28 // bytes of one inflated miCOMPRESSED element
	MaxDepth     = 64      // nesting of cells and structs
	headerLength = 128
)

// Array is one MATLAB array. Data are column-major, as MATLAB stores them.
type Array struct {
	Name    string
	Class   Class
	Dims    []int
	Logical bool
	Complex bool
	// Numbers is the real part of a numeric array.
	Numbers []float64
	// Text is a char array's characters in storage (column-major) order.
	Text string
	// Cells are a cell array's elements.
	Cells []*Array
	// FieldNames and Elems are a struct array's fields and, per element, its
	// field values in FieldNames order.
	FieldNames []string
	Elems      [][]*Array
}

// Len is the number of elements (the product of Dims).
func (a *Array) Len() int {
	if a == nil || len(a.Dims) == 0 {
		return 0
	}
	n := 1
	for _, d := range a.Dims {
		n *= d
	}
	return n
}

// Field is element elem's value of field name (nil, false if there is no such field or element).
func (a *Array) Field(elem int, name string) (*Array, bool) {
	if a == nil || a.Class != Struct || elem < 0 || elem >= len(a.Elems) {
		return nil, false
	}
	for k, f := range a.FieldNames {
		if f == name {
			return a.Elems[elem][k], true
		}
	}
	return nil, false
}

// RowMajorUint8 is a 2-D numeric array as a row-major rows×cols byte plane;
// values must be integers in [0, 255].
func (a *Array) RowMajorUint8() (plane []uint8, rows, cols int, err error) {
	if !a.Class.Numeric() || len(a.Dims) != 2 {
		return nil, 0, 0, fmt.Errorf("array %q is %s %v, want a 2-D numeric array", a.Name, a.Class, a.Dims)
	}
	rows, cols = a.Dims[0], a.Dims[1]
	plane = make([]uint8, rows*cols)
	for c := range cols {
		for r := range rows {
			v := a.Numbers[c*rows+r]
			if v < 0 || v > 255 || v != math.Trunc(v) {
				return nil, 0, 0, fmt.Errorf("array %q: value %v at (%d,%d) is not a byte", a.Name, v, r, c)
			}
			plane[r*cols+c] = uint8(v)
		}
	}
	return plane, rows, cols, nil
}

// File is a decoded MAT-file.
type File struct {
	// Header is the descriptive text of the header, trailing spaces removed.
	Header string
	Vars   []*Array
}

// Var is the top-level variable called name.
func (f *File) Var(name string) (*Array, bool) {
	for _, v := range f.Vars {
		if v.Name == name {
			return v, true
		}
	}
	return nil, false
}

// Error is a decoding error at a byte offset of a file.
type Error struct {
	File   string
	Offset int64
	// Inflated is the offset in the inflated stream of the compressed
	// element starting at Offset, or -1 outside compressed elements.
	Inflated int64
	Msg      string
}

func (e *Error) Error() string {
	if e.Inflated >= 0 {
		return fmt.Sprintf("mat %s: byte %d of the compressed element at offset %d: %s", e.File, e.Inflated, e.Offset, e.Msg)
	}
	return fmt.Sprintf("mat %s: offset %d: %s", e.File, e.Offset, e.Msg)
}

// ReadFile decodes the MAT-file at path.
func ReadFile(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("mat: %w", err)
	}
	return Decode(b, path)
}

// Decode decodes a whole MAT-file; name labels errors.
func Decode(b []byte, name string) (*File, error) {
	d := &decoder{file: name, inflated: -1}
	if len(b) < headerLength {
		return nil, d.errAt(0, "header: file has %d bytes, a MAT-file header has %d", len(b), headerLength)
	}
	if string(b[:6]) != "MATLAB" {
		return nil, d.errAt(0, "header: text %q does not start with \"MATLAB\" (not a Level 5 MAT-file)", b[:min(len(b), 10)])
	}
	switch string(b[126:128]) {
	case "IM":
		d.order = binary.LittleEndian
	case "MI":
		d.order = binary.BigEndian
	default:
		return nil, d.errAt(126, "header: endian indicator %q, want \"IM\" or \"MI\"", b[126:128])
	}
	if v := d.order.Uint16(b[124:126]); v != 0x0100 {
		return nil, d.errAt(124, "header: version 0x%04x, want 0x0100", v)
	}
	f := &File{Header: strings.TrimRight(string(b[:116]), " \x00")}
	d.buf = b
	pos := headerLength
	for pos < len(b) {
		typ, n, body, next, err := d.element(pos)
		if err != nil {
			return nil, err
		}
		switch typ {
		case miCOMPRESSED:
			a, err := d.compressed(pos, body)
			if err != nil {
				return nil, err
			}
			f.Vars = append(f.Vars, a)
		case miMATRIX:
			a, err := d.matrix(pos, body, 0)
			if err != nil {
				return nil, err
			}
			f.Vars = append(f.Vars, a)
		default:
			return nil, d.errAt(pos, "top-level element of type %d (%d bytes), want miMATRIX (14) or miCOMPRESSED (15)", typ, n)
		}
		pos = next
	}
	return f, nil
}

type decoder struct {
	file  string
	order binary.ByteOrder
	buf   []byte
	// base and inflated: while decoding an inflated stream, base is the
	// file offset of its compressed element and offsets are in the stream.
	base     int64
	inflated int64
}

func (d *decoder) errAt(off int, format string, args ...any) error {
	if d.inflated >= 0 {
		return &Error{File: d.file, Offset: d.base, Inflated: int64(off), Msg: fmt.Sprintf(format, args...)}
	}
	return &Error{File: d.file, Offset: int64(off), Inflated: -1, Msg: fmt.Sprintf(format, args...)}
}

// element reads the data element at pos of d.buf: its type, byte count,
// body (an offset range) and the offset of the next element.
func (d *decoder) element(pos int) (typ uint32, n int, body [2]int, next int, err error) {
	if len(d.buf)-pos < 8 {
		return 0, 0, body, 0, d.errAt(pos, "truncated data element tag (%d bytes left, need 8)", len(d.buf)-pos)
	}
	first := d.order.Uint32(d.buf[pos:])
	if small := first >> 16; small != 0 {
		// Small data element format: type and size share the first word,
		// up to 4 data bytes follow in the second.
		typ, n = first&0xffff, int(small)
		if n > 4 {
			return 0, 0, body, 0, d.errAt(pos, "small data element claims %d bytes (at most 4)", n)
		}
		return typ, n, [2]int{pos + 4, pos + 4 + n}, pos + 8, nil
	}
	typ, n64 := first, int64(d.order.Uint32(d.buf[pos+4:]))
	if n64 > int64(len(d.buf)-pos-8) {
		return 0, 0, body, 0, d.errAt(pos, "data element of type %d claims %d bytes, only %d remain", typ, n64, len(d.buf)-pos-8)
	}
	n = int(n64)
	next = pos + 8 + n
	if typ != miCOMPRESSED {
		// Elements are padded to 8 bytes (a missing pad at the very end is tolerated).
		next = min(pos+8+(n+7)/8*8, len(d.buf))
	}
	return typ, n, [2]int{pos + 8, pos + 8 + n}, next, nil
}

func (d *decoder) compressed(pos int, body [2]int) (*Array, error) {
	if d.inflated >= 0 {
		return nil, d.errAt(pos, "compressed element nested in a compressed element")
	}
	zr, err := zlib.NewReader(bytes.NewReader(d.buf[body[0]:body[1]]))
	if err != nil {
		return nil, d.errAt(pos, "compressed element: %v", err)
	}
	raw, err := io.ReadAll(io.LimitReader(zr, MaxInflated+1))
	if err != nil {
		return nil, d.errAt(pos, "compressed element: inflate: %v", err)
	}
	if len(raw) > MaxInflated {
		return nil, d.errAt(pos, "compressed element inflates to more than %d bytes", MaxInflated)
	}
	inner := &decoder{file: d.file, order: d.order, buf: raw, base: int64(pos), inflated: 0}
	typ, n, ib, next, err := inner.element(0)
	if err != nil {
		return nil, err
	}
	if typ != miMATRIX {
		return nil, inner.errAt(0, "compressed element holds type %d (%d bytes), want miMATRIX (14)", typ, n)
	}
	if next < len(raw) {
		return nil, inner.errAt(next, "%d bytes after the compressed miMATRIX", len(raw)-next)
	}
	return inner.matrix(0, ib, 0)
}

// matrix decodes the body of the miMATRIX element at pos.
func (d *decoder) matrix(pos int, body [2]int, depth int) (*Array, error) {
	if depth > MaxDepth {
		return nil, d.errAt(pos, "arrays nested more than %d deep", MaxDepth)
	}
	if body[0] == body[1] {
		return &Array{Class: Empty, Dims: []int{0, 0}}, nil
	}
	sub := &decoder{file: d.file, order: d.order, buf: d.buf[:body[1]], base: d.base, inflated: d.inflated}
	p := body[0]
	readSub := func(what string) (uint32, [2]int, int, error) {
		if p >= body[1] {
			return 0, [2]int{}, p, sub.errAt(p, "miMATRIX ends before its %s", what)
		}
		typ, _, b, next, err := sub.element(p)
		if err != nil {
			return 0, b, p, fmt.Errorf("%s: %w", what, err)
		}
		at := p
		p = next
		return typ, b, at, nil
	}
	// Array flags.
	typ, fb, at, err := readSub("array flags")
	if err != nil {
		return nil, err
	}
	if typ != miUINT32 || fb[1]-fb[0] != 8 {
		return nil, d.errAt(at, "array flags: type %d with %d bytes, want miUINT32 (6) with 8", typ, fb[1]-fb[0])
	}
	flags := d.order.Uint32(d.buf[fb[0]:])
	a := &Array{Class: Class(flags & 0xff), Complex: flags&0x800 != 0, Logical: flags&0x200 != 0}
	switch {
	case a.Class == Sparse || a.Class == Object || a.Class > Uint64 || a.Class == Empty:
		return nil, d.errAt(at, "array class %s is not supported", a.Class)
	}
	// Dimensions.
	typ, db, at, err := readSub("dimensions")
	if err != nil {
		return nil, err
	}
	if typ != miINT32 || (db[1]-db[0])%4 != 0 || db[1]-db[0] < 8 {
		return nil, d.errAt(at, "dimensions: type %d with %d bytes, want miINT32 with at least 2 values", typ, db[1]-db[0])
	}
	total := 1
	for k := db[0]; k < db[1]; k += 4 {
		v := int32(d.order.Uint32(d.buf[k:]))
		if v < 0 {
			return nil, d.errAt(k, "dimension %d is negative", v)
		}
		a.Dims = append(a.Dims, int(v))
		if total *= int(v); total > MaxElements {
			return nil, d.errAt(at, "dimensions %v exceed %d elements", a.Dims, MaxElements)
		}
	}
	// Name.
	typ, nb, at, err := readSub("array name")
	if err != nil {
		return nil, err
	}
	if typ != miINT8 && typ != miUINT8 {
		return nil, d.errAt(at, "array name: type %d, want miINT8 (1)", typ)
	}
	a.Name = string(d.buf[nb[0]:nb[1]])
	switch {
	case a.Class.Numeric():
		typ, vb, at, err := readSub("real part")
		if err != nil {
			return nil, err
		}
		if a.Numbers, err = d.numbers(typ, vb, at); err != nil {
			return nil, err
		}
		if len(a.Numbers) != total {
			return nil, d.errAt(at, "%s array %q: %d values for dimensions %v (%d elements)", a.Class, a.Name, len(a.Numbers), a.Dims, total)
		}
		if a.Complex { // the imaginary part is read to validate it, then dropped
			typ, vb, at, err := readSub("imaginary part")
			if err != nil {
				return nil, err
			}
			if _, err := d.numbers(typ, vb, at); err != nil {
				return nil, err
			}
		}
	case a.Class == Char:
		if total == 0 && p >= body[1] {
			break // some writers omit the data element of an empty string
		}
		typ, vb, at, err := readSub("characters")
		if err != nil {
			return nil, err
		}
		if a.Text, err = d.text(typ, vb, at, total); err != nil {
			return nil, err
		}
	case a.Class == Cell:
		if 8*total > body[1]-p {
			return nil, d.errAt(p, "cell %q: %d cells cannot fit the %d bytes left", a.Name, total, body[1]-p)
		}
		for k := range total {
			c, err := d.child(sub, &p, body, depth, fmt.Sprintf("cell %d of %q", k, a.Name))
			if err != nil {
				return nil, err
			}
			a.Cells = append(a.Cells, c)
		}
	case a.Class == Struct:
		typ, lb, at, err := readSub("field name length")
		if err != nil {
			return nil, err
		}
		if typ != miINT32 || lb[1]-lb[0] != 4 {
			return nil, d.errAt(at, "field name length: type %d with %d bytes, want one miINT32", typ, lb[1]-lb[0])
		}
		width := int(int32(d.order.Uint32(d.buf[lb[0]:])))
		typ, fb, at, err := readSub("field names")
		if err != nil {
			return nil, err
		}
		if typ != miINT8 && typ != miUINT8 || width <= 0 && fb[1] > fb[0] || width > 0 && (fb[1]-fb[0])%width != 0 {
			return nil, d.errAt(at, "field names: type %d with %d bytes for names of %d bytes", typ, fb[1]-fb[0], width)
		}
		for k := fb[0]; width > 0 && k < fb[1]; k += width {
			a.FieldNames = append(a.FieldNames, strings.TrimRight(string(d.buf[k:k+width]), "\x00"))
		}
		// Every field value takes at least an 8-byte tag, so a corrupt
		// dimension cannot demand more memory than the file could describe;
		// a struct without fields has no data at all, so it gets a fixed bound.
		if n := len(a.FieldNames); n > 0 && total*8*n > body[1]-p || n == 0 && total > 1<<16 {
			return nil, d.errAt(at, "struct %q: %d elements of %d fields cannot fit the %d bytes left", a.Name, total, n, body[1]-p)
		}
		for e := range total {
			vals := make([]*Array, len(a.FieldNames))
			for f, fname := range a.FieldNames {
				if vals[f], err = d.child(sub, &p, body, depth, fmt.Sprintf("field %q of element %d of %q", fname, e, a.Name)); err != nil {
					return nil, err
				}
				vals[f].Name = fname
			}
			a.Elems = append(a.Elems, vals)
		}
	}
	return a, nil
}

// child decodes the next miMATRIX sub-element (a cell or a field value).
func (d *decoder) child(sub *decoder, p *int, body [2]int, depth int, what string) (*Array, error) {
	if *p >= body[1] {
		return nil, d.errAt(*p, "%s: miMATRIX ends before it", what)
	}
	typ, _, cb, next, err := sub.element(*p)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if typ != miMATRIX {
		return nil, d.errAt(*p, "%s: element type %d, want miMATRIX (14)", what, typ)
	}
	c, err := d.matrix(*p, cb, depth+1)
	if err != nil {
		return nil, err
	}
	*p = next
	return c, nil
}

func (d *decoder) numbers(typ uint32, b [2]int, at int) ([]float64, error) {
	raw := d.buf[b[0]:b[1]]
	size := map[uint32]int{miINT8: 1, miUINT8: 1, miINT16: 2, miUINT16: 2, miINT32: 4, miUINT32: 4, miSINGLE: 4, miDOUBLE: 8, miINT64: 8, miUINT64: 8}[typ]
	if size == 0 {
		return nil, d.errAt(at, "numeric data of element type %d, want a numeric mi type", typ)
	}
	if len(raw)%size != 0 {
		return nil, d.errAt(at, "numeric data: %d bytes is not a multiple of %d", len(raw), size)
	}
	out := make([]float64, len(raw)/size)
	o := d.order
	for i := range out {
		v := raw[i*size:]
		switch typ {
		case miINT8:
			out[i] = float64(int8(v[0]))
		case miUINT8:
			out[i] = float64(v[0])
		case miINT16:
			out[i] = float64(int16(o.Uint16(v)))
		case miUINT16:
			out[i] = float64(o.Uint16(v))
		case miINT32:
			out[i] = float64(int32(o.Uint32(v)))
		case miUINT32:
			out[i] = float64(o.Uint32(v))
		case miSINGLE:
			out[i] = float64(math.Float32frombits(o.Uint32(v)))
		case miDOUBLE:
			out[i] = math.Float64frombits(o.Uint64(v))
		case miINT64:
			out[i] = float64(int64(o.Uint64(v)))
		case miUINT64:
			out[i] = float64(o.Uint64(v))
		}
	}
	return out, nil
}

func (d *decoder) text(typ uint32, b [2]int, at, total int) (string, error) {
	raw := d.buf[b[0]:b[1]]
	switch typ {
	case miUTF8, miINT8, miUINT8:
		if !utf8.Valid(raw) {
			return "", d.errAt(at, "char data is not valid UTF-8")
		}
		return string(raw), nil
	case miUTF16, miUINT16, miINT16:
		if len(raw)%2 != 0 || len(raw)/2 != total {
			return "", d.errAt(at, "char data: %d bytes for %d UTF-16 characters", len(raw), total)
		}
		units := make([]uint16, len(raw)/2)
		for i := range units {
			units[i] = d.order.Uint16(raw[2*i:])
		}
		return string(utf16.Decode(units)), nil
	case miUTF32, miUINT32, miINT32:
		if len(raw)%4 != 0 || len(raw)/4 != total {
			return "", d.errAt(at, "char data: %d bytes for %d UTF-32 characters", len(raw), total)
		}
		var sb strings.Builder
		for i := 0; i < len(raw); i += 4 {
			sb.WriteRune(rune(d.order.Uint32(raw[i:])))
		}
		return sb.String(), nil
	}
	return "", d.errAt(at, "char data of element type %d, want a character type", typ)
}
