// Package bundle reads and writes sets of desired-state objects as CSV and
// JSON files: the import/export format of μNet.
package bundle

import (
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

// RowError is one bad row of an import.
type RowError struct {
	Position
	Kind   model.ObjectKind `json:"kind,omitempty"`
	Name   string           `json:"name,omitempty"`
	Field  string           `json:"field,omitempty"`
	Reason string           `json:"reason"`
}

// Len is the number of objects in the bundle.
func (b *Bundle) Len() int {
	return len(b.Locations) + len(b.SNMPProfiles) + len(b.Nodes) + len(b.Links)
}
