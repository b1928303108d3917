// Package mattest writes Level 5 MAT-files for tests: little-endian, with
// small data elements where MATLAB uses them, optionally with every
// variable zlib-compressed (miCOMPRESSED) as MATLAB 7 saves them.
package mattest

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"math"
	"unicode/utf16"

	"github.com/icnnlab/icnnlab/internal/data/matv5"
)

// Element type codes the writer uses.
const (
	miINT8       = 1
	miUINT8      = 2
	miUINT16     = 4
	miINT32      = 5
	miUINT32     = 6
	miDOUBLE     = 9
	miMATRIX     = 14
	miCOMPRESSED = 15
)

var le = binary.LittleEndian

// Encode returns the bytes of a MAT-file holding vars.
func Encode(vars []*matv5.Array, compress bool) []byte {
	var out bytes.Buffer
	hdr := make([]byte, 128)
	copy(hdr, "MATLAB 5.0 MAT-file, written by icnnlab mattest")
	for i := len("MATLAB 5.0 MAT-file, written by icnnlab mattest"); i < 116; i++ {
		hdr[i] = ' '
	}
	le.PutUint16(hdr[124:], 0x0100)
	copy(hdr[126:], "IM")
	out.Write(hdr)
	for _, v := range vars {
		m := Matrix(v)
		if compress {
			var z bytes.Buffer
			w := zlib.NewWriter(&z)
			w.Write(m)
			w.Close()
			out.Write(tag(miCOMPRESSED, z.Len()))
			out.Write(z.Bytes()) // compressed elements are not padded
		} else {
			out.Write(m)
		}
	}
	return out.Bytes()
}

func tag(typ, n int) []byte {
	b := make([]byte, 8)
	le.PutUint32(b, uint32(typ))
	le.PutUint32(b[4:], uint32(n))
	return b
}

// Element is a data element: the small format for up to 4 bytes, else a
// full tag and the data padded to 8 bytes.
func Element(typ int, data []byte) []byte {
	if len(data) <= 4 && len(data) > 0 {
		b := make([]byte, 8)
		le.PutUint32(b, uint32(len(data))<<16|uint32(typ))
		copy(b[4:], data)
		return b
	}
	b := append(tag(typ, len(data)), data...)
	for len(b)%8 != 0 {
		b = append(b, 0)
	}
	return b
}

// Matrix is the miMATRIX element of a.
func Matrix(a *matv5.Array) []byte {
	class := a.Class
	if class == matv5.Empty {
		class = matv5.Double
	}
	var body []byte
	flags := uint32(class)
	if a.Logical {
		flags |= 0x200
	}
	f := make([]byte, 8)
	le.PutUint32(f, flags)
	body = append(body, Element(miUINT32, f)...)
	dims := a.Dims
	if len(dims) == 0 {
		dims = []int{0, 0}
	}
	var db []byte
	for _, d := range dims {
		db = le.AppendUint32(db, uint32(d))
	}
	body = append(body, Element(miINT32, db)...)
	body = append(body, Element(miINT8, []byte(a.Name))...)
	switch {
	case a.Class == matv5.Empty:
		body = append(body, tag(miDOUBLE, 0)...)
	case a.Class == matv5.Uint8:
		vals := make([]byte, len(a.Numbers))
		for i, v := range a.Numbers {
			vals[i] = byte(v)
		}
		body = append(body, Element(miUINT8, vals)...)
	case a.Class.Numeric():
		var vals []byte
		for _, v := range a.Numbers {
			vals = le.AppendUint64(vals, math.Float64bits(v))
		}
		body = append(body, Element(miDOUBLE, vals)...)
	case a.Class == matv5.Char:
		var vals []byte
		for _, u := range utf16.Encode([]rune(a.Text)) {
			vals = le.AppendUint16(vals, u)
		}
		body = append(body, Element(miUINT16, vals)...)
	case a.Class == matv5.Cell:
		for _, c := range a.Cells {
			body = append(body, Matrix(c)...)
		}
	case a.Class == matv5.Struct:
		width := 1
		for _, n := range a.FieldNames {
			width = max(width, len(n)+1)
		}
		body = append(body, Element(miINT32, le.AppendUint32(nil, uint32(width)))...)
		names := make([]byte, width*len(a.FieldNames))
		for k, n := range a.FieldNames {
			copy(names[k*width:], n)
		}
		body = append(body, Element(miINT8, names)...)
		for _, e := range a.Elems {
			for _, v := range e {
				c := *v
				c.Name = "" // field values are unnamed
				body = append(body, Matrix(&c)...)
			}
		}
	}
	return append(tag(miMATRIX, len(body)), body...)
}

// Text is a 1×N char array.
func Text(s string) *matv5.Array {
	return &matv5.Array{Class: matv5.Char, Dims: []int{1, len(utf16.Encode([]rune(s)))}, Text: s}
}

// Scalar is a 1×1 double.
func Scalar(v float64) *matv5.Array {
	return &matv5.Array{Class: matv5.Double, Dims: []int{1, 1}, Numbers: []float64{v}}
}

// Mask is a rows×cols uint8 (logical if logical) array from a row-major plane.
func Mask(plane []uint8, rows, cols int, logical bool) *matv5.Array {
	a := &matv5.Array{Class: matv5.Uint8, Logical: logical, Dims: []int{rows, cols}, Numbers: make([]float64, rows*cols)}
	for r := range rows {
		for c := range cols {
			a.Numbers[c*rows+r] = float64(plane[r*cols+c])
		}
	}
	return a
}

// StructArray is a 1×N struct array with the given fields; elems[e][f] is
// element e's value of field f.
func StructArray(fields []string, elems [][]*matv5.Array) *matv5.Array {
	return &matv5.Array{Class: matv5.Struct, Dims: []int{1, len(elems)}, FieldNames: fields, Elems: elems}
}
