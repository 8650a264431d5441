package apiclient

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/unet-project/unet/shared/bundle"
	"github.com/unet-project/unet/shared/model"
)

// Error codes of the API (the "code" of an error answer).
const (
	CodeBadRequest       = "bad_request"
	CodeNotFound         = "not_found"
	CodeConflict         = "conflict"
	CodeInUse            = "in_use"
	CodePayloadTooLarge  = "payload_too_large"
	CodeUnsupportedMedia = "unsupported_media_type"
	CodeInvalid          = "invalid"
	CodeInternal         = "internal"
)

// codeStatus maps a code to its status, for errors that arrive inside a
// streamed (status 200) answer.
func codeStatus(code string) int {
	switch code {
	case CodeBadRequest:
		return 400
	case CodeNotFound:
		return 404
	case CodeConflict, CodeInUse:
		return 409
	case CodePayloadTooLarge:
		return 413
	case CodeUnsupportedMedia:
		return 415
	case CodeInvalid:
		return 422
	default:
		return 500
	}
}

// statusCode is the reverse, for error answers that are not the API's JSON
// (a proxy's 502 page, say).
func statusCode(status int) string {
	for _, c := range []string{CodeBadRequest, CodeNotFound, CodeConflict, CodePayloadTooLarge, CodeUnsupportedMedia, CodeInvalid, CodeInternal} {
		if codeStatus(c) == status {
			return c
		}
	}
	return fmt.Sprintf("HTTP %d", status)
}

// Error is an error answer of the API.
type Error struct {
	Status  int             `json:"-"`
	Code    string          `json:"code"`
	Message string          `json:"message"`
	Details json.RawMessage `json:"details,omitempty"`
}

// Ref names an object that refers to another (the details of in_use).
type Ref struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
}

func (r Ref) String() string { return r.Kind + " " + r.Name }

// How many field errors, references and bad rows Error() names before
// summarising the rest: one line must stay readable.
const (
	maxFieldsInLine = 10
	maxRefsInLine   = 5
	maxRowsInLine   = 3
)

// Error is one line: the code, then the message with the details that make
// it actionable (which fields are wrong, what refers to the object, the
// first bad rows of an import).
func (e *Error) Error() string {
	code := e.Code
	if code == "" {
		code = fmt.Sprintf("HTTP %d", e.Status)
	}
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	if rows := e.RowErrors(); len(rows) > 0 {
		msg = summariseRows(rows)
	} else if fields := e.FieldErrors(); len(fields) > 0 {
		msg = withFields(fields)
	} else if refs := e.ReferencedBy(); len(refs) > 0 {
		msg = withRefs(msg, refs)
	}
	return code + ": " + oneLine(msg)
}

// FieldErrors are the per-field problems of an `invalid` answer.
func (e *Error) FieldErrors() []model.FieldError {
	var d struct {
		Fields []model.FieldError `json:"fields"`
	}
	_ = json.Unmarshal(e.Details, &d)
	return d.Fields
}

// ReferencedBy lists what still refers to the object of an `in_use` answer.
func (e *Error) ReferencedBy() []Ref {
	var d struct {
		ReferencedBy []Ref `json:"referenced_by"`
	}
	_ = json.Unmarshal(e.Details, &d)
	return d.ReferencedBy
}

// RowErrors are the bad rows of a refused import.
func (e *Error) RowErrors() []bundle.RowError {
	var d struct {
		Errors []bundle.RowError `json:"errors"`
	}
	_ = json.Unmarshal(e.Details, &d)
	return d.Errors
}

// withFields is the field errors themselves: they are the whole story of
// an invalid object (the API's message only repeats them).
func withFields(fields []model.FieldError) string {
	parts := make([]string, 0, len(fields))
	for i, f := range fields {
		if i == maxFieldsInLine {
			parts = append(parts, fmt.Sprintf("and %d more", len(fields)-i))
			break
		}
		parts = append(parts, f.Error())
	}
	return strings.Join(parts, "; ")
}

// withRefs names the referencing objects unless msg already does.
func withRefs(msg string, refs []Ref) string {
	parts := make([]string, 0, len(refs))
	all := true
	for i, r := range refs {
		all = all && strings.Contains(msg, r.Name)
		if i == maxRefsInLine {
			parts = append(parts, fmt.Sprintf("and %d more", len(refs)-i))
			break
		}
		parts = append(parts, r.String())
	}
	if all {
		return msg
	}
	return msg + " (referenced by " + strings.Join(parts, ", ") + ")"
}

// summariseRows is "N bad rows: <first rows>; and M more".
func summariseRows(rows []bundle.RowError) string {
	parts := make([]string, 0, maxRowsInLine+1)
	for i, r := range rows {
		if i == maxRowsInLine {
			parts = append(parts, fmt.Sprintf("and %d more", len(rows)-i))
			break
		}
		parts = append(parts, FormatRowError(r))
	}
	noun := "rows"
	if len(rows) == 1 {
		noun = "row"
	}
	return fmt.Sprintf("%d bad %s: %s", len(rows), noun, strings.Join(parts, "; "))
}

// FormatRowError writes a bad row as `line 4 (node r9): vendor: reason`.
func FormatRowError(r bundle.RowError) string {
	head := Where(r.Position)
	if obj := strings.TrimSpace(string(r.Kind) + " " + r.Name); obj != "" {
		if head == "" {
			head = obj
		} else {
			head += " (" + obj + ")"
		}
	}
	body := r.Reason
	if r.Field != "" {
		body = r.Field + ": " + body
	}
	if head == "" {
		return body
	}
	return head + ": " + body
}

// Where writes a position in a file: "line 4" for CSV, the JSON path else.
func Where(p bundle.Position) string {
	switch {
	case p.Line > 0:
		return fmt.Sprintf("line %d", p.Line)
	case p.Path != "":
		return p.Path
	default:
		return ""
	}
}

// oneLine folds a multi-line message so that an error stays one line.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	lines := strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' })
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return strings.Join(lines, "; ")
}

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 1 << 20

// decodeError turns a non-2xx answer into *Error. Answers that are not the
// API's JSON (a proxy's error page) keep their first line as the message.
func decodeError(resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var env struct {
		Error *Error `json:"error"`
	}
	if json.Unmarshal(body, &env) == nil && env.Error != nil && (env.Error.Code != "" || env.Error.Message != "") {
		env.Error.Status = resp.StatusCode
		return env.Error
	}
	e := &Error{Status: resp.StatusCode, Code: statusCode(resp.StatusCode)}
	first, _, _ := strings.Cut(strings.TrimSpace(string(body)), "\n")
	if len(first) > 200 {
		first = first[:200] + "…"
	}
	e.Message = first
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	return e
}

// ErrorCode is the API error code of err ("" when err is not an API error).
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// IsNotFound reports whether err is the API's not_found.
func IsNotFound(err error) bool { return ErrorCode(err) == CodeNotFound }

// IsConflict reports whether err is the API's conflict (stale revision, name
// taken, interface already linked).
func IsConflict(err error) bool { return ErrorCode(err) == CodeConflict }

// IsInUse reports whether err is the API's in_use.
func IsInUse(err error) bool { return ErrorCode(err) == CodeInUse }

// IsInvalid reports whether err is the API's invalid (422).
func IsInvalid(err error) bool { return ErrorCode(err) == CodeInvalid }
