package poller

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/unet-project/unet/agent/derive"
)

// FuzzDecodeResponse feeds arbitrary bytes to a whole poll, as the answer
// of the device to its Get (get) and to every GetBulk (bulk): gosnmp's
// decoder, the walk, the varbind → Poll conversion and two rounds of
// derivation. A device that sends garbage must give a failed or partial
// poll, never a crash. The seed corpus is testdata/fuzz/FuzzDecodeResponse
// (regenerate it with UNET_WRITE_FUZZ_CORPUS=1 go test -run TestWriteFuzzCorpus).
//
//	go test -run '^$' -fuzz FuzzDecodeResponse -fuzztime 120s -fuzzminimizetime 2s ./agent/poller/
//
// (the default minimization of 60 s per new input shows as 0 execs/s).
func FuzzDecodeResponse(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s.get, s.bulk)
	}
	p, err := New(DefaultConfig(), Dependencies{})
	if err != nil {
		f.Fatal(err)
	}
	// Fuzz runs are sequential within a process: the hook reads the
	// current run's responses.
	var responses [][]byte
	replay(p, func() [][]byte { return responses })
	f.Fuzz(func(t *testing.T, get, bulk []byte) {
		responses = [][]byte{get, bulk}
		retries := 0
		tgt := Target{Node: "fuzz", Address: "127.0.0.1", Profile: v2cProfile(9)}
		tgt.Overrides.Retries = &retries
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		mem := newMemory()
		d := derive.New("fuzz")
		for i := 0; i < 2; i++ {
			r := p.poll(ctx, &tgt, mem, i == 0)
			if r.Reason == "panic" {
				t.Fatalf("poll panicked: %v", r.Poll.Err)
			}
			if (r.Poll.Err == nil) != (r.Reason == "") {
				t.Fatalf("reason %q with error %v", r.Reason, r.Poll.Err)
			}
			for _, ifc := range r.Poll.Interfaces {
				if ifc.Index <= 0 {
					t.Fatalf("interface with index %d", ifc.Index)
				}
			}
			r.Poll.Time = time.Unix(1_700_000_000+int64(i)*60, 0)
			out := d.Update(r.Poll)
			if _, err := json.Marshal(out); err != nil {
				t.Fatalf("derived output does not marshal: %v", err)
			}
		}
	})
}

// replay makes p's v2c polls talk to a replayConn answering with
// responses(), with request id 0 for every request (the canned responses
// carry 0).
func replay(p *Poller, responses func() [][]byte) {
	p.dial = func(context.Context, string) (net.Conn, error) {
		return &replayConn{responses: responses()}, nil
	}
	p.requestIDs = func() func() int32 { return func() int32 { return 0 } }
}

// replayConn is a device that answers each request with the next canned
// response (the last one repeats), and then stays silent.
type replayConn struct {
	responses [][]byte
	next      int
	pending   bool
}

func (c *replayConn) Write(b []byte) (int, error) {
	c.pending = true
	return len(b), nil
}

func (c *replayConn) Read(b []byte) (int, error) {
	if !c.pending {
		return 0, ioTimeout{}
	}
	c.pending = false
	r := c.responses[min(c.next, len(c.responses)-1)]
	c.next++
	return copy(b, r), nil
}

func (c *replayConn) Close() error                     { return nil }
func (c *replayConn) LocalAddr() net.Addr              { return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)} }
func (c *replayConn) RemoteAddr() net.Addr             { return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9} }
func (c *replayConn) SetDeadline(time.Time) error      { return nil }
func (c *replayConn) SetReadDeadline(time.Time) error  { return nil }
func (c *replayConn) SetWriteDeadline(time.Time) error { return nil }

type ioTimeout struct{}

func (ioTimeout) Error() string   { return "i/o timeout" }
func (ioTimeout) Timeout() bool   { return true }
func (ioTimeout) Temporary() bool { return true }

type fuzzSeed struct {
	name      string
	get, bulk []byte
}

// fuzzSeeds are well-formed answers (request id 0, as replay makes the
// poller ask) and a few broken ones.
func fuzzSeeds(tb testing.TB) []fuzzSeed {
	tb.Helper()
	msg := func(vars ...gosnmp.SnmpPDU) []byte {
		pkt := &gosnmp.SnmpPacket{Version: gosnmp.Version2c, Community: "public", PDUType: gosnmp.GetResponse, Variables: vars}
		b, err := pkt.MarshalMsg()
		if err != nil {
			tb.Fatal(err)
		}
		return b
	}
	system := msg(
		gosnmp.SnmpPDU{Name: oidSysDescr, Type: gosnmp.OctetString, Value: []byte("Cisco IOS Software")},
		gosnmp.SnmpPDU{Name: oidSysObjectID, Type: gosnmp.ObjectIdentifier, Value: ".1.3.6.1.4.1.9.1.2494"},
		gosnmp.SnmpPDU{Name: oidSysName, Type: gosnmp.OctetString, Value: []byte("sw1")},
	)
	// The first GetBulk of a full poll: the non-repeaters, then rows of
	// every column in request order.
	var cols []columnDef
	for _, set := range [][]columnDef{statusColumns, hcColumns, labelColumns, lldpColumns} {
		cols = append(cols, set...)
	}
	cols = append(cols, columnDef{id: colExtra, oid: builtinOIDs("cisco")[0].OID, table: tableExtra})
	value := func(c columnDef, row int) gosnmp.SnmpPDU {
		name := fmt.Sprintf("%s.%d", c.oid, row)
		if c.table == tableLLDPRem {
			name = fmt.Sprintf("%s.0.%d.1", c.oid, row)
		}
		switch c.id {
		case colIfDescr, colIfName, colIfAlias, colLldpRemChassisID, colLldpRemPortID, colLldpRemPortDesc, colLldpRemSysName, colLldpLocPortID, colLldpLocPortDesc:
			return gosnmp.SnmpPDU{Name: name, Type: gosnmp.OctetString, Value: []byte(fmt.Sprintf("Gi1/0/%d", row))}
		case colIfType, colIfAdminStatus, colIfOperStatus, colLldpRemChassisIDSubtype, colLldpRemPortIDSubtype, colExtra:
			return gosnmp.SnmpPDU{Name: name, Type: gosnmp.Integer, Value: row}
		case colIfHCInOctets, colIfHCOutOctets, colIfHCInUcastPkts, colIfHCOutUcastPkts:
			return gosnmp.SnmpPDU{Name: name, Type: gosnmp.Counter64, Value: uint64(row) << 40}
		case colIfLastChange, colIfCounterDiscontinuityTime:
			return gosnmp.SnmpPDU{Name: name, Type: gosnmp.TimeTicks, Value: uint32(row)}
		case colIfSpeed, colIfHighSpeed:
			return gosnmp.SnmpPDU{Name: name, Type: gosnmp.Gauge32, Value: uint(1000)}
		}
		return gosnmp.SnmpPDU{Name: name, Type: gosnmp.Counter32, Value: uint(row * 1000)}
	}
	bulkVars := []gosnmp.SnmpPDU{
		{Name: oidSysUpTime, Type: gosnmp.TimeTicks, Value: uint32(123456)},
		{Name: oidIfNumber, Type: gosnmp.Integer, Value: 2},
	}
	for row := 1; row <= 2; row++ {
		for _, c := range cols {
			bulkVars = append(bulkVars, value(c, row))
		}
	}
	for range cols {
		bulkVars = append(bulkVars, gosnmp.SnmpPDU{Name: ".1.3.6.1.6.3.1", Type: gosnmp.EndOfMibView})
	}
	bulk := msg(bulkVars...)
	// Values of the wrong type everywhere.
	var wrong []gosnmp.SnmpPDU
	for _, v := range bulkVars {
		switch v.Type {
		case gosnmp.OctetString:
			v.Type, v.Value = gosnmp.Counter64, uint64(7)
		default:
			v.Type, v.Value = gosnmp.OctetString, []byte("garbage")
		}
		wrong = append(wrong, v)
	}
	return []fuzzSeed{
		{"valid", system, bulk},
		{"wrong-types", system, msg(wrong...)},
		{"truncated", system, bulk[:len(bulk)/2]},
		{"empty", nil, nil},
		{"noSuchObject", msg(gosnmp.SnmpPDU{Name: oidSysDescr, Type: gosnmp.NoSuchObject}), msg(gosnmp.SnmpPDU{Name: oidSysUpTime, Type: gosnmp.EndOfMibView})},
		{"going-back", system, msg(append(bulkVars[:2:2], value(cols[0], 5), value(cols[1], 5), value(cols[0], 3))...)},
	}
}

// TestWriteFuzzCorpus regenerates testdata/fuzz/FuzzDecodeResponse from
// fuzzSeeds when UNET_WRITE_FUZZ_CORPUS is set.
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("UNET_WRITE_FUZZ_CORPUS") == "" {
		t.Skip("set UNET_WRITE_FUZZ_CORPUS=1 to regenerate the seed corpus")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzDecodeResponse")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, s := range fuzzSeeds(t) {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n[]byte(%s)\n", strconv.Quote(string(s.get)), strconv.Quote(string(s.bulk)))
		if err := os.WriteFile(filepath.Join(dir, "seed-"+s.name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestReplayedPoll checks the replay harness on the valid seed: a full
// poll decoded from canned responses, which the fuzzer then mutates.
func TestReplayedPoll(t *testing.T) {
	seeds := fuzzSeeds(t)
	p, _ := newTestPoller(t, DefaultConfig(), nil)
	replay(p, func() [][]byte { return [][]byte{seeds[0].get, seeds[0].bulk} })
	tgt := Target{Node: "replay", Address: "127.0.0.1", Profile: v2cProfile(9)}
	r := p.poll(context.Background(), &tgt, newMemory(), true)
	if r.Poll.Err != nil {
		t.Fatalf("%v (%s)", r.Poll.Err, r.Reason)
	}
	st := derive.New("replay").Update(r.Poll).State
	if st.SysName != "sw1" || st.Vendor != "cisco" || st.UptimeSeconds != 1234 || len(st.Interfaces) != 2 || len(st.LLDPNeighbors) != 2 {
		t.Fatalf("state = %+v", st)
	}
	ifc := st.Interfaces[1]
	if ifc.Name != "Gi1/0/2" || ifc.OperStatus != "down" || ifc.Type != "2" || ifc.SpeedBps != 1000 || st.Extra["cpu_5min.2"] != 2 {
		t.Errorf("interface = %+v, extra %v", ifc, st.Extra)
	}
	if r.BadValues != 0 || r.NonIncreasing != 0 {
		t.Errorf("bad values %d, non-increasing %d", r.BadValues, r.NonIncreasing)
	}
}
