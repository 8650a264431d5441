// Package bundle reads and writes sets of desired-state objects as CSV and
// JSON files: the import/export format of μNet.
//
// # JSON
//
// The JSON form is the Bundle struct itself:
//
//	{"locations": [...], "snmp_profiles": [...], "nodes": [...], "links": [...]}
//
// with each object in its model.* JSON form, Meta (id, revision, timestamps)
// included as given. Unknown fields are refused, at any depth, and so is a
// field given twice. Keys match case-insensitively, as encoding/json does.
//
// # CSV
//
// One CSV file may hold every kind of object. A `kind` column (location,
// snmp-profile, node, link, in any of the spellings model.ParseObjectKind
// accepts) says what each row is, and the other columns are the union of
// the kinds' fields, left blank where they do not apply. Rows may come in any
// order. EncodeCSV writes the columns in this order:
//
//	kind, id, name,
//	location_kind, parent, description,                  (locations; description also links)
//	domain, vendor, model, role, lifecycle, management_address,
//	location, snmp_profile, version, serial, tags, custom_data,   (nodes)
//	snmp_version, community, user, auth_protocol, auth_key, priv_protocol,
//	priv_key, port, timeout, retries, interval, max_repetitions,  (SNMP profiles)
//	a, z, circuit_id, circuit_provider, bandwidth_bps    (links)
//
// DecodeCSV accepts them in any order and any case ('-' or ' ' may stand for
// '_'); a file without a `kind` column holds objects of one kind, given by
// the caller (who may also give a kind for blank kind cells). Short rows
// are padded with blank cells. Cells:
//   - id is a UUID (written in canonical form); the CSV form carries no
//     revision or timestamps.
//   - tags are separated by ';'; custom_data is a JSON object.
//   - a and z are NODE:INTERFACE; z is blank for an internet circuit.
//   - timeout and interval are Go durations (2s, 1m30s).
//   - numbers are decimal integers; a blank cell leaves the field unset.
//   - names, enumerations, numbers, durations, addresses and endpoints are
//     trimmed of surrounding spaces and tabs; free text (descriptions, model,
//     version, serial, user, circuit fields) and secrets are taken verbatim.
//
// Blank lines, rows of blank cells and lines starting with '#' are skipped
// (quote a first cell that must start with '#'). A line break inside a cell
// needs quotes, as usual; a CR LF inside a cell reads back as LF, so
// EncodeCSV refuses to write one (only a secret could hold it) rather than
// change it silently.
//
// # Decoding
//
// Both decoders return every problem of every row at once as RowErrors:
// cells or fields that do not parse, the model's own validation (after
// Normalize), duplicate names of one kind, two links on one interface, and
// duplicate ids. The error result is kept for a file that cannot be read at
// all. The bundle holds the objects without problems, each with its
// position in Sources; a caller imports nothing unless there are no row
// errors. Decoded objects are normalized (model Normalize: defaults filled,
// canonical spellings, a node's fqdn derived, a profile's secrets_set
// dropped), empty tags and custom data are nil, and numbers in custom data
// are json.Number so that large integers stay exact. References between objects (a node's location, a link's nodes) are not resolved here:
// the store does it against the file and what it holds.
//
// SNMP secrets missing from a profile are not an error: an export leaves them
// out, and the store keeps the ones it holds (model.SNMPProfile.KeepSecretsFrom).
//
// # Round trips
//
// For normalized objects (as the store keeps them), Decode(Encode(b)) gives
// b back in both forms, in the order given, except that the CSV form drops
// Meta's revision and timestamps, and SecretsSet (output only) is dropped by
// both. Secrets are written when the objects hold them, and only then.
package bundle

import (
	"strconv"
	"strings"

	"github.com/unet-project/unet/shared/model"
)

// Bundle is a set of objects of every kind.
type Bundle struct {
	Locations    []model.Location    `json:"locations"`
	SNMPProfiles []model.SNMPProfile `json:"snmp_profiles"`
	Nodes        []model.Node        `json:"nodes"`
	Links        []model.Link        `json:"links"`

	// Sources says where each object came from in the file, index for
	// index with the slices above, so that errors found later (references
	// checked by the store) can name the row. Empty for bundles built in code.
	Sources Sources `json:"-"`
}

// Sources hold the position of each object in its file.
type Sources struct {
	Locations, SNMPProfiles, Nodes, Links []Position
}

// Position is where an object is in its file: a CSV line, or a JSON path
// such as "nodes[3]".
type Position struct {
	Line int    `json:"line,omitempty"`
	Path string `json:"path,omitempty"`
}

// label is the position as a message prefix: "line 12" or "nodes[3]".
// (Not a String method: RowError embeds Position and would inherit it.)
func (p Position) label() string {
	if p.Line > 0 {
		return "line " + strconv.Itoa(p.Line)
	}
	return p.Path
}

// where is the position as the end of a sentence: "on line 12", "at nodes[3]".
func (p Position) where() string {
	if p.Line > 0 {
		return "on " + p.label()
	}
	return "at " + p.Path
}

// RowError is one bad row of an import.
type RowError struct {
	Position
	Kind   model.ObjectKind `json:"kind,omitempty"`
	Name   string           `json:"name,omitempty"`
	Field  string           `json:"field,omitempty"`
	Reason string           `json:"reason"`
}

// Error formats the error as one line, leaving out the parts it lacks:
//
//	line 12: node "r1": vendor: unknown vendor "foo" (accepted: ...)
//	nodes[3]: node "r1": unknown field "vendr"
func (e RowError) Error() string {
	var b strings.Builder
	if p := e.label(); p != "" {
		b.WriteString(p)
		b.WriteString(": ")
	}
	if e.Kind != "" {
		b.WriteString(string(e.Kind))
		if e.Name != "" {
			b.WriteString(" ")
			b.WriteString(strconv.Quote(e.Name))
		}
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Reason)
	return b.String()
}

// Len is the number of objects in the bundle.
func (b *Bundle) Len() int {
	return len(b.Locations) + len(b.SNMPProfiles) + len(b.Nodes) + len(b.Links)
}
