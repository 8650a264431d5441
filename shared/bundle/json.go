package bundle

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/unet-project/unet/shared/model"
)

// DecodeJSON reads a JSON bundle. Each object is decoded field by field, so
// that every bad field of every object is reported, with its path
// ("nodes[3]") and field ("a.interface"); unknown and repeated fields are
// refused. The bundle holds the objects without problems, each with its
// path in Sources. The error is for input that is not a JSON object at all.
// Limiting the input size is the caller's job: it is read whole.
func DecodeJSON(r io.Reader) (*Bundle, []RowError, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, nil, fmt.Errorf("reading JSON: %w", err)
	}
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil, errors.New(`empty file: expected a JSON object {"locations": [...], "nodes": [...], ...}`)
	}
	if err := checkJSONSyntax(data); err != nil {
		return nil, nil, err
	}
	if data = bytes.TrimSpace(data); data[0] != '{' {
		return nil, nil, fmt.Errorf(`expected a JSON object {"locations": [...], "nodes": [...], ...}, not a JSON %s`, rawKind(data))
	}
	d := jsonDecoder{collector: newCollector(false), fields: map[reflect.Type][]jsonField{}}
	d.bundle(data)
	return &d.b, d.errs, nil
}

// checkJSONSyntax refuses malformed JSON with the line and column of the
// fault, so that later decoding never meets a syntax error.
func checkJSONSyntax(data []byte) error {
	if json.Valid(data) {
		return nil
	}
	var v json.RawMessage
	err := json.Unmarshal(data, &v) // again, for the error's offset
	if err == nil {
		return nil
	}
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		return fmt.Errorf("unreadable JSON: %w", err)
	}
	// Offset counts the bytes read, the bad one included.
	off := max(min(int(se.Offset), len(data))-1, 0)
	line := 1 + bytes.Count(data[:off], []byte("\n"))
	col := off - bytes.LastIndexByte(data[:off], '\n')
	return fmt.Errorf("unreadable JSON: line %d, column %d: %s", line, col, strings.TrimPrefix(se.Error(), "json: "))
}

// jsonDecoder decodes the objects of one JSON file.
type jsonDecoder struct {
	*collector
	fields map[reflect.Type][]jsonField // per type, computed once per file
}

// Top-level keys, in the order of the Bundle struct.
const (
	keyLocations    = "locations"
	keySNMPProfiles = "snmp_profiles"
	keyNodes        = "nodes"
	keyLinks        = "links"
)

// bundle walks the top-level object. Its syntax has been checked.
func (d *jsonDecoder) bundle(data []byte) {
	seen := map[string]bool{}
	members(data, func(key string, raw []byte) {
		name, ok := matchKey(key, keyLocations, keySNMPProfiles, keyNodes, keyLinks)
		switch {
		case !ok:
			d.rowError(RowError{Reason: fmt.Sprintf("unknown field %q (expected %s, %s, %s or %s)",
				key, keyLocations, keySNMPProfiles, keyNodes, keyLinks)})
		case seen[name]:
			d.rowError(RowError{Position: Position{Path: name}, Reason: "appears twice"})
		default:
			seen[name] = true
			d.list(name, raw)
		}
	})
}

// matchKey finds key among names: exactly, else ignoring case, as
// encoding/json does.
func matchKey(key string, names ...string) (string, bool) {
	for _, n := range names {
		if key == n {
			return n, true
		}
	}
	for _, n := range names {
		if strings.EqualFold(key, n) {
			return n, true
		}
	}
	return "", false
}

// list decodes the array of objects under one top-level key.
func (d *jsonDecoder) list(key string, raw []byte) {
	switch rawKind(raw) {
	case "null":
		return
	case "array":
	default:
		d.rowError(RowError{Position: Position{Path: key}, Reason: "expected an array of objects, not a JSON " + rawKind(raw)})
		return
	}
	kind := keyKind(key)
	elements(raw, func(i int, e []byte) {
		pos := Position{Path: fmt.Sprintf("%s[%d]", key, i)}
		// Not an object: nothing else can be said of it (validating an
		// empty object would only add noise).
		if k := rawKind(e); k != "object" {
			d.rowError(RowError{Position: pos, Kind: kind, Reason: "expected an object, not a JSON " + k})
			return
		}
		switch kind {
		case model.ObjectLocation:
			var l model.Location
			probs := d.object(e, &l)
			d.addLocation(l, pos, probs)
		case model.ObjectSNMPProfile:
			var p model.SNMPProfile
			probs := d.object(e, &p)
			d.addSNMPProfile(p, pos, probs)
		case model.ObjectNode:
			var n model.Node
			probs := d.object(e, &n)
			d.addNode(n, pos, probs)
		case model.ObjectLink:
			var l model.Link
			probs := d.object(e, &l)
			d.addLink(l, pos, probs)
		}
	})
}

// keyKind is the kind of the objects listed under a top-level key.
func keyKind(key string) model.ObjectKind {
	switch key {
	case keyLocations:
		return model.ObjectLocation
	case keySNMPProfiles:
		return model.ObjectSNMPProfile
	case keyNodes:
		return model.ObjectNode
	}
	return model.ObjectLink
}

// object decodes one object into dst, a pointer to a model struct.
func (d *jsonDecoder) object(raw []byte, dst any) problems {
	var probs problems
	d.decodeStruct(raw, reflect.ValueOf(dst).Elem(), "", &probs)
	return probs
}

// decodeStruct decodes a JSON object into the struct v field by field: one
// bad field does not hide the next. prefix is the path of v ("" or "a.").
func (d *jsonDecoder) decodeStruct(raw []byte, v reflect.Value, prefix string, probs *problems) {
	here := strings.TrimSuffix(prefix, ".")
	if k := rawKind(raw); k != "object" {
		probs.add(here, "expected an object, not a JSON "+k)
		return
	}
	fields := d.fieldsOf(v.Type())
	var seen []string // a handful of fields: a slice beats a map
	members(raw, func(key string, val []byte) {
		f, ok := lookupField(fields, key)
		switch {
		case !ok:
			probs.add(here, fmt.Sprintf("unknown field %q", key))
		case slices.Contains(seen, f.name):
			probs.add(prefix+f.name, "appears twice")
		default:
			seen = append(seen, f.name)
			d.value(val, v.FieldByIndex(f.index), prefix+f.name, probs)
		}
	})
}

// value decodes one field: nested structs (a link's ends, its circuit)
// field by field, anything else with encoding/json and the model's own
// UnmarshalText methods, whose errors list the accepted values.
func (d *jsonDecoder) value(raw []byte, v reflect.Value, path string, probs *problems) {
	t := v.Type()
	if isNested(t) {
		switch {
		case rawKind(raw) == "null":
			v.SetZero()
		case t.Kind() == reflect.Pointer:
			p := reflect.New(t.Elem())
			d.decodeStruct(raw, p.Elem(), path+".", probs)
			v.Set(p)
		default:
			d.decodeStruct(raw, v, path+".", probs)
		}
		return
	}
	if err := decodeLeaf(raw, v); err != nil {
		probs.add(path, jsonReason(err))
	}
}

// decodeLeaf decodes a value the way encoding/json would, with numbers in
// interfaces as json.Number (custom data: big integers stay exact). Most
// values are plain strings, set directly or through the model's
// UnmarshalText without the cost of a JSON decoder per field.
func decodeLeaf(raw []byte, v reflect.Value) error {
	p := v.Addr().Interface()
	if s, ok := plainString(raw); ok {
		if _, isJSON := p.(json.Unmarshaler); !isJSON {
			if tu, ok := p.(encoding.TextUnmarshaler); ok {
				return tu.UnmarshalText(s)
			}
			if v.Kind() == reflect.String {
				v.SetString(string(s))
				return nil
			}
		}
	}
	if k := v.Kind(); k == reflect.Map || k == reflect.Interface {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		return dec.Decode(p)
	}
	return json.Unmarshal(raw, p)
}

// plainString returns the contents of a JSON string literal that needs no
// unescaping and is valid UTF-8 (which encoding/json would repair).
func plainString(raw []byte) ([]byte, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return nil, false
	}
	s := raw[1 : len(raw)-1]
	if bytes.IndexByte(s, '\\') >= 0 || !utf8.Valid(s) {
		return nil, false
	}
	return s, true
}

// jsonReason words a decoding error. Type errors never quote the value,
// which may be a secret.
func jsonReason(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("expected %s, not a JSON %s", describeType(te.Type), jsonValueKind(te.Value))
	}
	return err.Error()
}

// jsonValueKind is the JSON type in an UnmarshalTypeError's Value ("number
// -1" → "number").
func jsonValueKind(v string) string {
	kind, _, _ := strings.Cut(v, " ")
	return kind
}

func describeType(t reflect.Type) string {
	if reflect.PointerTo(t).Implements(textUnmarshaler) {
		return "a string" // enumerations, durations
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Pointer:
		return describeType(t.Elem())
	}
	return "an object"
}

// rawKind names the JSON type of a raw value, for messages.
func rawKind(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	}
	return "number"
}

var (
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
)

// isNested reports whether a field is a struct decoded field by field
// (model.Endpoint, *model.Circuit), rather than a value that decodes
// itself (time.Time).
func isNested(t reflect.Type) bool {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return false
	}
	p := reflect.PointerTo(t)
	return !p.Implements(textUnmarshaler) && !p.Implements(jsonUnmarshaler)
}

// jsonField is a JSON field of a struct, with the index path that
// reflect.Value.FieldByIndex takes (embedded structs are promoted).
type jsonField struct {
	name  string
	index []int
}

func (d *jsonDecoder) fieldsOf(t reflect.Type) []jsonField {
	f, ok := d.fields[t]
	if !ok {
		f = jsonFields(t)
		d.fields[t] = f
	}
	return f
}

// jsonFields lists the JSON fields of a struct type as encoding/json sees
// them, for the model's plain types: tagged or exported fields, embedded
// structs promoted. (The model has no name clashes between levels, so the
// encoding/json rule for them is not needed; a test guards that.)
func jsonFields(t reflect.Type) []jsonField {
	var out []jsonField
	for i := range t.NumField() {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if sf.Anonymous && name == "" && sf.Type.Kind() == reflect.Struct {
			for _, f := range jsonFields(sf.Type) {
				out = append(out, jsonField{f.name, append([]int{i}, f.index...)})
			}
			continue
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		out = append(out, jsonField{name, []int{i}})
	}
	return out
}

// lookupField finds a key exactly, else ignoring case (as encoding/json).
func lookupField(fields []jsonField, key string) (jsonField, bool) {
	for _, f := range fields {
		if f.name == key {
			return f, true
		}
	}
	for _, f := range fields {
		if strings.EqualFold(f.name, key) {
			return f, true
		}
	}
	return jsonField{}, false
}

// EncodeJSON writes the bundle as indented JSON, objects in the order
// given; a kind without objects is written as [] rather than null.
func EncodeJSON(w io.Writer, b *Bundle) error {
	out := *b
	out.Locations = nonNil(out.Locations)
	out.SNMPProfiles = nonNil(out.SNMPProfiles)
	out.Nodes = nonNil(out.Nodes)
	out.Links = nonNil(out.Links)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(&out)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
