package poller

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gosnmp/gosnmp"
)

// gosnmpMessage marshals a v2c GetResponse with gosnmp: the reference
// encoder our decoder is checked against.
func gosnmpMessage(tb testing.TB, requestID uint32, vars ...gosnmp.SnmpPDU) []byte {
	tb.Helper()
	pkt := &gosnmp.SnmpPacket{Version: gosnmp.Version2c, Community: "public", PDUType: gosnmp.GetResponse, RequestID: requestID, Variables: vars}
	b, err := pkt.MarshalMsg()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestDecodeResponseTypes(t *testing.T) {
	oid := func(s string) []byte { return mustOID(s) }
	tests := []struct {
		pdu  gosnmp.SnmpPDU
		want varbind
	}{
		{gosnmp.SnmpPDU{Name: ".1.3.6.1.2.1.1.5.0", Type: gosnmp.OctetString, Value: []byte("sw1")},
			varbind{typ: tagOctetString, raw: []byte("sw1")}},
		{gosnmp.SnmpPDU{Name: ".1.3.6.1.2.1.2.2.1.8.12", Type: gosnmp.Integer, Value: 2},
			varbind{typ: tagInteger, i: 2}},
		{gosnmp.SnmpPDU{Name: ".1.3.6.1.4.1.1", Type: gosnmp.Integer, Value: -70000},
			varbind{typ: tagInteger, i: -70000}},
		{gosnmp.SnmpPDU{Name: ".1.3.6.1.2.1.2.2.1.10.1", Type: gosnmp.Counter32, Value: uint(math.MaxUint32)},
			varbind{typ: tagCounter32, u: math.MaxUint32}},
		{gosnmp.SnmpPDU{Name: ".1.3.6.1.2.1.2.2.1.5.1", Type: gosnmp.Gauge32, Value: uint(1_000_000_000)},
			varbind{typ: tagGauge32, u: 1_000_000_000}},
		{gosnmp.SnmpPDU{Name: ".1.3.6.1.2.1.1.3.0", Type: gosnmp.TimeTicks, Value: uint32(123456)},
			varbind{typ: tagTimeTicks, u: 123456}},
		{gosnmp.SnmpPDU{Name: ".1.3.6.1.2.1.31.1.1.1.6.1", Type: gosnmp.Counter64, Value: uint64(math.MaxUint64)},
			varbind{typ: tagCounter64, u: math.MaxUint64}},
		{gosnmp.SnmpPDU{Name: ".1.3.6.1.2.1.1.2.0", Type: gosnmp.ObjectIdentifier, Value: ".1.3.6.1.4.1.9.1.2494"},
			varbind{typ: tagOID, raw: oid("1.3.6.1.4.1.9.1.2494")}},
		{gosnmp.SnmpPDU{Name: ".1.3.6.1.4.1.2021.10.1.6.1", Type: gosnmp.OpaqueFloat, Value: float32(1.5)},
			varbind{typ: tagOpaque, f: 1.5, hasF: true}},
		{gosnmp.SnmpPDU{Name: ".1.3.6.1.4.1.2021.10.1.6.2", Type: gosnmp.OpaqueDouble, Value: 2.25},
			varbind{typ: tagOpaque, f: 2.25, hasF: true}},
		{gosnmp.SnmpPDU{Name: ".1.3.6.1.2.1.4.20.1.1.10.0.0.1", Type: gosnmp.IPAddress, Value: "10.0.0.1"},
			varbind{typ: tagIPAddress, raw: []byte{10, 0, 0, 1}}},
		{gosnmp.SnmpPDU{Name: ".1.3.6.1.2.1.1.9.0", Type: gosnmp.NoSuchObject}, varbind{typ: tagNoSuchObject}},
		{gosnmp.SnmpPDU{Name: ".1.3.6.1.2.1.1.9.1", Type: gosnmp.NoSuchInstance}, varbind{typ: tagNoSuchInstance}},
		{gosnmp.SnmpPDU{Name: ".1.3.6.1.6.3.1", Type: gosnmp.EndOfMibView}, varbind{typ: tagEndOfMibView}},
		{gosnmp.SnmpPDU{Name: "2.999.3", Type: gosnmp.Null}, varbind{typ: tagNull}},
	}
	for _, tc := range tests {
		t.Run(tc.pdu.Name, func(t *testing.T) {
			r, err := decodeResponse(gosnmpMessage(t, 77, tc.pdu), nil)
			if err != nil {
				t.Fatal(err)
			}
			if r.requestID != 77 || r.errorStatus != 0 || len(r.vbs) != 1 {
				t.Fatalf("response = %+v", r)
			}
			got := r.vbs[0]
			tc.want.name = oid(tc.pdu.Name)
			if tc.want.typ == tagOpaque {
				got.raw = nil // the wrapped encoding
			}
			if !bytes.Equal(got.name, tc.want.name) || got.typ != tc.want.typ || got.u != tc.want.u || got.i != tc.want.i ||
				got.f != tc.want.f || got.hasF != tc.want.hasF || !bytes.Equal(got.raw, tc.want.raw) {
				t.Errorf("decoded %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestDecodeResponseMalformed: every broken message is an error that says
// where, or a varbind marked bad; never a panic or a silent wrong value.
func TestDecodeResponseMalformed(t *testing.T) {
	good := gosnmpMessage(t, 1, gosnmp.SnmpPDU{Name: ".1.3.6.1.2.1.1.5.0", Type: gosnmp.OctetString, Value: []byte("sw1")})
	patch := func(at int, b byte) []byte {
		m := bytes.Clone(good)
		m[at] = b
		return m
	}
	versionAt := bytes.Index(good, []byte{tagInteger, 1, 1}) + 2
	tests := []struct {
		name, msg string
		in        []byte
	}{
		{"empty", "message", nil},
		{"truncated", "message", good[:len(good)-3]},
		{"trailing bytes", "after the message", append(bytes.Clone(good), 0)},
		{"version 3", "version 3", patch(versionAt, 3)},
		{"not a response", "PDU: tag 0xa0", bytes.Replace(good, []byte{pduResponse}, []byte{pduGet}, 1)},
		{"indefinite length", "bad length", patch(1, 0x80)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeResponse(tc.in, nil)
			if err == nil || !strings.Contains(err.Error(), tc.msg) || !strings.HasPrefix(err.Error(), "malformed response: ") {
				t.Fatalf("err = %v, want one about %q", err, tc.msg)
			}
		})
	}
	// A 5-byte Counter32 (over 32 bits) is a bad value, the rest is kept.
	name := mustOID("1.3.6.1.2.1.2.2.1.10.1")
	vb := tlv(tagSequence, tlv(tagOID, name), tlv(tagCounter32, []byte{1, 0, 0, 0, 0}))
	vb2 := tlv(tagSequence, tlv(tagOID, name), tlv(tagCounter32, []byte{0, 0xff, 0xff, 0xff, 0xff}))
	r, err := decodeResponse(rawResponse(5, vb, vb2), nil)
	if err != nil || len(r.vbs) != 2 || r.vbs[0].typ != tagBad || r.vbs[1].typ != tagCounter32 || r.vbs[1].u != math.MaxUint32 {
		t.Fatalf("over-wide Counter32: %+v, %v", r, err)
	}
	// A non-minimal subidentifier would break the bytewise order.
	bad := tlv(tagSequence, tlv(tagOID, []byte{0x2b, 0x80, 0x01}), tlv(tagNull, nil))
	if _, err := decodeResponse(rawResponse(5, bad), nil); err == nil || !strings.Contains(err.Error(), "varbind 1: name") {
		t.Fatalf("non-minimal OID: %v", err)
	}
}

// tlv encodes one element.
func tlv(tag byte, content ...[]byte) []byte {
	c := slices.Concat(content...)
	return append(appendHeader(nil, tag, len(c)), c...)
}

// rawResponse builds a v2c GetResponse from encoded varbinds.
func rawResponse(requestID int64, varbinds ...[]byte) []byte {
	ints := appendInt(appendInt(appendInt(nil, requestID), 0), 0)
	return tlv(tagSequence, appendInt(nil, snmpV2c), tlv(tagOctetString, []byte("public")),
		tlv(pduResponse, ints, tlv(tagSequence, varbinds...)))
}

// TestRequestEncoding: gosnmp decodes our Get and GetBulk requests to
// what we meant.
func TestRequestEncoding(t *testing.T) {
	oids := [][]byte{objSysUpTime, objIfNumber, mustOID(".1.3.6.1.2.1.31.1.1.1.6"), mustOID("1.3.6.1.4.1.2636.3.1.13.1.8.9.1.0.0")}
	long := strings.Repeat("x", 300) // a community that needs a long length
	for _, tc := range []struct {
		pdu       byte
		community string
		a, b      int
		want      gosnmp.PDUType
	}{
		{pduGetBulk, "public", 2, 25, gosnmp.GetBulkRequest},
		{pduGet, long, 0, 0, gosnmp.GetRequest},
	} {
		msg := appendRequest(nil, tc.pdu, tc.community, 123456, tc.a, tc.b, oids)
		g := &gosnmp.GoSNMP{Version: gosnmp.Version2c, Logger: gosnmp.NewLogger(nil)}
		pkt, err := g.SnmpDecodePacket(msg)
		if err != nil {
			t.Fatal(err)
		}
		if pkt.PDUType != tc.want || pkt.Community != tc.community || pkt.RequestID != 123456 || len(pkt.Variables) != len(oids) {
			t.Fatalf("decoded %+v", pkt)
		}
		if tc.pdu == pduGetBulk && (pkt.NonRepeaters != uint8(tc.a) || pkt.MaxRepetitions != uint32(tc.b)) {
			t.Errorf("non-repeaters %d, max-repetitions %d", pkt.NonRepeaters, pkt.MaxRepetitions)
		}
		for i, v := range pkt.Variables {
			want, _ := oidText(oids[i])
			if v.Name != "."+want || v.Type != gosnmp.Null {
				t.Errorf("varbind %d: %s %v, want .%s Null", i, v.Name, v.Type, want)
			}
		}
	}
}

// TestOIDEncodingOrder: compareOIDs orders encoded OIDs as the OIDs are
// ordered, which the walk relies on; text round-trips.
func TestOIDEncodingOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	component := func() uint64 {
		switch rng.IntN(4) {
		case 0:
			return uint64(rng.IntN(128))
		case 1:
			return uint64(rng.IntN(20000))
		case 2:
			return uint64(rng.Uint32())
		}
		return uint64(rng.IntN(3))
	}
	random := func() []uint64 {
		o := []uint64{uint64(rng.IntN(3)), uint64(rng.IntN(40))}
		for range rng.IntN(12) {
			o = append(o, component())
		}
		return o
	}
	text := func(o []uint64) string {
		parts := make([]string, len(o))
		for i, c := range o {
			parts[i] = strconv.FormatUint(c, 10)
		}
		return strings.Join(parts, ".")
	}
	for range 5000 {
		a, b := random(), random()
		if rng.IntN(3) == 0 { // share a prefix
			b = append(slices.Clone(a[:2+rng.IntN(len(a)-1)]), b[2:]...)
		}
		ea, eb := mustOID(text(a)), mustOID(text(b))
		if got, want := compareOIDs(ea, eb), slices.Compare(a, b); got != want {
			t.Fatalf("compare(%s, %s) = %d on encodings, %d on numbers", text(a), text(b), got, want)
		}
		if back, ok := oidText(ea); !ok || back != text(a) {
			t.Fatalf("oidText(encode(%s)) = %q, %v", text(a), back, ok)
		}
	}
	for _, bad := range []string{"", "1", "3.1", "1.40", "1.3.x", "1.3.4294967296", "1..3"} {
		if _, err := appendOID(nil, bad); err == nil {
			t.Errorf("appendOID(%q) accepted", bad)
		}
	}
}

// FuzzDecodeV2c checks the in-place decoder against gosnmp's on the same
// bytes: whatever both accept must give the same varbinds, and ours never
// panics.
//
//	go test -run '^$' -fuzz FuzzDecodeV2c -fuzztime 60s ./agent/poller/
func FuzzDecodeV2c(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s.bulk)
		f.Add(s.get)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		r, err := decodeResponse(msg, nil)
		if err != nil {
			return
		}
		g := &gosnmp.GoSNMP{Version: gosnmp.Version2c, Logger: gosnmp.NewLogger(nil)}
		pkt, gerr := g.SnmpDecodePacket(msg)
		if gerr != nil || pkt.PDUType != gosnmp.GetResponse || len(pkt.Variables) != len(r.vbs) {
			return // gosnmp is more lenient or stricter in places; only agreement is checked
		}
		for i := range r.vbs {
			got, want := r.vbs[i], fromPDUForTest(&pkt.Variables[i])
			if want.typ == tagBad || got.typ == tagBad || got.typ == tagOpaque {
				continue
			}
			if !bytes.Equal(got.name, want.name) || got.typ != want.typ || got.u != want.u || got.i != want.i ||
				(got.typ != tagIPAddress && !bytes.Equal(got.raw, want.raw)) {
				t.Fatalf("varbind %d: ours %+v, gosnmp's %+v (%s)", i, got, want, fmt.Sprint(pkt.Variables[i]))
			}
		}
	})
}

func fromPDUForTest(p *gosnmp.SnmpPDU) varbind {
	v, _ := fromPDU(p, nil)
	return v
}
