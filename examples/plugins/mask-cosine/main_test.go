package main

import (
	"context"
	"encoding/json"
	"math"
	"testing"

	"github.com/icnnlab/icnnlab/sdk/plugin"
)

func TestTemplate(t *testing.T) {
	p := Params{Radius: 0.25, Amplitude: 2, Floor: -0.5}
	tests := []struct {
		name       string
		h, w, i, j int
		want       float64
	}{
		{"peak", 8, 8, 3, 3, 2},
		{"zero crossing at r", 8, 8, 3 + 2, 3, 0},             // d = 2/8
		{"half way to r", 8, 8, 3, 3 + 1, 2 * math.Sqrt(0.5)}, // d = 1/8, cos(π/4)
		{"floor", 8, 8, 3 + 3, 3, -1},                         // d = 3/8: cos(3π/4) = -0.71 < -0.5
		{"beyond 2r", 8, 8, 7, 7, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Template(p, tt.h, tt.w, tt.i, tt.j, 3, 3); math.Abs(got-tt.want) > 1e-12 {
				t.Errorf("Template = %g, want %g", got, tt.want)
			}
		})
	}
}

func TestBuildMaskMeetsContract(t *testing.T) {
	info := cosine{}.Info()
	if err := info.Check(); err != nil {
		t.Fatal(err)
	}
	params, err := plugin.ValidateParams(info.ParamSchema, json.RawMessage(`{"radius": 0.5}`))
	if err != nil {
		t.Fatal(err)
	}
	req := plugin.MaskRequest{Params: params, Batch: 2, Channels: 3, Height: 4, Width: 5}
	g, err := cosine{}.BuildMask(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if err := plugin.CheckMaskGraph(req, g); err != nil {
		t.Fatal(err)
	}
	if _, err := plugin.ValidateParams(info.ParamSchema, json.RawMessage(`{"radius": 0}`)); err == nil {
		t.Error("radius 0 accepted")
	}
}
