package interp

import (
	"fmt"
	"testing"

	"github.com/unet-project/unet/collector/policy/abi"
	"github.com/unet-project/unet/collector/policy/lang"
)

func compile(t *testing.T, src string) *lang.Program {
	t.Helper()
	p, err := lang.Compile(map[string][]byte{"t.unet": []byte(src)})
	if err != nil {
		t.Fatalf("Compile:\n%v", err)
	}
	return p
}

func TestEqual(t *testing.T) {
	s, n, b, l, null, other := abi.String, abi.Number, abi.Bool, abi.List, abi.Null(), abi.Other()
	tests := []struct {
		a, b abi.Value
		want bool
	}{
		{null, null, true},
		{null, s(""), false},
		{s("a"), s("a"), true},
		{s("a"), s("A"), false},
		{s(""), s(""), true},
		{n(1), n(1), true},
		{n(0), n(-0.0), true},
		{n(1), s("1"), false},
		{b(true), b(true), true},
		{b(true), b(false), false},
		{b(true), n(1), false},
		{abi.Value{Kind: abi.KindBool, Number: 2}, b(true), true}, // any non-zero is true
		{l(), l(), true},
		{l(s("a"), n(1)), l(s("a"), n(1)), true},
		{l(s("a"), n(1)), l(n(1), s("a")), false},
		{l(s("a")), l(s("a"), s("a")), false},
		{l(null), l(null), true},
		{l(other), l(other), false},
		{other, other, false},
		{other, null, false},
	}
	for _, tt := range tests {
		if got := equal(tt.a, tt.b); got != tt.want {
			t.Errorf("equal(%v, %v) = %v", tt.a, tt.b, got)
		}
		if got := equal(tt.b, tt.a); got != tt.want {
			t.Errorf("equal(%v, %v) = %v (not symmetric)", tt.b, tt.a, got)
		}
	}
}

func TestOrder(t *testing.T) {
	tests := []struct {
		a, b abi.Value
		want int
		ok   bool
	}{
		{abi.Number(1), abi.Number(2), -1, true},
		{abi.Number(2), abi.Number(2), 0, true},
		{abi.Number(3), abi.Number(-2), 1, true},
		{abi.String("B"), abi.String("a"), -1, true}, // bytewise: upper case first
		{abi.String("ab"), abi.String("a"), 1, true},
		{abi.String("é"), abi.String("z"), 1, true},
		{abi.String(""), abi.String(""), 0, true},
		{abi.Number(1), abi.String("1"), 0, false},
		{abi.Bool(false), abi.Bool(true), 0, false},
		{abi.List(), abi.List(), 0, false},
		{abi.Null(), abi.Null(), 0, false},
	}
	for _, tt := range tests {
		got, ok := order(tt.a, tt.b)
		if got != tt.want || ok != tt.ok {
			t.Errorf("order(%v, %v) = %d, %v", tt.a, tt.b, got, ok)
		}
	}
}

// TestOperators runs each operator on values of every kind, as a
// custom_data field (any) would hold them.
func TestOperators(t *testing.T) {
	p := compile(t, `
WHEN custom_data.x == "ab" THEN APPLY "t"
WHEN custom_data.x != "ab" THEN APPLY "t"
WHEN custom_data.x < "b" THEN APPLY "t"
WHEN custom_data.x >= 2 THEN APPLY "t"
WHEN custom_data.x CONTAINS "b" THEN APPLY "t"
WHEN custom_data.x MATCHES /^a/ THEN APPLY "t"
WHEN custom_data.x IN ["ab", 2] THEN APPLY "t"
WHEN custom_data.x NOT IN ["ab", 2] THEN APPLY "t"
WHEN custom_data.x IS NULL THEN APPLY "t"
WHEN NOT custom_data.x == "ab" THEN APPLY "t"
WHEN custom_data.x == custom_data.y THEN APPLY "t"
WHEN custom_data.x != custom_data.y THEN APPLY "t"
WHEN custom_data.x <= custom_data.y THEN APPLY "t"
WHEN custom_data.x CONTAINS custom_data.y THEN APPLY "t"
`)
	// One letter per rule: T where the condition holds (compliant).
	tests := []struct {
		x, y abi.Value
		want string
	}{
		{abi.String("ab"), abi.String("ab"), "T.T.TTT...T.TT"},
		{abi.String("b"), abi.String("ab"), ".T..T..T.T.T.."},
		{abi.Number(2), abi.Number(3), "...T..T..T.TT."},
		{abi.Number(1), abi.String("1"), ".......T.T...."},
		{abi.Null(), abi.String("ab"), "........TT...."},
		{abi.List(abi.String("ab"), abi.String("b")), abi.String("b"), "....T..T.T...T"},
		{abi.Other(), abi.Other(), ".......T.T.T.."},
		{abi.Bool(true), abi.Bool(true), ".......T.TT..."},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v/%v", tt.x, tt.y), func(t *testing.T) {
			rec := make([]abi.Value, len(p.Fields))
			for i, f := range p.Fields {
				switch f.Path {
				case "custom_data.x":
					rec[i] = tt.x
				case "custom_data.y":
					rec[i] = tt.y
				}
			}
			got := ""
			for r := range p.Rules {
				switch Eval(p, r, rec) {
				case abi.Compliant:
					got += "T"
				case abi.NotApplicable:
					got += "."
				default:
					got += "E"
				}
			}
			if got != tt.want {
				t.Errorf("got  %s\nwant %s\n(rules: == != < >= CONTAINS MATCHES IN NOT-IN IS-NULL NOT== f==f f!=f f<=f f-CONTAINS-f)", got, tt.want)
			}
		})
	}
}

func TestActions(t *testing.T) {
	p := compile(t, `
WHEN node.name == "a" THEN ASSERT node.version IS "1"
WHEN node.name == "a" THEN ASSERT node.version IS null
WHEN node.name == "a" THEN SET custom_data.v TO node.version
WHEN node.name == "a" THEN APPLY "t.j2"
`)
	slot := map[string]int{}
	for i, f := range p.Fields {
		slot[f.Path] = i
	}
	rec := func(name, version, v abi.Value) []abi.Value {
		r := make([]abi.Value, len(p.Fields))
		r[slot["node.name"]], r[slot["node.version"]], r[slot["custom_data.v"]] = name, version, v
		return r
	}
	a, b := abi.String("a"), abi.String("b")
	tests := []struct {
		rec  []abi.Value
		want []abi.Verdict
	}{
		{rec(a, abi.String("1"), abi.String("1")), []abi.Verdict{abi.Compliant, abi.Violation, abi.Compliant, abi.Compliant}},
		{rec(a, abi.String("2"), abi.Null()), []abi.Verdict{abi.Violation, abi.Violation, abi.Violation, abi.Compliant}},
		{rec(a, abi.Null(), abi.Null()), []abi.Verdict{abi.Violation, abi.Compliant, abi.Compliant, abi.Compliant}},
		{rec(a, abi.Null(), abi.Number(1)), []abi.Verdict{abi.Violation, abi.Compliant, abi.Violation, abi.Compliant}},
		{rec(b, abi.String("1"), abi.String("1")), []abi.Verdict{abi.NotApplicable, abi.NotApplicable, abi.NotApplicable, abi.NotApplicable}},
		{rec(abi.Null(), abi.String("1"), abi.String("1")), []abi.Verdict{abi.NotApplicable, abi.NotApplicable, abi.NotApplicable, abi.NotApplicable}},
	}
	for i, tt := range tests {
		for r, want := range tt.want {
			if got := Eval(p, r, tt.rec); got != want {
				t.Errorf("record %d rule %d: %s, want %s", i, r, got, want)
			}
		}
	}
}

func TestEvalErrors(t *testing.T) {
	p := compile(t, `WHEN node.name == "a" THEN APPLY "t"`)
	ok := []abi.Value{abi.String("a")}
	if v := Eval(p, 0, ok); v != abi.Compliant {
		t.Fatalf("good record: %s", v)
	}
	if v := Eval(p, 1, ok); v != abi.Error {
		t.Errorf("rule out of range: %s", v)
	}
	if v := Eval(p, -1, ok); v != abi.Error {
		t.Errorf("negative rule: %s", v)
	}
	if v := Eval(p, 0, nil); v != abi.Error {
		t.Errorf("short record: %s", v)
	}
	// A Program that Check would not produce: a slot outside the record,
	// an unknown condition. The rule errs; nothing panics.
	bad := &lang.Program{
		Fields: []abi.Field{{Path: "node.name", Type: abi.TypeString}},
		Rules: []*lang.Rule{
			{Name: "slot", When: &lang.IsNull{Field: &lang.FieldRef{Path: "node.name", Slot: 5}}, Action: lang.Action{Kind: abi.ActionApply}},
			{Name: "cond", When: &lang.Literal{Value: abi.Bool(true)}, Action: lang.Action{Kind: abi.ActionApply}},
			{Name: "action", When: &lang.IsNull{Field: &lang.FieldRef{Path: "node.name"}}, Action: lang.Action{Kind: "delete"}},
		},
	}
	for r := range bad.Rules {
		if v := Eval(bad, r, []abi.Value{abi.Null()}); v != abi.Error {
			t.Errorf("rule %s: %s, want error", bad.Rules[r].Name, v)
		}
	}
}

func TestEvalBatch(t *testing.T) {
	p := compile(t, `WHEN derived.uptime > 10 THEN ASSERT derived.reachable IS true`)
	recs := [][]abi.Value{
		{abi.Number(11), abi.Bool(true)},
		{abi.Number(11), abi.Bool(false)},
		{abi.Number(10), abi.Bool(true)},
		{abi.Null(), abi.Null()},
		{abi.Number(11)},
	}
	got := EvalBatch(p, 0, recs)
	want := []abi.Verdict{abi.Compliant, abi.Violation, abi.NotApplicable, abi.NotApplicable, abi.Error}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
