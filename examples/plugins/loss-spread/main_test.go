package main

import (
	"context"
	"encoding/json"
	"math"
	"testing"

	"github.com/icnnlab/icnnlab/sdk/plugin"
)

func TestDistance(t *testing.T) {
	tests := []struct {
		name               string
		h, w, i, j, pi, pj int
		want               float64
	}{
		{"at the peak", 4, 8, 1, 2, 1, 2, 0},
		{"one row down", 4, 8, 2, 2, 1, 2, 0.25},
		{"one column right", 4, 8, 1, 3, 1, 2, 0.125},
		{"diagonal", 4, 4, 3, 3, 0, 0, math.Sqrt(2) * 0.75},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Distance(tt.h, tt.w, tt.i, tt.j, tt.pi, tt.pj); math.Abs(got-tt.want) > 1e-12 {
				t.Errorf("Distance = %g, want %g", got, tt.want)
			}
		})
	}
	// Slice k of the bank is the distance map of peak k.
	bank := DistanceBank(3, 4)
	if got, want := bank.Float32s()[(1*4+2)*12+(2*4+0)], float32(Distance(3, 4, 2, 0, 1, 2)); got != want {
		t.Errorf("bank entry = %g, want %g", got, want)
	}
}

func TestBuildLossMeetsContract(t *testing.T) {
	info := spread{}.Info()
	if err := info.Check(); err != nil {
		t.Fatal(err)
	}
	params, err := plugin.ValidateParams(info.ParamSchema, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range []struct {
		name    string
		classes int
	}{{plugin.TaskSingle, 1}, {plugin.TaskMulti, 5}} {
		req := plugin.LossRequest{Params: params, Batch: 2, Channels: 3, Height: 4, Width: 5, Classes: task.classes, Task: task.name}
		g, err := spread{}.BuildLoss(context.Background(), req)
		if err != nil {
			t.Fatalf("%s: %v", task.name, err)
		}
		if err := plugin.CheckLossGraph(req, g); err != nil {
			t.Errorf("%s: %v", task.name, err)
		}
	}
	if _, err := plugin.ValidateParams(info.ParamSchema, json.RawMessage(`{"epsilon": 0}`)); err == nil {
		t.Error("epsilon 0 accepted")
	}
}
