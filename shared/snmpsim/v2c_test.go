package snmpsim

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/unet-project/unet/shared/model"
)

// Object names used across the tests.
const (
	oidSysDescr     = ".1.3.6.1.2.1.1.1.0"
	oidSysObjectID  = ".1.3.6.1.2.1.1.2.0"
	oidSysUpTime    = ".1.3.6.1.2.1.1.3.0"
	oidSysName      = ".1.3.6.1.2.1.1.5.0"
	oidSysServices  = ".1.3.6.1.2.1.1.7.0"
	oidIfNumber     = ".1.3.6.1.2.1.2.1.0"
	oidIfTable      = ".1.3.6.1.2.1.2.2"
	oidIfXTable     = ".1.3.6.1.2.1.31.1.1"
	oidIfDescr      = ".1.3.6.1.2.1.2.2.1.2"
	oidIfOperStatus = ".1.3.6.1.2.1.2.2.1.8"
	oidIfLastChange = ".1.3.6.1.2.1.2.2.1.9"
	oidIfInOctets   = ".1.3.6.1.2.1.2.2.1.10"
	oidIfName       = ".1.3.6.1.2.1.31.1.1.1.1"
	oidIfHCInOctets = ".1.3.6.1.2.1.31.1.1.1.6"
	oidIfHighSpeed  = ".1.3.6.1.2.1.31.1.1.1.15"
	oidEntSerial    = ".1.3.6.1.2.1.47.1.1.1.1.11.1"
	oidLLDPRem      = ".1.0.8802.1.1.2.1.4.1"
)

// vendorConfig is testConfig with every device of one vendor and a clock
// the test controls.
func vendorConfig(base string, devices int, v model.Vendor) (Config, *fakeClock) {
	cfg := testConfig(base, devices)
	cfg.Profile.Vendor = v
	clk := newFakeClock()
	cfg.Clock = clk.Now
	return cfg, clk
}

func TestSystemGroup(t *testing.T) {
	t.Parallel()
	want := map[model.Vendor]struct {
		descr, objectID string
		services        int
	}{
		model.VendorCisco:   {"Cisco IOS Software", ".1.3.6.1.4.1.9.1.2494", 6},
		model.VendorJuniper: {"Juniper Networks, Inc. mx204", ".1.3.6.1.4.1.2636.1.1.1.2.151", 4},
		model.VendorArista:  {"Arista Networks EOS", ".1.3.6.1.4.1.30065.1.3011.7280.1848", 6},
		model.VendorLinux:   {"Linux sim-00001 6.1.0", ".1.3.6.1.4.1.8072.3.2.10", 72},
	}
	for i, v := range []model.Vendor{model.VendorCisco, model.VendorJuniper, model.VendorArista, model.VendorLinux} {
		t.Run(string(v), func(t *testing.T) {
			t.Parallel()
			cfg, _ := vendorConfig(fmt.Sprintf("127.1.%d.1", 10+i), 2, v)
			s := startSim(t, cfg)
			info := s.DeviceAt(0).Info()
			g := v2(t, s, 0, "public")
			res, err := g.Get([]string{oidSysDescr, oidSysObjectID, oidSysUpTime, oidSysName, oidSysServices, oidIfNumber,
				".1.3.6.1.2.1.1.4.0", ".1.3.6.1.2.1.1.6.0"})
			if err != nil {
				t.Fatal(err)
			}
			vb := res.Variables
			if d := string(vb[0].Value.([]byte)); !strings.HasPrefix(d, want[v].descr) {
				t.Errorf("sysDescr = %q, want it to start with %q", d, want[v].descr)
			}
			if vb[1].Type != gosnmp.ObjectIdentifier || vb[1].Value != want[v].objectID {
				t.Errorf("sysObjectID = %v %v, want %s", vb[1].Type, vb[1].Value, want[v].objectID)
			}
			if vb[2].Type != gosnmp.TimeTicks || vb[2].Value.(uint32) < 360000 {
				t.Errorf("sysUpTime = %v %v, want TimeTicks of at least an hour", vb[2].Type, vb[2].Value)
			}
			if string(vb[3].Value.([]byte)) != "sim-00001" || info.SysName != "sim-00001" || info.Name != "sim-00001" {
				t.Errorf("sysName = %q, info = %+v", vb[3].Value, info)
			}
			if vb[4].Value != want[v].services {
				t.Errorf("sysServices = %v, want %d", vb[4].Value, want[v].services)
			}
			if vb[5].Type != gosnmp.Integer || vb[5].Value != 48 || info.Interfaces != 48 {
				t.Errorf("ifNumber = %v %v (info %d), want 48", vb[5].Type, vb[5].Value, info.Interfaces)
			}
			if string(vb[6].Value.([]byte)) != "noc@example.net" || string(vb[7].Value.([]byte)) != "unet-snmpsim" {
				t.Errorf("sysContact, sysLocation = %q, %q", vb[6].Value, vb[7].Value)
			}
			if info.Vendor != v {
				t.Errorf("info.Vendor = %s, want %s", info.Vendor, v)
			}
			serial := getOne(t, g, oidEntSerial)
			if v == model.VendorLinux {
				if serial.Type != gosnmp.NoSuchObject {
					t.Errorf("Net-SNMP on Linux has no ENTITY-MIB, got %v %v", serial.Type, serial.Value)
				}
			} else if string(serial.Value.([]byte)) != info.Serial || info.Serial == "" {
				t.Errorf("entPhysicalSerialNum = %q, info.Serial = %q", serial.Value, info.Serial)
			}
		})
	}
}

func TestGetExceptions(t *testing.T) {
	t.Parallel()
	cfg, _ := vendorConfig("127.1.20.1", 1, model.VendorCisco)
	s := startSim(t, cfg)
	g := v2(t, s, 0, "public")
	for _, c := range []struct {
		oid  string
		want gosnmp.Asn1BER
	}{
		{".1.3.6.1.2.1.1.1.1", gosnmp.NoSuchInstance},          // sysDescr.1: the object exists, not the instance
		{".1.3.6.1.2.1.1.1", gosnmp.NoSuchInstance},            // the object itself
		{".1.3.6.1.2.1.1.1.0.7", gosnmp.NoSuchInstance},        // below the scalar's instance
		{".1.3.6.1.2.1.2.2.1.2.49", gosnmp.NoSuchInstance},     // ifDescr of an ifIndex the device lacks
		{".1.3.6.1.2.1.2.2.1.12.1", gosnmp.NoSuchObject},       // ifInNUcastPkts: not implemented
		{".1.3.6.1.2.1.2.2.1", gosnmp.NoSuchObject},            // ifEntry: not an object type
		{".1.3.6.1.4.1.9.9.999.0", gosnmp.NoSuchObject},        // a vendor MIB
		{".1.3.6.1.2.1.47.1.1.1.1.2.2", gosnmp.NoSuchInstance}, // entPhysicalDescr of a second entity
	} {
		got := getOne(t, g, c.oid)
		if got.Type != c.want || got.Name != c.oid {
			t.Errorf("get %s = %s %v %v, want %v", c.oid, got.Name, got.Type, got.Value, c.want)
		}
	}
}

func TestGetNextOrder(t *testing.T) {
	t.Parallel()
	cfg, _ := vendorConfig("127.1.21.1", 2, model.VendorArista)
	s := startSim(t, cfg)
	g := v2(t, s, 0, "public")
	for _, c := range []struct{ from, want string }{
		{".0.0", ".1.0.8802.1.1.2.1.4.1.1.4.0.45.1"},          // LLDP sorts first (1.0 < 1.3)
		{".1.3", ".1.3.6.1.2.1.1.1.0"},                        // sysDescr.0
		{oidSysDescr, oidSysObjectID},                         // scalar to scalar
		{oidSysServices, oidIfNumber},                         // system group to interfaces
		{oidIfNumber, ".1.3.6.1.2.1.2.2.1.1.1"},               // into ifTable
		{".1.3.6.1.2.1.2.2.1.1.48", ".1.3.6.1.2.1.2.2.1.2.1"}, // end of one column to the next
		{".1.3.6.1.2.1.2.2.1.1.4294967295", ".1.3.6.1.2.1.2.2.1.2.1"},
		{".1.3.6.1.2.1.2.2.1.11.48", ".1.3.6.1.2.1.2.2.1.13.1"}, // a gap in the columns
		{".1.3.6.1.2.1.2.2.1.20.48", ".1.3.6.1.2.1.31.1.1.1.1.1"},
		{".1.3.6.1.2.1.31.1.1.1.19.48", ".1.3.6.1.2.1.47.1.1.1.1.2.1"},
	} {
		res, err := g.GetNext([]string{c.from})
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Variables[0].Name; got != c.want {
			t.Errorf("getnext %s = %s, want %s", c.from, got, c.want)
		}
	}
	res, err := g.GetNext([]string{".1.3.6.1.2.1.47.1.1.1.1.13.1", ".2.0"})
	if err != nil {
		t.Fatal(err)
	}
	for i, vb := range res.Variables {
		if vb.Type != gosnmp.EndOfMibView {
			t.Errorf("getnext past the end: varbind %d = %s %v, want endOfMibView", i, vb.Name, vb.Type)
		}
	}
}

func TestGetBulk(t *testing.T) {
	t.Parallel()
	cfg, _ := vendorConfig("127.1.22.1", 2, model.VendorJuniper)
	s := startSim(t, cfg)
	g := v2(t, s, 0, "public")

	// Two non-repeaters, two repeaters, five repetitions: 2 + 5×2 varbinds,
	// the repeaters interleaved row by row.
	res, err := g.GetBulk([]string{oidSysUpTime, oidSysName, oidIfDescr, oidIfHCInOctets}, 2, 5)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, vb := range res.Variables {
		names = append(names, vb.Name)
	}
	want := []string{".1.3.6.1.2.1.1.4.0", ".1.3.6.1.2.1.1.6.0"}
	for i := 1; i <= 5; i++ {
		want = append(want, fmt.Sprintf("%s.%d", oidIfDescr, 500+i), fmt.Sprintf("%s.%d", oidIfHCInOctets, 500+i))
	}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("getbulk names:\n got %v\nwant %v", names, want)
	}
	if res.Variables[3].Type != gosnmp.Counter64 || string(res.Variables[2].Value.([]byte)) != "xe-0/1/0" {
		t.Errorf("getbulk values: %v %v", res.Variables[2], res.Variables[3])
	}

	// Non-repeaters beyond the varbinds count as all; max-repetitions 0
	// returns only them.
	res, err = g.GetBulk([]string{oidSysUpTime, oidSysName}, 9, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Variables) != 2 || res.Variables[1].Name != ".1.3.6.1.2.1.1.6.0" {
		t.Errorf("getbulk with only non-repeaters: %v", res.Variables)
	}

	// Near the end of the MIB: the entries left, then one round of
	// endOfMibView named after the last instance, then nothing more.
	last := ".1.3.6.1.2.1.47.1.1.1.1.13.1"
	res, err = g.GetBulk([]string{".1.3.6.1.2.1.47.1.1.1.1.2.1", ".2.9"}, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(res.Variables)
	if len(res.Variables) != 6 ||
		res.Variables[0].Name != ".1.3.6.1.2.1.47.1.1.1.1.11.1" || res.Variables[1].Type != gosnmp.EndOfMibView || res.Variables[1].Name != ".2.9" ||
		res.Variables[2].Name != last || res.Variables[4].Type != gosnmp.EndOfMibView || res.Variables[4].Name != last ||
		res.Variables[5].Type != gosnmp.EndOfMibView {
		t.Errorf("getbulk at the end of the MIB: %s", got)
	}
}

func TestGetBulkFitsResponseSize(t *testing.T) {
	t.Parallel()
	cfg, _ := vendorConfig("127.1.23.1", 1, model.VendorCisco)
	cfg.Profile.MaxResponseSize = 1472
	s := startSim(t, cfg)
	g := v2(t, s, 0, "public")
	full, err := g.GetBulk([]string{oidIfDescr}, 0, 30)
	if err != nil {
		t.Fatal(err)
	}
	if len(full.Variables) != 30 {
		t.Fatalf("30 ifDescr fit in 1472 bytes, got %d varbinds", len(full.Variables))
	}
	// 10 columns × 48 rows do not: the response is cut at a varbind
	// boundary, keeping the order, below the size.
	cols := []string{oidIfDescr, oidIfInOctets, oidIfHCInOctets, oidIfName, oidIfOperStatus,
		oidIfLastChange, oidIfHighSpeed, ".1.3.6.1.2.1.2.2.1.5", ".1.3.6.1.2.1.2.2.1.6", ".1.3.6.1.2.1.31.1.1.1.18"}
	pkt := encodeRequest(t, gosnmp.GetBulkRequest, cols, 0, 48)
	resp := exchange(t, s, 0, pkt)
	if len(resp) > 1472 || len(resp) < 1300 {
		t.Errorf("response of %d bytes, want close to but not above 1472", len(resp))
	}
	p := decodeResponse(t, resp)
	if n := len(p.Variables); n == 0 || n >= 480 {
		t.Errorf("truncated getbulk has %d varbinds", n)
	}
	for i, vb := range p.Variables {
		row, col := i/len(cols)+1, i%len(cols)
		if want := fmt.Sprintf("%s.%d", cols[col], row); vb.Name != want {
			t.Fatalf("varbind %d = %s, want %s", i, vb.Name, want)
		}
	}

	// Get and GetNext answer tooBig with no varbinds.
	var many []string
	for i := 1; i <= 48; i++ {
		many = append(many, fmt.Sprintf("%s.%d", oidIfDescr, i), fmt.Sprintf("%s.%d", oidIfName, i))
	}
	g.MaxOids = len(many)
	res, err := g.Get(many)
	if err != nil {
		t.Fatal(err)
	}
	if res.Error != gosnmp.TooBig || len(res.Variables) != 0 {
		t.Errorf("get of 96 varbinds in 1472 bytes: error %v, %d varbinds; want tooBig and none", res.Error, len(res.Variables))
	}
}

func TestSetIsRefused(t *testing.T) {
	t.Parallel()
	cfg, _ := vendorConfig("127.1.24.1", 1, model.VendorCisco)
	s := startSim(t, cfg)
	g := v2(t, s, 0, "private-or-not")
	g.Community = "public"
	res, err := g.Set([]gosnmp.SnmpPDU{{Name: oidSysName, Type: gosnmp.OctetString, Value: "evil"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Error != gosnmp.NoAccess || res.ErrorIndex != 1 || len(res.Variables) != 1 || res.Variables[0].Name != oidSysName {
		t.Errorf("set: %v index %d %v, want noAccess on varbind 1, echoed", res.Error, res.ErrorIndex, res.Variables)
	}
}

func TestWrongCommunityIsIgnored(t *testing.T) {
	t.Parallel()
	cfg, _ := vendorConfig("127.1.25.1", 2, model.VendorCisco)
	s := startSim(t, cfg)
	g := v2(t, s, 1, "secret")
	g.Timeout = 200 * time.Millisecond
	if _, err := g.Get([]string{oidSysName}); err == nil || !strings.Contains(err.Error(), "timeout") {
		t.Fatalf("get with a wrong community: %v, want a timeout", err)
	}
	d := s.DeviceAt(1).Stats()
	if d.Requests != 1 || d.AuthFailures != 1 || d.Responses != 0 {
		t.Errorf("device stats %+v, want 1 request, 1 auth failure, no response", d)
	}
	if st := s.Stats(); st.AuthFailures != 1 {
		t.Errorf("simulator stats %+v, want 1 auth failure", st)
	}
	if r := s.Recent(); len(r) != 1 || r[0].Outcome != OutcomeBadCommunity || r[0].PDU != PDUGet {
		t.Errorf("request log %+v", r)
	}
}

// TestWalkTables walks ifTable and ifXTable as a poller would and checks
// the rows: against the simulator's own model (same instant: the clock is
// stopped), and against what the MIBs require.
func TestWalkTables(t *testing.T) {
	t.Parallel()
	for i, v := range []model.Vendor{model.VendorCisco, model.VendorJuniper, model.VendorArista, model.VendorLinux} {
		t.Run(string(v), func(t *testing.T) {
			t.Parallel()
			cfg, _ := vendorConfig(fmt.Sprintf("127.1.%d.1", 30+i), 3, v)
			s := startSim(t, cfg)
			g := v2(t, s, 1, "public")
			for _, root := range []string{oidIfTable, oidIfXTable, oidLLDPRem} {
				got := walk(t, g, root)
				want := modelWalk(t, s, 1, root)
				if len(got) != len(want) {
					t.Fatalf("walk %s: %d varbinds, model has %d", root, len(got), len(want))
				}
				for j := range got {
					if fmt.Sprint(got[j]) != fmt.Sprint(want[j]) {
						t.Fatalf("walk %s: varbind %d = %v, model says %v", root, j, got[j], want[j])
					}
				}
			}
			checkIfTable(t, v, walk(t, g, oidIfTable), walk(t, g, oidIfXTable))
		})
	}
}

// checkIfTable checks MIB invariants of a walked ifTable/ifXTable.
func checkIfTable(t *testing.T, v model.Vendor, ifTable, ifXTable []gosnmp.SnmpPDU) {
	t.Helper()
	rows := map[string]map[int]gosnmp.SnmpPDU{} // column OID → row → value
	var order []int
	for _, vb := range append(ifTable, ifXTable...) {
		i := strings.LastIndexByte(vb.Name, '.')
		col := vb.Name[:i]
		var idx int
		fmt.Sscan(vb.Name[i+1:], &idx)
		if rows[col] == nil {
			rows[col] = map[int]gosnmp.SnmpPDU{}
		}
		rows[col][idx] = vb
		if col == ".1.3.6.1.2.1.2.2.1.1" {
			order = append(order, idx)
		}
	}
	if len(rows) != 17+16 {
		t.Errorf("%d columns, want 17 in ifTable and 16 in ifXTable", len(rows))
	}
	base := map[model.Vendor]int{model.VendorJuniper: 500}[v]
	names := map[model.Vendor]func(slot int) (string, string){
		model.VendorCisco: func(s int) (string, string) {
			if s >= 44 {
				return fmt.Sprintf("TenGigabitEthernet1/1/%d", s-43), fmt.Sprintf("Te1/1/%d", s-43)
			}
			return fmt.Sprintf("GigabitEthernet1/0/%d", s+1), fmt.Sprintf("Gi1/0/%d", s+1)
		},
		model.VendorJuniper: func(s int) (string, string) {
			if s >= 44 {
				return fmt.Sprintf("et-0/0/%d", s-44), fmt.Sprintf("et-0/0/%d", s-44)
			}
			return fmt.Sprintf("xe-0/1/%d", s), fmt.Sprintf("xe-0/1/%d", s)
		},
		model.VendorArista: func(s int) (string, string) {
			if s >= 44 {
				return fmt.Sprintf("Ethernet%d/1", s+1), fmt.Sprintf("Ethernet%d/1", s+1)
			}
			return fmt.Sprintf("Ethernet%d", s+1), fmt.Sprintf("Ethernet%d", s+1)
		},
		model.VendorLinux: func(s int) (string, string) {
			if s == 0 {
				return "lo", "lo"
			}
			return fmt.Sprintf("eth%d", s-1), fmt.Sprintf("eth%d", s-1)
		},
	}[v]
	if len(order) != 48 {
		t.Fatalf("%d rows, want 48", len(order))
	}
	for slot, idx := range order {
		if idx != base+slot+1 || rows[".1.3.6.1.2.1.2.2.1.1"][idx].Value != idx {
			t.Errorf("row %d has ifIndex %d", slot, idx)
		}
		descr, name := names(slot)
		if got := string(rows[oidIfDescr][idx].Value.([]byte)); got != descr {
			t.Errorf("ifDescr.%d = %q, want %q", idx, got, descr)
		}
		if got := string(rows[oidIfName][idx].Value.([]byte)); got != name {
			t.Errorf("ifName.%d = %q, want %q", idx, got, name)
		}
		hc := rows[oidIfHCInOctets][idx].Value.(uint64)
		if c32 := rows[oidIfInOctets][idx].Value.(uint); uint64(c32) != hc&0xffffffff {
			t.Errorf("ifInOctets.%d = %d, not the low 32 bits of ifHCInOctets %d", idx, c32, hc)
		}
		speed := rows[".1.3.6.1.2.1.2.2.1.5"][idx].Value.(uint)
		high := rows[oidIfHighSpeed][idx].Value.(uint)
		if uint64(speed) != min(uint64(high)*1_000_000, 0xffffffff) {
			t.Errorf("ifSpeed.%d = %d and ifHighSpeed = %d disagree", idx, speed, high)
		}
		admin := rows[".1.3.6.1.2.1.2.2.1.7"][idx].Value
		oper := rows[oidIfOperStatus][idx].Value
		if admin == 2 && oper != 2 || admin != 1 && admin != 2 || oper != 1 && oper != 2 {
			t.Errorf("ifAdminStatus.%d = %v, ifOperStatus = %v", idx, admin, oper)
		}
		if oper == 2 && hc != 0 {
			t.Errorf("interface %d is down but has carried %d octets", idx, hc)
		}
		if rows[".1.3.6.1.2.1.31.1.1.1.7"][idx].Value.(uint64) > hc {
			t.Errorf("interface %d has more packets than octets", idx)
		}
	}
}

// modelWalk returns what device i serves under root, computed by the
// simulator without the network, decoded by gosnmp.
func modelWalk(t *testing.T, s *Simulator, i int, root string) []gosnmp.SnmpPDU {
	t.Helper()
	prefix := mustOID(root)
	d := s.DeviceAt(i)
	var v view
	v.reset(s, d, s.clock())
	var out []gosnmp.SnmpPDU
	for j := range v.lay.entries {
		e := &v.lay.entries[j]
		if commonPrefix(e.oid, prefix) < len(prefix) {
			continue
		}
		msg, m := beginTLV(nil)
		msg = append(msg, tagInteger, 1, 1)
		msg = appendString(msg, tagOctetString, "public")
		msg, pm := beginTLV(msg)
		msg = append(msg, tagInteger, 1, 1, tagInteger, 1, 0, tagInteger, 1, 0)
		msg, vm := beginTLV(msg)
		msg = appendEntryVarbind(msg, &v, e)
		msg = endTLV(msg, vm, tagSequence)
		msg = endTLV(msg, pm, byte(PDUResponse))
		msg = endTLV(msg, m, tagSequence)
		out = append(out, decodeResponse(t, msg).Variables...)
	}
	return out
}

// encodeRequest marshals a v2c request with gosnmp.
func encodeRequest(t *testing.T, typ gosnmp.PDUType, oids []string, nonRepeaters uint8, maxRepetitions uint32) []byte {
	t.Helper()
	g := &gosnmp.GoSNMP{Version: gosnmp.Version2c, Community: "public", Logger: gosnmp.NewLogger(nil)}
	var pdus []gosnmp.SnmpPDU
	for _, o := range oids {
		pdus = append(pdus, gosnmp.SnmpPDU{Name: o, Type: gosnmp.Null})
	}
	pkt, err := g.SnmpEncodePacket(typ, pdus, nonRepeaters, maxRepetitions)
	if err != nil {
		t.Fatal(err)
	}
	return pkt
}

// decodeResponse decodes a v2c message with gosnmp.
func decodeResponse(t testing.TB, msg []byte) *gosnmp.SnmpPacket {
	t.Helper()
	g := &gosnmp.GoSNMP{Version: gosnmp.Version2c, Community: "public", Logger: gosnmp.NewLogger(nil)}
	p, err := g.SnmpDecodePacket(msg)
	if err != nil {
		t.Fatalf("decoding % x: %v", msg, err)
	}
	return p
}

// exchange sends one datagram to device i and returns the answer.
func exchange(t *testing.T, s *Simulator, i int, pkt []byte) []byte {
	t.Helper()
	resp, ok := tryExchange(t, s, i, pkt, 2*time.Second)
	if !ok {
		t.Fatalf("no answer from device %d", i)
	}
	return resp
}

// tryExchange is exchange that may time out.
func tryExchange(t *testing.T, s *Simulator, i int, pkt []byte, timeout time.Duration) ([]byte, bool) {
	t.Helper()
	return tryExchangeAddr(t, netip.AddrPortFrom(s.DeviceAt(i).Info().Addr, uint16(s.Port())), pkt, timeout)
}

// tryExchangeAddr sends one datagram to addr and waits for an answer.
func tryExchangeAddr(t *testing.T, addr netip.AddrPort, pkt []byte, timeout time.Duration) ([]byte, bool) {
	t.Helper()
	c, err := net.Dial("udp4", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(pkt); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(timeout))
	buf := make([]byte, 65536)
	n, err := c.Read(buf)
	if err != nil {
		return nil, false
	}
	return buf[:n], true
}
