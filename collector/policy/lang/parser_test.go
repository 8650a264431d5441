package lang

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/unet-project/unet/collector/policy/abi"
)

// sexpr prints an expression in a form that shows its structure.
func sexpr(e Expr) string {
	switch e := e.(type) {
	case *Logical:
		op := "AND"
		if e.Op == Or {
			op = "OR"
		}
		return fmt.Sprintf("(%s %s %s)", op, sexpr(e.X), sexpr(e.Y))
	case *Not:
		return fmt.Sprintf("(NOT %s)", sexpr(e.X))
	case *IsNull:
		if e.Negated {
			return fmt.Sprintf("(NOTNULL %s)", e.Field.Path)
		}
		return fmt.Sprintf("(NULL %s)", e.Field.Path)
	case *Compare:
		return fmt.Sprintf("(%s %s %s)", e.Op, e.Field.Path, sexpr(e.Value))
	case *FieldRef:
		return e.Path
	case *Literal:
		return describe(e.Value)
	case *RegexLit:
		return "/" + e.Pattern + "/" + e.Flags
	}
	return fmt.Sprintf("?%T", e)
}

func parseOne(t *testing.T, src string) *Rule {
	t.Helper()
	f, err := Parse("t.unet", []byte(src))
	if err != nil {
		t.Fatalf("Parse(%q): %v", src, err)
	}
	if len(f.Rules) != 1 {
		t.Fatalf("Parse(%q): %d rules, want 1", src, len(f.Rules))
	}
	return f.Rules[0]
}

func TestParseConditions(t *testing.T) {
	tests := []struct{ cond, want string }{
		{`node.role == "router"`, `(== node.role "router")`},
		{`node.role != 'router'`, `(!= node.role "router")`},
		{`derived.uptime < 10`, `(< derived.uptime 10)`},
		{`derived.uptime <= 1.5`, `(<= derived.uptime 1.5)`},
		{`derived.uptime > -3`, `(> derived.uptime -3)`},
		{`derived.uptime >= -0.25`, `(>= derived.uptime -0.25)`},
		{`derived.uptime>=.5`, `(>= derived.uptime 0.5)`},
		{`derived.uptime == 1e3`, `(== derived.uptime 1000)`},
		{`derived.uptime == 2.5E-1`, `(== derived.uptime 0.25)`},
		{`location.path CONTAINS "dc1"`, `(CONTAINS location.path "dc1")`},
		{`node.name MATCHES /^core-\d+$/i`, `(MATCHES node.name /^core-\d+$/i)`},
		{`node.name MATCHES /a\/b/`, `(MATCHES node.name /a/b/)`},
		{`node.name matches /x/xsmi`, `(MATCHES node.name /x/imsx)`},
		{`node.name MATCHES /x/ims`, `(MATCHES node.name /x/ims)`},
		{`node.role IN ["router", "switch"]`, `(IN node.role ["router", "switch"])`},
		{`node.role NOT IN ["router",]`, `(NOT IN node.role ["router"])`},
		{`node.role in []`, `(IN node.role [])`},
		{`custom_data.x IN [1, true, "a", null]`, `(IN custom_data.x [1, true, "a", null])`},
		{`custom_data.bgp.asn IS NULL`, `(NULL custom_data.bgp.asn)`},
		{`custom_data.bgp.asn is not null`, `(NOTNULL custom_data.bgp.asn)`},
		{`derived.reachable == true`, `(== derived.reachable true)`},
		{`derived.reachable == FALSE`, `(== derived.reachable false)`},
		{`custom_data.a == null`, `(== custom_data.a null)`},
		{`node.tags == ["a", "b"]`, `(== node.tags ["a", "b"])`},
		{`node.name == derived.sys_name`, `(== node.name derived.sys_name)`},
		{`derived.extra.ifInErrors.3 > 0`, `(> derived.extra.ifInErrors.3 0)`},
		{`custom_data.rack-unit == 4`, `(== custom_data.rack-unit 4)`},
		{`custom_data.set == 1`, `(== custom_data.set 1)`},

		// Precedence: NOT binds tighter than AND, AND tighter than OR.
		{`node.a == 1 OR node.b == 2 AND node.c == 3`, `(OR (== node.a 1) (AND (== node.b 2) (== node.c 3)))`},
		{`node.a == 1 AND node.b == 2 OR node.c == 3`, `(OR (AND (== node.a 1) (== node.b 2)) (== node.c 3))`},
		{`NOT node.a == 1 AND node.b == 2`, `(AND (NOT (== node.a 1)) (== node.b 2))`},
		{`NOT node.a == 1 OR NOT node.b == 2`, `(OR (NOT (== node.a 1)) (NOT (== node.b 2)))`},
		{`NOT (node.a == 1 OR node.b == 2)`, `(NOT (OR (== node.a 1) (== node.b 2)))`},
		{`(node.a == 1 OR node.b == 2) AND node.c == 3`, `(AND (OR (== node.a 1) (== node.b 2)) (== node.c 3))`},
		{`node.a == 1 AND node.b == 2 AND node.c == 3`, `(AND (AND (== node.a 1) (== node.b 2)) (== node.c 3))`},
		{`node.a == 1 OR node.b == 2 OR node.c == 3`, `(OR (OR (== node.a 1) (== node.b 2)) (== node.c 3))`},
		{`NOT NOT node.a == 1`, `(NOT (NOT (== node.a 1)))`},
		{`((node.a == 1))`, `(== node.a 1)`},

		// Keywords in any case.
		{`node.a == 1 and node.b == 2 Or not node.c IS Null`, `(OR (AND (== node.a 1) (== node.b 2)) (NOT (NULL node.c)))`},
		{`node.a Contains "x" aNd node.b nOt In [1]`, `(AND (CONTAINS node.a "x") (NOT IN node.b [1]))`},
	}
	for _, tt := range tests {
		t.Run(tt.cond, func(t *testing.T) {
			r := parseOne(t, "WHEN "+tt.cond+" THEN APPLY \"t\"")
			if got := sexpr(r.When); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestParseStrings(t *testing.T) {
	tests := []struct{ lit, want string }{
		{`"plain"`, "plain"},
		{`'single'`, "single"},
		{`"it's"`, "it's"},
		{`'say "hi"'`, `say "hi"`},
		{`"a\"b"`, `a"b`},
		{`'a\'b'`, `a'b`},
		{`"back\\slash"`, `back\slash`},
		{`"tab\there"`, "tab\there"},
		{`"nl\nx\r"`, "nl\nx\r"},
		{`"nul\0"`, "nul\x00"},
		{`"\x41\u00e9\U0001F600"`, "Aé😀"},
		{`"a\/b"`, "a/b"},
		{`"μNet ✓"`, "μNet ✓"},
		{`""`, ""},
		{`"# not a comment // nor this"`, "# not a comment // nor this"},
	}
	for _, tt := range tests {
		t.Run(tt.lit, func(t *testing.T) {
			r := parseOne(t, "WHEN node.name == "+tt.lit+" THEN APPLY 'x'")
			lit := r.When.(*Compare).Value.(*Literal)
			if lit.Value.Kind != abi.KindString || lit.Value.Str != tt.want {
				t.Errorf("got %#v, want string %q", lit.Value, tt.want)
			}
		})
	}
}

func TestParseNumbers(t *testing.T) {
	tests := []struct {
		lit  string
		want float64
	}{
		{"0", 0}, {"42", 42}, {"-7", -7}, {"3.25", 3.25}, {"-0.5", -0.5},
		{".5", 0.5}, {"-.5", -0.5}, {"1e3", 1000}, {"1E-2", 0.01}, {"9007199254740993", 9007199254740992},
		{"65001", 65001},
	}
	for _, tt := range tests {
		t.Run(tt.lit, func(t *testing.T) {
			r := parseOne(t, "WHEN derived.uptime == "+tt.lit+" THEN APPLY 'x'")
			lit := r.When.(*Compare).Value.(*Literal)
			if lit.Value.Kind != abi.KindNumber || lit.Value.Number != tt.want || math.Signbit(lit.Value.Number) != math.Signbit(tt.want) {
				t.Errorf("got %#v, want %v", lit.Value, tt.want)
			}
		})
	}
}

func TestParseActions(t *testing.T) {
	tests := []struct {
		action   string
		kind     abi.Action
		target   string
		value    string
		template string
	}{
		{`ASSERT node.version IS "17.9.4"`, abi.ActionAssert, "node.version", `"17.9.4"`, ""},
		{`assert derived.uptime is 0`, abi.ActionAssert, "derived.uptime", `0`, ""},
		{`ASSERT node.name IS derived.sys_name`, abi.ActionAssert, "node.name", `derived.sys_name`, ""},
		{`ASSERT node.tags IS ["a"]`, abi.ActionAssert, "node.tags", `["a"]`, ""},
		{`ASSERT custom_data.x IS null`, abi.ActionAssert, "custom_data.x", `null`, ""},
		{`SET custom_data.bgp.asn TO 65001`, abi.ActionSet, "custom_data.bgp.asn", `65001`, ""},
		{`Set custom_data.ok To TRUE`, abi.ActionSet, "custom_data.ok", `true`, ""},
		{`SET custom_data.name TO node.name`, abi.ActionSet, "custom_data.name", `node.name`, ""},
		{`APPLY "templates/access-ports.j2"`, abi.ActionApply, "", "", "templates/access-ports.j2"},
		{`apply 'x.j2'`, abi.ActionApply, "", "", "x.j2"},
	}
	for _, tt := range tests {
		t.Run(tt.action, func(t *testing.T) {
			r := parseOne(t, "WHEN node.a == 1 THEN "+tt.action)
			a := r.Action
			if a.Kind != tt.kind || a.Template != tt.template {
				t.Errorf("kind %q template %q, want %q %q", a.Kind, a.Template, tt.kind, tt.template)
			}
			if tt.target != "" && (a.Target == nil || a.Target.Path != tt.target || sexpr(a.Value) != tt.value) {
				t.Errorf("target %v value %s, want %s %s", a.Target, sexpr(a.Value), tt.target, tt.value)
			}
			if tt.target == "" && (a.Target != nil || a.Value != nil) {
				t.Errorf("APPLY with a target or value: %+v", a)
			}
			if a.Pos.Col != len("WHEN node.a == 1 THEN ")+1 {
				t.Errorf("action at %v", a.Pos)
			}
		})
	}
}

func TestParseFile(t *testing.T) {
	src := `// Core routers must run the approved release.
rule "core-version":
WHEN node.role == "router" AND location.path CONTAINS "dc1"
THEN ASSERT node.version IS "17.9.4"

# Every live access switch gets the access-port template.
WHEN node.role == "switch" /* live ones
   only */ AND node.lifecycle == "live"
THEN APPLY "templates/access-ports.j2" // trailing comment

RULE 'named two' : when node.vendor == "juniper" AND custom_data.bgp.asn IS NULL
then set custom_data.bgp.asn to 65001
# comment at the end without a newline`
	f, err := Parse("core.unet", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if f.Name != "core.unet" || len(f.Rules) != 3 {
		t.Fatalf("file %q with %d rules", f.Name, len(f.Rules))
	}
	want := []struct {
		name      string
		line, col int
		cond      string
	}{
		{"core-version", 2, 1, `(AND (== node.role "router") (CONTAINS location.path "dc1"))`},
		{"core.unet:7", 7, 1, `(AND (== node.role "switch") (== node.lifecycle "live"))`},
		{"named two", 11, 1, `(AND (== node.vendor "juniper") (NULL custom_data.bgp.asn))`},
	}
	for i, w := range want {
		r := f.Rules[i]
		if r.Name != w.name || r.Pos != (Pos{"core.unet", w.line, w.col}) || sexpr(r.When) != w.cond {
			t.Errorf("rule %d: %q at %v: %s\nwant %q at %d:%d: %s", i, r.Name, r.Pos, sexpr(r.When), w.name, w.line, w.col, w.cond)
		}
	}
	// Positions of the parts of the first rule.
	c := f.Rules[0].When.(*Logical)
	if c.At != (Pos{"core.unet", 3, 28}) {
		t.Errorf("AND at %v", c.At)
	}
	cmp := c.X.(*Compare)
	if cmp.Field.At != (Pos{"core.unet", 3, 6}) || cmp.At != (Pos{"core.unet", 3, 16}) || cmp.Value.Position() != (Pos{"core.unet", 3, 19}) {
		t.Errorf("positions: field %v op %v value %v", cmp.Field.At, cmp.At, cmp.Value.Position())
	}
}

func TestParseEmpty(t *testing.T) {
	for _, src := range []string{"", "\n\n", "// nothing\n# here\n/* at all */"} {
		f, err := Parse("e.unet", []byte(src))
		if err != nil || len(f.Rules) != 0 {
			t.Errorf("Parse(%q) = %d rules, %v", src, len(f.Rules), err)
		}
	}
}

// TestParseErrors checks the messages; the golden test checks the output
// as a whole.
func TestParseErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{`WHEN node.a == 1 ASSERT node.a IS 1`, `1:18: expected THEN after the condition, found "ASSERT"`},
		{`WHEN node.a == 1`, `1:17: expected THEN after the condition, found end of file`},
		{`WHEN THEN APPLY "x"`, `1:6: expected a condition (a field, NOT or "("), found "THEN"`},
		{`WHEN node.a 1 THEN APPLY "x"`, `1:13: expected an operator after node.a (==, !=, <, <=, >, >=, CONTAINS, MATCHES, IN, NOT IN, IS NULL), found "1"`},
		{`WHEN node.a = 1 THEN APPLY "x"`, `1:13: unexpected "=": comparisons use ==`},
		{`WHEN node.a == THEN APPLY "x"`, `1:16: expected a value after == (a string, number, true, false, null, /regex/, [list] or field), found "THEN"`},
		{`WHEN (node.a == 1 THEN APPLY "x"`, `1:19: expected ")" to close the "(" at 1:6, found "THEN"`},
		{`WHEN node.a IS 1 THEN APPLY "x"`, `1:16: expected NULL after IS (a condition compares with ==; IS is for IS NULL and ASSERT), found "1"`},
		{`WHEN node.a NOT 1 THEN APPLY "x"`, `1:17: expected IN after node.a NOT, found "1"`},
		{`WHEN node.a IN "x" THEN APPLY "x"`, `1:16: expected a list [ … ], found "\"x\""`},
		{`WHEN node.a IN [1 2] THEN APPLY "x"`, `1:19: expected "," or "]" in the list, found "2"`},
		{`WHEN node.a IN [[1]] THEN APPLY "x"`, `1:17: expected a list element (a string, number, true, false or null), found "["`},
		{`WHEN node.a IN [node.b] THEN APPLY "x"`, `1:17: expected a list element (a string, number, true, false or null), found "node.b"`},
		{`WHEN node.a == 1 THEN`, `1:22: expected ASSERT, SET or APPLY after THEN, found end of file`},
		{`WHEN node.a == 1 THEN ASSERT IS 1`, `1:30: expected the field to check after ASSERT, found "IS"`},
		{`WHEN node.a == 1 THEN ASSERT node.a == 1`, `1:37: expected IS after ASSERT node.a, found "=="`},
		{`WHEN node.a == 1 THEN SET custom_data.a = 1`, `1:41: unexpected "=": comparisons use ==`},
		{`WHEN node.a == 1 THEN SET custom_data.a IS 1`, `1:41: expected TO after SET custom_data.a, found "IS"`},
		{`WHEN node.a == 1 THEN APPLY x`, `1:29: expected the template's name as a string after APPLY, found "x"`},
		{`WHEN node.a == 1 THEN APPLY ""`, `1:29: the template name must not be empty`},
		{`WHEN node.a == 1 THEN APPLY "x" AND APPLY "y"`, `1:33: expected the end of the rule after its action (a rule has one action: write another rule for another action), found "AND"`},
		{`rule x: WHEN node.a == 1 THEN APPLY "x"`, `1:6: expected the rule's name as a string after rule, found "x"`},
		{`rule "x" WHEN node.a == 1 THEN APPLY "x"`, `1:10: expected ":" after the rule's name, found "WHEN"`},
		{`rule "": WHEN node.a == 1 THEN APPLY "x"`, `1:6: a rule name must not be empty`},
		{`rule "x": THEN APPLY "x"`, `1:11: expected WHEN after rule "x":, found "THEN"`},
		{`node.a == 1`, `1:1: expected a rule (WHEN … THEN … or rule "name": WHEN …), found "node.a"`},
		{`WHEN node.a == "abc`, `1:16: unterminated string`},
		{"WHEN node.a == \"ab\nc\" THEN APPLY \"x\"", `1:16: unterminated string`},
		{`WHEN node.a == "a\qb" THEN APPLY "x"`, `1:18: unknown escape \q (known: \n \r \t \0 \\ \' \" \/ \xHH \uHHHH)`},
		{`WHEN node.a == "\x4" THEN APPLY "x"`, `1:17: escape \x needs 2 hexadecimal digits`},
		{`WHEN node.a == "\uD800" THEN APPLY "x"`, `1:17: escape \uD800 is not a valid code point`},
		{`WHEN node.a MATCHES /abc THEN APPLY "x"`, `1:21: unterminated regex: it needs a closing /`},
		{`WHEN node.a MATCHES /abc/g THEN APPLY "x"`, `1:26: unknown regex flag 'g' (flags are i, m, s and x)`},
		{`WHEN node.a == 10s THEN APPLY "x"`, `1:16: malformed number "10s"`},
		{`WHEN node.a == 1.2.3 THEN APPLY "x"`, `1:16: malformed number "1.2.3"`},
		{`WHEN node.a == 1e999 THEN APPLY "x"`, `1:16: number 1e999 is out of range`},
		{`WHEN node.a == 1 THEN APPLY "x" /* open`, `1:33: unterminated /* comment`},
		{`WHEN node.a == 1 THEN APPLY "x" @`, `1:33: unexpected character '@'`},
		{"WHEN node.a == 1 THEN APPLY \"x\" \xff", `1:33: invalid UTF-8 byte 0xff`},
		{`WHEN node. == 1 THEN APPLY "x"`, `1:10: a field name cannot end with "."`},
		{`WHEN node.a ! node.b THEN APPLY "x"`, `1:13: unexpected "!": negation is NOT, inequality is !=`},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			_, err := Parse("e.unet", []byte(tt.src))
			if err == nil {
				t.Fatal("no error")
			}
			first := strings.SplitN(err.Error(), "\n", 2)[0]
			if first != "e.unet:"+tt.want {
				t.Errorf("got  %s\nwant e.unet:%s", first, tt.want)
			}
		})
	}
}

// TestParseRecovers checks that the parser reports one error per broken
// rule and still returns the good rules.
func TestParseRecovers(t *testing.T) {
	src := `WHEN node.a == 1 THEN APPLY "ok1"
WHEN node.a == THEN APPLY "x"
WHEN node.b == 2 THEN APPLY "ok2"
rule "r": WHEN node.c ~ 3 THEN APPLY "x"
rule "ok3": WHEN node.d == 4 THEN APPLY "ok3"
WHEN node.e == 5 THEN SET node.e 5
WHEN node.e == 5 WHEN node.f == 6 THEN APPLY "ok4"`
	f, err := Parse("r.unet", []byte(src))
	var ds Diagnostics
	if err == nil {
		t.Fatal("no error")
	}
	ds = err.(Diagnostics)
	lines := []int{}
	for _, d := range ds {
		lines = append(lines, d.Pos.Line)
	}
	if fmt.Sprint(lines) != "[2 4 6 7]" {
		t.Errorf("errors on lines %v, want [2 4 6 7]:\n%v", lines, err)
	}
	var got []string
	for _, r := range f.Rules {
		got = append(got, r.Action.Template)
	}
	if fmt.Sprint(got) != "[ok1 ok2 ok3 ok4]" {
		t.Errorf("rules %v", got)
	}
}
