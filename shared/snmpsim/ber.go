package snmpsim

import (
	"errors"
	"math/bits"
)

// A small BER codec for SNMP messages. gosnmp's codec parses string OIDs and
// allocates per varbind; this one decodes into reusable buffers and encodes
// responses in place, so that a 48-interface GetBulk costs no allocation.

// BER tags used by SNMP (RFC 3416, RFC 2578).
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
	tagNoSuchObject   = 0x80
	tagNoSuchInstance = 0x81
	tagEndOfMibView   = 0x82
)

// Error statuses of a Response PDU (RFC 3416 §3).
const (
	errNoError  = 0
	errTooBig   = 1
	errGenErr   = 5
	errNoAccess = 6
)

var (
	errTruncated = errors.New("truncated BER")
	errBER       = errors.New("malformed BER")
)

// readTLV splits one definite-length TLV off b. It accepts long-form
// lengths of up to four octets and refuses the indefinite form and
// multi-octet tags, which SNMP never uses.
func readTLV(b []byte) (tag byte, content, rest []byte, err error) {
	if len(b) < 2 {
		return 0, nil, nil, errTruncated
	}
	tag = b[0]
	if tag&0x1f == 0x1f {
		return 0, nil, nil, errBER
	}
	l, i := int(b[1]), 2
	if l&0x80 != 0 {
		n := l & 0x7f
		if n == 0 || n > 4 {
			return 0, nil, nil, errBER
		}
		if len(b) < 2+n {
			return 0, nil, nil, errTruncated
		}
		l = 0
		for _, c := range b[2 : 2+n] {
			l = l<<8 | int(c)
		}
		i += n
	}
	if l > len(b)-i {
		return 0, nil, nil, errTruncated
	}
	return tag, b[i : i+l], b[i+l:], nil
}

// expectTLV is readTLV that also checks the tag.
func expectTLV(b []byte, want byte) (content, rest []byte, err error) {
	tag, content, rest, err := readTLV(b)
	if err != nil {
		return nil, nil, err
	}
	if tag != want {
		return nil, nil, errBER
	}
	return content, rest, nil
}

// decodeInt decodes the content of a two's-complement INTEGER of up to 8
// octets. Non-minimal encodings are accepted: gosnmp sends msgID on four
// octets whatever its value.
func decodeInt(c []byte) (int64, error) {
	if len(c) == 0 || len(c) > 8 {
		return 0, errBER
	}
	v := int64(int8(c[0]))
	for _, b := range c[1:] {
		v = v<<8 | int64(b)
	}
	return v, nil
}

// readInt reads one INTEGER TLV.
func readInt(b []byte) (int64, []byte, error) {
	c, rest, err := expectTLV(b, tagInteger)
	if err != nil {
		return 0, nil, err
	}
	v, err := decodeInt(c)
	return v, rest, err
}

// lengthSize is the number of octets appendLength writes for l.
func lengthSize(l int) int {
	switch {
	case l < 0x80:
		return 1
	case l <= 0xff:
		return 2
	case l <= 0xffff:
		return 3
	case l <= 0xffffff:
		return 4
	}
	return 5
}

// appendHeader appends a tag and a definite length.
func appendHeader(dst []byte, tag byte, l int) []byte {
	dst = append(dst, tag)
	switch {
	case l < 0x80:
		return append(dst, byte(l))
	case l <= 0xff:
		return append(dst, 0x81, byte(l))
	case l <= 0xffff:
		return append(dst, 0x82, byte(l>>8), byte(l))
	case l <= 0xffffff:
		return append(dst, 0x83, byte(l>>16), byte(l>>8), byte(l))
	}
	return append(dst, 0x84, byte(l>>24), byte(l>>16), byte(l>>8), byte(l))
}

// appendInt appends a signed INTEGER-like TLV in the fewest octets.
func appendInt(dst []byte, tag byte, v int64) []byte {
	n := 1
	for n < 8 {
		// Stop when the remaining high octets are pure sign extension.
		hi := v >> (8*n - 1)
		if hi == 0 || hi == -1 {
			break
		}
		n++
	}
	dst = append(dst, tag, byte(n))
	for i := n - 1; i >= 0; i-- {
		dst = append(dst, byte(v>>(8*i)))
	}
	return dst
}

// appendUint appends an unsigned TLV (Counter32, Gauge32, TimeTicks,
// Counter64): minimal, with a leading zero octet when the top bit is set so
// that it does not read as negative.
func appendUint(dst []byte, tag byte, v uint64) []byte {
	// Octets for the value plus a sign bit: 0x7f takes one, 0x80 two.
	n := bits.Len64(v)/8 + 1
	dst = append(dst, tag, byte(n))
	if n == 9 {
		dst = append(dst, 0)
		n = 8
	}
	for i := n - 1; i >= 0; i-- {
		dst = append(dst, byte(v>>(8*i)))
	}
	return dst
}

// appendBytes appends a TLV with the given content.
func appendBytes(dst []byte, tag byte, content []byte) []byte {
	return append(appendHeader(dst, tag, len(content)), content...)
}

// appendString is appendBytes for a string, without converting it.
func appendString(dst []byte, tag byte, s string) []byte {
	return append(appendHeader(dst, tag, len(s)), s...)
}

// Values whose length is unknown until their content is written are framed
// in one of two ways, neither of which copies the content in the common
// case:
//
//   - beginTLV/endTLV reserve a short-form header (two octets) and widen
//     it in place on the rare content of 128 octets or more: for varbinds
//     and strings.
//   - beginSeq/endSeq reserve a four-octet header and always fill it in
//     the long form 0x82 LL LL, as Net-SNMP does for its sequences (X.690
//     §8.1.3 lets the sender choose): for the message, the PDU and the
//     varbind list, whose content can reach 64 KiB and would otherwise
//     have to slide.
//
// Either way len(dst) is the exact size once a value is closed, which is
// what the tooBig checks need.

func beginTLV(dst []byte) ([]byte, int) {
	return append(dst, 0, 0), len(dst)
}

func endTLV(dst []byte, mark int, tag byte) []byte {
	n := len(dst) - mark - 2
	dst[mark] = tag
	if n < 0x80 {
		dst[mark+1] = byte(n)
		return dst
	}
	extra := lengthSize(n) - 1
	dst = append(dst, make([]byte, extra)...)
	copy(dst[mark+2+extra:], dst[mark+2:mark+2+n])
	switch extra {
	case 1:
		dst[mark+1], dst[mark+2] = 0x81, byte(n)
	case 2:
		dst[mark+1], dst[mark+2], dst[mark+3] = 0x82, byte(n>>8), byte(n)
	default:
		dst[mark+1], dst[mark+2], dst[mark+3], dst[mark+4] = 0x83, byte(n>>16), byte(n>>8), byte(n)
	}
	return dst
}

func beginSeq(dst []byte) ([]byte, int) {
	return append(dst, 0, 0x82, 0, 0), len(dst)
}

func endSeq(dst []byte, mark int, tag byte) []byte {
	n := len(dst) - mark - 4
	if n > 0xffff {
		// Only reachable with more than 64 KiB of content, which the
		// response size cap (MaxResponseSize <= 65000) rules out: a
		// programming error.
		panic("snmpsim: BER sequence larger than 64 KiB")
	}
	dst[mark], dst[mark+2], dst[mark+3] = tag, byte(n>>8), byte(n)
	return dst
}
