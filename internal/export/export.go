// Package export turns a trained icnnlab network into a weights file a
// PyTorch user can load: torchvision-style names (package
// weights/torchvision) and, in the file's metadata, everything needed to
// rebuild the network — its layers, the classifier's dropout placement and
// the interpretable layers' mask (template kind, τ, β, position rule).
// docs/weights.md has a PyTorch module that reads that metadata.
package export

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/icnnlab/icnnlab/internal/runstore"
	"github.com/icnnlab/icnnlab/internal/train"
	"github.com/icnnlab/icnnlab/internal/weights"
	"github.com/icnnlab/icnnlab/internal/weights/torchvision"
	"github.com/icnnlab/icnnlab/internal/zoo"
	"github.com/icnnlab/icnnlab/plugins/masks"
	"github.com/icnnlab/icnnlab/plugins/masks/l1"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// FormatVersion is the version of the metadata layout below.
const FormatVersion = "1"

// Metadata keys. Values are strings (safetensors allows nothing else);
// structured values are JSON.
const (
	KeyFormatVersion = "icnnlab.format_version"
	KeyRun           = "icnnlab.run"
	KeyArch          = "icnnlab.arch"
	KeyInputSize     = "icnnlab.input_size"
	KeyWidth         = "icnnlab.width"
	KeyClasses       = "icnnlab.classes"
	KeyLoss          = "icnnlab.loss"
	// KeyFeatures is a JSON list of the "features" modules in order: each
	// {"index", "name", "kind": "conv"|"pool", "in", "out", "kernel",
	// "stride", "padding", "dropped"}; a conv is followed by a ReLU at
	// index+1, a dropped pool is the identity.
	KeyFeatures = "icnnlab.features"
	// KeyTopIndex is the index of the top conv's ReLU in "features": the
	// interpretable part (mask, interp conv + ReLU, mask) goes after it.
	KeyTopIndex = "icnnlab.top_relu_index"
	// KeyDropout and KeyDropoutPlace ("before" or "after" each hidden
	// Linear) describe the classifier's Dropout modules.
	KeyDropout      = "icnnlab.classifier.dropout"
	KeyDropoutPlace = "icnnlab.classifier.dropout_place"
	KeyFlatten      = "icnnlab.classifier.input"
	// KeyWidths is a JSON list of the Linear layers' output widths.
	KeyWidths = "icnnlab.classifier.widths"
	KeyInterp = "icnnlab.interpretable"
	// Mask keys, for interpretable networks.
	KeyMaskPlugin   = "icnnlab.mask.plugin"
	KeyMaskParams   = "icnnlab.mask.params"
	KeyMaskTemplate = "icnnlab.mask.template"
	KeyMaskTau      = "icnnlab.mask.tau"
	KeyMaskBeta     = "icnnlab.mask.beta"
	KeyMaskPosition = "icnnlab.mask.position"
	KeyMaskLayers   = "icnnlab.mask.layers"
)

// PositionRule says where a filter's template is centred.
const PositionRule = "argmax: per image and filter, the position of the largest value of the filter's map after ReLU (the first in row-major order on ties); the template of that position multiplies the map, then ReLU"

// Feature is one entry of KeyFeatures.
type Feature struct {
	Index   int    `json:"index"`
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	In      int    `json:"in,omitempty"`
	Out     int    `json:"out,omitempty"`
	Kernel  int    `json:"kernel,omitempty"`
	Stride  int    `json:"stride,omitempty"`
	Padding int    `json:"padding"`
	Dropped bool   `json:"dropped"`
}

// Info is what the file says besides the weights.
type Info struct {
	Run     string
	Dropout float64
	// Mask and MaskParams name the interpretable layers' mask plugin and
	// its resolved parameters (empty for ordinary networks).
	Mask       string
	MaskParams json.RawMessage
}

// StateDict names m's parameters for PyTorch and describes the network
// in the metadata. params holds the values by graph name (a checkpoint);
// parameters that no graph of m declares but that live under "mask/" (a
// mask plugin's learned values) are exported too, "/" written as ".".
func StateDict(m *zoo.Model, params map[string]*tensor.Tensor, info Info) (*weights.StateDict, error) {
	sd, err := torchvision.Export(m, params)
	if err != nil {
		return nil, err
	}
	for _, name := range sortedKeys(params) {
		if strings.HasPrefix(name, "mask/") {
			if _, done := sd.Tensors[strings.ReplaceAll(name, "/", ".")]; !done {
				sd.Add(strings.ReplaceAll(name, "/", "."), params[name])
			}
		}
	}
	layout, err := zoo.Layout(m.Spec.Arch)
	if err != nil {
		return nil, err
	}
	md := sd.Metadata
	md[KeyFormatVersion] = FormatVersion
	md[KeyRun] = info.Run
	md[KeyArch] = m.Spec.Arch
	md[KeyInputSize] = strconv.Itoa(m.Spec.InputSize)
	md[KeyWidth] = strconv.FormatFloat(m.Spec.Width, 'g', -1, 64)
	md[KeyClasses] = strconv.Itoa(m.Spec.Classes)
	md[KeyLoss] = m.Spec.Loss
	md[KeyDropout] = strconv.FormatFloat(info.Dropout, 'g', -1, 64)
	md[KeyDropoutPlace] = "after"
	if layout.DropoutBeforeFC {
		md[KeyDropoutPlace] = "before"
	}
	var features []Feature
	index, topRelu := 0, -1
	for _, l := range layout.Layers {
		info, built := m.Layer(l.Name)
		f := Feature{Index: index, Name: l.Name, Kind: string(l.Kind), Dropped: !built}
		if built {
			f.Kernel, f.Stride, f.Padding = info.Kernel, info.Stride, info.Padding
			if l.Kind == zoo.KindConv {
				f.In, f.Out = info.InChannels, info.Channels
			}
		}
		features = append(features, f)
		if l.Kind == zoo.KindConv {
			index += 2
		} else {
			index++
		}
		if l.Name == layout.TopConv {
			topRelu = index - 1
		}
	}
	fb, err := json.Marshal(features)
	if err != nil {
		return nil, err
	}
	md[KeyFeatures] = string(fb)
	md[KeyTopIndex] = strconv.Itoa(topRelu)
	last := m.Layers[len(m.Layers)-1]
	md[KeyFlatten] = fmt.Sprintf("%dx%dx%d", last.Channels, last.Size, last.Size)
	var widths []int
	for _, fc := range layout.FC {
		w := m.Graph.Leaf(fc + "/w")
		if w == nil {
			return nil, fmt.Errorf("%s model has no parameter %s/w", m.Spec.Arch, fc)
		}
		widths = append(widths, w.Shape()[1])
	}
	wb, err := json.Marshal(widths)
	if err != nil {
		return nil, err
	}
	md[KeyWidths] = string(wb)
	md[KeyInterp] = strconv.FormatBool(len(m.Top) > 0)
	if len(m.Top) > 0 {
		if err := describeMask(md, m, info); err != nil {
			return nil, err
		}
	}
	return sd, nil
}

// describeMask writes the mask keys. The paper's templates (l1, and
// euclidean, its L2 variant) are described in full; other plugins by name
// and parameters.
func describeMask(md map[string]string, m *zoo.Model, info Info) error {
	md[KeyMaskPlugin] = info.Mask
	md[KeyMaskParams] = string(info.MaskParams)
	layers := []string{}
	for _, l := range m.Top {
		if l.Inserted {
			layers = append(layers, torchvision.InterpName)
		} else {
			layers = append(layers, l.Name)
		}
	}
	md[KeyMaskLayers] = strings.Join(layers, ",")
	switch info.Mask {
	case "l1", "euclidean":
		p, err := l1.Parse(info.MaskParams)
		if err != nil {
			return fmt.Errorf("mask %s params %s: %w", info.Mask, info.MaskParams, err)
		}
		top := m.Top[0]
		tau, err := masks.AmplitudeValue(p.Amplitude, top.Size, top.Size)
		if err != nil {
			return err
		}
		md[KeyMaskTemplate] = "l1"
		if info.Mask == "euclidean" {
			md[KeyMaskTemplate] = "l2"
		}
		md[KeyMaskTau] = strconv.FormatFloat(tau, 'g', -1, 64)
		md[KeyMaskBeta] = strconv.FormatFloat(p.Beta, 'g', -1, 64)
		md[KeyMaskPosition] = PositionRule
	case "none":
		md[KeyMaskTemplate] = "none"
	default:
		md[KeyMaskTemplate] = "plugin " + info.Mask + " (see its documentation; icnnlab plugins info mask/" + info.Mask + ")"
	}
	return nil
}

func sortedKeys(m map[string]*tensor.Tensor) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// FromRun rebuilds a training run's network from its manifest (no
// plugins or datasets needed: the mask adds no parameters the export does
// not take from the checkpoint) and names its last checkpoint's
// parameters. done is false when the run has not finished.
func FromRun(run *runstore.Run) (sd *weights.StateDict, done bool, err error) {
	if run.Manifest.Kind != "train" {
		return nil, false, fmt.Errorf("export %s: a %q run holds no trained network", run.Dir, run.Manifest.Kind)
	}
	cfg, err := train.RunConfig(run)
	if err != nil {
		return nil, false, fmt.Errorf("export: %w", err)
	}
	ckpt, err := run.LoadCheckpoint()
	if err != nil {
		if errors.Is(err, runstore.ErrNoCheckpoint) {
			return nil, false, fmt.Errorf("export %s: the run has no checkpoint yet", run.Dir)
		}
		return nil, false, fmt.Errorf("export %s: %w", run.Dir, err)
	}
	layout, err := zoo.Layout(cfg.Model.Arch)
	if err != nil {
		return nil, false, fmt.Errorf("export %s: %w", run.Dir, err)
	}
	classBias := layout.FC[len(layout.FC)-1] + "/b"
	b, ok := ckpt[classBias]
	if !ok || b.Rank() != 1 {
		return nil, false, fmt.Errorf("export %s: the checkpoint has no class-layer bias %s", run.Dir, classBias)
	}
	spec := zoo.Spec{Arch: cfg.Model.Arch, InputSize: cfg.Data.ImageSize, Width: cfg.Model.Width, Classes: b.Shape()[0],
		Loss: cfg.Model.Loss, Dropout: cfg.Model.Dropout, Batch: 1, MinTopMap: cfg.Model.MinTopMap}
	m, err := zoo.Build(spec, zoo.Hooks{Interpretable: cfg.Interpretable.Enabled})
	if err != nil {
		return nil, false, fmt.Errorf("export %s: %w", run.Dir, err)
	}
	info := Info{Run: filepath.Base(run.Dir), Dropout: cfg.Model.Dropout}
	if cfg.Interpretable.Enabled {
		info.Mask, info.MaskParams = cfg.Interpretable.Mask, cfg.Interpretable.MaskParams
	}
	sd, err = StateDict(m, ckpt, info)
	if err != nil {
		return nil, false, fmt.Errorf("export %s: %w", run.Dir, err)
	}
	st, err := run.Status()
	return sd, err == nil && st.State == runstore.Done, nil
}
