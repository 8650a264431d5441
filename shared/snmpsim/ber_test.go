package snmpsim

import (
	"math"
	"testing"
)

func TestIntegerEncoding(t *testing.T) {
	for _, c := range []struct {
		v    uint64
		want string
	}{
		{0, "41 01 00"}, {0x7f, "41 01 7f"}, {0x80, "41 02 00 80"}, {0xffff, "41 03 00 ff ff"},
		{0xffffffff, "41 05 00 ff ff ff ff"}, {math.MaxUint64, "41 09 00 ff ff ff ff ff ff ff ff"},
	} {
		if got := hexString(appendUint(nil, tagCounter32, c.v)); got != c.want {
			t.Errorf("appendUint(%#x) = %s, want %s", c.v, got, c.want)
		}
	}
	for _, c := range []struct {
		v    int64
		want string
	}{
		{0, "02 01 00"}, {127, "02 01 7f"}, {128, "02 02 00 80"}, {-1, "02 01 ff"}, {-128, "02 01 80"},
		{-129, "02 02 ff 7f"}, {math.MaxInt32, "02 04 7f ff ff ff"}, {math.MinInt64, "02 08 80 00 00 00 00 00 00 00"},
	} {
		got := appendInt(nil, tagInteger, c.v)
		if hexString(got) != c.want {
			t.Errorf("appendInt(%d) = %s, want %s", c.v, hexString(got), c.want)
		}
		if back, _, err := readInt(got); err != nil || back != c.v {
			t.Errorf("readInt(appendInt(%d)) = %d, %v", c.v, back, err)
		}
	}
}

func TestTLVFraming(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 255, 256, 1000, 65535} {
		dst := []byte{0xee}
		dst, m := beginTLV(dst)
		for i := 0; i < n; i++ {
			dst = append(dst, byte(i))
		}
		dst = endTLV(dst, m, tagOctetString)
		tag, content, rest, err := readTLV(dst[1:])
		if err != nil || tag != tagOctetString || len(content) != n || len(rest) != 0 || len(dst) != 1+1+lengthSize(n)+n {
			t.Fatalf("endTLV with %d octets: % x… (%v)", n, dst[:min(len(dst), 8)], err)
		}
		for i, b := range content {
			if b != byte(i) {
				t.Fatalf("endTLV with %d octets moved the content wrong at %d", n, i)
			}
		}
		dst, m = beginSeq(dst[:1])
		dst = append(dst, content...)
		dst = endSeq(dst, m, tagSequence)
		if tag, c2, _, err := readTLV(dst[1:]); err != nil || tag != tagSequence || len(c2) != n {
			t.Fatalf("endSeq with %d octets: %v", n, err)
		}
	}
	for _, bad := range [][]byte{{0x04}, {0x04, 0x05, 1}, {0x04, 0x80}, {0x04, 0x85, 1, 1, 1, 1, 1}, {0x1f, 0x01, 0}, {0x04, 0x82, 0x01}} {
		if _, _, _, err := readTLV(bad); err == nil {
			t.Errorf("readTLV(% x) accepted", bad)
		}
	}
}

func TestOIDs(t *testing.T) {
	for _, s := range []string{"1.3.6.1.2.1.1.1.0", "0.0", "1.39", "2.999.3", "1.3.6.1.4.1.4294967295.128.16383.16384"} {
		oid := mustOID(s)
		enc := appendOIDContent(nil, oid)
		back, err := decodeOID(enc, []uint32{7})
		if err != nil || oidString(back[1:]) != s || back[0] != 7 {
			t.Errorf("%s: encoded % x, decoded %v, %v", s, enc, back, err)
		}
	}
	for _, bad := range [][]byte{{}, {0x80, 0x01}, {0x2b, 0x86}, {0x2b, 0x90, 0x80, 0x80, 0x80, 0x00}} {
		if _, err := decodeOID(bad, nil); err == nil {
			t.Errorf("decodeOID(% x) accepted", bad)
		}
	}
	for _, bad := range []string{"", "1", "3.1", "1.40", "1.3.x", "1.3.4294967296"} {
		if _, err := parseOID(bad); err == nil {
			t.Errorf("parseOID(%q) accepted", bad)
		}
	}
	a, b := mustOID("1.3.6.1.2"), mustOID("1.3.6.1.2.1")
	if compareOID(a, b) != -1 || compareOID(b, a) != 1 || compareOID(a, a) != 0 || compareOID(mustOID("1.3.6.2"), b) != 1 {
		t.Errorf("compareOID orders wrong")
	}
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 3*len(b))
	for i, c := range b {
		if i > 0 {
			out = append(out, ' ')
		}
		out = append(out, digits[c>>4], digits[c&0xf])
	}
	return string(out)
}
