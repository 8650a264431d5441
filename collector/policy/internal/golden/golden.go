// Package golden reads the node set of the policy language's golden cases
// (collector/policy/interp/testdata/nodes.json), which the interpreter's
// golden test and the compiler's differential test both evaluate.
package golden

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/unet-project/unet/collector/policy/record"
	"github.com/unet-project/unet/shared/model"
)

// nodesFile is the layout of nodes.json.
type nodesFile struct {
	Now   time.Time `json:"now"`
	Nodes []struct {
		Node         model.Node         `json:"node"`
		LocationPath []model.Location   `json:"location_path"`
		Derived      *model.DeviceState `json:"derived"`
	} `json:"nodes"`
}

// Subjects reads the nodes file at path: each node normalized and
// validated, with its location path, observed state and the file's "now".
// Unknown fields are refused, so that a typo does not silently test less.
func Subjects(path string) ([]record.Subject, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var nf nodesFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&nf); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	subjects := make([]record.Subject, len(nf.Nodes))
	for i, n := range nf.Nodes {
		n.Node.Normalize()
		if err := n.Node.Validate(); err != nil {
			return nil, fmt.Errorf("%s: node %s: %w", path, n.Node.Name, err)
		}
		subjects[i] = record.Subject{Node: n.Node, LocationPath: n.LocationPath, Derived: n.Derived, Now: nf.Now}
	}
	return subjects, nil
}
