package desired

import (
	"context"

	"github.com/unet-project/unet/shared/bundle"
)

// ImportReport says what an import did, or every reason it did nothing.
type ImportReport struct {
	Created  map[string]int    `json:"created"` // by kind
	Updated  map[string]int    `json:"updated"`
	Errors   []bundle.RowError `json:"errors,omitempty"`
	Revision int64             `json:"revision,omitempty"`
}

// Progress is called during an import with the objects written so far.
type Progress func(done, total int)

// Import upserts every object of b (matched by name; links by their A end):
// all of it or, if any row is invalid or refers to something that exists
// neither in the file nor in the store, none of it, with every bad row in
// the report's Errors (and a nil error). Secrets missing from the file keep
// their stored values.
func (s *Store) Import(ctx context.Context, b *bundle.Bundle, progress Progress) (ImportReport, error) {
	panic("unimplemented")
}

// Export returns everything at one revision, secrets removed.
func (s *Store) Export(ctx context.Context) (*bundle.Bundle, error) {
	panic("unimplemented")
}
