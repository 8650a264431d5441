package model

import (
	"errors"
	"strings"
)

// FieldError says which field of an object is wrong and why.
type FieldError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

func (e FieldError) Error() string { return e.Field + ": " + e.Reason }

// ValidationError collects every problem found in one object, so a user
// fixes them all at once instead of one per round trip.
type ValidationError struct {
	Fields []FieldError `json:"fields"`
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Error()
	}
	return strings.Join(parts, "; ")
}

// add records a problem with field.
func (e *ValidationError) add(field, reason string) {
	e.Fields = append(e.Fields, FieldError{Field: field, Reason: reason})
}

// addErr records err (typically an enum parse error) against field.
func (e *ValidationError) addErr(field string, err error) {
	if err != nil {
		e.add(field, err.Error())
	}
}

// err returns nil when nothing was recorded, so callers can `return v.err()`.
func (e *ValidationError) err() error {
	if len(e.Fields) == 0 {
		return nil
	}
	return e
}

// AsValidationError reports whether err is (or wraps) a ValidationError.
func AsValidationError(err error) (*ValidationError, bool) {
	var v *ValidationError
	ok := errors.As(err, &v)
	return v, ok
}

// Invalid builds a ValidationError for one field, for checks made outside
// this package (the store's reference checks, for example).
func Invalid(field, reason string) error {
	return &ValidationError{Fields: []FieldError{{Field: field, Reason: reason}}}
}
