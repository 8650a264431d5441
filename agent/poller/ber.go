package poller

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// The SNMPv2c messages of a poll, encoded and decoded here without
// allocating. At 10,000 devices every 10 s the agent reads ~640,000
// varbinds a second; gosnmp's general decoder allocates a dotted-string
// name and a boxed value for each, and that (and the garbage collection
// it causes) was most of the agent's CPU. Here a response is decoded in
// place: a varbind's name is the BER encoding of its OID, a slice of the
// receive buffer, matched against columns by byte prefix (exact for
// minimal encodings, the only ones accepted) and ordered by compareOIDs.
// SNMPv3, with its security layer, stays with gosnmp.

// BER and SNMP tags.
const (
	tagInteger        = 0x02
	tagOctetString    = 0x04
	tagNull           = 0x05
	tagOID            = 0x06
	tagSequence       = 0x30
	tagIPAddress      = 0x40
	tagCounter32      = 0x41
	tagGauge32        = 0x42
	tagTimeTicks      = 0x43
	tagOpaque         = 0x44
	tagCounter64      = 0x46
	tagUinteger32     = 0x47
	tagNoSuchObject   = 0x80
	tagNoSuchInstance = 0x81
	tagEndOfMibView   = 0x82

	pduGet      = 0xa0
	pduResponse = 0xa2
	pduGetBulk  = 0xa5

	// tagBad marks a varbind whose value could not be read (a 40-bit
	// Counter32, an INTEGER of 9 bytes): the builder counts it as a bad
	// value and drops it, the rest of the response is kept.
	tagBad = 0xff
)

const snmpV2c = 1 // the version field of a v2c message

// varbind is one decoded variable binding. name and raw point into the
// buffer the response was decoded from: valid until the next request.
type varbind struct {
	name []byte  // the OID, BER content octets
	typ  byte    // the value's tag
	u    uint64  // Counter32/64, Gauge32, TimeTicks, Unsigned32
	i    int64   // INTEGER
	f    float64 // Opaque float or double (hasF)
	hasF bool
	raw  []byte // OCTET STRING, IpAddress, Opaque, and OID values (BER content)
}

// response is a decoded GetResponse PDU.
type response struct {
	requestID   int32
	errorStatus int
	errorIndex  int
	vbs         []varbind
}

// malformedError is a response that does not decode; it says where.
type malformedError struct{ msg string }

func (e *malformedError) Error() string { return "malformed response: " + e.msg }

func malformed(format string, args ...any) error {
	return &malformedError{fmt.Sprintf(format, args...)}
}

// readTLV splits b into the tag, content and rest of its first element.
// Only definite lengths of up to 4 bytes are accepted.
func readTLV(b []byte) (tag byte, content, rest []byte, err error) {
	if len(b) < 2 {
		return 0, nil, nil, errShort
	}
	tag = b[0]
	n := int(b[1])
	b = b[2:]
	if n&0x80 != 0 {
		k := n & 0x7f
		if k == 0 || k > 4 || len(b) < k {
			return 0, nil, nil, errLength
		}
		n = 0
		for _, c := range b[:k] {
			n = n<<8 | int(c)
		}
		b = b[k:]
	}
	if n > len(b) || n < 0 {
		return 0, nil, nil, errShort
	}
	return tag, b[:n], b[n:], nil
}

var (
	errShort  = errors.New("shorter than its length says")
	errLength = errors.New("bad length")
)

// expect reads an element that must have tag want.
func expect(b []byte, want byte, what string) (content, rest []byte, err error) {
	tag, content, rest, err := readTLV(b)
	if err != nil {
		return nil, nil, malformed("%s: %v", what, err)
	}
	if tag != want {
		return nil, nil, malformed("%s: tag 0x%02x, want 0x%02x", what, tag, want)
	}
	return content, rest, nil
}

// decodeInt reads a two's-complement INTEGER of 1 to 8 bytes.
func decodeInt(c []byte) (int64, bool) {
	if len(c) == 0 || len(c) > 8 {
		return 0, false
	}
	v := int64(int8(c[0]))
	for _, b := range c[1:] {
		v = v<<8 | int64(b)
	}
	return v, true
}

// decodeUint reads an unsigned value of at most bits bits. Agents that
// forget the leading zero of a counter with its top bit set are common
// enough that the content is read as a magnitude, not as signed.
func decodeUint(c []byte, bits int) (uint64, bool) {
	if len(c) == 0 || len(c) > 9 || (len(c) == 9 && c[0] != 0) {
		return 0, false
	}
	var v uint64
	for _, b := range c {
		v = v<<8 | uint64(b)
	}
	return v, bits == 64 || v>>bits == 0
}

// decodeResponse decodes an SNMPv2c GetResponse message. vbs is scratch
// space for the varbinds (its capacity is reused).
func decodeResponse(msg []byte, vbs []varbind) (response, error) {
	r := response{vbs: vbs[:0]}
	body, rest, err := expect(msg, tagSequence, "message")
	if err != nil {
		return r, err
	}
	if len(rest) != 0 {
		return r, malformed("%d bytes after the message", len(rest))
	}
	c, body, err := expect(body, tagInteger, "version")
	if err != nil {
		return r, err
	}
	if v, ok := decodeInt(c); !ok || v != snmpV2c {
		return r, malformed("version %d, want 1 (SNMPv2c)", v)
	}
	if _, body, err = expect(body, tagOctetString, "community"); err != nil {
		return r, err
	}
	pdu, _, err := expect(body, pduResponse, "PDU")
	if err != nil {
		return r, err
	}
	var fields [3]int64
	for i, what := range [3]string{"request-id", "error-status", "error-index"} {
		if c, pdu, err = expect(pdu, tagInteger, what); err != nil {
			return r, err
		}
		v, ok := decodeInt(c)
		if !ok || v < math.MinInt32 || v > math.MaxInt32 {
			return r, malformed("%s does not fit 32 bits", what)
		}
		fields[i] = v
	}
	r.requestID, r.errorStatus, r.errorIndex = int32(fields[0]), int(fields[1]), int(fields[2])
	list, _, err := expect(pdu, tagSequence, "varbind list")
	if err != nil {
		return r, err
	}
	for len(list) > 0 {
		var vb []byte
		if vb, list, err = expect(list, tagSequence, "varbind"); err != nil {
			return r, err
		}
		v, err := decodeVarbind(vb)
		if err != nil {
			return r, malformed("varbind %d: %v", len(r.vbs)+1, err)
		}
		r.vbs = append(r.vbs, v)
	}
	return r, nil
}

// decodeVarbind decodes the content of one VarBind SEQUENCE.
func decodeVarbind(b []byte) (varbind, error) {
	var v varbind
	tag, name, b, err := readTLV(b)
	switch {
	case err != nil:
		return v, fmt.Errorf("name: %v", err)
	case tag != tagOID:
		return v, fmt.Errorf("name: tag 0x%02x, not an OID", tag)
	case !validOID(name):
		return v, errors.New("name: not a valid OID")
	}
	v.name = name
	tag, c, rest, err := readTLV(b)
	if err != nil {
		return v, fmt.Errorf("value: %v", err)
	}
	if len(rest) != 0 {
		return v, errors.New("bytes after the value")
	}
	v.typ = tag
	ok := true
	switch tag {
	case tagInteger:
		v.i, ok = decodeInt(c)
	case tagCounter32, tagGauge32, tagTimeTicks, tagUinteger32:
		v.u, ok = decodeUint(c, 32)
	case tagCounter64:
		v.u, ok = decodeUint(c, 64)
	case tagOctetString, tagIPAddress:
		v.raw = c
	case tagOID:
		v.raw = c
		ok = validOID(c)
	case tagOpaque:
		v.raw = c
		v.f, v.hasF = opaqueFloat(c)
	case tagNull, tagNoSuchObject, tagNoSuchInstance, tagEndOfMibView:
		ok = len(c) == 0
	default:
		ok = false
	}
	if !ok {
		v.typ = tagBad
	}
	return v, nil
}

// opaqueFloat reads the float and double that NET-SNMP wraps in Opaque
// (UCD-SNMP-MIB load averages).
func opaqueFloat(c []byte) (float64, bool) {
	switch {
	case len(c) == 7 && c[0] == 0x9f && c[1] == 0x78 && c[2] == 4:
		f := math.Float32frombits(uint32(c[3])<<24 | uint32(c[4])<<16 | uint32(c[5])<<8 | uint32(c[6]))
		return float64(f), true
	case len(c) == 11 && c[0] == 0x9f && c[1] == 0x79 && c[2] == 8:
		var u uint64
		for _, b := range c[3:] {
			u = u<<8 | uint64(b)
		}
		return math.Float64frombits(u), true
	}
	return 0, false
}

// validOID checks BER OID content: at least one subidentifier, each
// minimal (no leading 0x80 byte: one encoding per OID, so that prefixes
// and equality can be tested on bytes), within 32 bits, the last one
// complete.
func validOID(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for len(b) > 0 {
		_, n, ok := subid(b)
		if !ok {
			return false
		}
		b = b[n:]
	}
	return true
}

// subid decodes the subidentifier at the start of b: its value and its
// length in bytes.
func subid(b []byte) (uint32, int, bool) {
	if len(b) == 0 || b[0] == 0x80 {
		return 0, 0, false
	}
	var v uint64
	for i, c := range b {
		if i == 5 {
			return 0, 0, false
		}
		v = v<<7 | uint64(c&0x7f)
		if c&0x80 == 0 {
			return uint32(v), i + 1, v <= math.MaxUint32
		}
	}
	return 0, 0, false
}

// compareOIDs compares two encoded OIDs in OID order. Bytes are not
// enough (2 encodes 9083 as c6 7b and 1840763319 as 86 …), but names
// under one column share all but their last bytes: skip the common
// prefix, and compare the subidentifiers from the one that differs.
func compareOIDs(a, b []byte) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	if i == len(a) || i == len(b) {
		// One is a prefix of the other, and ends on a whole
		// subidentifier: the shorter OID comes first.
		return cmp.Compare(len(a), len(b))
	}
	for i > 0 && a[i-1]&0x80 != 0 {
		i-- // back to the start of the subidentifier that differs
	}
	va, _, oka := subid(a[i:])
	vb, _, okb := subid(b[i:])
	if !oka || !okb {
		return bytes.Compare(a, b)
	}
	return cmp.Compare(va, vb)
}

// berIndex reads a one-subidentifier index (an ifIndex) from the suffix
// of a name under its column: 1..2^31-1, anything else is a broken row.
func berIndex(suffix []byte) (int, bool) {
	v, n, ok := subid(suffix)
	if !ok || n != len(suffix) || v == 0 || v > math.MaxInt32 {
		return 0, false
	}
	return int(v), true
}

// berSuffixText returns a name's suffix under its column as dotted text
// ("0.3.1" for an lldpRemTable row).
func berSuffixText(suffix []byte) (string, bool) {
	if len(suffix) == 0 {
		return "", false
	}
	var sb strings.Builder
	for len(suffix) > 0 {
		v, n, ok := subid(suffix)
		if !ok {
			return "", false
		}
		if sb.Len() > 0 {
			sb.WriteByte('.')
		}
		sb.WriteString(strconv.FormatUint(uint64(v), 10))
		suffix = suffix[n:]
	}
	return sb.String(), true
}

// oidText returns a BER-encoded OID as dotted text with no leading dot.
func oidText(b []byte) (string, bool) {
	first, n, ok := subid(b)
	if !ok {
		return "", false
	}
	x, y := first/40, first%40
	if x > 2 {
		x, y = 2, first-80
	}
	text := strconv.FormatUint(uint64(x), 10) + "." + strconv.FormatUint(uint64(y), 10)
	if len(b) == n {
		return text, true
	}
	rest, ok := berSuffixText(b[n:])
	return text + "." + rest, ok
}

// appendOID appends the BER content of the dotted OID s (leading dot
// optional). It needs at least two components, the first 0, 1 or 2. It
// does not allocate beyond dst's growth: v3 responses convert every name.
func appendOID(dst []byte, s string) ([]byte, error) {
	text := strings.TrimPrefix(s, ".")
	var first uint64
	n := 0 // components read
	for i := 0; i <= len(text); {
		j := i
		var v uint64
		for j < len(text) && text[j] != '.' {
			c := text[j]
			if c < '0' || c > '9' || j-i >= 10 {
				return dst, fmt.Errorf("OID %q: component %d is not a number below 2^32", s, n+1)
			}
			v = v*10 + uint64(c-'0')
			j++
		}
		if j == i || v > math.MaxUint32 {
			return dst, fmt.Errorf("OID %q: component %d is not a number below 2^32", s, n+1)
		}
		switch n {
		case 0:
			if v > 2 {
				return dst, fmt.Errorf("OID %q: the first component must be 0, 1 or 2", s)
			}
			first = v
		case 1:
			if (first < 2 && v >= 40) || first*40+v > math.MaxUint32 {
				return dst, fmt.Errorf("OID %q: invalid second component", s)
			}
			dst = appendSubid(dst, first*40+v)
		default:
			dst = appendSubid(dst, v)
		}
		n++
		i = j + 1
	}
	if n < 2 {
		return dst, fmt.Errorf("OID %q: fewer than two components", s)
	}
	return dst, nil
}

// mustOID encodes a constant OID of the tables; it panics on a typo.
func mustOID(s string) []byte {
	b, err := appendOID(nil, s)
	if err != nil {
		panic(err)
	}
	return b
}

func appendSubid(dst []byte, v uint64) []byte {
	var tmp [10]byte
	i := len(tmp) - 1
	tmp[i] = byte(v & 0x7f)
	for v >>= 7; v > 0; v >>= 7 {
		i--
		tmp[i] = byte(v&0x7f) | 0x80
	}
	return append(dst, tmp[i:]...)
}

// lengthSize is the size of the BER length of n content bytes.
func lengthSize(n int) int {
	switch {
	case n < 0x80:
		return 1
	case n < 0x100:
		return 2
	case n < 0x10000:
		return 3
	}
	return 4
}

// tlvSize is the size of an element with n content bytes.
func tlvSize(n int) int { return 1 + lengthSize(n) + n }

func appendHeader(dst []byte, tag byte, n int) []byte {
	switch {
	case n < 0x80:
		return append(dst, tag, byte(n))
	case n < 0x100:
		return append(dst, tag, 0x81, byte(n))
	case n < 0x10000:
		return append(dst, tag, 0x82, byte(n>>8), byte(n))
	}
	return append(dst, tag, 0x83, byte(n>>16), byte(n>>8), byte(n))
}

// intSize is the content size of the minimal encoding of v.
func intSize(v int64) int {
	n := 1
	for v > 127 || v < -128 {
		v >>= 8
		n++
	}
	return n
}

func appendInt(dst []byte, v int64) []byte {
	n := intSize(v)
	dst = append(dst, tagInteger, byte(n))
	for i := n - 1; i >= 0; i-- {
		dst = append(dst, byte(v>>(8*i)))
	}
	return dst
}

// appendRequest appends an SNMPv2c Get (pduGet; a and b are 0) or
// GetBulk (pduGetBulk; a non-repeaters, b max-repetitions) request for
// the BER-encoded OIDs.
func appendRequest(dst []byte, pdu byte, community string, requestID int32, a, b int, oids [][]byte) []byte {
	vbl := 0
	for _, o := range oids {
		vbl += tlvSize(tlvSize(len(o)) + 2)
	}
	pduLen := 2 + intSize(int64(requestID)) + 2 + intSize(int64(a)) + 2 + intSize(int64(b)) + tlvSize(vbl)
	msgLen := 3 + tlvSize(len(community)) + tlvSize(pduLen)
	dst = appendHeader(dst, tagSequence, msgLen)
	dst = appendInt(dst, snmpV2c)
	dst = appendHeader(dst, tagOctetString, len(community))
	dst = append(dst, community...)
	dst = appendHeader(dst, pdu, pduLen)
	dst = appendInt(dst, int64(requestID))
	dst = appendInt(dst, int64(a))
	dst = appendInt(dst, int64(b))
	dst = appendHeader(dst, tagSequence, vbl)
	for _, o := range oids {
		dst = appendHeader(dst, tagSequence, tlvSize(len(o))+2)
		dst = appendHeader(dst, tagOID, len(o))
		dst = append(dst, o...)
		dst = append(dst, tagNull, 0)
	}
	return dst
}
