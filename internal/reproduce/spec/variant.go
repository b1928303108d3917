package spec

import (
	"fmt"
	"strings"

	"github.com/icnnlab/icnnlab/internal/train"
)

// Variant is how a network is trained: ordinary, or interpretable with a
// mask plugin and a filter-loss plugin.
type Variant struct {
	Interpretable bool
	Mask, Loss    string
}

// Variant names: "ordinary", "interpretable" (the paper's l1+mi) or
// "<mask>+<loss>" naming the plugins.
const (
	VariantOrdinary      = "ordinary"
	VariantInterpretable = "interpretable"
)

// ParseVariant reads a variant name.
func ParseVariant(name string) (Variant, error) {
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

// Name is the canonical name: "ordinary" or "mask+loss".
func (v Variant) Name() string {
	if !v.Interpretable {
		return VariantOrdinary
	}
	return v.Mask + "+" + v.Loss
}

// Label is the name shown in tables.
func (v Variant) Label() string {
	if !v.Interpretable {
		return VariantOrdinary
	}
	d := train.DefaultInterpretable()
	if v.Mask == d.Mask && v.Loss == d.Loss {
		return "interpretable (l1+mi)"
	}
	return v.Name()
}

// Apply sets the interpretable part of a training config. The authors-code
// loss carries its own scale and 1/epoch decay, so it gets a constant λ = 1
// (docs/masks-and-losses.md); the others follow the paper's λ schedule.
func (v Variant) Apply(c *train.Config) {
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
