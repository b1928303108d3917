package plugin

import (
	"fmt"
	"strings"

	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// CheckMaskGraph reports whether g meets the mask contract for req: the
// only input is "features" [B, C, H, W] of a float dtype, output "masked"
// has the same shape and dtype, and the optional outputs are "mask" of that
// shape and dtype too and "aux_loss" a float scalar. Both Serve (before sending) and
// the host (after receiving) check it, so a plugin author sees a broken
// graph in their own process first.
func CheckMaskGraph(req MaskRequest, g *graph.Graph) error {
	if err := checkGraph(g); err != nil {
		return err
	}
	want := tensor.Shape{req.Batch, req.Channels, req.Height, req.Width}
	features, err := checkInputs(g, map[string]tensor.Shape{MaskInput: want}, MaskInput)
	if err != nil {
		return err
	}
	masked := g.Output(MaskOutput)
	if masked == nil {
		return fmt.Errorf("mask graph %q: no output %q (outputs: %s)", g.Name(), MaskOutput, outputNames(g))
	}
	if !masked.Shape().Equal(want) || masked.DType() != features.DType() {
		return fmt.Errorf("mask graph %q: output %q is %v%v, want %v%v like input %q",
			g.Name(), MaskOutput, masked.DType(), masked.Shape(), features.DType(), want, MaskInput)
	}
	if m := g.Output(MaskTemplate); m != nil && (!m.Shape().Equal(want) || m.DType() != features.DType()) {
		return fmt.Errorf("mask graph %q: output %q is %v%v, want %v%v like input %q",
			g.Name(), MaskTemplate, m.DType(), m.Shape(), features.DType(), want, MaskInput)
	}
	if aux := g.Output(MaskAuxLoss); aux != nil && (len(aux.Shape()) != 0 || !aux.DType().IsFloat()) {
		return fmt.Errorf("mask graph %q: output %q is %v%v, want a float scalar", g.Name(), MaskAuxLoss, aux.DType(), aux.Shape())
	}
	return nil
}

// CheckLossGraph reports whether g meets the loss contract for req:
// inputs "features" [B, C, H, W] (required), and optionally "labels"
// [B, Classes], "mask" [B, C, H, W] (the mask plugin's "mask" output) and
// "epoch" [] (1-based), nothing else, and a float scalar loss.
func CheckLossGraph(req LossRequest, g *graph.Graph) error {
	if err := checkGraph(g); err != nil {
		return err
	}
	want := map[string]tensor.Shape{
		LossFeatures: {req.Batch, req.Channels, req.Height, req.Width},
		LossLabels:   {req.Batch, req.Classes},
		LossMask:     {req.Batch, req.Channels, req.Height, req.Width},
		LossEpoch:    {},
	}
	if _, err := checkInputs(g, want, LossFeatures); err != nil {
		return err
	}
	loss := g.Loss()
	if loss == nil {
		return fmt.Errorf("loss graph %q: no loss set (call SetLoss with a float scalar)", g.Name())
	}
	if g.Output(LossOutput) != loss {
		return fmt.Errorf("loss graph %q: output %q is not the loss node", g.Name(), LossOutput)
	}
	return nil
}

func checkGraph(g *graph.Graph) error {
	if g == nil {
		return fmt.Errorf("graph is nil")
	}
	if err := g.Err(); err != nil {
		return err
	}
	if err := g.Validate(); err != nil {
		return err
	}
	return checkNoNaN(g)
}

// checkNoNaN refuses constants and state initial values holding NaN: a
// NaN constant poisons every value it reaches, and training would only
// find out as a non-finite loss, far from the plugin at fault. (±Inf is
// allowed: a large negative constant is a legitimate mask value.)
func checkNoNaN(g *graph.Graph) error {
	for _, n := range g.Nodes() {
		v := n.Attrs().Value
		if v == nil || (n.Op() != graph.OpConst && n.Op() != graph.OpState) {
			continue
		}
		idx := -1
		for i, x := range v.Float32s() {
			if x != x {
				idx = i
				break
			}
		}
		for i, x := range v.Float64s() {
			if idx < 0 && x != x {
				idx = i
				break
			}
		}
		if idx >= 0 {
			what := fmt.Sprintf("%s node %d", n.Op(), n.ID())
			if name := n.Attrs().Name; name != "" {
				what = fmt.Sprintf("%s %q", n.Op(), name)
			}
			return fmt.Errorf("graph %q: %s %v%v holds NaN (element %d)", g.Name(), what, v.DType(), v.Shape(), idx)
		}
	}
	return nil
}

// checkInputs checks that every input of g is one of allowed, with its
// shape and a float dtype, and that required is among them.
func checkInputs(g *graph.Graph, allowed map[string]tensor.Shape, required string) (*graph.Node, error) {
	var found *graph.Node
	for _, in := range g.Inputs() {
		name := in.Attrs().Name
		want, ok := allowed[name]
		if !ok {
			return nil, fmt.Errorf("graph %q: unexpected input %q: the host feeds only %s", g.Name(), name, strings.Join(sortedKeys(allowed), " and "))
		}
		if !in.Shape().Equal(want) {
			return nil, fmt.Errorf("graph %q: input %q has shape %v, want %v", g.Name(), name, in.Shape(), want)
		}
		if !in.DType().IsFloat() {
			return nil, fmt.Errorf("graph %q: input %q has dtype %v, want a float dtype", g.Name(), name, in.DType())
		}
		if name == required {
			found = in
		}
	}
	if found == nil {
		return nil, fmt.Errorf("graph %q: no input %q", g.Name(), required)
	}
	return found, nil
}

func outputNames(g *graph.Graph) string {
	var names []string
	for _, o := range g.Outputs() {
		names = append(names, fmt.Sprintf("%q", o.Name))
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
