package bundle

import (
	"strings"

	"github.com/unet-project/unet/shared/model"
)

// column is a CSV column. The constants are in the order EncodeCSV writes
// the columns (the order documented in the package comment).
type column uint8

const (
	colKind column = iota
	colID
	colName
	colLocationKind
	colParent
	colDescription
	colDomain
	colVendor
	colModel
	colRole
	colLifecycle
	colManagementAddress
	colLocation
	colSNMPProfile
	colVersion
	colSerial
	colTags
	colCustomData
	colSNMPVersion
	colCommunity
	colUser
	colAuthProtocol
	colAuthKey
	colPrivProtocol
	colPrivKey
	colPort
	colTimeout
	colRetries
	colInterval
	colMaxRepetitions
	colA
	colZ
	colCircuitID
	colCircuitProvider
	colBandwidthBps

	numColumns
	// noColumn marks a cell under a blank header name.
	noColumn = numColumns
)

// kindSet is a set of object kinds, one bit each.
type kindSet uint8

const (
	forLocation kindSet = 1 << iota
	forSNMPProfile
	forNode
	forLink
	forAll = forLocation | forSNMPProfile | forNode | forLink
)

// kindBit is the bit of k in a kindSet.
func kindBit(k model.ObjectKind) kindSet {
	switch k {
	case model.ObjectLocation:
		return forLocation
	case model.ObjectSNMPProfile:
		return forSNMPProfile
	case model.ObjectNode:
		return forNode
	case model.ObjectLink:
		return forLink
	}
	return 0
}

// columnSpecs names each column and the kinds it applies to. Read only.
var columnSpecs = [numColumns]struct {
	name  string
	kinds kindSet
}{
	colKind:              {"kind", forAll},
	colID:                {"id", forAll},
	colName:              {"name", forLocation | forSNMPProfile | forNode},
	colLocationKind:      {"location_kind", forLocation},
	colParent:            {"parent", forLocation},
	colDescription:       {"description", forLocation | forLink},
	colDomain:            {"domain", forNode},
	colVendor:            {"vendor", forNode},
	colModel:             {"model", forNode},
	colRole:              {"role", forNode},
	colLifecycle:         {"lifecycle", forNode},
	colManagementAddress: {"management_address", forNode},
	colLocation:          {"location", forNode},
	colSNMPProfile:       {"snmp_profile", forNode},
	colVersion:           {"version", forNode},
	colSerial:            {"serial", forNode},
	colTags:              {"tags", forNode},
	colCustomData:        {"custom_data", forNode},
	colSNMPVersion:       {"snmp_version", forSNMPProfile},
	colCommunity:         {"community", forSNMPProfile},
	colUser:              {"user", forSNMPProfile},
	colAuthProtocol:      {"auth_protocol", forSNMPProfile},
	colAuthKey:           {"auth_key", forSNMPProfile},
	colPrivProtocol:      {"priv_protocol", forSNMPProfile},
	colPrivKey:           {"priv_key", forSNMPProfile},
	colPort:              {"port", forSNMPProfile},
	colTimeout:           {"timeout", forSNMPProfile},
	colRetries:           {"retries", forSNMPProfile},
	colInterval:          {"interval", forSNMPProfile},
	colMaxRepetitions:    {"max_repetitions", forSNMPProfile},
	colA:                 {"a", forLink},
	colZ:                 {"z", forLink},
	colCircuitID:         {"circuit_id", forLink},
	colCircuitProvider:   {"circuit_provider", forLink},
	colBandwidthBps:      {"bandwidth_bps", forLink},
}

func (c column) String() string { return columnSpecs[c].name }

// appliesTo reports whether the column holds a field of kind k.
func (c column) appliesTo(k model.ObjectKind) bool { return columnSpecs[c].kinds&kindBit(k) != 0 }

// columnNames lists every column name in order, for the header EncodeCSV
// writes and for error messages.
func columnNames() []string {
	names := make([]string, numColumns)
	for c := range numColumns {
		names[c] = columnSpecs[c].name
	}
	return names
}

// lookupColumn finds the column a header cell names: case-insensitive, with
// '-' and ' ' standing for '_' ("Management Address", "snmp-profile").
func lookupColumn(header string) (column, bool) {
	h := strings.ToLower(strings.TrimSpace(header))
	h = strings.NewReplacer("-", "_", " ", "_").Replace(h)
	for c := range numColumns {
		if columnSpecs[c].name == h {
			return c, true
		}
	}
	return noColumn, false
}

// csvField names the CSV column that holds a model field, so that a
// validation error points at a column the user can see: the model says
// "kind" or "a.node" where the flat CSV row says location_kind or a.
func csvField(kind model.ObjectKind, field string) string {
	switch kind {
	case model.ObjectLocation:
		if field == "kind" {
			return colLocationKind.String()
		}
	case model.ObjectSNMPProfile:
		if field == "version" {
			return colSNMPVersion.String()
		}
	case model.ObjectLink:
		switch head, _, _ := strings.Cut(field, "."); head {
		case "a", "z":
			return head
		case "circuit":
			if field == "circuit.provider" {
				return colCircuitProvider.String()
			}
			return colCircuitID.String()
		}
	}
	return field
}
