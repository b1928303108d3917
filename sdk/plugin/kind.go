package plugin

import (
	"fmt"
	"regexp"
	"strings"
)

// Kind is what a plugin does.
type Kind string

// The plugin kinds.
const (
	KindMask       Kind = "mask"
	KindLoss       Kind = "loss"
	KindMetric     Kind = "metric"
	KindVisualizer Kind = "visualizer"
)

// Kinds lists every kind in a stable order.
func Kinds() []Kind { return []Kind{KindMask, KindLoss, KindMetric, KindVisualizer} }

// Plural is the kind's directory-style name: masks, losses, metrics,
// visualizers (as in plugins/masks/l1 and `icnnlab plugin serve masks/l1`).
func (k Kind) Plural() string {
	if k == KindLoss {
		return "losses"
	}
	return string(k) + "s"
}

// ParseKind accepts a kind in singular or plural form.
func ParseKind(s string) (Kind, error) {
	for _, k := range Kinds() {
		if s == string(k) || s == k.Plural() {
			return k, nil
		}
	}
	return "", fmt.Errorf("unknown plugin kind %q (want mask, loss, metric or visualizer, or their plurals)", s)
}

// namePattern is what a plugin name may look like: it becomes part of an
// executable's file name, so keep it to lower-case letters, digits, '-'
// and '_'.
var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// CheckName reports whether name is a valid plugin name.
func CheckName(name string) error {
	if !namePattern.MatchString(name) {
		return fmt.Errorf("plugin name %q: use lower-case letters, digits, '-' and '_', starting with a letter or digit", name)
	}
	return nil
}

// Ref names one plugin: its kind and name.
type Ref struct {
	Kind Kind
	Name string
}

// String is the plural form, e.g. "masks/l1".
func (r Ref) String() string { return r.Kind.Plural() + "/" + r.Name }

// ParseRef parses "KIND/NAME", with KIND singular or plural.
func ParseRef(s string) (Ref, error) {
	kind, name, ok := strings.Cut(s, "/")
	if !ok {
		return Ref{}, fmt.Errorf("plugin reference %q: want KIND/NAME, e.g. masks/l1", s)
	}
	k, err := ParseKind(kind)
	if err != nil {
		return Ref{}, fmt.Errorf("plugin reference %q: %w", s, err)
	}
	if err := CheckName(name); err != nil {
		return Ref{}, fmt.Errorf("plugin reference %q: %w", s, err)
	}
	return Ref{Kind: k, Name: name}, nil
}
