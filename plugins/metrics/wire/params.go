package wire

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/icnnlab/icnnlab/sdk/plugin"
)

// Parameter values and defaults. They equal partinterp's and instability's
// (the plugins' tests check it); wire does not import those packages
// because their plugins import wire.
const (
	RegionUpsample      = "upsample"
	RegionBox           = "box"
	RegionRound         = "round"
	DefaultTopFraction  = 0.005
	DefaultIoUThreshold = 0.2
	DefaultTopImages    = 100
)

// PartInterpretabilityParams are the parameters of part-interpretability.
type PartInterpretabilityParams struct {
	TopFraction  float64 `json:"top_fraction"`
	Region       string  `json:"region"`
	IoUThreshold float64 `json:"iou_threshold"`
	// RegionSize overrides the receptive-field size for the box and round
	// regions; 0 means the theoretical RF size.
	RegionSize int `json:"region_size"`
}

// LocationInstabilityParams are the parameters of location-instability.
type LocationInstabilityParams struct {
	TopImages int `json:"top_images"`
	// Landmarks are the landmarks averaged over; empty means all of the
	// annotation file's.
	Landmarks []string `json:"landmarks"`
}

func ptr(v float64) *float64 { return &v }

// PartInterpretabilitySchema declares PartInterpretabilityParams.
func PartInterpretabilitySchema() *plugin.Schema {
	return &plugin.Schema{Type: "object", Properties: map[string]*plugin.Property{
		"top_fraction": {Type: plugin.TypeNumber, Default: json.RawMessage(`0.005`), Minimum: ptr(1e-9), Maximum: ptr(1),
			Description: "share of a filter's activations (all positions of all evaluation maps) at or above its threshold T_f (paper: 0.005)"},
		"region": {Type: plugin.TypeString, Default: json.RawMessage(`"upsample"`),
			Enum:        []string{RegionUpsample, RegionBox, RegionRound},
			Description: "how on-units become an image region: upsample (Network Dissection), box (union of RF squares) or round (union of RF discs)"},
		"iou_threshold": {Type: plugin.TypeNumber, Default: json.RawMessage(`0.2`), Minimum: ptr(1e-9), Maximum: ptr(0.999999),
			Description: "IoU with a part that a filter's region must exceed to hit it (paper: 0.2)"},
		"region_size": {Type: plugin.TypeInteger, Default: json.RawMessage(`0`), Minimum: ptr(0),
			Description: "side of the box or diameter of the disc in pixels for box and round; 0: the layer's theoretical receptive-field size"},
	}}
}

// LocationInstabilitySchema declares LocationInstabilityParams.
func LocationInstabilitySchema() *plugin.Schema {
	return &plugin.Schema{Type: "object", Properties: map[string]*plugin.Property{
		"top_images": {Type: plugin.TypeInteger, Default: json.RawMessage(`100`), Minimum: ptr(2),
			Description: "images, ranked by the filter's peak activation, that enter each landmark's deviation (paper: 100)"},
		"landmarks": {Type: plugin.TypeArray, Items: &plugin.Property{Type: plugin.TypeString},
			Description: "landmarks to average over (default: every landmark of the annotations)"},
	}}
}

// DecodePartInterpretabilityParams reads the parameters as the host sends
// them (validated, defaults filled in); missing fields take the paper's
// defaults, so a caller that skipped validation gets them too.
func DecodePartInterpretabilityParams(raw json.RawMessage) (PartInterpretabilityParams, error) {
	p := PartInterpretabilityParams{TopFraction: DefaultTopFraction, Region: RegionUpsample, IoUThreshold: DefaultIoUThreshold}
	if err := decodeParams(raw, &p); err != nil {
		return p, err
	}
	// The package reads 0 as "default": refuse it rather than silently
	// substituting the default.
	switch {
	case !(p.TopFraction > 0 && p.TopFraction <= 1):
		return p, &plugin.ParamError{Field: "top_fraction", Reason: fmt.Sprintf("%v is not in (0, 1]", p.TopFraction)}
	case !(p.IoUThreshold > 0 && p.IoUThreshold < 1):
		return p, &plugin.ParamError{Field: "iou_threshold", Reason: fmt.Sprintf("%v is not in (0, 1)", p.IoUThreshold)}
	case p.Region != RegionUpsample && p.Region != RegionBox && p.Region != RegionRound:
		return p, &plugin.ParamError{Field: "region", Reason: fmt.Sprintf("%q is not upsample, box or round", p.Region)}
	case p.RegionSize < 0:
		return p, &plugin.ParamError{Field: "region_size", Reason: fmt.Sprintf("%d is negative", p.RegionSize)}
	}
	return p, nil
}

// DecodeLocationInstabilityParams is DecodePartInterpretabilityParams for
// location-instability.
func DecodeLocationInstabilityParams(raw json.RawMessage) (LocationInstabilityParams, error) {
	p := LocationInstabilityParams{TopImages: DefaultTopImages}
	if err := decodeParams(raw, &p); err != nil {
		return p, err
	}
	if p.TopImages < 2 {
		return p, &plugin.ParamError{Field: "top_images", Reason: fmt.Sprintf("%d, want at least 2 (a standard deviation needs two images)", p.TopImages)}
	}
	if len(p.Landmarks) == 0 {
		p.Landmarks = nil
	}
	return p, nil
}

// DecodeAccuracyParams accepts only no parameters.
func DecodeAccuracyParams(raw json.RawMessage) error {
	var p struct{}
	return decodeParams(raw, &p)
}

func decodeParams(raw json.RawMessage, v any) error {
	if t := bytes.TrimSpace(raw); len(t) == 0 || string(t) == "null" {
		return nil
	}
	if err := decodeStrict(raw, v); err != nil {
		if ute, ok := err.(*json.UnmarshalTypeError); ok {
			return &plugin.ParamError{Field: ute.Field, Reason: fmt.Sprintf("%s is not a %s", ute.Value, ute.Type)}
		}
		return fmt.Errorf("parameters: %w", err)
	}
	return nil
}
