package plugin

import (
	"strings"
	"testing"

	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

func TestCheckMaskGraph(t *testing.T) {
	req := MaskRequest{Batch: 2, Channels: 3, Height: 4, Width: 5}
	tests := []struct {
		name    string
		build   func(g *graph.Graph)
		wantErr string
	}{
		{"identity", func(g *graph.Graph) {
			g.SetOutput(MaskOutput, g.Input(MaskInput, tensor.Float32, 2, 3, 4, 5))
		}, ""},
		{"extra outputs and params", func(g *graph.Graph) {
			x := g.Input(MaskInput, tensor.Float32, 2, 3, 4, 5)
			beta := g.Param("beta", graph.Constant(1), []int{1, 3, 1, 1})
			m := g.Relu(g.Mul(x, beta))
			g.SetOutput(MaskTemplate, m)
			g.SetOutput(MaskOutput, g.Mul(x, m))
			g.SetOutput(MaskAuxLoss, g.Sum(beta))
		}, ""},
		{"template shape", func(g *graph.Graph) {
			x := g.Input(MaskInput, tensor.Float32, 2, 3, 4, 5)
			g.SetOutput(MaskTemplate, g.Sum(x, 0))
			g.SetOutput(MaskOutput, x)
		}, `output "mask" is float32[3 4 5], want float32[2 3 4 5]`},
		{"aux loss not a scalar", func(g *graph.Graph) {
			x := g.Input(MaskInput, tensor.Float32, 2, 3, 4, 5)
			g.SetOutput(MaskAuxLoss, g.Sum(x, 0))
			g.SetOutput(MaskOutput, x)
		}, `output "aux_loss" is float32[3 4 5], want a float scalar`},
		{"wrong input shape", func(g *graph.Graph) {
			g.SetOutput(MaskOutput, g.Input(MaskInput, tensor.Float32, 2, 3, 4, 4))
		}, `input "features" has shape [2 3 4 4], want [2 3 4 5]`},
		{"no features", func(g *graph.Graph) {
			g.SetOutput(MaskOutput, g.Const(tensor.Zeros(tensor.Float32, 2, 3, 4, 5)))
		}, `no input "features"`},
		{"extra input", func(g *graph.Graph) {
			x := g.Input(MaskInput, tensor.Float32, 2, 3, 4, 5)
			g.Input("labels", tensor.Float32, 2, 1)
			g.SetOutput(MaskOutput, x)
		}, `unexpected input "labels": the host feeds only features`},
		{"no masked output", func(g *graph.Graph) {
			g.SetOutput("out", g.Input(MaskInput, tensor.Float32, 2, 3, 4, 5))
		}, `no output "masked" (outputs: "out")`},
		{"masked shape", func(g *graph.Graph) {
			g.SetOutput(MaskOutput, g.Sum(g.Input(MaskInput, tensor.Float32, 2, 3, 4, 5), 0))
		}, `output "masked" is float32[3 4 5], want float32[2 3 4 5]`},
		{"builder error", func(g *graph.Graph) {
			x := g.Input(MaskInput, tensor.Float32, 2, 3, 4, 5)
			g.SetOutput(MaskOutput, g.Add(x, g.Input("y", tensor.Float32, 7)))
		}, "shapes do not broadcast"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := graph.New("m")
			tt.build(g)
			err := CheckMaskGraph(req, g)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestCheckLossGraph(t *testing.T) {
	req := LossRequest{Batch: 2, Channels: 3, Height: 4, Width: 4, Classes: 5, Task: TaskMulti}
	tests := []struct {
		name    string
		build   func(g *graph.Graph)
		wantErr string
	}{
		{"features and labels", func(g *graph.Graph) {
			x := g.Input(LossFeatures, tensor.Float32, 2, 3, 4, 4)
			y := g.Input(LossLabels, tensor.Float32, 2, 5)
			g.SetLoss(g.Add(g.Mean(x), g.Mean(y)))
		}, ""},
		{"mask and epoch", func(g *graph.Graph) {
			x := g.Input(LossFeatures, tensor.Float32, 2, 3, 4, 4)
			m := g.Input(LossMask, tensor.Float32, 2, 3, 4, 4)
			e := g.Input(LossEpoch, tensor.Float32)
			g.SetLoss(g.Div(g.Mean(g.Mul(x, m)), e))
		}, ""},
		{"mask shape", func(g *graph.Graph) {
			x := g.Input(LossFeatures, tensor.Float32, 2, 3, 4, 4)
			g.Input(LossMask, tensor.Float32, 2, 3, 4, 5)
			g.SetLoss(g.Mean(x))
		}, `input "mask" has shape [2 3 4 5], want [2 3 4 4]`},
		{"epoch not scalar", func(g *graph.Graph) {
			x := g.Input(LossFeatures, tensor.Float32, 2, 3, 4, 4)
			g.Input(LossEpoch, tensor.Float32, 1)
			g.SetLoss(g.Mean(x))
		}, `input "epoch" has shape [1], want []`},
		{"unknown input", func(g *graph.Graph) {
			x := g.Input(LossFeatures, tensor.Float32, 2, 3, 4, 4)
			g.Input("step", tensor.Float32)
			g.SetLoss(g.Mean(x))
		}, `unexpected input "step": the host feeds only epoch and features and labels and mask`},
		{"features only", func(g *graph.Graph) {
			g.SetLoss(g.Mean(g.Input(LossFeatures, tensor.Float32, 2, 3, 4, 4)))
		}, ""},
		{"labels shape", func(g *graph.Graph) {
			x := g.Input(LossFeatures, tensor.Float32, 2, 3, 4, 4)
			g.Input(LossLabels, tensor.Float32, 2, 4)
			g.SetLoss(g.Mean(x))
		}, `input "labels" has shape [2 4], want [2 5]`},
		{"no loss", func(g *graph.Graph) {
			g.SetOutput("l", g.Mean(g.Input(LossFeatures, tensor.Float32, 2, 3, 4, 4)))
		}, "no loss set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := graph.New("l")
			tt.build(g)
			err := CheckLossGraph(req, g)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}
