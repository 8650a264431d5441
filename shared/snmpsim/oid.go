package snmpsim

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// OIDs are kept as []uint32 rather than dotted strings: comparing and
// searching them is the inner loop of GetNext and GetBulk, and strings would
// need parsing on every step.

// maxOIDLen bounds the sub-identifiers accepted in a request (RFC 2578 §3.5
// allows 128); longer OIDs are refused rather than buffered.
const maxOIDLen = 128

// compareOID orders OIDs lexicographically by sub-identifier, the order of
// the MIB: -1 when a < b, 0 when equal, +1 when a > b. A prefix sorts first.
func compareOID(a, b []uint32) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		switch {
		case a[i] < b[i]:
			return -1
		case a[i] > b[i]:
			return 1
		}
	}
	switch {
	case len(a) < len(b):
		return -1
	case len(a) > len(b):
		return 1
	}
	return 0
}

// commonPrefix is the number of leading sub-identifiers a and b share.
func commonPrefix(a, b []uint32) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// parseOID parses a dotted OID ("1.3.6.1.2.1.1.1.0", a leading dot allowed).
func parseOID(s string) ([]uint32, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), ".")
	if s == "" {
		return nil, errors.New("empty OID")
	}
	parts := strings.Split(s, ".")
	if len(parts) < 2 || len(parts) > maxOIDLen {
		return nil, fmt.Errorf("OID %q must have between 2 and %d sub-identifiers", s, maxOIDLen)
	}
	oid := make([]uint32, len(parts))
	for i, p := range parts {
		v, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("OID %q: sub-identifier %q is not a number below 2^32", s, p)
		}
		oid[i] = uint32(v)
	}
	if oid[0] > 2 || (oid[0] < 2 && oid[1] >= 40) {
		return nil, fmt.Errorf("OID %q: the first two arcs cannot be encoded (first arc 0-2, second below 40 unless the first is 2)", s)
	}
	return oid, nil
}

// mustOID is parseOID for the package's own constants.
func mustOID(s string) []uint32 {
	oid, err := parseOID(s)
	if err != nil {
		panic(err)
	}
	return oid
}

// oidString formats an OID in dotted form, for logs and errors.
func oidString(oid []uint32) string {
	var b strings.Builder
	for i, v := range oid {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.FormatUint(uint64(v), 10))
	}
	return b.String()
}

// appendOIDContent appends the BER content octets of oid (without tag and
// length). oid must have at least two arcs that parseOID would accept.
func appendOIDContent(dst []byte, oid []uint32) []byte {
	dst = appendBase128(dst, uint64(oid[0])*40+uint64(oid[1]))
	for _, v := range oid[2:] {
		dst = appendBase128(dst, uint64(v))
	}
	return dst
}

func appendBase128(dst []byte, v uint64) []byte {
	if v < 0x80 {
		return append(dst, byte(v))
	}
	var tmp [10]byte
	i := len(tmp) - 1
	tmp[i] = byte(v & 0x7f)
	for v >>= 7; v > 0; v >>= 7 {
		i--
		tmp[i] = byte(v&0x7f) | 0x80
	}
	return append(dst, tmp[i:]...)
}

// appendOIDTLV appends oid as a complete OBJECT IDENTIFIER TLV.
func appendOIDTLV(dst []byte, oid []uint32) []byte {
	var tmp [5 * maxOIDLen]byte
	c := appendOIDContent(tmp[:0], oid)
	dst = appendHeader(dst, tagOID, len(c))
	return append(dst, c...)
}

var errBadOID = errors.New("malformed OBJECT IDENTIFIER")

// decodeOID decodes BER content octets and appends the sub-identifiers to
// dst, so that a request's OIDs share one reusable arena. It refuses empty,
// non-minimal, over-long and overflowing encodings.
func decodeOID(content []byte, dst []uint32) ([]uint32, error) {
	if len(content) == 0 {
		return dst, errBadOID
	}
	start := len(dst)
	var v uint64
	first := true
	for i, c := range content {
		if v == 0 && c == 0x80 {
			// A leading 0x80 is a non-minimal encoding (X.690 §8.19.2).
			return dst[:start], errBadOID
		}
		v = v<<7 | uint64(c&0x7f)
		if v > 0xffffffff && !first || v > 0xffffffff+80 {
			return dst[:start], errBadOID
		}
		if c&0x80 != 0 {
			if i == len(content)-1 {
				return dst[:start], errBadOID
			}
			continue
		}
		switch {
		case !first:
			if len(dst)-start >= maxOIDLen {
				return dst[:start], errBadOID
			}
			dst = append(dst, uint32(v))
		case v < 40:
			dst = append(dst, 0, uint32(v))
		case v < 80:
			dst = append(dst, 1, uint32(v-40))
		default:
			dst = append(dst, 2, uint32(v-80))
		}
		first = false
		v = 0
	}
	return dst, nil
}
