package plugin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
)

// Schema declares a plugin's parameters with a small subset of JSON
// Schema: an object whose properties are numbers, integers, strings,
// booleans, string enums or arrays of those, with bounds, defaults and
// required names.
// Anything outside the subset is rejected when the schema is decoded, so a
// plugin cannot believe a constraint is enforced when it is not.
type Schema struct {
	Type       string               `json:"type"` // always "object"
	Properties map[string]*Property `json:"properties,omitempty"`
	Required   []string             `json:"required,omitempty"`
}

// Property is one parameter.
type Property struct {
	// Type is "number", "integer", "string", "boolean" or "array".
	Type        string          `json:"type"`
	Description string          `json:"description,omitempty"`
	Default     json.RawMessage `json:"default,omitempty"`
	Minimum     *float64        `json:"minimum,omitempty"` // number, integer
	Maximum     *float64        `json:"maximum,omitempty"` // number, integer
	Enum        []string        `json:"enum,omitempty"`    // string only
	// Items constrains every element of an array (type number, integer,
	// string or boolean: arrays do not nest).
	Items *Property `json:"items,omitempty"`
}

// Property types.
const (
	TypeNumber  = "number"
	TypeInteger = "integer"
	TypeString  = "string"
	TypeBoolean = "boolean"
	TypeArray   = "array"
)

// ParamError names the parameter that failed validation.
type ParamError struct {
	Field  string
	Reason string
}

func (e *ParamError) Error() string { return fmt.Sprintf("parameter %q: %s", e.Field, e.Reason) }

// ParseSchema decodes a schema sent by a plugin and checks it. Empty input
// (or JSON null) is a nil schema: no parameters.
func ParseSchema(data []byte) (*Schema, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || string(data) == "null" {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var s Schema
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("parameter schema (only type, properties, required; per property type, description, default, minimum, maximum, enum, items): %w", err)
	}
	if err := s.Check(); err != nil {
		return nil, err
	}
	return &s, nil
}

// Check reports whether the schema is well formed and its defaults obey it,
// listing every problem (errors.Join of *ParamError, one per line).
func (s *Schema) Check() error {
	if s == nil {
		return nil
	}
	if s.Type != "object" {
		return fmt.Errorf("parameter schema: type must be \"object\", got %q", s.Type)
	}
	var errs []error // every problem at once, in name order
	for _, name := range sortedKeys(s.Properties) {
		p := s.Properties[name]
		if p == nil {
			errs = append(errs, &ParamError{Field: name, Reason: "schema: property is null"})
			continue
		}
		if err := p.check(); err != nil {
			errs = append(errs, &ParamError{Field: name, Reason: "schema: " + err.Error()})
		}
	}
	for _, name := range s.Required {
		if _, ok := s.Properties[name]; !ok {
			errs = append(errs, &ParamError{Field: name, Reason: "schema: required but not among the properties"})
		}
	}
	return errors.Join(errs...)
}

func (p *Property) check() error {
	if p.Items != nil && p.Type != TypeArray {
		return fmt.Errorf("items applies to arrays only")
	}
	switch p.Type {
	case TypeArray:
		if p.Minimum != nil || p.Maximum != nil || len(p.Enum) > 0 {
			return fmt.Errorf("an array constrains its elements through items, not minimum, maximum or enum")
		}
		if p.Items == nil {
			return fmt.Errorf("array without items (the element type)")
		}
		if p.Items.Type == TypeArray {
			return fmt.Errorf("items: arrays do not nest")
		}
		if len(p.Items.Default) > 0 {
			return fmt.Errorf("items: give the default on the array, not its elements")
		}
		if err := p.Items.check(); err != nil {
			return fmt.Errorf("items: %w", err)
		}
	case TypeNumber, TypeInteger:
		if len(p.Enum) > 0 {
			return fmt.Errorf("enum is only supported for strings")
		}
		if p.Minimum != nil && p.Maximum != nil && *p.Minimum > *p.Maximum {
			return fmt.Errorf("minimum %g is above maximum %g", *p.Minimum, *p.Maximum)
		}
	case TypeString, TypeBoolean:
		if p.Minimum != nil || p.Maximum != nil {
			return fmt.Errorf("minimum and maximum apply to numbers only")
		}
		if p.Type == TypeBoolean && len(p.Enum) > 0 {
			return fmt.Errorf("enum is only supported for strings")
		}
	default:
		return fmt.Errorf("type %q is not one of number, integer, string, boolean, array", p.Type)
	}
	if len(p.Default) > 0 {
		v, err := decodeValue(p.Default)
		if err != nil {
			return fmt.Errorf("default: %w", err)
		}
		if _, err := p.resolve(v); err != nil {
			return fmt.Errorf("default %s: %w", p.Default, err)
		}
	}
	return nil
}

// ValidateParams checks params against schema and returns them with the
// defaults filled in, as compact JSON with sorted keys. Empty params (or
// JSON null) mean "all defaults". A nil schema accepts only no parameters.
// Every bad field is reported, each as a *ParamError naming it (joined
// with errors.Join, one per line; errors.As finds the first).
func ValidateParams(schema *Schema, params json.RawMessage) (json.RawMessage, error) {
	if err := schema.Check(); err != nil {
		return nil, err
	}
	given := map[string]any{}
	if trimmed := bytes.TrimSpace(params); len(trimmed) > 0 && string(trimmed) != "null" {
		v, err := decodeValue(trimmed)
		if err != nil {
			return nil, fmt.Errorf("parameters: %w", err)
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("parameters must be a JSON object, got %s", trimmed)
		}
		given = obj
	}
	var props map[string]*Property
	if schema != nil {
		props = schema.Properties
	}
	// Every bad parameter is reported at once, one per line, in name
	// order: unknown names first, then missing and invalid values.
	var errs []error
	for _, name := range sortedKeys(given) {
		if _, ok := props[name]; !ok {
			known := "this plugin takes no parameters"
			if len(props) > 0 {
				known = "known: " + strings.Join(sortedKeys(props), ", ")
			}
			errs = append(errs, &ParamError{Field: name, Reason: "unknown parameter (" + known + ")"})
		}
	}
	resolved := map[string]any{}
	for _, name := range sortedKeys(props) {
		p := props[name]
		v, present := given[name]
		if !present {
			switch {
			case len(p.Default) > 0:
				v, _ = decodeValue(p.Default) // checked by schema.Check
			case schema != nil && slices.Contains(schema.Required, name):
				errs = append(errs, &ParamError{Field: name, Reason: fmt.Sprintf("required %s parameter is missing", p.Type)})
				continue
			default:
				continue
			}
		}
		r, err := p.resolve(v)
		if err != nil {
			errs = append(errs, &ParamError{Field: name, Reason: err.Error()})
			continue
		}
		resolved[name] = r
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	out, err := json.Marshal(resolved) // maps marshal with sorted keys
	if err != nil {
		return nil, fmt.Errorf("encode resolved parameters: %w", err)
	}
	return out, nil
}

// resolve checks one value (decoded with UseNumber) and returns its
// canonical form: float64, int64, string, bool or a slice of those.
func (p *Property) resolve(v any) (any, error) {
	switch p.Type {
	case TypeArray:
		elems, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("want array, got %s", describe(v))
		}
		out := make([]any, len(elems))
		for i, e := range elems {
			r, err := p.Items.resolve(e)
			if err != nil {
				return nil, fmt.Errorf("element %d: %w", i, err)
			}
			out[i] = r
		}
		return out, nil
	case TypeNumber, TypeInteger:
		n, ok := v.(json.Number)
		if !ok {
			return nil, fmt.Errorf("want %s, got %s", p.Type, describe(v))
		}
		f, err := n.Float64()
		if err != nil || math.IsInf(f, 0) {
			return nil, fmt.Errorf("%s is not a representable number", n)
		}
		if p.Minimum != nil && f < *p.Minimum {
			return nil, fmt.Errorf("%s is below the minimum %g", n, *p.Minimum)
		}
		if p.Maximum != nil && f > *p.Maximum {
			return nil, fmt.Errorf("%s is above the maximum %g", n, *p.Maximum)
		}
		if p.Type == TypeNumber {
			return f, nil
		}
		if f != math.Trunc(f) || math.Abs(f) > 1<<53 {
			return nil, fmt.Errorf("want integer, got %s", n)
		}
		return int64(f), nil
	case TypeString:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("want string, got %s", describe(v))
		}
		if len(p.Enum) > 0 && !slices.Contains(p.Enum, s) {
			return nil, fmt.Errorf("%q is not one of %s", s, strings.Join(quoteAll(p.Enum), ", "))
		}
		return s, nil
	case TypeBoolean:
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("want boolean, got %s", describe(v))
		}
		return b, nil
	}
	return nil, fmt.Errorf("type %q is not supported", p.Type)
}

func decodeValue(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("trailing data after the JSON value")
	}
	return v, nil
}

func describe(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case json.Number:
		return "number " + v.String()
	case string:
		return fmt.Sprintf("string %q", v)
	case bool:
		return fmt.Sprintf("boolean %v", v)
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
