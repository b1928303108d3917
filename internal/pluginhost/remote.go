package pluginhost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/plugin"
	protocolv1 "github.com/icnnlab/icnnlab/sdk/plugin/protocol/v1"
)

// remote is the host side of one plugin: it implements the sdk/plugin
// interface of its kind on top of the protocol client, adding parameter
// validation, the call timeout, result checks and errors that name the
// plugin. A call that finds the process gone relaunches it.
type remote struct {
	h    *Host
	inst *instance
}

func (r *remote) Info() plugin.Info { return r.inst.info }

// Described returns the identity of the process serving the plugin.
func (r *remote) Described() Described { return r.inst.described() }

// params validates params against the plugin's schema, naming the plugin.
func (r *remote) params(params json.RawMessage) (json.RawMessage, error) {
	resolved, err := plugin.ValidateParams(r.inst.info.ParamSchema, params)
	if err != nil {
		return nil, fmt.Errorf("plugin %s (%s): %w", r.inst.cand.Ref, r.inst.cand.Source(), err)
	}
	return resolved, nil
}

// call runs f against a live process with the call timeout. Panics while
// handling the plugin's answer are recovered: a plugin must never bring
// the host down. Any failure other than the plugin's own error or a
// malformed answer stops the process; the next call starts a fresh one.
func (r *remote) call(ctx context.Context, method string, f func(ctx context.Context, raw any) error) (err error) {
	inst, err := r.h.instance(ctx, r.inst.cand.Ref)
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, r.h.opts.CallTimeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			err = inst.newError(method, ErrMalformed, "handling its answer panicked", fmt.Errorf("%v", p))
		}
	}()
	if err := f(cctx, inst.raw); err != nil {
		e := inst.classify(ctx, cctx, method, err, r.h.opts.CallTimeout)
		if !errors.Is(e, ErrFailed) && !errors.Is(e, ErrMalformed) {
			r.h.forget(inst)
		}
		return e
	}
	return nil
}

// callGraph runs a method whose answer is a serialized graph: build asks
// the plugin, and the graph must decode and pass check. A graph that fails
// either is a malformed answer, the plugin's fault.
func (r *remote) callGraph(ctx context.Context, method string, build func(ctx context.Context, raw any) ([]byte, error), check func(*graph.Graph) error) (*graph.Graph, error) {
	var g *graph.Graph
	err := r.call(ctx, method, func(ctx context.Context, raw any) error {
		data, err := build(ctx, raw)
		if err != nil {
			return err
		}
		if g, err = graph.Unmarshal(data); err != nil {
			return malformedError{fmt.Errorf("graph does not decode: %w", err)}
		}
		if err := check(g); err != nil {
			return malformedError{err}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

type remoteMask struct{ remote }

func (m *remoteMask) BuildMask(ctx context.Context, req plugin.MaskRequest) (*graph.Graph, error) {
	params, err := m.params(req.Params)
	if err != nil {
		return nil, err
	}
	req.Params = params
	return m.callGraph(ctx, "BuildMask", func(ctx context.Context, raw any) ([]byte, error) {
		return raw.(protocolv1.Mask).BuildMask(ctx, protocolv1.MaskRequest{
			Params: params, Layer: req.Layer, Batch: req.Batch, Channels: req.Channels, Height: req.Height, Width: req.Width})
	}, func(g *graph.Graph) error { return plugin.CheckMaskGraph(req, g) })
}

type remoteLoss struct{ remote }

func (l *remoteLoss) BuildLoss(ctx context.Context, req plugin.LossRequest) (*graph.Graph, error) {
	if req.Task != plugin.TaskSingle && req.Task != plugin.TaskMulti {
		return nil, fmt.Errorf("plugin %s: BuildLoss: task %q is neither %q nor %q", l.inst.cand.Ref, req.Task, plugin.TaskSingle, plugin.TaskMulti)
	}
	params, err := l.params(req.Params)
	if err != nil {
		return nil, err
	}
	req.Params = params
	return l.callGraph(ctx, "BuildLoss", func(ctx context.Context, raw any) ([]byte, error) {
		return raw.(protocolv1.Loss).BuildLoss(ctx, protocolv1.LossRequest{
			Params: params, Layer: req.Layer, Batch: req.Batch, Channels: req.Channels, Height: req.Height,
			Width: req.Width, Classes: req.Classes, Task: req.Task})
	}, func(g *graph.Graph) error { return plugin.CheckLossGraph(req, g) })
}

type remoteMetric struct{ remote }

func (m *remoteMetric) Evaluate(ctx context.Context, req plugin.MetricRequest, activations plugin.TensorStream) (json.RawMessage, error) {
	params, err := m.params(req.Params)
	if err != nil {
		return nil, err
	}
	var out json.RawMessage
	err = m.call(ctx, "Evaluate", func(ctx context.Context, raw any) error {
		res, err := raw.(protocolv1.Metric).Evaluate(ctx, protocolv1.StreamRequest{Params: params, Meta: req.Meta}, activations)
		if err != nil {
			return err
		}
		if !json.Valid(res) {
			return malformedError{fmt.Errorf("result is not valid JSON (%d bytes)", len(res))}
		}
		out = res
		return nil
	})
	return out, err
}

type remoteVisualizer struct{ remote }

func (v *remoteVisualizer) Render(ctx context.Context, req plugin.VisualizeRequest, activations plugin.TensorStream) ([]plugin.File, error) {
	params, err := v.params(req.Params)
	if err != nil {
		return nil, err
	}
	var out []plugin.File
	err = v.call(ctx, "Render", func(ctx context.Context, raw any) error {
		files, err := raw.(protocolv1.Visualizer).Render(ctx, protocolv1.StreamRequest{Params: params, Meta: req.Meta}, activations)
		if err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, f := range files {
			if err := plugin.CheckFileName(f.Name); err != nil {
				return malformedError{err}
			}
			if seen[f.Name] {
				return malformedError{fmt.Errorf("output file %q appears twice", f.Name)}
			}
			seen[f.Name] = true
			out = append(out, plugin.File{Name: f.Name, Data: f.Data})
		}
		return nil
	})
	return out, err
}
