package abi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Bounds on a manifest. They are far above what a policy repository needs
// and keep a hostile or broken module from making the host allocate without
// limit.
const (
	MaxManifestBytes = 1 << 20
	MaxFields        = 1024
	MaxRegexes       = 4096
	MaxRules         = 16384
	MaxPathBytes     = 256
	MaxPatternBytes  = 16 << 10
)

// ParseManifest decodes and validates a module's manifest: the ABI version,
// the field types, the regex flags, every rule's action and what the action
// needs (target and expected for assert and set, a template for apply), and
// that every field a rule names is in fields. Unknown JSON keys are refused,
// so a typo does not silently drop a setting.
func ParseManifest(data []byte) (*Manifest, error) {
	if len(data) > MaxManifestBytes {
		return nil, fmt.Errorf("manifest of %d bytes, more than the limit of %d", len(data), MaxManifestBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("manifest is not valid JSON: %w", err)
	}
	if dec.More() {
		return nil, errors.New("manifest has data after its JSON object")
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// Validate checks the manifest as ParseManifest does.
func (m *Manifest) Validate() error {
	if m.ABI != Version {
		return fmt.Errorf("manifest is for ABI version %d, this host implements %d", m.ABI, Version)
	}
	if len(m.Fields) > MaxFields {
		return fmt.Errorf("manifest has %d fields, more than the limit of %d", len(m.Fields), MaxFields)
	}
	if len(m.Regexes) > MaxRegexes {
		return fmt.Errorf("manifest has %d regexes, more than the limit of %d", len(m.Regexes), MaxRegexes)
	}
	if len(m.Rules) > MaxRules {
		return fmt.Errorf("manifest has %d rules, more than the limit of %d", len(m.Rules), MaxRules)
	}
	fields := make(map[string]Type, len(m.Fields))
	for i, f := range m.Fields {
		if err := checkPath(f.Path); err != nil {
			return fmt.Errorf("manifest field %d: %w", i, err)
		}
		switch f.Type {
		case TypeString, TypeNumber, TypeBool, TypeList, TypeAny:
		default:
			return fmt.Errorf("manifest field %d (%s): unknown type %q (want string, number, bool, list or any)", i, f.Path, f.Type)
		}
		if _, dup := fields[f.Path]; dup {
			return fmt.Errorf("manifest field %d: %s is listed twice", i, f.Path)
		}
		fields[f.Path] = f.Type
	}
	for i, re := range m.Regexes {
		if len(re.Pattern) > MaxPatternBytes {
			return fmt.Errorf("manifest regex %d: pattern of %d bytes, more than the limit of %d", i, len(re.Pattern), MaxPatternBytes)
		}
		if err := checkFlags(re.Flags); err != nil {
			return fmt.Errorf("manifest regex %d: %w", i, err)
		}
	}
	names := make(map[string]int, len(m.Rules))
	for i, r := range m.Rules {
		if err := m.validateRule(r, fields); err != nil {
			if r.Name != "" {
				return fmt.Errorf("manifest rule %d (%s): %w", i, r.Name, err)
			}
			return fmt.Errorf("manifest rule %d: %w", i, err)
		}
		if j, dup := names[r.Name]; dup {
			return fmt.Errorf("manifest rules %d and %d are both named %q", j, i, r.Name)
		}
		names[r.Name] = i
	}
	return nil
}

func (m *Manifest) validateRule(r Rule, fields map[string]Type) error {
	if r.Name == "" {
		return errors.New("no name")
	}
	if len(r.Name) > MaxPathBytes {
		return fmt.Errorf("name of %d bytes, more than the limit of %d", len(r.Name), MaxPathBytes)
	}
	switch r.Action {
	case ActionAssert, ActionSet:
		if r.Template != "" {
			return fmt.Errorf("%s has a template", r.Action)
		}
		if r.Target == "" {
			return fmt.Errorf("%s has no target", r.Action)
		}
		if _, ok := fields[r.Target]; !ok {
			return fmt.Errorf("target %s is not in the manifest's fields", r.Target)
		}
		if r.Action == ActionSet && !strings.HasPrefix(r.Target, "custom_data.") {
			return fmt.Errorf("set target %s is outside custom_data", r.Target)
		}
		if r.Expected == nil {
			return fmt.Errorf("%s has no expected value", r.Action)
		}
		if f := r.Expected.Field; f != "" {
			if _, ok := fields[f]; !ok {
				return fmt.Errorf("expected field %s is not in the manifest's fields", f)
			}
		} else if err := checkLiteral(r.Expected.Value, true); err != nil {
			return fmt.Errorf("expected value: %w", err)
		}
	case ActionApply:
		if r.Template == "" {
			return errors.New("apply has no template")
		}
		if r.Target != "" || r.Expected != nil {
			return errors.New("apply has a target or an expected value")
		}
	case "":
		return errors.New("no action")
	default:
		return fmt.Errorf("unknown action %q (want assert, set or apply)", r.Action)
	}
	return nil
}

func checkPath(p string) error {
	if p == "" {
		return errors.New("empty path")
	}
	if len(p) > MaxPathBytes {
		return fmt.Errorf("path of %d bytes, more than the limit of %d", len(p), MaxPathBytes)
	}
	if strings.HasPrefix(p, ".") || strings.HasSuffix(p, ".") || strings.Contains(p, "..") || !strings.Contains(p, ".") {
		return fmt.Errorf("path %q is not prefix.name[.name…]", p)
	}
	return nil
}

func checkFlags(flags string) error {
	seen := ""
	for _, c := range flags {
		if !strings.ContainsRune("ims", c) {
			return fmt.Errorf("unknown flag %q in %q (want i, m or s)", c, flags)
		}
		if strings.ContainsRune(seen, c) {
			return fmt.Errorf("flag %q twice in %q", c, flags)
		}
		seen += string(c)
	}
	return nil
}

// checkLiteral accepts what a DSL literal can be: null, a bool, a number, a
// string, or (at the top) a list of those.
func checkLiteral(v any, top bool) error {
	switch v := v.(type) {
	case nil, bool, float64, string, json.Number:
		return nil
	case []any:
		if !top {
			return errors.New("a list inside a list")
		}
		for _, e := range v {
			if err := checkLiteral(e, false); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("%T is not a literal", v)
}

// Compile returns the Go regexp of r: its flags become a (?flags) prefix.
func (r Regex) Compile() (*regexp.Regexp, error) {
	if err := checkFlags(r.Flags); err != nil {
		return nil, err
	}
	p := r.Pattern
	if r.Flags != "" {
		p = "(?" + r.Flags + ")" + p
	}
	return regexp.Compile(p)
}

// MarshalJSON writes {"field": …} or {"value": …}, including
// {"value": null} for an expected null, which the omitempty tag alone
// would drop.
func (e Expected) MarshalJSON() ([]byte, error) {
	if e.Field != "" {
		return json.Marshal(struct {
			Field string `json:"field"`
		}{e.Field})
	}
	return json.Marshal(struct {
		Value any `json:"value"`
	}{e.Value})
}

// UnmarshalJSON needs exactly one of "value" and "field"; "value": null is
// an expected null.
func (e *Expected) UnmarshalJSON(data []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	if raw == nil {
		return errors.New("expected is null, want {\"value\": …} or {\"field\": …}")
	}
	value, hasValue := raw["value"]
	field, hasField := raw["field"]
	for k := range raw {
		if k != "value" && k != "field" {
			return fmt.Errorf("expected has unknown key %q", k)
		}
	}
	switch {
	case hasValue && hasField:
		return errors.New("expected has both a value and a field")
	case hasField:
		*e = Expected{}
		return json.Unmarshal(field, &e.Field)
	case hasValue:
		*e = Expected{}
		return json.Unmarshal(value, &e.Value)
	}
	return errors.New("expected has neither a value nor a field")
}

// FromJSON converts a value decoded by encoding/json (a literal of the
// manifest, or a custom_data value) into the Value the host lays out:
// objects, and lists inside lists, become KindOther.
func FromJSON(v any) Value {
	switch v := v.(type) {
	case nil:
		return Null()
	case bool:
		return Bool(v)
	case float64:
		return Number(v)
	case json.Number:
		f, err := v.Float64()
		if err != nil {
			return Other()
		}
		return Number(f)
	case string:
		return String(v)
	case []any:
		l := Value{Kind: KindList, List: make([]Value, len(v))}
		for i, e := range v {
			if _, nested := e.([]any); nested {
				l.List[i] = Other()
				continue
			}
			l.List[i] = FromJSON(e)
		}
		return l
	}
	return Other()
}

// Eq is value equality as ABI.md §Verdicts defines it: numbers by value,
// strings byte for byte, null equals null only, lists element by element,
// KindOther equals nothing. (Not named Equal: go-cmp would use it, and a
// KindOther value would then differ from itself in tests.)
func (v Value) Eq(w Value) bool {
	if v.Kind != w.Kind {
		return false
	}
	switch v.Kind {
	case KindNull:
		return true
	case KindBool:
		return (v.Number != 0) == (w.Number != 0)
	case KindNumber:
		return v.Number == w.Number
	case KindString:
		return v.Str == w.Str
	case KindList:
		if len(v.List) != len(w.List) {
			return false
		}
		for i := range v.List {
			if !v.List[i].Eq(w.List[i]) {
				return false
			}
		}
		return true
	}
	return false
}
