package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/unet-project/unet/shared/model"
)

// Media types the API reads.
const (
	mimeJSON       = "application/json"
	mimeMergePatch = "application/merge-patch+json"
	mimeCSV        = "text/csv"
	mimeNDJSON     = "application/x-ndjson"
)

// metaOutputOnly are the fields every object shows but a client never sets:
// accepted on input and ignored ("revision" is read apart, for CAS).
func metaOutputOnly() []string { return []string{"id", "revision", "created_at", "updated_at"} }

// mediaType returns the request's media type when it is one of accepted,
// else a 415 naming them.
func mediaType(c *gin.Context, accepted ...string) (string, error) {
	ct := c.GetHeader("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if err == nil && slices.Contains(accepted, mt) {
		if cs, ok := params["charset"]; !ok || strings.EqualFold(cs, "utf-8") {
			return mt, nil
		}
	}
	if ct == "" {
		ct = "none"
	}
	return "", newError(http.StatusUnsupportedMediaType, codeUnsupportedMedia,
		"Content-Type must be %s (UTF-8); got %s", strings.Join(accepted, " or "), ct).
		withDetails(map[string]any{"accepted": accepted})
}

// readBody checks the Content-Type and reads the whole body, refusing more
// than limit bytes with a 413.
func readBody(c *gin.Context, limit int64, accepted ...string) ([]byte, error) {
	if _, err := mediaType(c, accepted...); err != nil {
		return nil, err
	}
	if c.Request.ContentLength > limit {
		return nil, tooLarge(limit)
	}
	b, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, limit))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return nil, tooLarge(limit)
	case err != nil:
		return nil, badRequest("reading the request body: %v", err)
	}
	return b, nil
}

func tooLarge(limit int64) *apiError {
	return newError(http.StatusRequestEntityTooLarge, codeTooLarge,
		"the request body is larger than the %d bytes allowed", limit).withDetails(map[string]any{"limit": limit})
}

// parseDocument reads one JSON object and nothing after it. Numbers stay
// json.Number, so integers in custom data keep every digit.
func parseDocument(body []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, jsonSyntaxError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, badRequest("malformed JSON: unexpected data after the object at byte %d", dec.InputOffset())
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, badRequest("the request body must be a JSON object, not %s", jsonKind(v))
	}
	if p, n := hugeNumber(m, ""); p != "" {
		return nil, badRequest("field %q: the number %s is out of range", p, n).withDetails(map[string]any{"field": p})
	}
	return m, nil
}

// hugeNumber finds a number no float64 holds (1e400): stored, it would
// make the object unreadable.
func hugeNumber(v any, path string) (string, json.Number) {
	switch v := v.(type) {
	case json.Number:
		if _, err := strconv.ParseFloat(string(v), 64); err != nil {
			if path == "" {
				path = "(document)"
			}
			return path, v
		}
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(v)) {
			if p, n := hugeNumber(v[k], joinPath(path, k)); p != "" {
				return p, n
			}
		}
	case []any:
		for i, e := range v {
			if p, n := hugeNumber(e, fmt.Sprintf("%s[%d]", path, i)); p != "" {
				return p, n
			}
		}
	}
	return "", ""
}

func jsonSyntaxError(err error) *apiError {
	var se *json.SyntaxError
	switch {
	case errors.Is(err, io.EOF):
		return badRequest("the request body is empty: a JSON object is expected")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("malformed JSON: the body ends in the middle of a value")
	case errors.As(err, &se):
		return badRequest("malformed JSON at byte %d: %v", se.Offset, err)
	}
	return badRequest("malformed JSON: %v", err)
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case []any:
		return "an array"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	}
	return "an object"
}

// documentRevision reads the optional "revision" of a document: 0 when it is
// absent, null or 0.
func documentRevision(doc map[string]any) (int64, error) {
	v, ok := doc["revision"]
	if !ok || v == nil {
		return 0, nil
	}
	n, ok := v.(json.Number)
	if !ok {
		return 0, badRequest("revision must be an integer, not %s", jsonKind(v)).withDetails(map[string]any{"field": "revision"})
	}
	r, err := n.Int64()
	if err != nil || r < 0 {
		return 0, badRequest("revision %s is not a revision (a non-negative integer)", n).withDetails(map[string]any{"field": "revision"})
	}
	return r, nil
}

// decodeObject decodes a parsed document into T strictly: a key that is not
// exactly a field of T is a 400 naming it (at any depth), a value of the
// wrong JSON type is a 400 naming the field, and a value its type refuses
// (an unknown enum, a bad duration) is a 422 naming the field. The
// output-only fields (metaOutputOnly and extra) are dropped first.
func decodeObject[T any](doc map[string]any, extraOutputOnly ...string) (T, error) {
	var zero T
	if p := unknownField(typeOf[T](), doc, ""); p != "" {
		return zero, badRequest("unknown field %q", p).withDetails(map[string]any{"field": p})
	}
	in := maps.Clone(doc)
	for _, k := range metaOutputOnly() {
		delete(in, k)
	}
	for _, k := range extraOutputOnly {
		delete(in, k)
	}
	v, err := unmarshalStrict[T](in)
	if err == nil {
		return v, nil
	}
	var ute *json.UnmarshalTypeError
	if errors.As(err, &ute) {
		field := ute.Field
		if field == "" {
			field = "(document)"
		}
		return zero, badRequest("field %q: a JSON %s cannot be a %s", field, ute.Value, typeName(ute)).
			withDetails(map[string]any{"field": field})
	}
	// A value refused by its type's UnmarshalText: find the field by
	// decoding each one on its own.
	for _, k := range slices.Sorted(maps.Keys(in)) {
		if _, ferr := unmarshalStrict[T](map[string]any{k: in[k]}); ferr != nil {
			return zero, invalidFields([]model.FieldError{{Field: k, Reason: ferr.Error()}})
		}
	}
	return zero, badRequest("%v", err)
}

func typeName(ute *json.UnmarshalTypeError) string {
	if ute.Type == nil {
		return "value of this field"
	}
	switch ute.Type.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Map, reflect.Struct, reflect.Pointer:
		return "object"
	}
	return ute.Type.Kind().String()
}

// unmarshalStrict decodes a document into T with encoding/json.
func unmarshalStrict[T any](doc map[string]any) (T, error) {
	var v T
	b, err := json.Marshal(doc)
	if err != nil {
		return v, fmt.Errorf("re-encoding the document: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	err = dec.Decode(&v)
	return v, err
}

// toDocument turns a stored object into the document a merge patch applies to.
func toDocument(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	return doc, nil
}
