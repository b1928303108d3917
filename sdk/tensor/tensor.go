// Package tensor is icnnlab's dense, row-major (C order) tensor type.
//
// It is deliberately small: a dtype, a shape and one typed backing slice.
// Backends convert to and from their own representation at the edges; plugins
// and the host exchange tensors of this type (and .npy files written from it).
package tensor

import (
	"fmt"
	"math"
	"strings"
)

// DType is the element type of a tensor.
type DType uint8

// The supported element types. The zero value is Invalid so that a forgotten
// dtype is caught rather than silently read as float32.
const (
	Invalid DType = iota
	Float32
	Float64
	Int32
	Int64
	Uint8
	Bool
)

var dtypeNames = map[DType]string{
	Invalid: "invalid", Float32: "float32", Float64: "float64",
	Int32: "int32", Int64: "int64", Uint8: "uint8", Bool: "bool",
}

func (d DType) String() string {
	if s, ok := dtypeNames[d]; ok {
		return s
	}
	return fmt.Sprintf("DType(%d)", uint8(d))
}

// Valid reports whether d is one of the supported element types.
func (d DType) Valid() bool { return d > Invalid && d <= Bool }

// ParseDType is the inverse of DType.String.
func ParseDType(s string) (DType, error) {
	for d, name := range dtypeNames {
		if name == s && d != Invalid {
			return d, nil
		}
	}
	return Invalid, fmt.Errorf("unknown dtype %q (want float32, float64, int32, int64, uint8 or bool)", s)
}

// Size is the number of bytes of one element.
func (d DType) Size() int {
	switch d {
	case Float32, Int32:
		return 4
	case Float64, Int64:
		return 8
	case Uint8, Bool:
		return 1
	}
	return 0
}

// IsFloat reports whether d is a floating-point type.
func (d DType) IsFloat() bool { return d == Float32 || d == Float64 }

// Shape is a tensor shape; the empty shape is a scalar.
type Shape []int

// NumElements is the product of the dimensions (1 for a scalar).
func (s Shape) NumElements() int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// Equal reports whether two shapes are identical.
func (s Shape) Equal(o Shape) bool {
	if len(s) != len(o) {
		return false
	}
	for i := range s {
		if s[i] != o[i] {
			return false
		}
	}
	return true
}

// Clone returns a copy that does not alias s.
func (s Shape) Clone() Shape {
	if s == nil {
		return Shape{}
	}
	return append(Shape{}, s...)
}

func (s Shape) String() string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = fmt.Sprint(d)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// Validate checks that no dimension is negative.
func (s Shape) Validate() error {
	for i, d := range s {
		if d < 0 {
			return fmt.Errorf("shape %v: dimension %d is negative", s, i)
		}
	}
	return nil
}

// Tensor is a dense tensor in C order. Exactly one backing slice, the one
// matching DType, is non-nil.
type Tensor struct {
	dtype DType
	shape Shape
	f32   []float32
	f64   []float64
	i32   []int32
	i64   []int64
	u8    []uint8
	b     []bool
}

// Zeros allocates a zero-filled tensor.
func Zeros(dt DType, shape ...int) *Tensor {
	s := Shape(shape).Clone()
	if err := s.Validate(); err != nil {
		panic(err)
	}
	n := s.NumElements()
	t := &Tensor{dtype: dt, shape: s}
	switch dt {
	case Float32:
		t.f32 = make([]float32, n)
	case Float64:
		t.f64 = make([]float64, n)
	case Int32:
		t.i32 = make([]int32, n)
	case Int64:
		t.i64 = make([]int64, n)
	case Uint8:
		t.u8 = make([]uint8, n)
	case Bool:
		t.b = make([]bool, n)
	default:
		panic(fmt.Sprintf("tensor.Zeros: unsupported dtype %v", dt))
	}
	return t
}

func checkLen(shape Shape, n int) error {
	if err := shape.Validate(); err != nil {
		return err
	}
	if shape.NumElements() != n {
		return fmt.Errorf("shape %v holds %d elements but %d values were given", shape, shape.NumElements(), n)
	}
	return nil
}

// FromFloat32 wraps data (not copied) as a float32 tensor of the given shape.
func FromFloat32(shape Shape, data []float32) (*Tensor, error) {
	if err := checkLen(shape, len(data)); err != nil {
		return nil, err
	}
	return &Tensor{dtype: Float32, shape: shape.Clone(), f32: data}, nil
}

// FromFloat64 wraps data (not copied) as a float64 tensor.
func FromFloat64(shape Shape, data []float64) (*Tensor, error) {
	if err := checkLen(shape, len(data)); err != nil {
		return nil, err
	}
	return &Tensor{dtype: Float64, shape: shape.Clone(), f64: data}, nil
}

// FromInt32 wraps data (not copied) as an int32 tensor.
func FromInt32(shape Shape, data []int32) (*Tensor, error) {
	if err := checkLen(shape, len(data)); err != nil {
		return nil, err
	}
	return &Tensor{dtype: Int32, shape: shape.Clone(), i32: data}, nil
}

// FromInt64 wraps data (not copied) as an int64 tensor.
func FromInt64(shape Shape, data []int64) (*Tensor, error) {
	if err := checkLen(shape, len(data)); err != nil {
		return nil, err
	}
	return &Tensor{dtype: Int64, shape: shape.Clone(), i64: data}, nil
}

// FromUint8 wraps data (not copied) as a uint8 tensor.
func FromUint8(shape Shape, data []uint8) (*Tensor, error) {
	if err := checkLen(shape, len(data)); err != nil {
		return nil, err
	}
	return &Tensor{dtype: Uint8, shape: shape.Clone(), u8: data}, nil
}

// FromBool wraps data (not copied) as a bool tensor.
func FromBool(shape Shape, data []bool) (*Tensor, error) {
	if err := checkLen(shape, len(data)); err != nil {
		return nil, err
	}
	return &Tensor{dtype: Bool, shape: shape.Clone(), b: data}, nil
}

// MustFloat32 is FromFloat32 for literals in code and tests; it panics on a
// length mismatch.
func MustFloat32(shape Shape, data []float32) *Tensor {
	t, err := FromFloat32(shape, data)
	if err != nil {
		panic(err)
	}
	return t
}

// Scalar32 is a float32 scalar tensor.
func Scalar32(v float32) *Tensor { return MustFloat32(Shape{}, []float32{v}) }

// DType is the element type.
func (t *Tensor) DType() DType { return t.dtype }

// Shape returns the shape; callers must not modify it.
func (t *Tensor) Shape() Shape { return t.shape }

// Rank is the number of dimensions.
func (t *Tensor) Rank() int { return len(t.shape) }

// Len is the number of elements.
func (t *Tensor) Len() int { return t.shape.NumElements() }

// Float32s returns the backing slice of a float32 tensor (nil otherwise).
func (t *Tensor) Float32s() []float32 { return t.f32 }

// Float64s returns the backing slice of a float64 tensor (nil otherwise).
func (t *Tensor) Float64s() []float64 { return t.f64 }

// Int32s returns the backing slice of an int32 tensor (nil otherwise).
func (t *Tensor) Int32s() []int32 { return t.i32 }

// Int64s returns the backing slice of an int64 tensor (nil otherwise).
func (t *Tensor) Int64s() []int64 { return t.i64 }

// Uint8s returns the backing slice of a uint8 tensor (nil otherwise).
func (t *Tensor) Uint8s() []uint8 { return t.u8 }

// Bools returns the backing slice of a bool tensor (nil otherwise).
func (t *Tensor) Bools() []bool { return t.b }

// Clone returns a deep copy.
func (t *Tensor) Clone() *Tensor {
	c := &Tensor{dtype: t.dtype, shape: t.shape.Clone()}
	switch t.dtype {
	case Float32:
		c.f32 = append([]float32(nil), t.f32...)
	case Float64:
		c.f64 = append([]float64(nil), t.f64...)
	case Int32:
		c.i32 = append([]int32(nil), t.i32...)
	case Int64:
		c.i64 = append([]int64(nil), t.i64...)
	case Uint8:
		c.u8 = append([]uint8(nil), t.u8...)
	case Bool:
		c.b = append([]bool(nil), t.b...)
	}
	return c
}

// Reshape returns a tensor sharing t's data with a new shape of the same size.
func (t *Tensor) Reshape(shape ...int) (*Tensor, error) {
	s := Shape(shape)
	if err := checkLen(s, t.Len()); err != nil {
		return nil, fmt.Errorf("reshape %v to %v: %w", t.shape, s, err)
	}
	c := *t
	c.shape = s.Clone()
	return &c, nil
}

// Float64At returns element i (in C order) converted to float64, whatever the dtype.
func (t *Tensor) Float64At(i int) float64 {
	switch t.dtype {
	case Float32:
		return float64(t.f32[i])
	case Float64:
		return t.f64[i]
	case Int32:
		return float64(t.i32[i])
	case Int64:
		return float64(t.i64[i])
	case Uint8:
		return float64(t.u8[i])
	case Bool:
		if t.b[i] {
			return 1
		}
		return 0
	}
	panic("tensor: invalid dtype")
}

// AsFloat32 converts any tensor to a new float32 tensor (a copy even if t is float32).
func (t *Tensor) AsFloat32() *Tensor {
	out := Zeros(Float32, t.shape...)
	for i := range out.f32 {
		out.f32[i] = float32(t.Float64At(i))
	}
	return out
}

// AsFloat64 converts any tensor to a new float64 tensor.
func (t *Tensor) AsFloat64() *Tensor {
	out := Zeros(Float64, t.shape...)
	for i := range out.f64 {
		out.f64[i] = t.Float64At(i)
	}
	return out
}

// Equal reports whether dtype, shape and every element are identical
// (NaNs compare equal to NaNs at the same position).
func (t *Tensor) Equal(o *Tensor) bool {
	if t.dtype != o.dtype || !t.shape.Equal(o.shape) {
		return false
	}
	for i := 0; i < t.Len(); i++ {
		a, b := t.Float64At(i), o.Float64At(i)
		if a != b && !(math.IsNaN(a) && math.IsNaN(b)) {
			return false
		}
	}
	return true
}

// MaxAbsDiff is the largest |t_i - o_i|; it is +Inf when shapes differ.
func (t *Tensor) MaxAbsDiff(o *Tensor) float64 {
	if !t.shape.Equal(o.shape) {
		return math.Inf(1)
	}
	m := 0.0
	for i := 0; i < t.Len(); i++ {
		d := math.Abs(t.Float64At(i) - o.Float64At(i))
		if math.IsNaN(d) {
			return math.Inf(1)
		}
		m = math.Max(m, d)
	}
	return m
}

func (t *Tensor) String() string {
	const maxShown = 8
	var b strings.Builder
	fmt.Fprintf(&b, "Tensor(%v%v", t.dtype, t.shape)
	n := t.Len()
	b.WriteString(" [")
	for i := 0; i < n && i < maxShown; i++ {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%g", t.Float64At(i))
	}
	if n > maxShown {
		fmt.Fprintf(&b, " … (%d more)", n-maxShown)
	}
	b.WriteString("])")
	return b.String()
}
