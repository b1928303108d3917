package train

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/internal/pluginhost"
	"github.com/icnnlab/icnnlab/internal/runstore"
	"github.com/icnnlab/icnnlab/internal/zoo"
	"github.com/icnnlab/icnnlab/plugins/losses"
	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/plugin"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// InterpretableConfig turns an ordinary network into the paper's
// interpretable one: a mask plugin on the top conv-layer and on a new 3×3
// conv-layer above it, and a filter-loss plugin on both, weighted by λ.
type InterpretableConfig struct {
	Enabled bool `json:"enabled" yaml:"enabled"`
	// Mask and Loss name plugins (kind implied): e.g. l1, euclidean,
	// authors-code, gaussian, none; mi, mi-paper-grad, authors-code, …
	Mask       string          `json:"mask" yaml:"mask"`
	MaskParams json.RawMessage `json:"mask_params,omitempty" yaml:"-"`
	Loss       string          `json:"loss" yaml:"loss"`
	LossParams json.RawMessage `json:"loss_params,omitempty" yaml:"-"`
	// Lambda is the filter loss's base weight; with LambdaSchedule "paper"
	// the weight in epoch t is Lambda·mean_x max_ij x_ij / t (METHOD.md §2),
	// with "constant" it is Lambda.
	Lambda         float64 `json:"lambda" yaml:"lambda"`
	LambdaSchedule string  `json:"lambda_schedule" yaml:"lambda_schedule"`
}

// YAML cannot hold json.RawMessage directly; the params travel as YAML maps.
type interpretableYAML struct {
	Enabled        bool           `yaml:"enabled"`
	Mask           string         `yaml:"mask"`
	MaskParams     map[string]any `yaml:"mask_params"`
	Loss           string         `yaml:"loss"`
	LossParams     map[string]any `yaml:"loss_params"`
	Lambda         float64        `yaml:"lambda"`
	LambdaSchedule string         `yaml:"lambda_schedule"`
}

// UnmarshalYAML decodes the params maps into JSON.
func (c *InterpretableConfig) UnmarshalYAML(unmarshal func(any) error) error {
	y := interpretableYAML{Enabled: c.Enabled, Mask: c.Mask, Loss: c.Loss, Lambda: c.Lambda, LambdaSchedule: c.LambdaSchedule}
	if err := unmarshal(&y); err != nil {
		return err
	}
	c.Enabled, c.Mask, c.Loss, c.Lambda, c.LambdaSchedule = y.Enabled, y.Mask, y.Loss, y.Lambda, y.LambdaSchedule
	var err error
	if y.MaskParams != nil {
		if c.MaskParams, err = json.Marshal(y.MaskParams); err != nil {
			return fmt.Errorf("interpretable.mask_params: %w", err)
		}
	}
	if y.LossParams != nil {
		if c.LossParams, err = json.Marshal(y.LossParams); err != nil {
			return fmt.Errorf("interpretable.loss_params: %w", err)
		}
	}
	return nil
}

// DefaultInterpretable is the paper's setting: L1 templates, the exact −MI
// loss, λ following the paper's online schedule.
func DefaultInterpretable() InterpretableConfig {
	return InterpretableConfig{Mask: "l1", Loss: "mi", Lambda: 1, LambdaSchedule: "paper"}
}

func (c InterpretableConfig) validate() error {
	if !c.Enabled {
		return nil
	}
	if err := oneOf("interpretable.lambda_schedule", c.LambdaSchedule, []string{"paper", "constant"}); err != nil {
		return err
	}
	if c.Lambda < 0 {
		return &FieldError{"interpretable.lambda", fmt.Sprintf("%g is negative", c.Lambda)}
	}
	if err := plugin.CheckName(c.Mask); err != nil {
		return &FieldError{"interpretable.mask", err.Error()}
	}
	if err := plugin.CheckName(c.Loss); err != nil {
		return &FieldError{"interpretable.loss", err.Error()}
	}
	return nil
}

// Feed names the interpretable graph adds.
const (
	lambdaInput = "lambda"
	epochInput  = plugin.LossEpoch
	// FilterLossOutput is the unweighted sum of the filter losses.
	FilterLossOutput = "filter_loss"
)

// interpretableParts are what building the interpretable model produced.
type interpretableParts struct {
	plugins    []runstore.PluginRef
	maskParams json.RawMessage // resolved (defaults filled)
	lossParams json.RawMessage
	topOutputs []string // feature outputs of the interpretable layers, for λ
	// origins say which plugin put which nodes into the graph, so that a
	// backend refusing one of them can be reported against the plugin
	// that asked for it, not against an anonymous node id.
	origins []pluginOrigin
}

// pluginOrigin is the id range [first, end) of the nodes one plugin call
// inlined into the model graph (graph.Inline appends, so a call's nodes
// are contiguous).
type pluginOrigin struct {
	first, end int
	what       string // e.g. `mask plugin builtin:mask/l1 on layer conv_interp`
}

// originOf names the plugin call that added node id, or "".
func (p *interpretableParts) originOf(id int) string {
	if p == nil {
		return ""
	}
	for _, o := range p.origins {
		if id >= o.first && id < o.end {
			return o.what
		}
	}
	return ""
}

// checkPluginOps refuses, before compiling, a plugin graph holding an op
// the backend does not implement, naming the plugin, the op and the node.
func (p *interpretableParts) checkPluginOps(g *graph.Graph, backend string, caps backends.Capabilities) error {
	if p == nil {
		return nil
	}
	for _, n := range g.Nodes() {
		if caps.Supports(n.Op()) {
			continue
		}
		if what := p.originOf(n.ID()); what != "" {
			return fmt.Errorf("%s: its graph uses op %s (node %v), which backend %s does not implement; use a backend that does, or a plugin that builds the graph from other ops", what, n.Op(), n, backend)
		}
	}
	return nil
}

// blamePlugin rewords a backend's refusal of an op that a plugin put into
// the graph so that the error names the plugin.
func (p *interpretableParts) blamePlugin(err error) error {
	var unsupported *backends.UnsupportedOpError
	if p == nil || !errors.As(err, &unsupported) || unsupported.Node == nil {
		return err
	}
	if what := p.originOf(unsupported.Node.ID()); what != "" {
		return fmt.Errorf("%s: its graph uses op %s (node %v), which backend %s does not implement: %w", what, unsupported.Node.Op(), unsupported.Node, unsupported.Backend, err)
	}
	return err
}

// resolvePlugin launches a plugin, validates params against its schema and
// records its identity for the run manifest.
func resolvePlugin(ctx context.Context, host *pluginhost.Host, ref plugin.Ref, params json.RawMessage, field string) (json.RawMessage, runstore.PluginRef, error) {
	d, err := host.Describe(ctx, ref)
	if err != nil {
		return nil, runstore.PluginRef{}, fmt.Errorf("%s: %w", field, err)
	}
	resolved, err := plugin.ValidateParams(d.Info.ParamSchema, params)
	if err != nil {
		return nil, runstore.PluginRef{}, fmt.Errorf("%s_params for %s: %w", field, ref, err)
	}
	return resolved, runstore.PluginRef{
		Kind: string(ref.Kind), Name: ref.Name, Version: d.Info.Version, Protocol: d.Protocol,
		SHA256: hex.EncodeToString(d.SHA256), Source: d.Source(),
	}, nil
}

// BuildInterpretable builds spec's model with the mask plugin's subgraph
// on every interpretable layer and the loss plugin's subgraph added to the
// classification loss with weight input "lambda" (and input "epoch" when the
// loss asks for it), all inlined so the backend runs them natively. It
// returns the plugins it used, for the run's identity.
func BuildInterpretable(ctx context.Context, spec zoo.Spec, c InterpretableConfig, task string, host *pluginhost.Host, hooks zoo.Hooks) (*zoo.Model, []runstore.PluginRef, error) {
	m, parts, err := buildInterpretable(ctx, spec, c, task, host, hooks)
	if err != nil {
		return nil, nil, err
	}
	return m, parts.plugins, nil
}

func buildInterpretable(ctx context.Context, spec zoo.Spec, c InterpretableConfig, task string, host *pluginhost.Host, hooks zoo.Hooks) (*zoo.Model, *interpretableParts, error) {
	if host == nil {
		return nil, nil, fmt.Errorf("interpretable training needs the plugin host (Options.Plugins)")
	}
	maskRef := plugin.Ref{Kind: plugin.KindMask, Name: c.Mask}
	lossRef := plugin.Ref{Kind: plugin.KindLoss, Name: c.Loss}
	parts := &interpretableParts{}
	var maskInfo, lossInfo runstore.PluginRef
	var err error
	if parts.maskParams, maskInfo, err = resolvePlugin(ctx, host, maskRef, c.MaskParams, "interpretable.mask"); err != nil {
		return nil, nil, err
	}
	if parts.lossParams, lossInfo, err = resolvePlugin(ctx, host, lossRef, c.LossParams, "interpretable.loss"); err != nil {
		return nil, nil, err
	}
	parts.plugins = []runstore.PluginRef{maskInfo, lossInfo}
	maskPlugin, err := host.Mask(ctx, maskRef)
	if err != nil {
		return nil, nil, err
	}
	lossPlugin, err := host.Loss(ctx, lossRef)
	if err != nil {
		return nil, nil, err
	}

	// The run key follows what the plugins returned, not their binaries
	// (runstore.PluginRef.OutputSHA256).
	maskOutput, lossOutput := sha256.New(), sha256.New()
	hashGraph := func(h hash.Hash, layer string, sub *graph.Graph) error {
		b, err := graph.Marshal(sub)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", layer, len(b))
		h.Write(b)
		return nil
	}

	maskOuts := map[string]map[string]*graph.Node{}
	hooks.Interpretable = true
	hooks.DeferLoss = true
	hooks.Mask = func(g *graph.Graph, layer string, x *graph.Node) *graph.Node {
		s := x.Shape()
		sub, err := maskPlugin.BuildMask(ctx, plugin.MaskRequest{
			Params: parts.maskParams, Layer: layer, Batch: s[0], Channels: s[1], Height: s[2], Width: s[3],
		})
		if err != nil {
			g.Fail(fmt.Errorf("mask plugin %s on layer %s: %w", maskRef, layer, err))
			return x
		}
		if err := hashGraph(maskOutput, layer, sub); err != nil {
			g.Fail(fmt.Errorf("mask plugin %s on layer %s: %w", maskRef, layer, err))
			return x
		}
		first := len(g.Nodes())
		outs, err := g.Inline(sub, "mask/"+layer, map[string]*graph.Node{plugin.MaskInput: x})
		if err != nil {
			return x
		}
		parts.origins = append(parts.origins, pluginOrigin{first, len(g.Nodes()), fmt.Sprintf("mask plugin %s on layer %s", maskRef, layer)})
		maskOuts[layer] = outs
		return outs[plugin.MaskOutput]
	}
	model, err := zoo.Build(spec, hooks)
	if err != nil {
		return nil, nil, fmt.Errorf("build interpretable %s: %w", spec.Arch, err)
	}

	g := model.Graph
	lambda := g.Input(lambdaInput, tensor.Float32)
	var epoch *graph.Node
	var filterLoss *graph.Node
	total := model.Loss
	for _, layer := range model.Top {
		s := layer.Out.Shape()
		sub, err := lossPlugin.BuildLoss(ctx, plugin.LossRequest{
			Params: parts.lossParams, Layer: layer.Name, Batch: s[0], Channels: s[1], Height: s[2], Width: s[3],
			Classes: spec.Classes, Task: task,
		})
		if err != nil {
			return nil, nil, fmt.Errorf("loss plugin %s on layer %s: %w", lossRef, layer.Name, err)
		}
		if err := hashGraph(lossOutput, layer.Name, sub); err != nil {
			return nil, nil, fmt.Errorf("loss plugin %s on layer %s: %w", lossRef, layer.Name, err)
		}
		bind := map[string]*graph.Node{plugin.LossFeatures: layer.Out}
		for _, in := range sub.Inputs() {
			switch name := in.Attrs().Name; name {
			case plugin.LossFeatures:
			case plugin.LossLabels:
				bind[name] = model.Labels
			case plugin.LossMask:
				m := maskOuts[layer.Name][plugin.MaskTemplate]
				if m == nil {
					return nil, nil, fmt.Errorf("loss plugin %s needs the mask plugin's \"mask\" output, which %s does not give", lossRef, maskRef)
				}
				bind[name] = m
			case epochInput:
				if epoch == nil {
					epoch = g.Input(epochInput, tensor.Float32)
				}
				bind[name] = epoch
			default:
				return nil, nil, fmt.Errorf("loss plugin %s asks for input %q, which the host does not provide (it provides features, labels, mask, epoch)", lossRef, name)
			}
		}
		first := len(g.Nodes())
		outs, err := g.Inline(sub, "loss/"+layer.Name, bind)
		if err != nil {
			return nil, nil, err
		}
		parts.origins = append(parts.origins, pluginOrigin{first, len(g.Nodes()), fmt.Sprintf("loss plugin %s on layer %s", lossRef, layer.Name)})
		if filterLoss == nil {
			filterLoss = outs[plugin.LossOutput]
		} else {
			filterLoss = g.Add(filterLoss, outs[plugin.LossOutput])
		}
		parts.topOutputs = append(parts.topOutputs, zoo.FeatureOutput(layer.Name))
	}
	if filterLoss != nil {
		total = g.Add(total, g.Mul(lambda, filterLoss))
		g.SetOutput(FilterLossOutput, filterLoss)
	}
	for _, layer := range model.Top { // in layer order, so graphs are identical run to run
		if aux := maskOuts[layer.Name][plugin.MaskAuxLoss]; aux != nil {
			total = g.Add(total, aux)
		}
	}
	g.SetLoss(total)
	if err := g.Err(); err != nil {
		return nil, nil, fmt.Errorf("build interpretable %s: %w", spec.Arch, err)
	}
	parts.plugins[0].OutputSHA256 = hex.EncodeToString(maskOutput.Sum(nil))
	parts.plugins[1].OutputSHA256 = hex.EncodeToString(lossOutput.Sum(nil))
	return model, parts, nil
}

// lambdaFor is the filter-loss weight of a 1-based epoch given the mean
// max activation measured in the previous epoch (or before training).
func (c InterpretableConfig) lambdaFor(epoch int, meanMax float64) (float64, error) {
	if c.LambdaSchedule == "constant" {
		return c.Lambda, nil
	}
	return losses.LambdaSchedule(c.Lambda, epoch, meanMax)
}
