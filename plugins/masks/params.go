package masks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// ParamSpec describes one parameter of a variant, for --params help text
// and for the schema a plugin declares.
type ParamSpec struct {
	Name        string   `json:"name"`
	Type        string   `json:"type"` // "number", "string", "number[]"
	Default     any      `json:"default"`
	Enum        []string `json:"enum,omitempty"`
	Description string   `json:"description"`
}

// DecodeParams fills dst (already holding the defaults) from a JSON object,
// rejecting unknown fields so that a typo in a sweep is an error rather
// than a silently ignored setting. Empty input keeps the defaults.
func DecodeParams(raw []byte, dst any) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return fmt.Errorf("decode params: %w", err)
	}
	return nil
}

// FieldErrors collects validation problems, each naming its field.
type FieldErrors []string

// Addf records a problem with field.
func (e *FieldErrors) Addf(field, format string, args ...any) {
	*e = append(*e, field+": "+fmt.Sprintf(format, args...))
}

// Err is nil when nothing was recorded, or one error listing every problem.
func (e FieldErrors) Err(what string) error {
	if len(e) == 0 {
		return nil
	}
	return fmt.Errorf("%s: invalid params: %s", what, strings.Join(e, "; "))
}

// CheckShape validates the map dimensions every Build receives.
func CheckShape(what string, batch, channels, h, w int) error {
	var errs FieldErrors
	for _, d := range []struct {
		name string
		v    int
	}{{"batch", batch}, {"channels", channels}, {"h", h}, {"w", w}} {
		if d.v < 1 {
			errs.Addf(d.name, "%d must be at least 1", d.v)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%s: bad shape: %s", what, strings.Join(errs, "; "))
}

// Amplitude choices for the paper-style templates.
const (
	// AmplitudeUnit uses templates of height 1, as the authors' code does.
	AmplitudeUnit = "unit"
	// AmplitudeTau uses the paper's tau = 0.5/n² (tiny: it also scales the layer's output).
	AmplitudeTau = "tau"
)

// AmplitudeValue returns the template height for an amplitude setting.
func AmplitudeValue(amplitude string, h, w int) (float64, error) {
	switch amplitude {
	case AmplitudeUnit:
		return 1, nil
	case AmplitudeTau:
		return PaperTau(h, w), nil
	}
	return 0, fmt.Errorf("%q is not one of %s, %s", amplitude, AmplitudeUnit, AmplitudeTau)
}
