// Package adapt turns the reference mask and loss graph builders
// (plugins/masks/*, plugins/losses/*) into sdk/plugin implementations, which
// plugins/reference registers, so that every reference variant is reached the
// same way as a third-party plugin: through the host, out of process.
package adapt

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/icnnlab/icnnlab/plugins/losses"
	"github.com/icnnlab/icnnlab/plugins/masks"
	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/plugin"
)

// Version is the plugin version of every reference variant. Bump it when a
// variant's math changes, so that run manifests tell results apart.
const Version = "1.0.0"

// Schema converts a variant's parameter specs into the plugin parameter
// schema. No specs means no parameters (a nil schema).
func Schema(specs []masks.ParamSpec) (*plugin.Schema, error) {
	if len(specs) == 0 {
		return nil, nil
	}
	s := &plugin.Schema{Type: "object", Properties: map[string]*plugin.Property{}}
	for _, spec := range specs {
		if _, dup := s.Properties[spec.Name]; dup {
			return nil, fmt.Errorf("parameter %q declared twice", spec.Name)
		}
		p := &plugin.Property{Description: spec.Description, Enum: spec.Enum}
		switch spec.Type {
		case "number":
			p.Type = plugin.TypeNumber
		case "string":
			p.Type = plugin.TypeString
		case "number[]":
			p.Type = plugin.TypeArray
			p.Items = &plugin.Property{Type: plugin.TypeNumber}
		default:
			return nil, fmt.Errorf("parameter %q: type %q has no schema equivalent", spec.Name, spec.Type)
		}
		if spec.Default != nil {
			def, err := json.Marshal(spec.Default)
			if err != nil {
				return nil, fmt.Errorf("parameter %q: default: %w", spec.Name, err)
			}
			p.Default = def
		}
		s.Properties[spec.Name] = p
	}
	if err := s.Check(); err != nil {
		return nil, err
	}
	return s, nil
}

// MaskBuildFunc builds a mask graph from the validated parameters.
type MaskBuildFunc func(params []byte, req plugin.MaskRequest) (*graph.Graph, error)

// LossBuildFunc builds a loss graph from the validated parameters.
type LossBuildFunc func(params []byte, req plugin.LossRequest) (*graph.Graph, error)

// MaskBuilder joins a variant's Parse and Build into a MaskBuildFunc.
func MaskBuilder[P any](parse func([]byte) (P, error), build func(p P, batch, channels, h, w int) (*graph.Graph, error)) MaskBuildFunc {
	return func(raw []byte, r plugin.MaskRequest) (*graph.Graph, error) {
		p, err := parse(raw)
		if err != nil {
			return nil, err
		}
		return build(p, r.Batch, r.Channels, r.Height, r.Width)
	}
}

// LossBuilder joins a variant's Parse and Build into a LossBuildFunc.
func LossBuilder[P any](parse func([]byte) (P, error), build func(p P, s losses.LossShape) (*graph.Graph, error)) LossBuildFunc {
	return func(raw []byte, r plugin.LossRequest) (*graph.Graph, error) {
		p, err := parse(raw)
		if err != nil {
			return nil, err
		}
		return build(p, LossShape(r))
	}
}

// LossShape is the builders' view of a loss request.
func LossShape(r plugin.LossRequest) losses.LossShape {
	return losses.LossShape{Batch: r.Batch, Channels: r.Channels, H: r.Height, W: r.Width, Classes: r.Classes, Task: r.Task}
}

// Mask is a reference mask variant as a plugin.Mask.
type Mask struct {
	info  plugin.Info
	build MaskBuildFunc
}

// NewMask describes a mask variant. It panics on specs with no schema
// equivalent: that is a programming error, found when the package loads.
func NewMask(name, description string, specs []masks.ParamSpec, build MaskBuildFunc) *Mask {
	return &Mask{info: info(plugin.KindMask, name, description, specs), build: build}
}

// Info implements plugin.Plugin.
func (m *Mask) Info() plugin.Info { return m.info }

// BuildMask implements plugin.Mask.
func (m *Mask) BuildMask(ctx context.Context, req plugin.MaskRequest) (*graph.Graph, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return m.build(req.Params, req)
}

// Loss is a reference loss variant as a plugin.Loss.
type Loss struct {
	info  plugin.Info
	build LossBuildFunc
}

// NewLoss describes a loss variant; it panics as NewMask does.
func NewLoss(name, description string, specs []masks.ParamSpec, build LossBuildFunc) *Loss {
	return &Loss{info: info(plugin.KindLoss, name, description, specs), build: build}
}

// Info implements plugin.Plugin.
func (l *Loss) Info() plugin.Info { return l.info }

// BuildLoss implements plugin.Loss.
func (l *Loss) BuildLoss(ctx context.Context, req plugin.LossRequest) (*graph.Graph, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return l.build(req.Params, req)
}

func info(kind plugin.Kind, name, description string, specs []masks.ParamSpec) plugin.Info {
	schema, err := Schema(specs)
	if err != nil {
		panic(fmt.Sprintf("reference plugin %s/%s: %v", kind.Plural(), name, err))
	}
	i := plugin.Info{Kind: kind, Name: name, Version: Version, Description: description, ParamSchema: schema}
	if err := i.Check(); err != nil {
		panic(fmt.Sprintf("reference plugin %s/%s: %v", kind.Plural(), name, err))
	}
	return i
}
