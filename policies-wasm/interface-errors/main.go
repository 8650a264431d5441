// Command interface-errors is a policy module written by hand in Go
// (policies-wasm/ABI.md): interfaces of a reachable device must not take
// in more than 10 errors per second.
//
// The rule is described in the manifest as the DSL would write it:
//
//	WHEN derived.reachable == true
//	THEN ASSERT derived.interfaces.errors_in_rate IS 0
//
// — "assert" compares for equality, and 0 is what a healthy device shows —
// but the verdict applies a threshold the DSL's ASSERT cannot express: a
// violation above 10 errors/s, compliant at or below, not applicable when
// the device is not known to be reachable or has no error rate yet.
//
// Build it with `make wasm` (GOOS=wasip1 GOARCH=wasm go build
// -buildmode=c-shared). Built for the host, it is an empty program, so that
// `go build ./...` and `go vet ./...` pass.
package main

import (
	"encoding/binary"
	"math"
)

// manifest is returned by unet_manifest. Slot 0 is derived.reachable, slot
// 1 derived.interfaces.errors_in_rate.
const manifest = `{
  "abi": 1,
  "fields": [
    {"path": "derived.reachable", "type": "bool"},
    {"path": "derived.interfaces.errors_in_rate", "type": "number"}
  ],
  "rules": [
    {"name": "interface-errors", "file": "policies-wasm/interface-errors/main.go",
     "action": "assert", "target": "derived.interfaces.errors_in_rate",
     "expected": {"value": 0}}
  ]
}`

const (
	slotSize = 16
	nfields  = 2
	stride   = nfields * slotSize

	kindBool   = 1
	kindNumber = 2

	notApplicable = 0
	compliant     = 1
	violation     = 2

	// threshold is the error rate (errors/s over all interfaces) above
	// which a device is in violation.
	threshold = 10
)

// verdict is the rule on one record, whose slots are rec[0:stride].
func verdict(rec []byte) byte {
	reachable, ok := slot(rec, 0, kindBool)
	if !ok || reachable != 1 {
		return notApplicable
	}
	bits, ok := slot(rec, 1, kindNumber)
	if !ok {
		return notApplicable // no rate yet: a condition on null is false
	}
	if math.Float64frombits(bits) > threshold {
		return violation
	}
	return compliant
}

// slot returns the payload of field f of the record when it has kind k.
func slot(rec []byte, f int, k uint32) (uint64, bool) {
	s := rec[f*slotSize : (f+1)*slotSize]
	if binary.LittleEndian.Uint32(s[0:4]) != k {
		return 0, false
	}
	return binary.LittleEndian.Uint64(s[8:16]), true
}

func main() {}
