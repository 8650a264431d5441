// Command version-by-model is a policy module written by hand in Go
// (policies-wasm/ABI.md): every device must run the release approved for
// its model.
//
// The table of approved releases is below. The manifest has one rule per
// model, each an "assert node.version IS <release>" that is not applicable
// to the other models, rather than a single rule: the host renders the
// expected value of a verdict from the manifest, and a single literal could
// not say which release each model needs. A model missing from the table
// gets "not applicable" from every rule. TestVersionByModelGuest (in
// collector/policy/sandbox) checks that the manifest and the table agree.
//
// Build it with `make wasm` (GOOS=wasip1 GOARCH=wasm go build
// -buildmode=c-shared). Built for the host, it is an empty program, so that
// `go build ./...` and `go vet ./...` pass.
package main

import "encoding/binary"

// approved is the release approved for each model, in the order of the
// manifest's rules.
var approved = []struct{ model, version string }{
	{"C9300-48P", "17.9.4"},
	{"MX204", "22.4R3"},
	{"DCS-7050SX3", "4.30.2F"},
}

// manifest is returned by unet_manifest. Slot 0 is node.model, slot 1
// node.version.
const manifest = `{
  "abi": 1,
  "fields": [
    {"path": "node.model", "type": "string"},
    {"path": "node.version", "type": "string"}
  ],
  "rules": [
    {"name": "version-by-model/C9300-48P", "file": "policies-wasm/version-by-model/main.go",
     "action": "assert", "target": "node.version", "expected": {"value": "17.9.4"}},
    {"name": "version-by-model/MX204", "file": "policies-wasm/version-by-model/main.go",
     "action": "assert", "target": "node.version", "expected": {"value": "22.4R3"}},
    {"name": "version-by-model/DCS-7050SX3", "file": "policies-wasm/version-by-model/main.go",
     "action": "assert", "target": "node.version", "expected": {"value": "4.30.2F"}}
  ]
}`

const (
	slotSize = 16
	nfields  = 2
	stride   = nfields * slotSize

	kindString = 3

	notApplicable = 0
	compliant     = 1
	violation     = 2
)

// verdict is rule (an index into approved) on one record, whose slots are
// rec[0:stride]; str returns the bytes of a string at an address.
func verdict(rule int, rec []byte, str func(addr, n uint32) ([]byte, bool)) byte {
	model, ok := stringSlot(rec, 0, str)
	if !ok || string(model) != approved[rule].model {
		return notApplicable
	}
	version, ok := stringSlot(rec, 1, str)
	if ok && string(version) == approved[rule].version {
		return compliant
	}
	return violation // another release, or none known
}

// stringSlot returns the string of field f of the record, false when the
// field is not a string.
func stringSlot(rec []byte, f int, str func(addr, n uint32) ([]byte, bool)) ([]byte, bool) {
	s := rec[f*slotSize : (f+1)*slotSize]
	if binary.LittleEndian.Uint32(s[0:4]) != kindString {
		return nil, false
	}
	return str(uint32(binary.LittleEndian.Uint64(s[8:16])), binary.LittleEndian.Uint32(s[4:8]))
}

func main() {}
