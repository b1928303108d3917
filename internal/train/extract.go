package train

import (
	"errors"
	"fmt"

	"github.com/icnnlab/icnnlab/internal/data"
	"github.com/icnnlab/icnnlab/internal/runstore"
	"github.com/icnnlab/icnnlab/internal/zoo"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// Restore loads a finished or interrupted run's checkpoint into the session.
func (s *Session) Restore(run *runstore.Run) error {
	ckpt, err := run.LoadCheckpoint()
	if errors.Is(err, runstore.ErrNoCheckpoint) {
		return fmt.Errorf("run %s has no checkpoint yet (status.json says how far it got)", run.Dir)
	}
	if err != nil {
		return err
	}
	_, rest := splitLoopState(ckpt)
	return s.Exec.Restore(rest)
}

// OutputFor names the graph output holding a layer's activations: the
// features output for the top and interpretable layers (after the mask),
// "act/<layer>" for the others (the session must be opened with
// Options.Activations).
func (s *Session) OutputFor(layer string) (string, error) {
	if _, ok := s.Model.Layer(layer); !ok {
		var names []string
		for _, l := range s.Model.Layers {
			names = append(names, l.Name)
		}
		return "", fmt.Errorf("layer %q: %s has no such layer (layers: %v)", layer, s.Config.Model.Arch, names)
	}
	for _, name := range []string{zoo.FeatureOutput(layer), zoo.ActivationOutput(layer)} {
		if s.Model.Graph.Output(name) != nil {
			return name, nil
		}
	}
	return "", fmt.Errorf("layer %q is not an output of this model (open the session with Activations)", layer)
}

// PreMaskOutputFor names the graph output holding an interpretable layer's
// maps before its mask, the features its filter loss sees (the session
// must be opened with Options.Activations).
func (s *Session) PreMaskOutputFor(layer string) (string, error) {
	if _, err := s.OutputFor(layer); err != nil {
		return "", err
	}
	var interp []string
	for _, l := range s.Model.Top {
		interp = append(interp, l.Name)
	}
	if len(interp) == 0 {
		return "", fmt.Errorf("layer %q has no mask: this run is not interpretable, so its maps are the same before and after (drop the pre-mask option)", layer)
	}
	out := zoo.PreMaskOutput(layer)
	if s.Model.Graph.Output(out) == nil {
		if l, ok := s.Model.Layer(layer); ok && !l.Interpretable {
			return "", fmt.Errorf("layer %q has no mask (the masked layers are %v)", layer, interp)
		}
		return "", fmt.Errorf("layer %q: its pre-mask maps are not an output of this model (open the session with Activations)", layer)
	}
	return out, nil
}

// Extract runs ds (the first limit examples; all if limit <= 0) through the
// network in evaluation mode and stacks the layer's activations into one
// tensor [N,C,H,W], with the labels.
func (s *Session) Extract(layer string, ds data.Dataset, limit int) (*tensor.Tensor, []int, error) {
	out, err := s.OutputFor(layer)
	if err != nil {
		return nil, nil, err
	}
	return s.ExtractOutput(out, ds, limit)
}

// ExtractPreMask is Extract for an interpretable layer's maps before its
// mask (PreMaskOutputFor).
func (s *Session) ExtractPreMask(layer string, ds data.Dataset, limit int) (*tensor.Tensor, []int, error) {
	out, err := s.PreMaskOutputFor(layer)
	if err != nil {
		return nil, nil, err
	}
	return s.ExtractOutput(out, ds, limit)
}

// ExtractOutput runs ds through the network in evaluation mode and stacks
// one graph output [B,…] into [N,…] (a layer's maps, the logits), with the
// labels.
func (s *Session) ExtractOutput(out string, ds data.Dataset, limit int) (*tensor.Tensor, []int, error) {
	n := ds.Len()
	if limit > 0 && limit < n {
		n = limit
	}
	node := s.Model.Graph.Output(out)
	if node == nil {
		return nil, nil, fmt.Errorf("extract %s: the model has no such output", out)
	}
	shape := node.Shape()
	per := shape.NumElements() / shape[0]
	full := tensor.Zeros(tensor.Float32, append([]int{n}, shape[1:]...)...)
	dst := full.Float32s()
	labels := make([]int, 0, n)
	err := s.evalBatches(ds, n, []string{out}, func(b evalBatch) error {
		copy(dst[b.start*per:(b.start+b.real)*per], b.outputs[out].Float32s()[:b.real*per])
		labels = append(labels, b.labels...)
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("extract %s: %w", out, err)
	}
	return full, labels, nil
}

// evalBatch is one batch of evalBatches: the padded batch's outputs and
// targets, and the labels of its real rows.
type evalBatch struct {
	start, real int // index of the first example; rows that are not padding
	outputs     map[string]*tensor.Tensor
	targets     *tensor.Tensor
	labels      []int
}

// evalBatches is the one batching loop of evaluation (Evaluate, Extract,
// the logits): it runs the first n examples of ds through the network in
// evaluation mode, a batch of Config.Batch at a time (the graph's batch
// size), and calls f with each. The last partial batch is padded by
// repeating its last example; f must read only the real rows.
func (s *Session) evalBatches(ds data.Dataset, n int, outputs []string, f func(evalBatch) error) error {
	bs := s.Config.Batch
	for start := 0; start < n; start += bs {
		real := min(bs, n-start)
		idx := make([]int, bs)
		for i := range idx {
			idx[i] = start + min(i, real-1)
		}
		images, targets, labels, err := data.Batch(ds, idx)
		if err != nil {
			return err
		}
		res, err := s.Exec.Run(s.feeds(images, targets, 0, max(s.Config.Epochs, 1)), outputs...)
		if err != nil {
			return err
		}
		if err := f(evalBatch{start: start, real: real, outputs: res, targets: targets, labels: labels[:real]}); err != nil {
			return err
		}
	}
	return nil
}
