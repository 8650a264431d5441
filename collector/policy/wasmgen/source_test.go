package wasmgen

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/unet-project/unet/collector/policy/abi"
	"github.com/unet-project/unet/collector/policy/lang"
	"github.com/unet-project/unet/collector/policy/sandbox"
)

// newSandbox starts the production host, closed when the test ends. The
// tests check verdicts, not deadlines: on a loaded machine a 100 ms call
// deadline fails calls that take microseconds.
func newSandbox(t testing.TB) *sandbox.Runtime {
	t.Helper()
	ctx := context.Background()
	cfg := sandbox.DefaultConfig()
	cfg.CallTimeout = time.Minute
	rt, err := sandbox.New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close(ctx) })
	return rt
}

// check parses and checks one policy file.
func check(t testing.TB, src string) *lang.Program {
	t.Helper()
	f, err := lang.Parse("t.unet", []byte(src))
	if err != nil {
		t.Fatalf("parse:\n%s\n%v", src, err)
	}
	p, err := lang.Check(f)
	if err != nil {
		t.Fatalf("check:\n%s\n%v", src, err)
	}
	return p
}

// evalSandbox compiles p, loads it in rt and returns its verdicts per rule;
// any failed call fails the test.
func evalSandbox(t testing.TB, rt *sandbox.Runtime, p *lang.Program, recs [][]abi.Value) [][]abi.Verdict {
	t.Helper()
	ctx := context.Background()
	bin, err := Compile(p)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	m, err := rt.Load(ctx, bin)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	defer m.Close(ctx)
	res, err := m.Eval(ctx, recs)
	if err != nil {
		t.Fatalf("Eval: %v", err)
	}
	out := make([][]abi.Verdict, len(res))
	for r, rr := range res {
		if len(rr.Errors) > 0 {
			t.Fatalf("rule %d: %v", r, rr.Errors[0].Err)
		}
		out[r] = rr.Verdicts
	}
	return out
}

// byPath lays out records in p's field order; missing fields are null.
func byPath(p *lang.Program, rs []rec) [][]abi.Value {
	out := make([][]abi.Value, len(rs))
	for i, r := range rs {
		out[i] = make([]abi.Value, len(p.Fields))
		for j, f := range p.Fields {
			out[i][j] = r[f.Path]
		}
	}
	return out
}

// TestSource runs the constructs from policy text through the front end,
// the generated module and the production sandbox.
func TestSource(t *testing.T) {
	rt := newSandbox(t)
	tests := []struct {
		name string
		src  string
		recs []rec
		want [][]abi.Verdict // per rule, per record
	}{
		{
			name: "POLICY.md example",
			src: `// Core routers must run the approved release.
rule "core-version":
WHEN node.role == "router" AND location.path CONTAINS "dc1"
THEN ASSERT node.version IS "17.9.4"

# Every live access switch gets the access-port template.
WHEN node.role == "switch" AND node.lifecycle == "live"
THEN APPLY "templates/access-ports.j2"

WHEN node.vendor == "juniper" AND custom_data.bgp.asn IS NULL
THEN SET custom_data.bgp.asn TO 65001

WHEN derived.reachable == true AND derived.interfaces.errors_in_rate > 10
THEN ASSERT derived.interfaces.errors_in_rate IS 0
`,
			recs: []rec{
				{"node.role": str("router"), "location.path": str("eu/dc1/r1"), "node.version": str("17.9.4"), "node.vendor": str("cisco"), "custom_data.bgp.asn": num(1), "derived.reachable": bl(true), "derived.interfaces.errors_in_rate": num(0)},
				{"node.role": str("router"), "location.path": str("eu/dc1/r1"), "node.version": str("17.6.1"), "node.vendor": str("juniper"), "derived.reachable": bl(true), "derived.interfaces.errors_in_rate": num(11)},
				{"node.role": str("switch"), "node.lifecycle": str("live"), "location.path": str("eu/dc2"), "node.vendor": str("juniper"), "custom_data.bgp.asn": num(65001), "derived.reachable": bl(false), "derived.interfaces.errors_in_rate": num(50)},
				{"node.role": str("switch"), "node.lifecycle": str("planned")},
			},
			want: [][]abi.Verdict{{OK, VI, NA, NA}, {NA, NA, OK, NA}, {NA, VI, NA, NA}, {NA, VI, NA, NA}},
		},
		{
			name: "IN, NOT IN, MATCHES with flags, NOT precedence",
			src: `WHEN node.role IN ["router", "switch"] AND NOT node.lifecycle NOT IN ["live"] THEN APPLY "a"
WHEN node.name MATCHES /^ ge - [0-9]+ $/xi OR node.model MATCHES /^mx/i THEN APPLY "b"
`,
			recs: []rec{
				{"node.role": str("router"), "node.lifecycle": str("live"), "node.name": str("GE-12")},
				{"node.role": str("switch"), "node.lifecycle": str("planned"), "node.model": str("MX204")},
				{"node.role": str("firewall"), "node.lifecycle": str("live"), "node.name": str("ge-1x")},
				{"node.role": str("router"), "node.name": str("ge-")},
			},
			// NOT (lifecycle NOT IN [...]) with a null lifecycle: NOT false.
			want: [][]abi.Verdict{{OK, NA, NA, OK}, {OK, OK, NA, NA}},
		},
		{
			name: "custom_data of every kind",
			src: `WHEN custom_data.x CONTAINS "a" THEN ASSERT custom_data.y IS [1, "a", true]
WHEN custom_data.x >= 10 OR custom_data.x < "b" THEN SET custom_data.y TO custom_data.x
`,
			recs: []rec{
				{"custom_data.x": str("abc"), "custom_data.y": list(num(1), str("a"), bl(true))},
				{"custom_data.x": list(str("a")), "custom_data.y": list(num(1), str("a"))},
				{"custom_data.x": num(10), "custom_data.y": num(10)},
				{"custom_data.x": oth, "custom_data.y": oth},
				{},
			},
			want: [][]abi.Verdict{{OK, VI, NA, NA, NA}, {VI, NA, OK, NA, NA}},
		},
		{
			name: "field against field and strings with escapes",
			src: `WHEN derived.sys_name != node.name AND node.name CONTAINS "\x00\u00e9" THEN ASSERT derived.vendor IS node.vendor
WHEN node.tags CONTAINS 'pci' AND derived.lldp.neighbor_names == [] THEN APPLY "c"
`,
			recs: []rec{
				{"derived.sys_name": str("a"), "node.name": str("x\x00éy"), "derived.vendor": str("cisco"), "node.vendor": str("cisco"), "node.tags": list(str("pci")), "derived.lldp.neighbor_names": list()},
				{"derived.sys_name": str("a"), "node.name": str("x\x00ey"), "node.tags": list(str("pcix")), "derived.lldp.neighbor_names": list()},
				{"node.name": str("\x00é"), "derived.vendor": str("arista"), "node.vendor": str("cisco"), "node.tags": list(str("lab"), str("pci")), "derived.lldp.neighbor_names": list(str("x"))},
				{"derived.sys_name": str("\x00é"), "node.name": str("\x00é"), "node.tags": list(str("pci"))},
			},
			want: [][]abi.Verdict{{OK, NA, NA, NA}, {OK, NA, NA, NA}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := check(t, tc.src)
			got := evalSandbox(t, rt, p, byPath(p, tc.recs))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("verdicts (-want +got):\n%s", diff)
			}
		})
	}
}
