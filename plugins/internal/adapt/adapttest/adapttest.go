// Package adapttest checks a reference variant's plugin wiring in its own
// package's tests: the schema defaults agree with the variant's Defaults,
// parameters validated by the host reach the builder, and the graph meets
// the plugin contract.
package adapttest

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/icnnlab/icnnlab/plugins/internal/adapt"
	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/plugin"
)

// MaskRequest and LossRequest are the shapes the checks build for.
var (
	MaskRequest = plugin.MaskRequest{Layer: "conv5", Batch: 2, Channels: 3, Height: 5, Width: 6}
	LossRequest = plugin.LossRequest{Layer: "conv5", Batch: 4, Channels: 3, Height: 5, Width: 5, Classes: 3, Task: plugin.TaskMulti}
)

// Variant is what a reference variant package exports.
type Variant[P any] struct {
	Name     string
	Defaults func() P
	Parse    func([]byte) (P, error)
	// Custom is a non-default parameter object whose effect shows in the
	// graph; empty for variants without parameters.
	Custom string
}

// CheckMask checks m against its variant v.
func CheckMask[P any](t *testing.T, m plugin.Mask, v Variant[P]) {
	t.Helper()
	schema := checkInfo(t, m, plugin.KindMask, v)
	build := func(params string) []byte {
		t.Helper()
		req := MaskRequest
		req.Params = resolve(t, schema, params)
		g, err := m.BuildMask(context.Background(), req)
		if err != nil {
			t.Fatalf("BuildMask(%s): %v", req.Params, err)
		}
		if err := plugin.CheckMaskGraph(req, g); err != nil {
			t.Fatalf("BuildMask(%s): %v", req.Params, err)
		}
		return marshal(t, g)
	}
	checkCustom(t, v.Custom, build)
}

// CheckLoss checks l against its variant v.
func CheckLoss[P any](t *testing.T, l plugin.Loss, v Variant[P]) {
	t.Helper()
	schema := checkInfo(t, l, plugin.KindLoss, v)
	build := func(params string) []byte {
		t.Helper()
		req := LossRequest
		req.Params = resolve(t, schema, params)
		g, err := l.BuildLoss(context.Background(), req)
		if err != nil {
			t.Fatalf("BuildLoss(%s): %v", req.Params, err)
		}
		if err := plugin.CheckLossGraph(req, g); err != nil {
			t.Fatalf("BuildLoss(%s): %v", req.Params, err)
		}
		return marshal(t, g)
	}
	checkCustom(t, v.Custom, build)
}

// checkInfo checks the identity, and that the schema's defaults, as the
// host fills them in, parse to the variant's own defaults.
func checkInfo[P any](t *testing.T, p plugin.Plugin, kind plugin.Kind, v Variant[P]) *plugin.Schema {
	t.Helper()
	info := p.Info()
	if err := info.Check(); err != nil {
		t.Fatal(err)
	}
	if info.Kind != kind || info.Name != v.Name || info.Version != adapt.Version {
		t.Errorf("Info = %s/%s %s, want %s/%s %s", info.Kind, info.Name, info.Version, kind, v.Name, adapt.Version)
	}
	// The schema crosses the wire as JSON; check what the host will see.
	wire, err := json.Marshal(info.ParamSchema)
	if err != nil {
		t.Fatal(err)
	}
	schema, err := plugin.ParseSchema(wire)
	if err != nil {
		t.Fatalf("schema %s: %v", wire, err)
	}
	got, err := v.Parse(resolve(t, schema, ""))
	if err != nil {
		t.Fatalf("the schema's defaults do not parse: %v", err)
	}
	if diff := cmp.Diff(v.Defaults(), got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("schema defaults differ from Defaults() (-want +got):\n%s", diff)
	}
	return schema
}

func checkCustom(t *testing.T, custom string, build func(params string) []byte) {
	t.Helper()
	defaults := build("")
	if custom == "" {
		return
	}
	if bytes.Equal(defaults, build(custom)) {
		t.Errorf("parameters %s did not change the graph", custom)
	}
}

func resolve(t *testing.T, schema *plugin.Schema, params string) json.RawMessage {
	t.Helper()
	raw, err := plugin.ValidateParams(schema, json.RawMessage(params))
	if err != nil {
		t.Fatalf("ValidateParams(%s): %v", params, err)
	}
	return raw
}

func marshal(t *testing.T, g *graph.Graph) []byte {
	t.Helper()
	b, err := graph.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
