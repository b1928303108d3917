package gorgonia

import (
	"fmt"
	"reflect"
	"slices"
	"unsafe"

	G "gorgonia.org/gorgonia"
	gt "gorgonia.org/tensor"

	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// Gorgonia represents rank-0 values as scalar Values (*F32, *F64, …) and
// everything else as *tensor.Dense. The helpers here hide that split so that
// kernels see one flat, C-ordered slice per value.

// number is every element type the kernels handle.
type number interface {
	~float32 | ~float64 | ~int32 | ~int64
}

// float is the element types that take part in differentiation.
type float interface{ ~float32 | ~float64 }

// toGorgoniaDtype maps an icnnlab dtype to gorgonia's.
func toGorgoniaDtype(dt tensor.DType) (gt.Dtype, error) {
	switch dt {
	case tensor.Float32:
		return gt.Float32, nil
	case tensor.Float64:
		return gt.Float64, nil
	case tensor.Int32:
		return gt.Int32, nil
	case tensor.Int64:
		return gt.Int64, nil
	}
	return gt.Dtype{}, fmt.Errorf("dtype %v is not supported by the gorgonia backend (float32, float64, int32, int64 are)", dt)
}

func fromGorgoniaDtype(dt gt.Dtype) tensor.DType {
	switch dt {
	case gt.Float32:
		return tensor.Float32
	case gt.Float64:
		return tensor.Float64
	case gt.Int32:
		return tensor.Int32
	case gt.Int64:
		return tensor.Int64
	}
	return tensor.Invalid
}

// newValue allocates a zeroed value: a scalar for an empty shape, a dense tensor otherwise.
func newValue(dt gt.Dtype, shape []int) G.Value {
	if len(shape) == 0 {
		switch dt {
		case gt.Float32:
			return G.NewF32(0)
		case gt.Float64:
			return G.NewF64(0)
		case gt.Int32:
			return G.NewI32(0)
		case gt.Int64:
			return G.NewI64(0)
		}
		panic(fmt.Sprintf("gorgonia backend: no scalar value for dtype %v", dt))
	}
	n := 1
	for _, d := range shape {
		n *= d
	}
	var backing any
	switch dt {
	case gt.Float32:
		backing = make([]float32, n)
	case gt.Float64:
		backing = make([]float64, n)
	case gt.Int32:
		backing = make([]int32, n)
	case gt.Int64:
		backing = make([]int64, n)
	default:
		panic(fmt.Sprintf("gorgonia backend: no tensor value for dtype %v", dt))
	}
	return gt.New(gt.WithShape(append([]int(nil), shape...)...), gt.WithBacking(backing))
}

// clearValue zeroes every element of v.
func clearValue(v G.Value) {
	switch v.Dtype() {
	case gt.Float32:
		clear(dataOf[float32](v))
	case gt.Float64:
		clear(dataOf[float64](v))
	case gt.Int32:
		clear(dataOf[int32](v))
	case gt.Int64:
		clear(dataOf[int64](v))
	}
}

// dataOf returns the flat backing slice of a value (length 1 for a scalar).
// It panics on a dtype mismatch: the graph was type-checked when it was
// built, so a mismatch is a bug in this package.
func dataOf[T number](v G.Value) []T {
	switch x := v.(type) {
	case *gt.Dense:
		if x.Shape().IsScalar() {
			return x.Data().([]T)[:1] // never built by this package
		}
		// The bytes reinterpreted in place: Dense.Data builds its slice
		// by reflection and boxes it, an allocation per call, and kernels
		// call this for every operand of every step.
		var zero T
		if x.Dtype().Type != reflect.TypeOf(zero) {
			panic(fmt.Sprintf("gorgonia backend: tensor of dtype %v read as %T", x.Dtype(), zero))
		}
		raw := x.Raw
		if len(raw) == 0 {
			return nil
		}
		return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(raw))), len(raw)/int(unsafe.Sizeof(zero)))
	case *G.F32:
		return scalarSlice[T](unsafe.Pointer(x), gt.Float32)
	case *G.F64:
		return scalarSlice[T](unsafe.Pointer(x), gt.Float64)
	case *G.I32:
		return scalarSlice[T](unsafe.Pointer(x), gt.Int32)
	case *G.I64:
		return scalarSlice[T](unsafe.Pointer(x), gt.Int64)
	}
	panic(fmt.Sprintf("gorgonia backend: unexpected value type %T", v))
}

func scalarSlice[T number](p unsafe.Pointer, dt gt.Dtype) []T {
	var zero T
	var want gt.Dtype
	switch any(zero).(type) {
	case float32:
		want = gt.Float32
	case float64:
		want = gt.Float64
	case int32:
		want = gt.Int32
	case int64:
		want = gt.Int64
	}
	if want != dt {
		panic(fmt.Sprintf("gorgonia backend: scalar of dtype %v read as %v", dt, want))
	}
	return unsafe.Slice((*T)(p), 1)
}

// dtypeOfValue reports a value's element type.
func dtypeOfValue(v G.Value) gt.Dtype { return v.Dtype() }

// boundLeaf is a leaf's gorgonia value and the tensor data it wraps.
type boundLeaf struct {
	data  unsafe.Pointer // the backing slice's first element
	n     int            // its length
	dtype tensor.DType
	shape []int
	v     G.Value
}

// dataPointer is t's backing slice (first element and length).
func dataPointer(t *tensor.Tensor) (unsafe.Pointer, int) {
	switch t.DType() {
	case tensor.Float32:
		return unsafe.Pointer(unsafe.SliceData(t.Float32s())), len(t.Float32s())
	case tensor.Float64:
		return unsafe.Pointer(unsafe.SliceData(t.Float64s())), len(t.Float64s())
	case tensor.Int32:
		return unsafe.Pointer(unsafe.SliceData(t.Int32s())), len(t.Int32s())
	case tensor.Int64:
		return unsafe.Pointer(unsafe.SliceData(t.Int64s())), len(t.Int64s())
	}
	return nil, 0
}

// leafValue is the gorgonia value of leaf id bound to t: the value of the
// previous run when it wraps the same backing data with the same shape
// (its elements are t's, shared), else a new wrapper. Scalars are copies,
// so a reused scalar takes t's current value. Wrapping anew each run cost
// a handful of allocations per leaf and step.
func (p *program) leafValue(id int, t *tensor.Tensor) (G.Value, error) {
	data, n := dataPointer(t)
	if b, ok := p.bound[id]; ok && b.data == data && b.n == n && b.dtype == t.DType() && slices.Equal(b.shape, t.Shape()) {
		if t.Rank() == 0 {
			switch v := b.v.(type) {
			case *G.F32:
				*v = G.F32(t.Float32s()[0])
			case *G.F64:
				*v = G.F64(t.Float64s()[0])
			case *G.I32:
				*v = G.I32(t.Int32s()[0])
			case *G.I64:
				*v = G.I64(t.Int64s()[0])
			}
		}
		return b.v, nil
	}
	v, err := wrapTensor(t)
	if err != nil {
		return nil, err
	}
	if p.bound == nil {
		p.bound = map[int]boundLeaf{}
	}
	p.bound[id] = boundLeaf{data: data, n: n, dtype: t.DType(), shape: slices.Clone(t.Shape()), v: v}
	return v, nil
}

// wrapTensor makes a gorgonia value that shares t's backing data (no copy).
func wrapTensor(t *tensor.Tensor) (G.Value, error) {
	if t.Rank() == 0 {
		switch t.DType() {
		case tensor.Float32:
			return G.NewF32(t.Float32s()[0]), nil
		case tensor.Float64:
			return G.NewF64(t.Float64s()[0]), nil
		case tensor.Int32:
			return G.NewI32(t.Int32s()[0]), nil
		case tensor.Int64:
			return G.NewI64(t.Int64s()[0]), nil
		}
		return nil, fmt.Errorf("scalar of dtype %v is not supported", t.DType())
	}
	shape := append([]int(nil), t.Shape()...)
	var backing any
	switch t.DType() {
	case tensor.Float32:
		backing = t.Float32s()
	case tensor.Float64:
		backing = t.Float64s()
	case tensor.Int32:
		backing = t.Int32s()
	case tensor.Int64:
		backing = t.Int64s()
	default:
		return nil, fmt.Errorf("tensor of dtype %v is not supported", t.DType())
	}
	return gt.New(gt.WithShape(shape...), gt.WithBacking(backing)), nil
}

// copyOut converts a gorgonia value to a new icnnlab tensor of the given shape.
func copyOut(v G.Value, shape tensor.Shape) (*tensor.Tensor, error) {
	switch v.Dtype() {
	case gt.Float32:
		return tensor.FromFloat32(shape, append([]float32(nil), dataOf[float32](v)...))
	case gt.Float64:
		return tensor.FromFloat64(shape, append([]float64(nil), dataOf[float64](v)...))
	case gt.Int32:
		return tensor.FromInt32(shape, append([]int32(nil), dataOf[int32](v)...))
	case gt.Int64:
		return tensor.FromInt64(shape, append([]int64(nil), dataOf[int64](v)...))
	}
	return nil, fmt.Errorf("value of dtype %v cannot be returned", v.Dtype())
}

// copyValueInto copies the elements of v into t, which has v's dtype and size.
func copyValueInto(t *tensor.Tensor, v G.Value) error {
	if t.DType() != fromGorgoniaDtype(v.Dtype()) {
		return fmt.Errorf("copy a %v value into a %v tensor", v.Dtype(), t.DType())
	}
	var n int
	switch t.DType() {
	case tensor.Float32:
		n = copy(t.Float32s(), dataOf[float32](v))
	case tensor.Float64:
		n = copy(t.Float64s(), dataOf[float64](v))
	case tensor.Int32:
		n = copy(t.Int32s(), dataOf[int32](v))
	case tensor.Int64:
		n = copy(t.Int64s(), dataOf[int64](v))
	}
	if n != t.Len() {
		return fmt.Errorf("copy %d elements into a tensor of %d", n, t.Len())
	}
	return nil
}

// numElements is the product of shape's dimensions.
func numElements(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// stridesOf returns C-order strides.
func stridesOf(shape []int) []int {
	s := make([]int, len(shape))
	acc := 1
	for i := len(shape) - 1; i >= 0; i-- {
		s[i] = acc
		acc *= shape[i]
	}
	return s
}
