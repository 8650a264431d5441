package model

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Meta is what every stored object carries besides its own fields. ID and
// Revision are assigned by the store: ID once at creation, Revision (the
// etcd mod revision of the object's key) on every write. Revision is the
// object's version for optimistic concurrency (ETag / If-Match).
type Meta struct {
	ID        string    `json:"id,omitempty"`
	Revision  int64     `json:"revision,omitempty"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// Limits on free-text fields; etcd values stay small and UIs stay sane.
const (
	maxNameLen        = 128
	maxTextLen        = 1024
	maxCustomDataSize = 64 << 10
)

// namePattern is what names look like: letters, digits and . _ - only, so a
// name is safe in URLs, CSV cells, file names and DNS labels' neighbourhood.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// checkName validates a required object name.
func checkName(v *ValidationError, field, name string) {
	switch {
	case name == "":
		v.add(field, "is required")
	case len(name) > maxNameLen:
		v.add(field, fmt.Sprintf("is longer than %d characters", maxNameLen))
	case !namePattern.MatchString(name):
		v.add(field, fmt.Sprintf("%q may only hold letters, digits, '.', '_' and '-', and must start with a letter or digit", name))
	}
}

// checkRef validates an optional reference to another object by name.
func checkRef(v *ValidationError, field, name string) {
	if name != "" {
		checkName(v, field, name)
	}
}

// checkText validates a free-text field.
func checkText(v *ValidationError, field, s string) {
	switch {
	case !utf8.ValidString(s):
		v.add(field, "is not valid UTF-8")
	case len(s) > maxTextLen:
		v.add(field, fmt.Sprintf("is longer than %d bytes", maxTextLen))
	case strings.ContainsAny(s, "\x00\r\n"):
		v.add(field, "must be one line")
	}
}
