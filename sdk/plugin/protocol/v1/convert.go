package protocolv1

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/icnnlab/icnnlab/sdk/plugin/protocol/v1/internal/pluginv1"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// Converters between the Go types of this package and the generated ones.
// Tensors cross the wire as dtype, shape and their elements in C order,
// little endian, whatever the byte order of either machine.

func infoToProto(in Info) *pluginv1.Info {
	return &pluginv1.Info{
		Kind: in.Kind, Name: in.Name, Version: in.Version,
		Description: in.Description, ParamSchemaJson: in.ParamSchema,
	}
}

func infoFromProto(in *pluginv1.Info) Info {
	return Info{
		Kind: in.GetKind(), Name: in.GetName(), Version: in.GetVersion(),
		Description: in.GetDescription(), ParamSchema: in.GetParamSchemaJson(),
	}
}

func maskRequestToProto(r MaskRequest) *pluginv1.BuildMaskRequest {
	return &pluginv1.BuildMaskRequest{
		ParamsJson: r.Params, Layer: r.Layer,
		Batch: int64(r.Batch), Channels: int64(r.Channels), Height: int64(r.Height), Width: int64(r.Width),
	}
}

func maskRequestFromProto(r *pluginv1.BuildMaskRequest) (MaskRequest, error) {
	dims, err := checkDims(map[string]int64{"batch": r.GetBatch(), "channels": r.GetChannels(), "height": r.GetHeight(), "width": r.GetWidth()})
	if err != nil {
		return MaskRequest{}, err
	}
	return MaskRequest{
		Params: r.GetParamsJson(), Layer: r.GetLayer(),
		Batch: dims["batch"], Channels: dims["channels"], Height: dims["height"], Width: dims["width"],
	}, nil
}

func lossRequestToProto(r LossRequest) *pluginv1.BuildLossRequest {
	return &pluginv1.BuildLossRequest{
		ParamsJson: r.Params, Layer: r.Layer,
		Batch: int64(r.Batch), Channels: int64(r.Channels), Height: int64(r.Height), Width: int64(r.Width),
		Classes: int64(r.Classes), Task: r.Task,
	}
}

func lossRequestFromProto(r *pluginv1.BuildLossRequest) (LossRequest, error) {
	dims, err := checkDims(map[string]int64{"batch": r.GetBatch(), "channels": r.GetChannels(), "height": r.GetHeight(),
		"width": r.GetWidth(), "classes": r.GetClasses()})
	if err != nil {
		return LossRequest{}, err
	}
	return LossRequest{
		Params: r.GetParamsJson(), Layer: r.GetLayer(),
		Batch: dims["batch"], Channels: dims["channels"], Height: dims["height"], Width: dims["width"],
		Classes: dims["classes"], Task: r.GetTask(),
	}, nil
}

// maxDim bounds a single dimension received from the wire so that products
// of a few of them cannot overflow an int.
const maxDim = 1 << 31

func checkDims(dims map[string]int64) (map[string]int, error) {
	out := make(map[string]int, len(dims))
	for name, d := range dims {
		if d < 0 || d > maxDim {
			return nil, fmt.Errorf("%s = %d is out of range [0, %d]", name, d, int64(maxDim))
		}
		out[name] = int(d)
	}
	return out, nil
}

var dtypeToProto = map[tensor.DType]pluginv1.DType{
	tensor.Float32: pluginv1.DType_DTYPE_FLOAT32,
	tensor.Float64: pluginv1.DType_DTYPE_FLOAT64,
	tensor.Int32:   pluginv1.DType_DTYPE_INT32,
	tensor.Int64:   pluginv1.DType_DTYPE_INT64,
	tensor.Uint8:   pluginv1.DType_DTYPE_UINT8,
	tensor.Bool:    pluginv1.DType_DTYPE_BOOL,
}

func dtypeFromProto(d pluginv1.DType) (tensor.DType, error) {
	for dt, p := range dtypeToProto {
		if p == d {
			return dt, nil
		}
	}
	return tensor.Invalid, fmt.Errorf("unknown dtype %v", d)
}

// maxTensorBytes bounds the size a received tensor header may announce,
// so that a corrupt header cannot make the receiver allocate without limit.
const maxTensorBytes = 1 << 40

func tensorHeaderToProto(name string, t *tensor.Tensor) (*pluginv1.TensorHeader, error) {
	dt, ok := dtypeToProto[t.DType()]
	if !ok {
		return nil, fmt.Errorf("tensor %q: dtype %v cannot be sent", name, t.DType())
	}
	shape := make([]int64, len(t.Shape()))
	for i, d := range t.Shape() {
		shape[i] = int64(d)
	}
	return &pluginv1.TensorHeader{Name: name, Dtype: dt, Shape: shape}, nil
}

// tensorHeaderFromProto returns the dtype, shape and byte size announced
// by a header.
func tensorHeaderFromProto(h *pluginv1.TensorHeader) (tensor.DType, tensor.Shape, int, error) {
	dt, err := dtypeFromProto(h.GetDtype())
	if err != nil {
		return 0, nil, 0, fmt.Errorf("tensor %q: %w", h.GetName(), err)
	}
	shape := make(tensor.Shape, len(h.GetShape()))
	size := int64(dt.Size())
	for i, d := range h.GetShape() {
		if d < 0 || d > maxTensorBytes {
			return 0, nil, 0, fmt.Errorf("tensor %q: dimension %d is %d", h.GetName(), i, d)
		}
		shape[i] = int(d)
		if d != 0 && size > maxTensorBytes/d {
			return 0, nil, 0, fmt.Errorf("tensor %q: shape %v is larger than %d bytes", h.GetName(), h.GetShape(), int64(maxTensorBytes))
		}
		size *= d
	}
	return dt, shape, int(size), nil
}

// encodeElements appends the little-endian bytes of elements [from, to) of t.
func encodeElements(dst []byte, t *tensor.Tensor, from, to int) []byte {
	le := binary.LittleEndian
	switch t.DType() {
	case tensor.Float32:
		for _, v := range t.Float32s()[from:to] {
			dst = le.AppendUint32(dst, math.Float32bits(v))
		}
	case tensor.Float64:
		for _, v := range t.Float64s()[from:to] {
			dst = le.AppendUint64(dst, math.Float64bits(v))
		}
	case tensor.Int32:
		for _, v := range t.Int32s()[from:to] {
			dst = le.AppendUint32(dst, uint32(v))
		}
	case tensor.Int64:
		for _, v := range t.Int64s()[from:to] {
			dst = le.AppendUint64(dst, uint64(v))
		}
	case tensor.Uint8:
		dst = append(dst, t.Uint8s()[from:to]...)
	case tensor.Bool:
		for _, v := range t.Bools()[from:to] {
			b := byte(0)
			if v {
				b = 1
			}
			dst = append(dst, b)
		}
	}
	return dst
}

// decodeTensor builds a tensor from its little-endian bytes.
func decodeTensor(dt tensor.DType, shape tensor.Shape, data []byte) (*tensor.Tensor, error) {
	n := shape.NumElements()
	if len(data) != n*dt.Size() {
		return nil, fmt.Errorf("%v%v needs %d bytes, got %d", dt, shape, n*dt.Size(), len(data))
	}
	le := binary.LittleEndian
	switch dt {
	case tensor.Float32:
		v := make([]float32, n)
		for i := range v {
			v[i] = math.Float32frombits(le.Uint32(data[4*i:]))
		}
		return tensor.FromFloat32(shape, v)
	case tensor.Float64:
		v := make([]float64, n)
		for i := range v {
			v[i] = math.Float64frombits(le.Uint64(data[8*i:]))
		}
		return tensor.FromFloat64(shape, v)
	case tensor.Int32:
		v := make([]int32, n)
		for i := range v {
			v[i] = int32(le.Uint32(data[4*i:]))
		}
		return tensor.FromInt32(shape, v)
	case tensor.Int64:
		v := make([]int64, n)
		for i := range v {
			v[i] = int64(le.Uint64(data[8*i:]))
		}
		return tensor.FromInt64(shape, v)
	case tensor.Uint8:
		return tensor.FromUint8(shape, append([]byte(nil), data...))
	case tensor.Bool:
		v := make([]bool, n)
		for i, b := range data {
			switch b {
			case 0:
			case 1:
				v[i] = true
			default:
				return nil, fmt.Errorf("bool element %d is byte %d, want 0 or 1", i, b)
			}
		}
		return tensor.FromBool(shape, v)
	}
	return nil, fmt.Errorf("unsupported dtype %v", dt)
}
