package record

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/unet-project/unet/collector/policy/abi"
	"github.com/unet-project/unet/collector/policy/lang"
	"github.com/unet-project/unet/shared/model"
)

func f64(v float64) *float64 { return &v }

var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func fullSubject(t *testing.T) Subject {
	t.Helper()
	var custom map[string]any
	err := json.Unmarshal([]byte(`{"bgp": {"asn": 65001, "peers": ["a", "b"], "nested": [[1], {"x": 1}, null, 2, true]},
		"tier": "gold", "managed": true, "nothing": null, "obj": {"k": "v"}, "rack-unit": 4}`), &custom)
	if err != nil {
		t.Fatal(err)
	}
	n := model.Node{
		Name: "core1", Domain: "dc1.example.net", Vendor: "juniper", Model: "mx480",
		Role: "router", Lifecycle: "live", ManagementAddress: "10.0.0.1", Location: "r12",
		SNMPProfile: "default", Version: "22.4R1", Serial: "JN123", Tags: []string{"core", "bgp"},
		CustomData: custom,
	}
	n.Normalize()
	return Subject{
		Node: n,
		LocationPath: []model.Location{
			{Name: "eu", Kind: model.KindRegion},
			{Name: "dc1", Kind: model.KindSite, Parent: "eu"},
			{Name: "room-2", Kind: model.KindRoom, Parent: "dc1"},
		},
		Location: &model.Location{Name: "r12", Kind: model.KindRack, Parent: "room-2"},
		Derived: &model.DeviceState{
			Node: "core1", Reachable: true, SysName: "core1.dc1", SysDescr: "Juniper MX480",
			SysObjectID: "1.3.6.1.4.1.2636.1.1.1.2.25", Vendor: "juniper", UptimeSeconds: 86400,
			LastPoll: now.Add(-90 * time.Second),
			Interfaces: []model.InterfaceState{
				{Index: 1, Name: "ge-0/0/0", AdminStatus: model.IfUp, OperStatus: model.IfUp, SpeedBps: 1e9,
					Rates: model.Rates{InBps: f64(5e8), OutBps: f64(1e8), InErrorsRate: f64(0.5), OutErrorsRate: f64(0),
						InDiscardsRate: f64(2), OutDiscardsRate: f64(0.25)}},
				{Index: 2, Name: "ge-0/0/1", AdminStatus: model.IfUp, OperStatus: model.IfDown, SpeedBps: 1e9,
					Rates: model.Rates{InBps: f64(0), OutBps: f64(9e8), InErrorsRate: f64(3)}},
				{Index: 3, Name: "ge-0/0/2", AdminStatus: model.IfDown, OperStatus: model.IfDown, SpeedBps: 0,
					Rates: model.Rates{InBps: f64(1e12)}},
				{Index: 4, Name: "ge-0/0/3", AdminStatus: model.IfUp, OperStatus: model.IfLowerLayerDown},
			},
			LLDPNeighbors: []model.LLDPNeighbor{
				{LocalPort: "ge-0/0/0", SysName: "sw2"}, {LocalPort: "ge-0/0/1", SysName: "sw1"},
				{LocalPort: "ge-0/0/2", SysName: "sw1"}, {LocalPort: "ge-0/0/3"},
			},
			Extra: map[string]float64{"cpu_5min": 42, "ifInErrors.3": 7},
		},
		Now: now,
	}
}

func TestBuild(t *testing.T) {
	s := fullSubject(t)
	str, num, list, null := abi.String, abi.Number, abi.List, abi.Null()
	tests := []struct {
		path string
		want abi.Value
	}{
		{"node.name", str("core1")},
		{"node.fqdn", str("core1.dc1.example.net")},
		{"node.domain", str("dc1.example.net")},
		{"node.vendor", str("juniper")},
		{"node.model", str("mx480")},
		{"node.role", str("router")},
		{"node.lifecycle", str("live")},
		{"node.version", str("22.4R1")},
		{"node.serial", str("JN123")},
		{"node.management_address", str("10.0.0.1")},
		{"node.snmp_profile", str("default")},
		{"node.tags", list(str("bgp"), str("core"))},
		{"location.name", str("r12")},
		{"location.kind", str("rack")},
		{"location.path", str("eu/dc1/room-2/r12")},
		{"location.site", str("dc1")},
		{"derived.reachable", abi.Bool(true)},
		{"derived.uptime", num(86400)},
		{"derived.sys_name", str("core1.dc1")},
		{"derived.sys_descr", str("Juniper MX480")},
		{"derived.sys_object_id", str("1.3.6.1.4.1.2636.1.1.1.2.25")},
		{"derived.vendor", str("juniper")},
		{"derived.last_poll_age", num(90)},
		{"derived.interfaces.count", num(4)},
		{"derived.interfaces.up", num(1)},
		{"derived.interfaces.down", num(2)},
		{"derived.interfaces.admin_down", num(1)},
		{"derived.interfaces.errors_in_rate", num(3)},
		{"derived.interfaces.errors_out_rate", num(0)},
		{"derived.interfaces.discards_in_rate", num(2)},
		{"derived.interfaces.discards_out_rate", num(0.25)},
		{"derived.interfaces.max_in_utilization", num(50)}, // ge-0/0/2 has no speed
		{"derived.interfaces.max_out_utilization", num(90)},
		{"derived.lldp.neighbors", num(4)},
		{"derived.lldp.neighbor_names", list(str("sw1"), str("sw2"))},
		{"derived.extra.cpu_5min", num(42)},
		{"derived.extra.ifInErrors.3", num(7)},
		{"derived.extra.missing", null},
		{"custom_data.bgp.asn", num(65001)},
		{"custom_data.bgp.peers", list(str("a"), str("b"))},
		{"custom_data.bgp.nested", list(abi.Other(), abi.Other(), null, num(2), abi.Bool(true))},
		{"custom_data.bgp", abi.Other()},
		{"custom_data.obj", abi.Other()},
		{"custom_data.tier", str("gold")},
		{"custom_data.managed", abi.Bool(true)},
		{"custom_data.nothing", null},
		{"custom_data.missing", null},
		{"custom_data.bgp.asn.deeper", null},
		{"custom_data.rack-unit", num(4)},
		{"no.such.field", null},
	}
	fields := make([]abi.Field, len(tests))
	for i, tt := range tests {
		fields[i] = abi.Field{Path: tt.path}
	}
	rec := Build(fields, s)
	if len(rec) != len(tests) {
		t.Fatalf("%d values for %d fields", len(rec), len(fields))
	}
	for i, tt := range tests {
		if !reflect.DeepEqual(rec[i], tt.want) {
			t.Errorf("%s = %#v, want %#v", tt.path, rec[i], tt.want)
		}
	}
}

// TestBuildMissing: a bare node reads null wherever nothing is known, and
// an empty list for its tags.
func TestBuildMissing(t *testing.T) {
	s := Subject{Node: model.Node{Name: "n1", Role: "switch"}}
	var fields []abi.Field
	for _, f := range lang.Fields() {
		fields = append(fields, abi.Field{Path: concrete(f.Path), Type: f.Type})
	}
	rec := Build(fields, s)
	for i, f := range fields {
		want := abi.Null()
		switch f.Path {
		case "node.name", "node.fqdn":
			want = abi.String("n1")
		case "node.role":
			want = abi.String("switch")
		case "node.tags":
			want = abi.List()
		}
		if !reflect.DeepEqual(rec[i], want) {
			t.Errorf("%s = %#v, want %#v", f.Path, rec[i], want)
		}
	}
}

func TestBuildDerivedEdges(t *testing.T) {
	tests := []struct {
		name  string
		state model.DeviceState
		now   time.Time
		path  string
		want  abi.Value
	}{
		{"no rates", model.DeviceState{Interfaces: []model.InterfaceState{{Index: 1}}}, now, "derived.interfaces.errors_in_rate", abi.Null()},
		{"no speed", model.DeviceState{Interfaces: []model.InterfaceState{{Rates: model.Rates{InBps: f64(1)}}}}, now, "derived.interfaces.max_in_utilization", abi.Null()},
		{"no interfaces", model.DeviceState{}, now, "derived.interfaces.count", abi.Number(0)},
		{"no neighbours", model.DeviceState{}, now, "derived.lldp.neighbor_names", abi.List()},
		{"never polled", model.DeviceState{}, now, "derived.last_poll_age", abi.Null()},
		{"no clock", model.DeviceState{LastPoll: now}, time.Time{}, "derived.last_poll_age", abi.Null()},
		{"unreachable", model.DeviceState{}, now, "derived.reachable", abi.Bool(false)},
		{"empty sys_name", model.DeviceState{}, now, "derived.sys_name", abi.Null()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := Build([]abi.Field{{Path: tt.path}}, Subject{Derived: &tt.state, Now: tt.now})
			if !reflect.DeepEqual(rec[0], tt.want) {
				t.Errorf("%s = %#v, want %#v", tt.path, rec[0], tt.want)
			}
		})
	}
}

func TestBuildLocation(t *testing.T) {
	site := model.Location{Name: "dc1", Kind: model.KindSite}
	room := model.Location{Name: "room", Kind: model.KindRoom, Parent: "dc1"}
	region := model.Location{Name: "eu", Kind: model.KindRegion}
	tests := []struct {
		name               string
		loc                *model.Location
		path               []model.Location
		wantPath, wantSite any
	}{
		{"path with the location", nil, []model.Location{site, room}, "dc1/room", "dc1"},
		{"path and location", &room, []model.Location{site}, "dc1/room", "dc1"},
		{"path ending at the location", &room, []model.Location{site, room}, "dc1/room", "dc1"},
		{"location alone", &site, nil, "dc1", "dc1"},
		{"no site", &region, nil, "eu", nil},
		{"nothing", nil, nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := Build([]abi.Field{{Path: "location.path"}, {Path: "location.site"}},
				Subject{Location: tt.loc, LocationPath: tt.path})
			if got := Render(rec[0]); got != tt.wantPath {
				t.Errorf("path %#v, want %#v", got, tt.wantPath)
			}
			if got := Render(rec[1]); got != tt.wantSite {
				t.Errorf("site %#v, want %#v", got, tt.wantSite)
			}
		})
	}
}

func TestFromJSONGoTypes(t *testing.T) {
	tests := []struct {
		in   any
		want abi.Value
	}{
		{3, abi.Number(3)}, {int64(4), abi.Number(4)}, {uint32(5), abi.Number(5)}, {float32(1.5), abi.Number(1.5)},
		{json.Number("12"), abi.Number(12)}, {json.Number("x"), abi.Other()},
		{[]string{"a"}, abi.List(abi.String("a"))}, {map[string]string{}, abi.Other()}, {struct{}{}, abi.Other()},
	}
	for _, tt := range tests {
		if got := fromJSON(tt.in, true); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("fromJSON(%#v) = %#v, want %#v", tt.in, got, tt.want)
		}
	}
}

// TestCatalogueHandled: every field of the language's catalogue is one
// Build knows, so none reads null by mistake.
func TestCatalogueHandled(t *testing.T) {
	b := builder{s: fullSubject(t)}
	for _, f := range lang.Fields() {
		if _, ok := b.value(concrete(f.Path)); !ok {
			t.Errorf("catalogue field %s is not handled by Build", f.Path)
		}
	}
	if _, ok := b.value("node.nope"); ok {
		t.Error("node.nope reported as handled")
	}
}

// concrete turns the catalogue's family entries into a member.
func concrete(path string) string {
	if i := strings.IndexByte(path, '<'); i >= 0 {
		return path[:i] + "x"
	}
	return path
}

func TestRender(t *testing.T) {
	tests := []struct {
		in   abi.Value
		want string
	}{
		{abi.Null(), `null`},
		{abi.Bool(true), `true`},
		{abi.Bool(false), `false`},
		{abi.Number(65001), `65001`},
		{abi.Number(-0.5), `-0.5`},
		{abi.String("a\"b"), `"a\"b"`},
		{abi.List(), `[]`},
		{abi.List(abi.String("a"), abi.Number(1), abi.Null(), abi.Other()), `["a",1,null,"(object)"]`},
		{abi.Other(), `"(object)"`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(Render(tt.in))
		if err != nil || string(b) != tt.want {
			t.Errorf("Render(%#v) = %s, %v; want %s", tt.in, b, err, tt.want)
		}
	}
}
