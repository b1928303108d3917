// Package vizwire is the request format of the built-in visualizer plugins
// (receptive-field, upconv): what the host puts in plugin.VisualizeRequest's
// Meta, the names and layouts of the tensors it streams, and the summary
// files the plugins write back. Host (internal/visualize) and plugins both
// use it so the two sides cannot drift apart.
//
// Meta is one JSON object:
//
//	{
//	  "run": "interp-1a2b3c4d5e6f", "layer": "conv4",
//	  "geometry": {"size": 54, "jump": 8, "start": 4, "image_width": 64, "image_height": 64},
//	  "groups": ["background", "head", "neck", "torso", "legs", "tail"],
//	  "backend": "gorgonia", "device": "", "seed": 1
//	}
//
// Tensors (every image tensor is RGB in [0, 1], channel-major):
//
//	activations        float32 [N,C,H,W]  the layer's maps (after ReLU and mask) on the images shown
//	images             float32 [N,3,S,S]  those images
//	parts              uint8   [N,S,S]    part group id per pixel (index into "groups"); optional
//	train_activations  float32 [M,C,H,W]  upconv only: the decoder's training features
//	train_images       float32 [M,3,S,S]  upconv only: the decoder's training targets
//	train_mirrored_activations float32 [M,C,H,W]  upconv only, optional: the features of the
//	                   training images mirrored left to right (more training pairs for the decoder)
package vizwire

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/icnnlab/icnnlab/sdk/parts"
	"github.com/icnnlab/icnnlab/sdk/plugin"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// Plugin names, both of kind visualizer.
const (
	ReceptiveField = "receptive-field"
	Upconv         = "upconv"
)

// Tensor names.
const (
	TensorActivations      = "activations"
	TensorImages           = "images"
	TensorParts            = "parts"
	TensorTrainActivations = "train_activations"
	TensorTrainImages      = "train_images"
	// TensorTrainMirrored is optional: the layer's features of the
	// training images mirrored left to right, in their order.
	TensorTrainMirrored = "train_mirrored_activations"
)

// Summary files: every plugin writes one JSON summary at this path under
// its own directory (receptive-field/summary.json, upconv/summary.json)
// that the report reads.
const SummaryFile = "summary.json"

// Meta is the decoded Meta of a visualizer request.
type Meta struct {
	Run      string         `json:"run"`
	Layer    string         `json:"layer"`
	Geometry parts.Geometry `json:"geometry"`
	// Groups names the values of the "parts" tensor; 0 is the background.
	Groups []string `json:"groups,omitempty"`
	// Backend and Device are where plugins that train (upconv) compile
	// their graphs: the run's own backend.
	Backend string `json:"backend,omitempty"`
	Device  string `json:"device,omitempty"`
	Seed    uint64 `json:"seed"`
}

// Check reports the first bad field by name.
func (m Meta) Check() error {
	g := m.Geometry
	switch {
	case m.Layer == "":
		return errors.New(`meta: "layer" is empty`)
	case g.Size < 1 || g.Jump < 1:
		return fmt.Errorf(`meta: "geometry": size %d and jump %d must be positive`, g.Size, g.Jump)
	case g.ImageWidth < 1 || g.ImageHeight < 1:
		return fmt.Errorf(`meta: "geometry": image %dx%d is empty`, g.ImageWidth, g.ImageHeight)
	}
	return nil
}

// Encode checks m and writes it as Meta JSON.
func (m Meta) Encode() (json.RawMessage, error) {
	if err := m.Check(); err != nil {
		return nil, err
	}
	return json.Marshal(m)
}

// DecodeMeta reads Meta JSON, refusing unknown fields.
func DecodeMeta(raw json.RawMessage) (Meta, error) {
	var m Meta
	if len(bytes.TrimSpace(raw)) == 0 {
		return m, errors.New("meta is empty: want a JSON object with run, layer and geometry")
	}
	if err := DecodeStrict(raw, &m); err != nil {
		return m, fmt.Errorf("meta: %w", err)
	}
	return m, m.Check()
}

// DecodeStrict decodes one JSON object into v, refusing unknown fields and
// trailing data. Empty input or null leaves v as it is.
func DecodeStrict(raw []byte, v any) error {
	if t := bytes.TrimSpace(raw); len(t) == 0 || string(t) == "null" {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("trailing data after the top-level object")
	}
	return nil
}

// ReadTensors drains s and returns the tensors by name: every name in
// required must arrive, names in optional may, anything else or a repeat
// is an error naming it.
func ReadTensors(s plugin.TensorStream, required, optional []string) (map[string]*tensor.Tensor, error) {
	all, err := plugin.ReadAll(s)
	if err != nil {
		return nil, fmt.Errorf("read tensors: %w", err)
	}
	got := map[string]*tensor.Tensor{}
	for _, nt := range all {
		if !slices.Contains(required, nt.Name) && !slices.Contains(optional, nt.Name) {
			return nil, fmt.Errorf("unexpected tensor %q (want %q, optionally %q)", nt.Name, required, optional)
		}
		if _, dup := got[nt.Name]; dup {
			return nil, fmt.Errorf("tensor %q sent twice", nt.Name)
		}
		got[nt.Name] = nt.Tensor
	}
	for _, n := range required {
		if got[n] == nil {
			return nil, fmt.Errorf("tensor %q is missing", n)
		}
	}
	return got, nil
}

// Maps is a float32 [N,C,H,W] tensor's data with its dimensions.
type Maps struct {
	N, C, H, W int
	Data       []float32
}

// At is the map of channel c of item n (a view).
func (m Maps) At(n, c int) []float32 {
	o := (n*m.C + c) * m.H * m.W
	return m.Data[o : o+m.H*m.W]
}

// Item is all channels of item n (a view).
func (m Maps) Item(n int) []float32 {
	per := m.C * m.H * m.W
	return m.Data[n*per : (n+1)*per]
}

// AsMaps checks that t is float32 [N,C,H,W] and wraps it without copying.
func AsMaps(name string, t *tensor.Tensor) (Maps, error) {
	if t.DType() != tensor.Float32 || t.Rank() != 4 {
		return Maps{}, fmt.Errorf("tensor %q is %v %v, want float32 [N,C,H,W]", name, t.DType(), t.Shape())
	}
	s := t.Shape()
	return Maps{N: s[0], C: s[1], H: s[2], W: s[3], Data: t.Float32s()}, nil
}

// Images checks that t is float32 [N,3,S,S] with n items of side size.
func Images(name string, t *tensor.Tensor, n, size int) (Maps, error) {
	m, err := AsMaps(name, t)
	if err != nil {
		return m, err
	}
	if m.N != n || m.C != 3 || m.H != size || m.W != size {
		return m, fmt.Errorf("tensor %q is %v, want [%d,3,%d,%d]", name, t.Shape(), n, size, size)
	}
	return m, nil
}

// Parts checks that t is uint8 [N,S,S] and returns its data.
func Parts(name string, t *tensor.Tensor, n, size, groups int) ([]uint8, error) {
	s := t.Shape()
	if t.DType() != tensor.Uint8 || len(s) != 3 || s[0] != n || s[1] != size || s[2] != size {
		return nil, fmt.Errorf("tensor %q is %v %v, want uint8 [%d,%d,%d]", name, t.DType(), s, n, size, size)
	}
	d := t.Uint8s()
	for i, v := range d {
		if int(v) >= groups {
			return nil, fmt.Errorf("tensor %q: value %d at %d is not a group id (%d groups)", name, v, i, groups)
		}
	}
	return d, nil
}

// Peak is one image's strongest unit of a filter.
type Peak struct {
	Image int     `json:"image"`
	Row   int     `json:"row"`
	Col   int     `json:"col"`
	Value float32 `json:"value"`
}

// Peaks returns filter f's peak in every image where it fires, strongest
// first (ties by image index), at most limit of them.
func Peaks(a Maps, f, limit int) []Peak {
	var out []Peak
	for n := range a.N {
		m := a.At(n, f)
		best := 0
		for i, v := range m {
			if v > m[best] {
				best = i
			}
		}
		if m[best] > 0 {
			out = append(out, Peak{Image: n, Row: best / a.W, Col: best % a.W, Value: m[best]})
		}
	}
	slices.SortStableFunc(out, func(x, y Peak) int { return cmp.Compare(y.Value, x.Value) })
	return out[:min(limit, len(out))]
}

// Request is what every visualizer reads first: the request's meta, its
// tensors, and the held-out activations with their images, checked.
type Request struct {
	Meta        Meta
	Tensors     map[string]*tensor.Tensor
	Activations Maps
	Images      Maps
}

// ReadRequest decodes req's meta and drains s: activations and images are
// required (as [N,C,H,W] maps and [N,3,S,S] images of the meta's image
// side), so are the names in required; names in optional may arrive.
func ReadRequest(ctx context.Context, req plugin.VisualizeRequest, s plugin.TensorStream, required, optional []string) (Request, error) {
	var r Request
	var err error
	if r.Meta, err = DecodeMeta(req.Meta); err != nil {
		return r, err
	}
	if r.Tensors, err = ReadTensors(s, append([]string{TensorActivations, TensorImages}, required...), optional); err != nil {
		return r, err
	}
	if err := ctx.Err(); err != nil {
		return r, err
	}
	if r.Activations, err = AsMaps(TensorActivations, r.Tensors[TensorActivations]); err != nil {
		return r, err
	}
	r.Images, err = Images(TensorImages, r.Tensors[TensorImages], r.Activations.N, r.Meta.Geometry.ImageWidth)
	return r, err
}

// OutputFiles puts a visualizer's files (names and contents, in order)
// under dir and adds its summary as dir/summary.json.
func OutputFiles(dir string, names []string, contents [][]byte, summary any) ([]plugin.File, error) {
	out := make([]plugin.File, 0, len(names)+1)
	for i, name := range names {
		out = append(out, plugin.File{Name: dir + "/" + name, Data: contents[i]})
	}
	js, err := json.MarshalIndent(summary, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode summary: %w", err)
	}
	return append(out, plugin.File{Name: dir + "/" + SummaryFile, Data: js}), nil
}
