package wasmgen

import (
	"context"
	"encoding/json"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tetratelabs/wazero"

	"github.com/unet-project/unet/collector/policy/abi"
	"github.com/unet-project/unet/collector/policy/lang"
)

// Verdict shorthands.
const (
	NA = abi.NotApplicable
	OK = abi.Compliant
	VI = abi.Violation
)

var (
	str  = abi.String
	num  = abi.Number
	bl   = abi.Bool
	list = abi.List
	null = abi.Null()
	oth  = abi.Other()
)

// fields used by the construct tests, with their static types.
var testFields = map[string]abi.Type{
	"node.role":          abi.TypeString,
	"node.name":          abi.TypeString,
	"node.version":       abi.TypeString,
	"node.tags":          abi.TypeList,
	"derived.uptime":     abi.TypeNumber,
	"derived.reachable":  abi.TypeBool,
	"custom_data.x":      abi.TypeAny,
	"custom_data.y":      abi.TypeAny,
	"custom_data.bgp.as": abi.TypeAny,
}

type rec map[string]abi.Value

// records lays out rs in the builder's slot order; a missing field is null.
func records(b *builder, rs []rec) [][]abi.Value {
	out := make([][]abi.Value, len(rs))
	for i, r := range rs {
		out[i] = make([]abi.Value, len(b.p.Fields))
		for j, f := range b.p.Fields {
			out[i][j] = r[f.Path]
		}
	}
	return out
}

func TestConstructs(t *testing.T) {
	type ruleFn func(f func(string) *lang.FieldRef, b *builder) (lang.Expr, lang.Action)
	tests := []struct {
		name string
		rule ruleFn
		recs []rec
		want []abi.Verdict
	}{
		{
			name: "string == and APPLY",
			rule: func(f func(string) *lang.FieldRef, _ *builder) (lang.Expr, lang.Action) {
				return cmpe(f("node.role"), lang.Eq, lit(str("router"))), apply("t.j2")
			},
			recs: []rec{{"node.role": str("router")}, {"node.role": str("route")}, {"node.role": str("routers")}, {}, {"node.role": str("")}},
			want: []abi.Verdict{OK, NA, NA, NA, NA},
		},
		{
			name: "empty string ==",
			rule: func(f func(string) *lang.FieldRef, _ *builder) (lang.Expr, lang.Action) {
				return cmpe(f("node.role"), lang.Eq, lit(str(""))), apply("t.j2")
			},
			recs: []rec{{"node.role": str("")}, {"node.role": str("a")}, {}},
			want: []abi.Verdict{OK, NA, NA},
		},
		{
			name: "long string == (eight-byte steps)",
			rule: func(f func(string) *lang.FieldRef, _ *builder) (lang.Expr, lang.Action) {
				return cmpe(f("node.name"), lang.Eq, lit(str("core-router-01.dc1.example.net"))), apply("t.j2")
			},
			recs: []rec{{"node.name": str("core-router-01.dc1.example.net")}, {"node.name": str("core-router-01.dc1.example.neT")}, {"node.name": str("Core-router-01.dc1.example.net")}},
			want: []abi.Verdict{OK, NA, NA},
		},
		{
			name: "string != reads null as false",
			rule: func(f func(string) *lang.FieldRef, _ *builder) (lang.Expr, lang.Action) {
				return cmpe(f("node.role"), lang.Ne, lit(str("router"))), apply("t.j2")
			},
			recs: []rec{{"node.role": str("router")}, {"node.role": str("switch")}, {}},
			want: []abi.Verdict{NA, OK, NA},
		},
		{
			name: "string ordering",
			rule: func(f func(string) *lang.FieldRef, _ *builder) (lang.Expr, lang.Action) {
				return and(cmpe(f("node.version"), lang.Ge, lit(str("17.3"))), cmpe(f("node.version"), lang.Lt, lit(str("17.9")))), apply("t.j2")
			},
			recs: []rec{{"node.version": str("17.3")}, {"node.version": str("17.30")}, {"node.version": str("17.9")}, {"node.version": str("17.10")}, {"node.version": str("17")}, {"node.version": str("18")}, {}},
			want: []abi.Verdict{OK, OK, NA, NA, NA, NA, NA},
		},
		{
			name: "string <= and > bytewise",
			rule: func(f func(string) *lang.FieldRef, _ *builder) (lang.Expr, lang.Action) {
				return or(cmpe(f("node.name"), lang.Le, lit(str("b"))), cmpe(f("node.name"), lang.Gt, lit(str("x\xff")))), apply("t.j2")
			},
			recs: []rec{{"node.name": str("b")}, {"node.name": str("a")}, {"node.name": str("ba")}, {"node.name": str("")}, {"node.name": str("x\xff\x00")}, {"node.name": str("x\xff")}, {"node.name": str("B")}},
			want: []abi.Verdict{OK, OK, NA, OK, OK, NA, OK},
		},
		{
			name: "number compares",
			rule: func(f func(string) *lang.FieldRef, _ *builder) (lang.Expr, lang.Action) {
				u := f("derived.uptime")
				return or(and(cmpe(u, lang.Gt, lit(num(10))), cmpe(u, lang.Le, lit(num(20)))), cmpe(u, lang.Eq, lit(num(-1.5)))), apply("t.j2")
			},
			recs: []rec{{"derived.uptime": num(10)}, {"derived.uptime": num(10.5)}, {"derived.uptime": num(20)}, {"derived.uptime": num(20.01)}, {"derived.uptime": num(-1.5)}, {"derived.uptime": num(math.NaN())}, {}},
			want: []abi.Verdict{NA, OK, OK, NA, OK, NA, NA},
		},
		{
			name: "number != and >= <",
			rule: func(f func(string) *lang.FieldRef, _ *builder) (lang.Expr, lang.Action) {
				u := f("derived.uptime")
				return and(cmpe(u, lang.Ne, lit(num(5))), or(cmpe(u, lang.Ge, lit(num(100))), cmpe(u, lang.Lt, lit(num(0))))), apply("t.j2")
			},
			recs: []rec{{"derived.uptime": num(5)}, {"derived.uptime": num(100)}, {"derived.uptime": num(-0.1)}, {"derived.uptime": num(50)}, {"derived.uptime": num(math.NaN())}, {}},
			want: []abi.Verdict{NA, OK, OK, NA, NA, NA},
		},
		{
			name: "bool == and NOT",
			rule: func(f func(string) *lang.FieldRef, _ *builder) (lang.Expr, lang.Action) {
				r := f("derived.reachable")
				return or(cmpe(r, lang.Eq, lit(bl(true))), not(cmpe(r, lang.Ne, lit(bl(true))))), apply("t.j2")
			},
			recs: []rec{{"derived.reachable": bl(true)}, {"derived.reachable": bl(false)}, {}},
			// null: == is false, != is false, NOT(false) is true.
			want: []abi.Verdict{OK, NA, OK},
		},
		{
			name: "IS NULL and IS NOT NULL",
			rule: func(f func(string) *lang.FieldRef, _ *builder) (lang.Expr, lang.Action) {
				return and(isNull(f("custom_data.x"), false), isNull(f("custom_data.y"), true)), apply("t.j2")
			},
			recs: []rec{{"custom_data.y": num(1)}, {"custom_data.y": oth}, {"custom_data.x": str(""), "custom_data.y": num(1)}, {}, {"custom_data.x": oth, "custom_data.y": num(1)}},
			want: []abi.Verdict{OK, OK, NA, NA, NA},
		},
		{
			name: "any field: kind mismatch is false",
			rule: func(f func(string) *lang.FieldRef, _ *builder) (lang.Expr, lang.Action) {
				x := f("custom_data.x")
				return or(cmpe(x, lang.Eq, lit(num(1))), or(cmpe(x, lang.Ne, lit(str("a"))), cmpe(x, lang.Lt, lit(num(0))))), apply("t.j2")
			},
			recs: []rec{{"custom_data.x": num(1)}, {"custom_data.x": str("a")}, {"custom_data.x": str("b")}, {"custom_data.x": bl(true)}, {"custom_data.x": num(-3)}, {"custom_data.x": num(3)}, {"custom_data.x": oth}, {"custom_data.x": list(str("a"))}, {}},
			want: []abi.Verdict{OK, NA, OK, NA, OK, NA, NA, NA, NA},
		},
		{
			name: "== null literal is false",
			rule: func(f func(string) *lang.FieldRef, _ *builder) (lang.Expr, lang.Action) {
				x := f("custom_data.x")
				return or(cmpe(x, lang.Eq, lit(null)), cmpe(x, lang.Ne, lit(null))), apply("t.j2")
			},
			recs: []rec{{}, {"custom_data.x": num(1)}},
			want: []abi.Verdict{NA, NA},
		},
		{
			name: "CONTAINS substring",
			rule: func(f func(string) *lang.FieldRef, _ *builder) (lang.Expr, lang.Action) {
				return cmpe(f("node.name"), lang.Contains, lit(str("dc1"))), apply("t.j2")
			},
			recs: []rec{{"node.name": str("dc1")}, {"node.name": str("r1.dc1.net")}, {"node.name": str("r1.dc2.net")}, {"node.name": str("ddc1")}, {"node.name": str("dc")}, {"node.name": str("xxdc1")}, {}},
			want: []abi.Verdict{OK, OK, NA, OK, NA, OK, NA},
		},
		{
			name: "CONTAINS empty string",
			rule: func(f func(string) *lang.FieldRef, _ *builder) (lang.Expr, lang.Action) {
				return cmpe(f("node.name"), lang.Contains, lit(str(""))), apply("t.j2")
			},
			recs: []rec{{"node.name": str("")}, {"node.name": str("a")}, {}},
			want: []abi.Verdict{OK, OK, NA},
		},
		{
			name: "CONTAINS list element",
			rule: func(f func(string) *lang.FieldRef, _ *builder) (lang.Expr, lang.Action) {
				return cmpe(f("node.tags"), lang.Contains, lit(str("core"))), apply("t.j2")
			},
			recs: []rec{{"node.tags": list(str("edge"), str("core"))}, {"node.tags": list(str("cores"))}, {"node.tags": list()}, {"node.tags": list(num(1), oth, null)}, {}},
			want: []abi.Verdict{OK, NA, NA, NA, NA},
		},
		{
			name: "CONTAINS on any: string or list",
			rule: func(f func(string) *lang.FieldRef, _ *builder) (lang.Expr, lang.Action) {
				x := f("custom_data.x")
				return or(cmpe(x, lang.Contains, lit(str("ab"))), cmpe(x, lang.Contains, lit(num(2)))), apply("t.j2")
			},
			recs: []rec{{"custom_data.x": str("xaby")}, {"custom_data.x": list(str("ab"))}, {"custom_data.x": list(str("xaby"))}, {"custom_data.x": list(num(1), num(2))}, {"custom_data.x": num(2)}, {"custom_data.x": oth}, {}},
			want: []abi.Verdict{OK, OK, NA, OK, NA, NA, NA},
		},
		{
			name: "MATCHES",
			rule: func(f func(string) *lang.FieldRef, b *builder) (lang.Expr, lang.Action) {
				return or(cmpe(f("node.name"), lang.Matches, b.regex("^ge-[0-9]+$", "")), cmpe(f("custom_data.x"), lang.Matches, b.regex("^core", "i"))), apply("t.j2")
			},
			recs: []rec{{"node.name": str("ge-12")}, {"node.name": str("ge-1x")}, {"custom_data.x": str("CORE-1")}, {"custom_data.x": num(1)}, {}},
			want: []abi.Verdict{OK, NA, OK, NA, NA},
		},
		{
			name: "IN and NOT IN",
			rule: func(f func(string) *lang.FieldRef, _ *builder) (lang.Expr, lang.Action) {
				return and(cmpe(f("node.role"), lang.In, lit(list(str("router"), str("switch"), str("")))), cmpe(f("custom_data.x"), lang.NotIn, lit(list(num(1), str("a"))))), apply("t.j2")
			},
			recs: []rec{
				{"node.role": str("router"), "custom_data.x": num(2)},
				{"node.role": str("switch"), "custom_data.x": str("b")},
				{"node.role": str(""), "custom_data.x": bl(true)},
				{"node.role": str("firewall"), "custom_data.x": num(2)},
				{"node.role": str("router"), "custom_data.x": num(1)},
				{"node.role": str("router"), "custom_data.x": str("a")},
				{"node.role": str("router")},
				{"custom_data.x": num(2)},
			},
			want: []abi.Verdict{OK, OK, OK, NA, NA, NA, NA, NA},
		},
		{
			name: "IN on any with mixed kinds",
			rule: func(f func(string) *lang.FieldRef, _ *builder) (lang.Expr, lang.Action) {
				return cmpe(f("custom_data.x"), lang.In, lit(list(num(1), str("1"), bl(false), null, list(num(1))))), apply("t.j2")
			},
			recs: []rec{{"custom_data.x": num(1)}, {"custom_data.x": str("1")}, {"custom_data.x": bl(false)}, {"custom_data.x": bl(true)}, {"custom_data.x": list(num(1))}, {"custom_data.x": list(num(2))}, {}, {"custom_data.x": oth}},
			want: []abi.Verdict{OK, OK, OK, NA, OK, NA, NA, NA},
		},
		{
			name: "IN empty list",
			rule: func(f func(string) *lang.FieldRef, _ *builder) (lang.Expr, lang.Action) {
				return or(cmpe(f("node.role"), lang.In, lit(list())), cmpe(f("node.name"), lang.NotIn, lit(list()))), apply("t.j2")
			},
			recs: []rec{{"node.role": str("a")}, {"node.name": str("a")}, {}},
			want: []abi.Verdict{NA, OK, NA},
		},
		{
			name: "list equality",
			rule: func(f func(string) *lang.FieldRef, _ *builder) (lang.Expr, lang.Action) {
				return cmpe(f("node.tags"), lang.Eq, lit(list(str("a"), num(1), bl(true), null))), apply("t.j2")
			},
			recs: []rec{{"node.tags": list(str("a"), num(1), bl(true), null)}, {"node.tags": list(str("a"), num(1), bl(true))}, {"node.tags": list(str("a"), num(1), bl(false), null)}, {"node.tags": list(str("b"), num(1), bl(true), null)}, {"node.tags": list()}, {}},
			want: []abi.Verdict{OK, NA, NA, NA, NA, NA},
		},
		{
			name: "list with other equals nothing",
			rule: func(f func(string) *lang.FieldRef, _ *builder) (lang.Expr, lang.Action) {
				return cmpe(f("node.tags"), lang.Ne, lit(list(str("a")))), apply("t.j2")
			},
			recs: []rec{{"node.tags": list(str("a"))}, {"node.tags": list(oth)}, {"node.tags": list(list(str("a")))}, {}},
			want: []abi.Verdict{NA, OK, OK, NA},
		},
		{
			name: "field against field",
			rule: func(f func(string) *lang.FieldRef, _ *builder) (lang.Expr, lang.Action) {
				x, y := f("custom_data.x"), f("custom_data.y")
				return or(cmpe(x, lang.Eq, y), cmpe(x, lang.Lt, y)), apply("t.j2")
			},
			recs: []rec{
				{"custom_data.x": num(1), "custom_data.y": num(1)},
				{"custom_data.x": num(1), "custom_data.y": num(2)},
				{"custom_data.x": num(3), "custom_data.y": num(2)},
				{"custom_data.x": str("a"), "custom_data.y": str("b")},
				{"custom_data.x": str("b"), "custom_data.y": str("a")},
				{"custom_data.x": num(1), "custom_data.y": str("1")},
				{"custom_data.x": list(num(1)), "custom_data.y": list(num(1))},
				{"custom_data.x": oth, "custom_data.y": oth},
				{"custom_data.x": bl(true), "custom_data.y": bl(true)},
				{},
				{"custom_data.y": num(1)},
			},
			want: []abi.Verdict{OK, OK, NA, OK, NA, NA, OK, NA, OK, NA, NA},
		},
		{
			name: "field != field",
			rule: func(f func(string) *lang.FieldRef, _ *builder) (lang.Expr, lang.Action) {
				return cmpe(f("custom_data.x"), lang.Ne, f("custom_data.y")), apply("t.j2")
			},
			recs: []rec{
				{"custom_data.x": num(1), "custom_data.y": num(1)},
				{"custom_data.x": num(1), "custom_data.y": num(2)},
				{"custom_data.x": num(1), "custom_data.y": str("1")},
				{"custom_data.x": num(1)},
				{"custom_data.y": num(1)},
				{},
			},
			want: []abi.Verdict{NA, OK, NA, NA, NA, NA},
		},
		{
			name: "field ordering >= <= >",
			rule: func(f func(string) *lang.FieldRef, _ *builder) (lang.Expr, lang.Action) {
				x, y := f("custom_data.x"), f("custom_data.y")
				return and(cmpe(x, lang.Ge, y), and(cmpe(x, lang.Le, y), not(cmpe(x, lang.Gt, y)))), apply("t.j2")
			},
			recs: []rec{{"custom_data.x": num(1), "custom_data.y": num(1)}, {"custom_data.x": str("a"), "custom_data.y": str("a")}, {"custom_data.x": num(1), "custom_data.y": num(2)}, {"custom_data.x": bl(true), "custom_data.y": bl(true)}, {}},
			want: []abi.Verdict{OK, OK, NA, NA, NA},
		},
		{
			name: "field CONTAINS field",
			rule: func(f func(string) *lang.FieldRef, _ *builder) (lang.Expr, lang.Action) {
				return cmpe(f("custom_data.x"), lang.Contains, f("custom_data.y")), apply("t.j2")
			},
			recs: []rec{
				{"custom_data.x": str("abc"), "custom_data.y": str("bc")},
				{"custom_data.x": str("abc"), "custom_data.y": str("cb")},
				{"custom_data.x": list(num(1), str("a")), "custom_data.y": str("a")},
				{"custom_data.x": list(null), "custom_data.y": null},
				{"custom_data.x": str("1"), "custom_data.y": num(1)},
				{"custom_data.x": num(1), "custom_data.y": num(1)},
			},
			want: []abi.Verdict{OK, NA, OK, NA, NA, NA},
		},
		{
			name: "ASSERT literal",
			rule: func(f func(string) *lang.FieldRef, _ *builder) (lang.Expr, lang.Action) {
				return cmpe(f("node.role"), lang.Eq, lit(str("router"))), assert(f("node.version"), lit(str("17.9.4")))
			},
			recs: []rec{{"node.role": str("router"), "node.version": str("17.9.4")}, {"node.role": str("router"), "node.version": str("17.9.3")}, {"node.role": str("router")}, {"node.role": str("switch"), "node.version": str("17.9.4")}},
			want: []abi.Verdict{OK, VI, VI, NA},
		},
		{
			name: "ASSERT number and bool",
			rule: func(f func(string) *lang.FieldRef, _ *builder) (lang.Expr, lang.Action) {
				return isNull(f("derived.reachable"), true), assert(f("derived.uptime"), lit(num(0)))
			},
			recs: []rec{{"derived.reachable": bl(true), "derived.uptime": num(0)}, {"derived.reachable": bl(false), "derived.uptime": num(math.Copysign(0, -1))}, {"derived.reachable": bl(true), "derived.uptime": num(1)}, {"derived.reachable": bl(true)}, {}},
			want: []abi.Verdict{OK, OK, VI, VI, NA},
		},
		{
			name: "ASSERT bool",
			rule: func(f func(string) *lang.FieldRef, _ *builder) (lang.Expr, lang.Action) {
				return isNull(f("node.role"), true), assert(f("derived.reachable"), lit(bl(false)))
			},
			recs: []rec{{"node.role": str("r"), "derived.reachable": bl(false)}, {"node.role": str("r"), "derived.reachable": bl(true)}, {"node.role": str("r")}},
			want: []abi.Verdict{OK, VI, VI},
		},
		{
			name: "SET null literal",
			rule: func(f func(string) *lang.FieldRef, _ *builder) (lang.Expr, lang.Action) {
				return isNull(f("node.role"), true), set(f("custom_data.x"), lit(null))
			},
			recs: []rec{{"node.role": str("r")}, {"node.role": str("r"), "custom_data.x": num(0)}, {"node.role": str("r"), "custom_data.x": oth}},
			want: []abi.Verdict{OK, VI, VI},
		},
		{
			name: "SET any",
			rule: func(f func(string) *lang.FieldRef, _ *builder) (lang.Expr, lang.Action) {
				return cmpe(f("node.role"), lang.Eq, lit(str("r"))), set(f("custom_data.bgp.as"), lit(num(65001)))
			},
			recs: []rec{{"node.role": str("r"), "custom_data.bgp.as": num(65001)}, {"node.role": str("r"), "custom_data.bgp.as": str("65001")}, {"node.role": str("r")}, {"custom_data.bgp.as": num(65001)}},
			want: []abi.Verdict{OK, VI, VI, NA},
		},
		{
			name: "SET list",
			rule: func(f func(string) *lang.FieldRef, _ *builder) (lang.Expr, lang.Action) {
				return isNull(f("node.role"), true), set(f("custom_data.x"), lit(list(str("a"), str("b"))))
			},
			recs: []rec{{"node.role": str("r"), "custom_data.x": list(str("a"), str("b"))}, {"node.role": str("r"), "custom_data.x": list(str("b"), str("a"))}, {"node.role": str("r"), "custom_data.x": str("a")}},
			want: []abi.Verdict{OK, VI, VI},
		},
		{
			name: "ASSERT field",
			rule: func(f func(string) *lang.FieldRef, _ *builder) (lang.Expr, lang.Action) {
				return isNull(f("node.role"), true), assert(f("custom_data.x"), f("custom_data.y"))
			},
			recs: []rec{
				{"node.role": str("r"), "custom_data.x": str("a"), "custom_data.y": str("a")},
				{"node.role": str("r"), "custom_data.x": str("a"), "custom_data.y": str("b")},
				{"node.role": str("r")},
				{"node.role": str("r"), "custom_data.x": oth, "custom_data.y": oth},
				{"node.role": str("r"), "custom_data.x": num(1), "custom_data.y": bl(true)},
			},
			want: []abi.Verdict{OK, VI, OK, VI, VI},
		},
		{
			name: "AND OR precedence and short circuit",
			rule: func(f func(string) *lang.FieldRef, _ *builder) (lang.Expr, lang.Action) {
				r, n := f("node.role"), f("node.name")
				return or(and(cmpe(r, lang.Eq, lit(str("a"))), cmpe(n, lang.Eq, lit(str("x")))), and(cmpe(r, lang.Eq, lit(str("b"))), not(cmpe(n, lang.Eq, lit(str("x")))))), apply("t.j2")
			},
			recs: []rec{{"node.role": str("a"), "node.name": str("x")}, {"node.role": str("a"), "node.name": str("y")}, {"node.role": str("b"), "node.name": str("x")}, {"node.role": str("b"), "node.name": str("y")}, {"node.role": str("b")}},
			want: []abi.Verdict{OK, NA, NA, OK, OK},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBuilder()
			f := func(path string) *lang.FieldRef {
				typ, ok := testFields[path]
				if !ok {
					t.Fatalf("no test field %s", path)
				}
				return b.field(path, typ)
			}
			when, act := tc.rule(f, b)
			b.rule(tc.name, when, act)
			m := load(t, b.p)
			got := m.run(t, 0, records(b, tc.recs))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("verdicts (-want +got):\n%s", diff)
			}
		})
	}
}

// TestExports checks the ABI surface: version, manifest, alloc and the
// rule dispatch, including an unknown rule number and an empty batch.
func TestExports(t *testing.T) {
	b := newBuilder()
	role := b.field("node.role", abi.TypeString)
	asn := b.field("custom_data.bgp.asn", abi.TypeAny)
	b.rule("core-version", cmpe(role, lang.Eq, lit(str("router"))), assert(b.field("node.version", abi.TypeString), lit(str("17.9.4"))))
	b.rule("t.unet:2", isNull(asn, false), set(asn, lit(num(65001))))
	b.rule("t.unet:3", cmpe(b.field("node.name", abi.TypeString), lang.Matches, b.regex("^ge-", "i")), apply("templates/access-ports.j2"))
	b.rule("t.unet:4", isNull(role, true), assert(role, b.field("custom_data.role", abi.TypeAny)))
	m := load(t, b.p)
	ctx := context.Background()

	call := func(name string, args ...uint64) uint64 {
		t.Helper()
		res, err := m.mod.ExportedFunction(name).Call(ctx, args...)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return res[0]
	}
	if v := call(abi.ExportABIVersion); v != abi.Version {
		t.Errorf("unet_abi_version = %d", v)
	}
	pl := call(abi.ExportManifest)
	raw, ok := m.mod.Memory().Read(uint32(pl>>32), uint32(pl))
	if !ok {
		t.Fatalf("manifest at %#x outside memory", pl)
	}
	var got abi.Manifest
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("manifest %q: %v", raw, err)
	}
	want := abi.Manifest{
		ABI: 1,
		Fields: []abi.Field{
			{Path: "node.role", Type: "string"}, {Path: "custom_data.bgp.asn", Type: "any"},
			{Path: "node.version", Type: "string"}, {Path: "node.name", Type: "string"}, {Path: "custom_data.role", Type: "any"},
		},
		Regexes: []abi.Regex{{Pattern: "^ge-", Flags: "i"}},
		Rules: []abi.Rule{
			{Name: "core-version", File: "t.unet", Line: 1, Action: "assert", Target: "node.version", Expected: &abi.Expected{Value: "17.9.4"}},
			{Name: "t.unet:2", File: "t.unet", Line: 2, Action: "set", Target: "custom_data.bgp.asn", Expected: &abi.Expected{Value: 65001.0}},
			{Name: "t.unet:3", File: "t.unet", Line: 3, Action: "apply", Template: "templates/access-ports.j2"},
			{Name: "t.unet:4", File: "t.unet", Line: 4, Action: "assert", Target: "node.role", Expected: &abi.Expected{Field: "custom_data.role"}},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("manifest (-want +got):\n%s", diff)
	}

	// unet_alloc: 8-aligned, the same heap start each call, growing memory.
	a1 := call(abi.ExportAlloc, 16)
	a2 := call(abi.ExportAlloc, 3<<20)
	if a1 == 0 || a1%8 != 0 || a1 != a2 {
		t.Errorf("unet_alloc = %d then %d, want the same 8-aligned address", a1, a2)
	}
	if size := m.mod.Memory().Size(); uint64(size) < a2+3<<20 {
		t.Errorf("memory %d bytes after unet_alloc(3 MiB) at %d", size, a2)
	}
	// The test runtime caps memory at 64 pages (4 MiB).
	for _, size := range []uint64{5 << 20, 1<<32 - 1} {
		if a := call(abi.ExportAlloc, size); a != 0 {
			t.Errorf("unet_alloc(%d) = %d beyond the memory cap, want 0", size, a)
		}
	}

	if rc := call(abi.ExportEval, 4, a1, 0, a1); rc == 0 {
		t.Errorf("unet_eval of rule 4 of 4 returned 0, want an error code")
	}
	if rc := call(abi.ExportEval, 1<<31, a1, 0, a1); rc == 0 {
		t.Errorf("unet_eval of rule 2^31 returned 0, want an error code")
	}
	for r := range 4 {
		if rc := call(abi.ExportEval, uint64(r), a1, 0, a1); rc != 0 {
			t.Errorf("unet_eval of rule %d on no records returned %d", r, rc)
		}
	}

	recs := [][]abi.Value{
		{str("router"), null, str("17.9.4"), str("GE-1"), null},
		{str("router"), num(65001), str("17.9.3"), str("xe-1"), str("router")},
		{null, num(1), null, null, null},
	}
	wants := [][]abi.Verdict{{OK, VI, NA}, {VI, NA, NA}, {OK, NA, NA}, {VI, OK, NA}}
	for r, w := range wants {
		if diff := cmp.Diff(w, m.run(t, r, recs)); diff != "" {
			t.Errorf("rule %d verdicts (-want +got):\n%s", r, diff)
		}
	}
}

// TestEmptyProgram: no rules, no fields: a valid module whose unet_eval
// refuses every rule number.
func TestEmptyProgram(t *testing.T) {
	m := load(t, &lang.Program{})
	ctx := context.Background()
	res, err := m.alloc.Call(ctx, 0)
	if err != nil || res[0] == 0 {
		t.Fatalf("unet_alloc(0) = %v, %v", res, err)
	}
	res, err = m.eval.Call(ctx, 0, res[0], 0, res[0])
	if err != nil || res[0] == 0 {
		t.Fatalf("unet_eval(0) = %v, %v; want an error code", res, err)
	}
}

// TestImports: a program without regexes imports nothing; with regexes
// only unet.regex_match.
func TestImports(t *testing.T) {
	b := newBuilder()
	b.rule("r", isNull(b.field("node.role", abi.TypeString), false), apply("t"))
	for _, withRegex := range []bool{false, true} {
		if withRegex {
			b.rule("m", cmpe(b.field("node.name", abi.TypeString), lang.Matches, b.regex("x", "")), apply("t"))
		}
		bin, err := Compile(b.p)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		r := wazero.NewRuntime(ctx)
		t.Cleanup(func() { r.Close(ctx) })
		cm, err := r.CompileModule(ctx, bin)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, fn := range cm.ImportedFunctions() {
			mod, name, _ := fn.Import()
			got = append(got, mod+"."+name)
		}
		var want []string
		if withRegex {
			want = []string{"unet.regex_match"}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("regex %v: imports (-want +got):\n%s", withRegex, diff)
		}
		exports := cm.ExportedFunctions()
		for _, name := range []string{abi.ExportABIVersion, abi.ExportManifest, abi.ExportAlloc, abi.ExportEval} {
			if _, ok := exports[name]; !ok {
				t.Errorf("no export %s", name)
			}
		}
		if _, ok := cm.ExportedMemories()[abi.ExportMemory]; !ok {
			t.Errorf("no memory export")
		}
	}
}

// TestManyRecords runs a batch large enough to use several pages, with
// records that alternate, to catch stride and loop errors.
func TestManyRecords(t *testing.T) {
	b := newBuilder()
	n := b.field("derived.uptime", abi.TypeNumber)
	b.field("node.role", abi.TypeString)
	b.rule("r", cmpe(n, lang.Ge, lit(num(0))), assert(n, lit(num(0))))
	m := load(t, b.p)
	const count = 20000
	recs := make([][]abi.Value, count)
	want := make([]abi.Verdict, count)
	for i := range recs {
		switch i % 3 {
		case 0:
			recs[i] = []abi.Value{num(0), str("x")}
			want[i] = OK
		case 1:
			recs[i] = []abi.Value{num(float64(i)), null}
			want[i] = VI
		case 2:
			recs[i] = []abi.Value{num(-1), str("y")}
		}
	}
	if diff := cmp.Diff(want, m.run(t, 0, recs)); diff != "" {
		t.Errorf("verdicts (-want +got):\n%s", diff)
	}
}

func TestCompileErrors(t *testing.T) {
	role := &lang.FieldRef{Path: "node.role", Type: abi.TypeString}
	fields := []abi.Field{{Path: "node.role", Type: abi.TypeString}}
	tests := []struct {
		name string
		p    *lang.Program
	}{
		{"nil program", nil},
		{"no condition", &lang.Program{Fields: fields, Rules: []*lang.Rule{{Name: "r", Action: apply("t")}}}},
		{"field as condition", &lang.Program{Fields: fields, Rules: []*lang.Rule{{Name: "r", When: role, Action: apply("t")}}}},
		{"unknown regex", &lang.Program{Fields: fields, Rules: []*lang.Rule{{Name: "r", When: cmpe(role, lang.Matches, &lang.RegexLit{ID: 0}), Action: apply("t")}}}},
		{"assert without target", &lang.Program{Fields: fields, Rules: []*lang.Rule{{Name: "r", When: isNull(role, false), Action: lang.Action{Kind: abi.ActionAssert, Value: lit(str("x"))}}}}},
		{"unknown action", &lang.Program{Fields: fields, Rules: []*lang.Rule{{Name: "r", When: isNull(role, false), Action: lang.Action{Kind: "delete"}}}}},
		{"IN without a list", &lang.Program{Fields: fields, Rules: []*lang.Rule{{Name: "r", When: cmpe(role, lang.In, lit(str("x"))), Action: apply("t")}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Compile(tc.p); err == nil {
				t.Fatal("Compile succeeded, want an error")
			}
		})
	}
}
