package main

import (
	"encoding/json"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/unet-project/unet/shared/apiclient"
	"github.com/unet-project/unet/shared/model"
)

// In-process tests of the history commands against a fake API that answers
// with the documented JSON; e2e_history_test.go runs the binary against the
// real collector on ClickHouse.

// historyFake serves an interface history of n points, one a minute from
// 10:00 UTC, with the interface down at the third.
func historyFake(t *testing.T, n int) *fakeAPI {
	t.Helper()
	f := newFake(t)
	base := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	points := make([]map[string]any, n)
	for i := range points {
		p := map[string]any{"ts": base.Add(time.Duration(i) * time.Minute), "in_bps": 1e6 * float64(i+1), "out_bps": 5e5 * float64(i+1),
			"in_bps_max": 2e6 * float64(i+1), "out_bps_max": 1e6 * float64(i+1), "oper_status": "up", "oper_up": 1}
		if i == 2 {
			p["oper_status"], p["oper_up"], p["in_bps"], p["out_bps"] = "down", 0, nil, nil
		}
		points[i] = p
	}
	f.on("GET /api/v1/history/interfaces", reply(200, map[string]any{
		"node": "r1", "ifname": "Gi0/0/1", "resolution": "raw", "step": "1m0s", "points": points,
	}))
	return f
}

func TestHistoryInterfaceJSON(t *testing.T) {
	f := historyFake(t, 5)
	r := f.cli("history", "interface", "r1", "Gi0/0/1", "--since", "1h", "--step", "1m", "-o", "json")
	r.wantCode(t, 0)
	q, _ := url.ParseQuery(f.last().Query)
	from, err1 := time.Parse(time.RFC3339Nano, q.Get("from"))
	to, err2 := time.Parse(time.RFC3339Nano, q.Get("to"))
	if f.last().Path != "/api/v1/history/interfaces" || q.Get("node") != "r1" || q.Get("ifname") != "Gi0/0/1" ||
		q.Get("step") != "1m0s" || err1 != nil || err2 != nil || to.Sub(from) != time.Hour || time.Since(to) > time.Minute {
		t.Errorf("request: %s?%s", f.last().Path, f.last().Query)
	}
	var got []map[string]any
	if err := json.Unmarshal([]byte(r.out), &got); err != nil || len(got) != 5 {
		t.Fatalf("output: %v\n%s", err, r.out)
	}
	for i, p := range got {
		if keys := sortedKeys(p); !reflect.DeepEqual(keys, []string{"in_bps", "oper_status", "out_bps", "ts"}) {
			t.Errorf("point %d has keys %v", i, keys)
		}
	}
	if got[0]["ts"] != "2026-11-26T10:00:00Z" || got[0]["in_bps"] != 1e6 || got[0]["out_bps"] != 5e5 || got[0]["oper_status"] != "up" {
		t.Errorf("first point: %v", got[0])
	}
	if got[2]["in_bps"] != nil || got[2]["oper_status"] != "down" {
		t.Errorf("a point without rates: %v", got[2])
	}

	r = f.cli("history", "interface", "r1", "Gi0/0/1", "--since", "1h", "-o", "csv")
	r.wantCode(t, 0)
	lines := strings.Split(strings.TrimSpace(r.out), "\n")
	if len(lines) != 6 || lines[0] != "ts,in_bps,out_bps,oper_status" || lines[1] != "2026-11-26T10:00:00Z,1000000,500000,up" || lines[3] != "2026-11-26T10:02:00Z,,,down" {
		t.Errorf("csv:\n%s", r.out)
	}
	if q, _ := url.ParseQuery(f.last().Query); q.Has("step") {
		t.Errorf("a step was sent without --step: %s", f.last().Query)
	}
}

func sortedKeys(m map[string]any) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func TestHistoryInterfaceTable(t *testing.T) {
	f := historyFake(t, 60)
	inv := f.invocation()
	inv.env["COLUMNS"] = "100"
	r := inv.run("history", "interface", "r1", "Gi0/0/1", "--from", "2026-11-26T10:00:00Z", "--to", "2026-11-26T11:00:00Z")
	r.wantCode(t, 0)
	for _, want := range []string{
		"r1 Gi0/0/1  ", "(60 points of 1m)",
		"60 Mbit/s┤", "  0 bit/s", "── in   ━━ out", // the plot, its y axis in bit/s
		"TIME ", "IN ", "OUT ", "OPER", // the table
		"1.5 Mbit/s", "750 kbit/s", "down→up", // grouped: 60 points in 30 rows of 2
		"(60 points in 30 rows: each row averages 2 consecutive points",
	} {
		if !strings.Contains(r.out, want) {
			t.Errorf("table output lacks %q:\n%s", want, r.out)
		}
	}
	for i, line := range strings.Split(r.out, "\n") {
		// The plot fits COLUMNS; the title and the note may be longer.
		if strings.ContainsAny(line, "┤┼└") && len([]rune(line)) > 100 {
			t.Errorf("line %d is wider than COLUMNS: %q", i, line)
		}
	}
	if q, _ := url.ParseQuery(f.last().Query); q.Get("from") != "2026-11-26T10:00:00Z" || q.Get("to") != "2026-11-26T11:00:00Z" {
		t.Errorf("range sent: %s", f.last().Query)
	}

	// Few points: one row each, and no note.
	f = historyFake(t, 4)
	r = f.cli("history", "interface", "r1", "Gi0/0/1")
	r.wantCode(t, 0)
	if strings.Count(r.out, " up\n")+strings.Count(r.out, " down\n") != 4 || strings.Contains(r.out, "averages") {
		t.Errorf("short table:\n%s", r.out)
	}
}

func TestHistoryInterfaceEmpty(t *testing.T) {
	f := newFake(t)
	f.on("GET /api/v1/history/interfaces", reply(200, map[string]any{"resolution": "raw", "step": "0s", "points": []any{}}))
	r := f.cli("history", "interface", "r1", "Gi0/0/1", "-o", "json")
	r.wantCode(t, 0)
	if strings.TrimSpace(r.out) != "[]" {
		t.Errorf("json of nothing: %q", r.out)
	}
	r = f.cli("history", "interface", "r1", "Gi0/0/1")
	r.wantCode(t, 0)
	if !strings.Contains(r.err, "No samples in the range") {
		t.Errorf("table of nothing: %+v", r)
	}
}

func TestHistoryUsageErrors(t *testing.T) {
	f := newFake(t)
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"history", "interface", "r1"}, []string{"needs a NODE and an IFNAME"}},
		{[]string{"history", "interface", "r1", "Gi0/0/1", "--since", "yesterday"}, []string{"--since", `"yesterday" is not a duration`}},
		{[]string{"history", "interface", "r1", "Gi0/0/1", "--step", "0s"}, []string{"--step", "positive"}},
		{[]string{"history", "interface", "r1", "Gi0/0/1", "--from", "10:00"}, []string{"--from", "RFC 3339"}},
		{[]string{"history", "interface", "r1", "Gi0/0/1", "--since", "1h", "--from", "2026-11-26T10:00:00Z"}, []string{"--since and --from"}},
		{[]string{"history", "interface", "r1", "Gi0/0/1", "--from", "2026-11-26T10:00:00Z", "--to", "2026-11-26T09:00:00Z"}, []string{"the range is empty"}},
		{[]string{"history", "top", "--metric", "speed"}, []string{"--metric", `unknown metric "speed"`}},
		{[]string{"history", "top", "-n", "0"}, []string{"-n must be at least 1"}},
		{[]string{"history", "availability", "r1", "--site", "par1"}, []string{"NODE or --site"}},
		{[]string{"events", "r1", "--type", "explosion"}, []string{"--type", `unknown event type "explosion"`, "oper_status"}},
		{[]string{"events"}, []string{"needs a NODE"}},
		{[]string{"history", "frobnicate"}, []string{"unknown command"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			f.cli(tc.args...).wantCode(t, exitUsage, tc.want...)
		})
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("usage errors sent %d requests", n)
	}
}

func TestHistoryAPIErrors(t *testing.T) {
	f := newFake(t)
	f.on("GET /api/v1/history/interfaces", reply(503, errorBody("unavailable", "history store unavailable: ClickHouse is down", nil)))
	f.cli("history", "interface", "r1", "Gi0/0/1").wantCode(t, exitError, "ClickHouse is down")
	f.on("GET /api/v1/history/events", reply(404, errorBody("not_found", "node r9 not found", nil)))
	f.cli("events", "r9").wantCode(t, exitError, "node r9 not found")
}

func TestEventsCommand(t *testing.T) {
	f := newFake(t)
	at := time.Date(2026, 11, 26, 10, 5, 0, 0, time.UTC)
	f.on("GET /api/v1/history/events", reply(200, map[string]any{"events": []map[string]any{
		{"ts": at.Add(2 * time.Minute), "node": "r1", "type": "oper_status", "interface": "Gi0/0/1", "from": "down", "to": "up"},
		{"ts": at, "node": "r1", "type": "oper_status", "interface": "Gi0/0/1", "from": "up", "to": "down"},
		{"ts": at.Add(-time.Minute), "node": "r1", "type": "reboot", "detail": "sysUpTime went back"},
		{"ts": at.Add(-2 * time.Minute), "node": "r1", "type": "lldp_neighbor_added", "interface": "Te1/1/1",
			"neighbor": map[string]any{"local_port": "Te1/1/1", "chassis_id": "aa:bb:cc:dd:ee:ff", "port_id": "et-0/0/0", "sys_name": "sw2"}},
	}}))
	r := f.cli("events", "r1", "--since", "1h", "-o", "json")
	r.wantCode(t, 0)
	q, _ := url.ParseQuery(f.last().Query)
	if q.Get("node") != "r1" || q.Has("type") || q.Get("from") == "" || q.Get("to") == "" {
		t.Errorf("query: %s", f.last().Query)
	}
	var got []map[string]any
	if err := json.Unmarshal([]byte(r.out), &got); err != nil || len(got) != 4 {
		t.Fatalf("output: %v\n%s", err, r.out)
	}
	if want := map[string]any{"ts": "2026-11-26T10:05:00Z", "type": "oper_status", "interface": "Gi0/0/1", "from": "up", "to": "down"}; !reflect.DeepEqual(got[1], want) {
		t.Errorf("event = %v, want %v", got[1], want)
	}
	if got[2]["detail"] != "sysUpTime went back" || got[2]["interface"] != "" || got[3]["detail"] != "sw2 et-0/0/0" {
		t.Errorf("events with details: %v", got[2:])
	}

	inv := f.invocation()
	r = inv.run("events", "r1", "--type", "oper_status,flap", "--type", "reboot", "--interface", "Gi0/0/1", "--limit", "4")
	r.wantCode(t, 0)
	q, _ = url.ParseQuery(f.last().Query)
	if !reflect.DeepEqual(q["type"], []string{"oper_status", "flap", "reboot"}) || q.Get("interface") != "Gi0/0/1" || q.Get("limit") != "4" {
		t.Errorf("query with filters: %s", f.last().Query)
	}
	lines := strings.Split(strings.TrimSpace(r.out), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "TIME") || !strings.Contains(lines[2], "oper_status") || !strings.Contains(lines[2], "up ") {
		t.Errorf("table:\n%s", r.out)
	}
	if !strings.Contains(r.err, "newest 4 events") {
		t.Errorf("no hint that the limit cut the list: %q", r.err)
	}
}

func TestHistoryTopAndAvailability(t *testing.T) {
	f := newFake(t)
	f.on("GET /api/v1/history/top", reply(200, map[string]any{"resolution": "raw", "items": []apiclient.TopInterface{
		{Node: "r1", Interface: "Gi0/0/1", Value: 8.5e8, SpeedBps: 1e9},
		{Node: "sw1", Interface: "Ethernet1", Value: 1.2e6, SpeedBps: 1e10},
	}}))
	r := f.cli("history", "top", "--metric", "in_bps", "--site", "par1", "--since", "1h", "-n", "2")
	r.wantCode(t, 0)
	q, _ := url.ParseQuery(f.last().Query)
	if q.Get("metric") != "in_bps" || q.Get("site") != "par1" || q.Get("n") != "2" || q.Get("from") == "" {
		t.Errorf("top query: %s", f.last().Query)
	}
	if !strings.Contains(r.out, "AVG IN") || !strings.Contains(r.out, "850 Mbit/s") || !strings.Contains(r.out, "10.0G") {
		t.Errorf("top table:\n%s", r.out)
	}
	r = f.cli("history", "top", "--metric", "utilization", "-o", "csv")
	r.wantCode(t, 0)
	if q, _ := url.ParseQuery(f.last().Query); q.Get("metric") != "utilisation" || q.Has("site") || q.Get("n") != "10" {
		t.Errorf("top defaults: %s", f.last().Query)
	}
	if !strings.HasPrefix(r.out, "node,interface,value,speed_bps\nr1,Gi0/0/1,850000000,1000000000\n") {
		t.Errorf("top csv:\n%s", r.out)
	}

	f.on("GET /api/v1/history/availability", reply(200, map[string]any{"resolution": "raw", "items": []apiclient.Availability{
		{Node: "r1", Polls: 8640, ReachablePolls: 8639, Percent: 100 * 8639 / 8640.0},
	}}))
	r = f.cli("history", "availability", "r1", "--since", "24h")
	r.wantCode(t, 0)
	q, _ = url.ParseQuery(f.last().Query)
	from, _ := time.Parse(time.RFC3339Nano, q.Get("from"))
	to, _ := time.Parse(time.RFC3339Nano, q.Get("to"))
	if q.Get("node") != "r1" || to.Sub(from) != 24*time.Hour {
		t.Errorf("availability query: %s", f.last().Query)
	}
	if !strings.Contains(r.out, "99.98 %") || !strings.Contains(r.out, "8639") {
		t.Errorf("availability table:\n%s", r.out)
	}
	f.cli("history", "availability", "--site", "par1").wantCode(t, 0)
	if q, _ := url.ParseQuery(f.last().Query); q.Get("site") != "par1" || q.Has("node") {
		t.Errorf("availability by site: %s", f.last().Query)
	}
}

func TestNodeInterfaces(t *testing.T) {
	f := newFake(t)
	f.on("GET /api/v1/nodes/r1/interfaces", reply(200, map[string]any{"node": "r1", "interfaces": []model.InterfaceState{
		{Index: 1, Name: "Gi0/0/0", AdminStatus: "up", OperStatus: "up", SpeedBps: 1e9, Rates: model.Rates{InBps: f64(3.3e8), OutBps: f64(3e8)}},
		{Index: 2, Name: "Gi0/0/1", AdminStatus: "up", OperStatus: "down", SpeedBps: 1e9, Alias: "to sw1"},
	}}))
	r := f.cli("node", "interfaces", "r1")
	r.wantCode(t, 0)
	lines := strings.Split(strings.TrimSpace(r.out), "\n")
	if len(lines) != 3 || !strings.Contains(lines[1], "Gi0/0/0") || !strings.Contains(lines[1], "330.0M") || !strings.Contains(lines[2], "to sw1") {
		t.Errorf("node interfaces:\n%s", r.out)
	}
	var got []model.InterfaceState
	r = f.cli("node", "interfaces", "r1", "-o", "json")
	if err := json.Unmarshal([]byte(r.out), &got); err != nil || len(got) != 2 || got[1].OperStatus != "down" {
		t.Errorf("json: %v %s", err, r.out)
	}
}

func TestHistoryCompletion(t *testing.T) {
	f := newFake(t)
	f.on("GET /api/v1/nodes", reply(200, map[string]any{"items": []model.Node{{Name: "r1", Vendor: "cisco", Role: "router", Location: "par1"}}}))
	f.on("GET /api/v1/nodes/r1/interfaces", reply(200, map[string]any{"interfaces": []model.InterfaceState{
		{Index: 1, Name: "Gi0/0/0", OperStatus: "up"}, {Index: 2, Name: "Gi0/0/1", OperStatus: "down", Alias: "to sw1"}, {Index: 3, Name: "Te1/1/1", OperStatus: "up"},
	}}))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"history", "interface", "r"}, "r1\tcisco router in par1\n"},
		{[]string{"history", "interface", "r1", "Gi"}, "Gi0/0/0\tup\nGi0/0/1\tdown, to sw1\n:4\n"},
		{[]string{"events", "r1", "--interface", "T"}, "Te1/1/1\tup\n:4\n"},
		{[]string{"events", "r1", "--type", ""}, "oper_status\nadmin_status\nflap\nreachability\nreboot\nlldp_neighbor_added\nlldp_neighbor_removed\n:4\n"},
		{[]string{"history", "top", "--metric", ""}, "in_bps\nout_bps\nutilisation\nerrors\n:4\n"},
		{[]string{"history", "availability", "r"}, "r1\tcisco router in par1\n"},
		{[]string{"node", "interfaces", "r"}, "r1\tcisco router in par1\n"},
	} {
		r := f.cli(append([]string{"__complete"}, tc.args...)...)
		if !strings.HasPrefix(r.out, tc.want) {
			t.Errorf("complete %v:\n%s", tc.args, r.out)
		}
	}
}
