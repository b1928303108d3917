package plugin

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func f64(v float64) *float64 { return &v }

var testSchema = &Schema{
	Type: "object",
	Properties: map[string]*Property{
		"beta":    {Type: TypeNumber, Default: json.RawMessage("0.5"), Minimum: f64(0), Maximum: f64(1)},
		"n":       {Type: TypeInteger, Minimum: f64(1)},
		"variant": {Type: TypeString, Enum: []string{"paper", "thesis"}, Default: json.RawMessage(`"paper"`)},
		"learn":   {Type: TypeBoolean, Default: json.RawMessage("false")},
		"layer":   {Type: TypeString},
	},
	Required: []string{"n"},
}

var arraySchema = &Schema{
	Type: "object",
	Properties: map[string]*Property{
		"density": {Type: TypeArray, Items: &Property{Type: TypeNumber, Minimum: f64(0), Maximum: f64(1)}, Default: json.RawMessage("[]")},
	},
}

func TestValidateParams(t *testing.T) {
	tests := []struct {
		name      string
		schema    *Schema
		params    string
		want      string
		wantField string // non-empty: a *ParamError naming this field
		wantErr   string // substring of the error
	}{
		{name: "defaults filled", schema: testSchema, params: `{"n": 3}`,
			want: `{"beta":0.5,"learn":false,"n":3,"variant":"paper"}`},
		{name: "given values kept", schema: testSchema, params: `{"n": 3.0, "beta": 1, "variant": "thesis", "learn": true, "layer": "conv5"}`,
			want: `{"beta":1,"layer":"conv5","learn":true,"n":3,"variant":"thesis"}`},
		{name: "missing required", schema: testSchema, params: `{}`, wantField: "n", wantErr: "required integer parameter is missing"},
		{name: "null params means none", schema: testSchema, params: `null`, wantField: "n"},
		{name: "above maximum", schema: testSchema, params: `{"n": 1, "beta": 1.5}`, wantField: "beta", wantErr: "above the maximum 1"},
		{name: "below minimum", schema: testSchema, params: `{"n": 0}`, wantField: "n", wantErr: "below the minimum 1"},
		{name: "not an integer", schema: testSchema, params: `{"n": 2.5}`, wantField: "n", wantErr: "want integer"},
		{name: "wrong type", schema: testSchema, params: `{"n": "3"}`, wantField: "n", wantErr: `want integer, got string "3"`},
		{name: "not in enum", schema: testSchema, params: `{"n": 1, "variant": "code"}`, wantField: "variant", wantErr: `"code" is not one of "paper", "thesis"`},
		{name: "unknown field", schema: testSchema, params: `{"n": 1, "gamma": 2}`, wantField: "gamma", wantErr: "known: beta, layer, learn, n, variant"},
		{name: "not an object", schema: testSchema, params: `[1]`, wantErr: "must be a JSON object"},
		{name: "bad JSON", schema: testSchema, params: `{"n":`, wantErr: "parameters"},
		{name: "nil schema, no params", schema: nil, params: ``, want: `{}`},
		{name: "array default", schema: arraySchema, params: ``, want: `{"density":[]}`},
		{name: "array given", schema: arraySchema, params: `{"density": [0.25, 1]}`, want: `{"density":[0.25,1]}`},
		{name: "array element bound", schema: arraySchema, params: `{"density": [0.5, 2]}`, wantField: "density", wantErr: "element 1: 2 is above the maximum 1"},
		{name: "array element type", schema: arraySchema, params: `{"density": ["a"]}`, wantField: "density", wantErr: `element 0: want number, got string "a"`},
		{name: "array wanted", schema: arraySchema, params: `{"density": 0.5}`, wantField: "density", wantErr: "want array, got number 0.5"},
		{name: "nil schema refuses params", schema: nil, params: `{"x": 1}`, wantField: "x", wantErr: "takes no parameters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ValidateParams(tt.schema, json.RawMessage(tt.params))
			if tt.wantField == "" && tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if diff := cmp.Diff(tt.want, string(got)); diff != "" {
					t.Errorf("resolved params (-want +got):\n%s", diff)
				}
				return
			}
			if err == nil {
				t.Fatalf("want an error, got %s", got)
			}
			if tt.wantField != "" {
				var pe *ParamError
				if !errors.As(err, &pe) || pe.Field != tt.wantField {
					t.Errorf("error %q does not name field %q", err, tt.wantField)
				}
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
		})
	}
}

// Every bad parameter is listed at once, one line each, unknown names
// first, then the schema's properties in name order.
func TestValidateParamsListsEveryError(t *testing.T) {
	_, err := ValidateParams(testSchema, json.RawMessage(`{"beta": 2, "gamma": 1, "variant": "code", "zeta": 0}`))
	want := strings.Join([]string{
		`parameter "gamma": unknown parameter (known: beta, layer, learn, n, variant)`,
		`parameter "zeta": unknown parameter (known: beta, layer, learn, n, variant)`,
		`parameter "beta": 2 is above the maximum 1`,
		`parameter "n": required integer parameter is missing`,
		`parameter "variant": "code" is not one of "paper", "thesis"`,
	}, "\n")
	if err == nil {
		t.Fatal("no error")
	}
	if diff := cmp.Diff(want, err.Error()); diff != "" {
		t.Errorf("error (-want +got):\n%s", diff)
	}
	var pe *ParamError
	if !errors.As(err, &pe) || pe.Field != "gamma" {
		t.Errorf("errors.As finds %v, want the first, gamma", pe)
	}
}

// A schema with several faults reports all of them.
func TestSchemaCheckListsEveryError(t *testing.T) {
	min1, max0 := 1.0, 0.0
	s := &Schema{Type: "object", Required: []string{"missing"}, Properties: map[string]*Property{
		"a": {Type: TypeNumber, Minimum: &min1, Maximum: &max0},
		"b": {Type: "float"},
		"c": {Type: TypeString, Default: json.RawMessage("3")},
	}}
	err := s.Check()
	want := strings.Join([]string{
		`parameter "a": schema: minimum 1 is above maximum 0`,
		`parameter "b": schema: type "float" is not one of number, integer, string, boolean, array`,
		`parameter "c": schema: default 3: want string, got number 3`,
		`parameter "missing": schema: required but not among the properties`,
	}, "\n")
	if err == nil {
		t.Fatal("no error")
	}
	if diff := cmp.Diff(want, err.Error()); diff != "" {
		t.Errorf("error (-want +got):\n%s", diff)
	}
}

func TestParseSchema(t *testing.T) {
	tests := []struct {
		name    string
		json    string
		wantErr string
	}{
		{name: "empty is no schema", json: ``},
		{name: "round trip", json: mustJSON(t, testSchema)},
		{name: "unsupported keyword", json: `{"type":"object","properties":{"s":{"type":"string","pattern":"^a"}}}`, wantErr: `unknown field "pattern"`},
		{name: "not an object", json: `{"type":"array"}`, wantErr: `type must be "object"`},
		{name: "unknown property type", json: `{"type":"object","properties":{"x":{"type":"date"}}}`, wantErr: `"x": schema: type "date"`},
		{name: "default breaks bounds", json: `{"type":"object","properties":{"x":{"type":"number","maximum":1,"default":2}}}`, wantErr: "default 2: 2 is above the maximum 1"},
		{name: "enum on number", json: `{"type":"object","properties":{"x":{"type":"number","enum":["a"]}}}`, wantErr: "enum is only supported for strings"},
		{name: "required unknown", json: `{"type":"object","required":["y"]}`, wantErr: `"y": schema: required but not among the properties`},
		{name: "array round trip", json: mustJSON(t, arraySchema)},
		{name: "array without items", json: `{"type":"object","properties":{"a":{"type":"array"}}}`, wantErr: "array without items"},
		{name: "nested arrays", json: `{"type":"object","properties":{"a":{"type":"array","items":{"type":"array","items":{"type":"number"}}}}}`, wantErr: "arrays do not nest"},
		{name: "items on a number", json: `{"type":"object","properties":{"a":{"type":"number","items":{"type":"number"}}}}`, wantErr: "items applies to arrays only"},
		{name: "array default breaks items", json: `{"type":"object","properties":{"a":{"type":"array","items":{"type":"integer"},"default":[1.5]}}}`, wantErr: "element 0: want integer"},
		{name: "min above max", json: `{"type":"object","properties":{"x":{"type":"integer","minimum":3,"maximum":1}}}`, wantErr: "minimum 3 is above maximum 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseSchema([]byte(tt.json))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if tt.json != "" && mustJSON(t, s) != tt.json {
					t.Errorf("round trip changed the schema: %s", mustJSON(t, s))
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseRef(t *testing.T) {
	tests := []struct {
		in      string
		want    Ref
		wantErr string
	}{
		{in: "masks/l1", want: Ref{Kind: KindMask, Name: "l1"}},
		{in: "mask/l1", want: Ref{Kind: KindMask, Name: "l1"}},
		{in: "losses/neg-mi", want: Ref{Kind: KindLoss, Name: "neg-mi"}},
		{in: "visualizers/rf_map", want: Ref{Kind: KindVisualizer, Name: "rf_map"}},
		{in: "l1", wantErr: "want KIND/NAME"},
		{in: "filters/l1", wantErr: `unknown plugin kind "filters"`},
		{in: "masks/L1", wantErr: "lower-case"},
		{in: "masks/a/b", wantErr: "lower-case"},
	}
	for _, tt := range tests {
		got, err := ParseRef(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseRef(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseRef(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
		if again, _ := ParseRef(got.String()); again != got {
			t.Errorf("ParseRef(%q.String()) = %v", got, again)
		}
	}
}

func TestCheckSemver(t *testing.T) {
	for _, v := range []string{"0.1.0", "1.2.3", "1.0.0-rc.1", "2.0.0+build.5"} {
		if err := CheckSemver(v); err != nil {
			t.Errorf("CheckSemver(%q) = %v", v, err)
		}
	}
	for _, v := range []string{"", "1", "1.2", "v1.2.3", "01.2.3", "1.2.3-"} {
		if CheckSemver(v) == nil {
			t.Errorf("CheckSemver(%q) accepted it", v)
		}
	}
}
