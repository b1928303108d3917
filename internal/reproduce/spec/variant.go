package spec

import (
	"fmt"
	"strings"

	"github.com/icnnlab/icnnlab/internal/train"
)

// Variant is how a network is trained: ordinary, or interpretable with a
// mask plugin and a filter-loss plugin. An untrained variant is a control:
// the network at its initialisation (pretrained layers copied, the rest
// drawn from the seed), never fine-tuned (epochs: 0), so that a table shows
// how much of a trained variant's numbers exists before training.
type Variant struct {
	Interpretable bool
	Mask, Loss    string
	Untrained     bool
}

// Variant names: "ordinary", "interpretable" (the paper's l1+mi) or
// "<mask>+<loss>" naming the plugins, each optionally followed by
// UntrainedSuffix ("interpretable@init": the untrained control).
const (
	VariantOrdinary      = "ordinary"
	VariantInterpretable = "interpretable"
	UntrainedSuffix      = "@init"
)

// ParseVariant reads a variant name.
func ParseVariant(name string) (Variant, error) {
	if base, ok := strings.CutSuffix(name, UntrainedSuffix); ok {
		if strings.Contains(base, "@") {
			return Variant{}, fmt.Errorf("variant %q: %s may appear once", name, UntrainedSuffix)
		}
		v, err := ParseVariant(base)
		v.Untrained = true
		return v, err
	}
	if strings.Contains(name, "@") {
		return Variant{}, fmt.Errorf("variant %q: the only suffix is %s (the untrained control)", name, UntrainedSuffix)
	}
	switch name {
	case VariantOrdinary:
		return Variant{}, nil
	case VariantInterpretable:
		d := train.DefaultInterpretable()
		return Variant{Interpretable: true, Mask: d.Mask, Loss: d.Loss}, nil
	case "":
		return Variant{}, fmt.Errorf("variant: empty (want ordinary, interpretable or MASK+LOSS)")
	}
	mask, loss, ok := strings.Cut(name, "+")
	if !ok || mask == "" || loss == "" || strings.Contains(loss, "+") {
		return Variant{}, fmt.Errorf("variant %q: want ordinary, interpretable or MASK+LOSS (e.g. euclidean+mi)", name)
	}
	return Variant{Interpretable: true, Mask: mask, Loss: loss}, nil
}

// Name is the canonical name: "ordinary" or "mask+loss", with
// UntrainedSuffix for a control.
func (v Variant) Name() string {
	name := VariantOrdinary
	if v.Interpretable {
		name = v.Mask + "+" + v.Loss
	}
	if v.Untrained {
		name += UntrainedSuffix
	}
	return name
}

// Label is the name shown in tables.
func (v Variant) Label() string {
	label := VariantOrdinary
	if d := train.DefaultInterpretable(); v.Interpretable && v.Mask == d.Mask && v.Loss == d.Loss {
		label = "interpretable (l1+mi)"
	} else if v.Interpretable {
		label = v.Mask + "+" + v.Loss
	}
	if v.Untrained {
		label += " at initialisation"
	}
	return label
}

// Apply sets the interpretable part of a training config. The authors-code
// loss carries its own scale and 1/epoch decay, so it gets a constant λ = 1
// (docs/masks-and-losses.md); the others follow the paper's λ schedule.
//
// An untrained control gets epochs: 0.
func (v Variant) Apply(c *train.Config) {
	if v.Untrained {
		c.Epochs = 0
	}
	c.Interpretable = train.DefaultInterpretable()
	c.Interpretable.Enabled = v.Interpretable
	if !v.Interpretable {
		return
	}
	c.Interpretable.Mask = v.Mask
	c.Interpretable.Loss = v.Loss
	if v.Loss == "authors-code" {
		c.Interpretable.Lambda = 1
		c.Interpretable.LambdaSchedule = "constant"
	}
}
