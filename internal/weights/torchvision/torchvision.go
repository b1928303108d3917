// Package torchvision maps the zoo's parameters to and from torchvision's
// state_dict names and layouts, so that torchvision's ImageNet weights for
// alexnet and vgg16 initialise zoo.ArchAlexNetTorchvision and
// zoo.ArchVGG16, and so that icnnlab networks export under names a
// PyTorch module can load.
//
// The names follow how torchvision builds its networks, which is a rule
// rather than a table: "features" is an nn.Sequential with a Conv2d and a
// ReLU per conv layer and a MaxPool2d per pool layer, numbered in order
// (pools that the zoo drops at small inputs keep their number);
// "classifier" numbers Linear, ReLU and Dropout modules the same way. Every
// zoo architecture gets names by this rule; for alexnet-torchvision and
// vgg-16 they are exactly torchvision's. Interpretable mode's inserted
// conv is "interp", and any other parameter (a mask plugin's) keeps its
// graph name with "/" written as ".".
//
// Layouts: conv weights are [out, in, k, k] on both sides; a Linear's
// weight is [out, in] in PyTorch and [in, out] in the zoo. torchvision
// ends the features with AdaptiveAvgPool2d to 6×6 (AlexNet) or 7×7
// (VGG-16), the identity at 224 px; at other sizes the import folds that
// linear map into fc6, exactly.
package torchvision

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/icnnlab/icnnlab/internal/weights"
	"github.com/icnnlab/icnnlab/internal/zoo"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// adaptivePool is the side torchvision's avgpool resizes the features to.
var adaptivePool = map[string]int{zoo.ArchAlexNetTorchvision: 6, zoo.ArchVGG16: 7}

// InterpName is the module name of interpretable mode's inserted conv.
const InterpName = "interp"

// Role says what a parameter is to the mapping.
type Role int

const (
	Backbone Role = iota // a conv of the base network or a hidden FC: required
	Class                // the class layer: loaded when its shape fits
	New                  // interp and mask parameters: absent from torchvision files
)

// Entry maps one zoo parameter.
type Entry struct {
	Param  string // the graph's parameter name, e.g. "conv1/w"
	Torch  string // the state_dict name, e.g. "features.0.weight"
	Shape  tensor.Shape
	Linear bool // stored transposed: PyTorch [out, in], zoo [in, out]
	Role   Role
	// First marks the first FC weight, whose input is the flattened features.
	First bool
}

// Mapping lists m's parameters with their PyTorch names, features first,
// then interp, the classifier and any other parameters.
func Mapping(m *zoo.Model) ([]Entry, error) {
	layout, err := zoo.Layout(m.Spec.Arch)
	if err != nil {
		return nil, err
	}
	params := map[string]tensor.Shape{}
	for _, p := range m.Graph.Params() {
		params[p.Attrs().Name] = p.Shape()
	}
	var out []Entry
	used := map[string]bool{}
	add := func(prefix, torch string, role Role, linear, first bool) error {
		for _, suffix := range []string{"w", "b"} {
			name := prefix + "/" + suffix
			shape, ok := params[name]
			if !ok {
				return fmt.Errorf("%s model has no parameter %s", m.Spec.Arch, name)
			}
			tn := torch + ".weight"
			if suffix == "b" {
				tn = torch + ".bias"
			}
			out = append(out, Entry{Param: name, Torch: tn, Shape: shape, Linear: linear && suffix == "w", Role: role, First: first && suffix == "w"})
			used[name] = true
		}
		return nil
	}
	index := 0
	for _, l := range layout.Layers {
		switch l.Kind {
		case zoo.KindConv:
			if err := add(l.Name, fmt.Sprintf("features.%d", index), Backbone, false, false); err != nil {
				return nil, err
			}
			index += 2 // Conv2d, ReLU
		case zoo.KindPool:
			index++
		}
		if l.Name == layout.TopConv {
			if _, ok := params[zoo.InsertedConv+"/w"]; ok {
				if err := add(zoo.InsertedConv, InterpName, New, false, false); err != nil {
					return nil, err
				}
			}
		}
	}
	hidden := len(layout.FC) - 1
	for i, name := range layout.FC {
		at, role := 3*i, Backbone // Linear, ReLU, Dropout
		if layout.DropoutBeforeFC && i < hidden {
			at++ // Dropout, Linear, ReLU
		}
		if i == hidden {
			at, role = 3*hidden, Class
		}
		if err := add(name, fmt.Sprintf("classifier.%d", at), role, true, i == 0); err != nil {
			return nil, err
		}
	}
	var rest []string
	for name := range params {
		if !used[name] {
			rest = append(rest, name)
		}
	}
	slices.Sort(rest)
	for _, name := range rest {
		out = append(out, Entry{Param: name, Torch: strings.ReplaceAll(name, "/", "."), Shape: params[name], Role: New})
	}
	return out, nil
}

// Import is what a weights file gives a model.
type Import struct {
	// Values are the zoo parameters to write, by graph name, in the zoo's layout.
	Values map[string]*tensor.Tensor
	// Loaded lists the file's tensors that were used.
	Loaded []string
	// Fresh lists the model's parameters the file did not set (interp,
	// mask parameters, a class layer of another size): they keep their
	// initialisation.
	Fresh []string
	// Notes say what else was done (an adaptive pool folded into fc6, a
	// class layer left out, pools dropped at this input size).
	Notes []string
}

// Load maps f's tensors onto m. Every problem is reported at once, each
// naming the file and the tensor: keys the model does not have, keys the
// model needs that the file lacks, tensors of the wrong shape or of a
// non-floating dtype. Nothing is returned unless everything fits.
func Load(m *zoo.Model, f *weights.File) (*Import, error) {
	entries, err := Mapping(m)
	if err != nil {
		return nil, err
	}
	byTorch := map[string]Entry{}
	for _, e := range entries {
		byTorch[e.Torch] = e
	}
	var problems []error
	bad := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }

	var extra []string
	for _, name := range f.Names {
		if _, ok := byTorch[name]; !ok {
			extra = append(extra, name)
		}
	}
	if len(extra) > 0 {
		bad("%d tensors that %s has no place for: %s", len(extra), describe(m), strings.Join(extra, ", "))
	}
	var missing []string
	for _, e := range entries {
		if _, ok := f.Tensors[e.Torch]; !ok && e.Role == Backbone {
			missing = append(missing, e.Torch)
		}
	}
	if len(missing) > 0 {
		bad("%d tensors that %s needs are missing: %s", len(missing), describe(m), strings.Join(missing, ", "))
	}

	imp := &Import{Values: map[string]*tensor.Tensor{}}
	if dropped := m.DroppedPools; len(dropped) > 0 {
		imp.Notes = append(imp.Notes, fmt.Sprintf("at %d px the zoo drops %s, so this network differs from the one the weights were trained in",
			m.Spec.InputSize, strings.Join(dropped, ", ")))
	}
	classSkipped := false
	for _, e := range entries {
		t, ok := f.Tensors[e.Torch]
		if !ok {
			continue
		}
		if dt := f.DTypes[e.Torch]; t.DType() != tensor.Float32 && t.DType() != tensor.Float64 {
			bad("tensor %s has dtype %s; weights must be floating point (float32, float64, float16 or bfloat16)", e.Torch, dt)
			continue
		}
		if t.DType() != tensor.Float32 {
			t = t.AsFloat32()
		}
		v, note, err := toZoo(m, e, t)
		if err != nil {
			if e.Role == Class && t.Rank() >= 1 && t.Rank() <= 2 && t.Shape()[0] != e.Shape[len(e.Shape)-1] {
				// The usual fine-tuning case: ImageNet's 1000 classes, a task with fewer.
				classSkipped = true
				continue
			}
			bad("tensor %s: %v", e.Torch, err)
			continue
		}
		if note != "" {
			imp.Notes = append(imp.Notes, note)
		}
		imp.Values[e.Param] = v
		imp.Loaded = append(imp.Loaded, e.Torch)
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("weights %s do not fit %s:\n  %w", f.Path, describe(m), indentJoin(problems))
	}
	if classSkipped {
		for _, e := range entries {
			if e.Role == Class {
				delete(imp.Values, e.Param)
				imp.Loaded = slices.DeleteFunc(imp.Loaded, func(s string) bool { return s == e.Torch })
			}
		}
		imp.Notes = append(imp.Notes, fmt.Sprintf("the class layer (%s) has another number of outputs than this network's %d: it starts from its initialisation",
			strings.Join(torchNames(entries, Class), ", "), m.Spec.Classes))
	}
	for _, e := range entries {
		if _, ok := imp.Values[e.Param]; !ok {
			imp.Fresh = append(imp.Fresh, e.Param)
		}
	}
	return imp, nil
}

func torchNames(entries []Entry, role Role) []string {
	var out []string
	for _, e := range entries {
		if e.Role == role {
			out = append(out, e.Torch)
		}
	}
	return out
}

func describe(m *zoo.Model) string {
	s := fmt.Sprintf("%s (width %g, %d px, %d classes)", m.Spec.Arch, m.Spec.Width, m.Spec.InputSize, m.Spec.Classes)
	if len(m.Top) > 0 {
		s = "interpretable " + s
	}
	return s
}

func indentJoin(errs []error) error {
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return errors.New(strings.Join(msgs, "\n  "))
}

// flatInput is the side and channels of the map that the first FC layer flattens.
func flatInput(m *zoo.Model) (channels, side int) {
	last := m.Layers[len(m.Layers)-1]
	return last.Channels, last.Size
}

// toZoo converts one file tensor to the zoo's layout for entry e.
func toZoo(m *zoo.Model, e Entry, t *tensor.Tensor) (*tensor.Tensor, string, error) {
	if !e.Linear {
		if !t.Shape().Equal(e.Shape) {
			return nil, "", fmt.Errorf("shape %v, %s wants %v%s", t.Shape(), e.Param, e.Shape, shapeHint(m, e))
		}
		return t, "", nil
	}
	in, out := e.Shape[0], e.Shape[1]
	s := t.Shape()
	if len(s) != 2 || s[0] != out {
		return nil, "", fmt.Errorf("shape %v, %s wants [%d %d] (PyTorch's [out, in])%s", s, e.Param, out, in, shapeHint(m, e))
	}
	if s[1] == in {
		return transpose(t), "", nil
	}
	a, ok := adaptivePool[m.Spec.Arch]
	c, side := flatInput(m)
	if e.First && ok && s[1] == c*a*a {
		return foldAdaptivePool(t, c, a, side), fmt.Sprintf("torchvision's %d×%d adaptive average pool is folded into %s (this network's features are %d×%d×%d)",
			a, a, e.Param, c, side, side), nil
	}
	want := fmt.Sprintf("[%d %d]", out, in)
	if e.First && ok {
		want += fmt.Sprintf(" or [%d %d] (torchvision's %d×%d pooled features)", out, c*a*a, a, a)
	}
	return nil, "", fmt.Errorf("shape %v, %s wants %s%s", s, e.Param, want, shapeHint(m, e))
}

// shapeHint suggests the likely cause of a shape mismatch.
func shapeHint(m *zoo.Model, e Entry) string {
	switch {
	case m.Spec.Width != 1:
		return fmt.Sprintf(" (the network is built at width %g; pretrained weights need width 1)", m.Spec.Width)
	case m.Spec.Arch == zoo.ArchAlexNet && strings.HasPrefix(e.Torch, "features."):
		return " (torchvision's AlexNet has other channel counts than the 2012 paper's: use arch alexnet-torchvision)"
	}
	return ""
}

// transpose turns a PyTorch [out, in] weight into the zoo's [in, out].
func transpose(t *tensor.Tensor) *tensor.Tensor {
	s := t.Shape()
	rows, cols := s[0], s[1]
	src := t.Float32s()
	dst := make([]float32, len(src))
	for r := range rows {
		for c := range cols {
			dst[c*rows+r] = src[r*cols+c]
		}
	}
	return tensor.MustFloat32(tensor.Shape{cols, rows}, dst)
}

// adaptiveWeights is the [a][s] matrix of AdaptiveAvgPool over one axis:
// output bin i averages inputs floor(i·s/a) to ceil((i+1)·s/a) - 1.
func adaptiveWeights(a, s int) [][]float64 {
	w := make([][]float64, a)
	for i := range a {
		w[i] = make([]float64, s)
		start, end := i*s/a, ((i+1)*s+a-1)/a
		for p := start; p < end; p++ {
			w[i][p] = 1 / float64(end-start)
		}
	}
	return w
}

// foldAdaptivePool composes fc6 (PyTorch [out, c·a·a]) with the adaptive
// average pool from s×s to a×a and returns the zoo's [c·s·s, out] weight:
// W'[o, c, p, q] = Σ_ij W[o, c, i, j]·A[i][p]·A[j][q].
func foldAdaptivePool(t *tensor.Tensor, c, a, s int) *tensor.Tensor {
	out := t.Shape()[0]
	A := adaptiveWeights(a, s)
	src := t.Float32s()
	in := c * s * s
	dst := make([]float32, in*out)
	tmp := make([]float64, a*s)
	for o := range out {
		for ch := range c {
			block := src[o*c*a*a+ch*a*a:]
			for i := range a {
				for q := range s {
					sum := 0.0
					for j := range a {
						sum += float64(block[i*a+j]) * A[j][q]
					}
					tmp[i*s+q] = sum
				}
			}
			for p := range s {
				for q := range s {
					sum := 0.0
					for i := range a {
						sum += A[i][p] * tmp[i*s+q]
					}
					dst[(ch*s*s+p*s+q)*out+o] = float32(sum)
				}
			}
		}
	}
	return tensor.MustFloat32(tensor.Shape{in, out}, dst)
}

// Writer is the part of backends.Executable that Apply needs.
type Writer interface {
	Write(name string, value *tensor.Tensor) error
}

// Apply writes the imported values into a compiled model's parameters.
// Load checked every shape against the model, so a failure here is a
// backend fault; the caller should discard the executable.
func (imp *Import) Apply(exec Writer) error {
	names := make([]string, 0, len(imp.Values))
	for n := range imp.Values {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if err := exec.Write(n, imp.Values[n]); err != nil {
			return fmt.Errorf("load weights into %s: %w", n, err)
		}
	}
	return nil
}

// Export names m's parameters for PyTorch: params holds them by graph
// name (a checkpoint or Executable.Read); the result is in Mapping order,
// Linear weights as [out, in].
func Export(m *zoo.Model, params map[string]*tensor.Tensor) (*weights.StateDict, error) {
	entries, err := Mapping(m)
	if err != nil {
		return nil, err
	}
	sd := weights.NewStateDict()
	for _, e := range entries {
		t, ok := params[e.Param]
		if !ok {
			return nil, fmt.Errorf("export %s: parameter %s is missing", describe(m), e.Param)
		}
		if !t.Shape().Equal(e.Shape) {
			return nil, fmt.Errorf("export %s: parameter %s has shape %v, the model's is %v", describe(m), e.Param, t.Shape(), e.Shape)
		}
		if t.DType() != tensor.Float32 {
			t = t.AsFloat32()
		}
		if e.Linear {
			t = transpose(t)
		}
		sd.Add(e.Torch, t)
	}
	return sd, nil
}
