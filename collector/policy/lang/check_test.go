package lang

import (
	"reflect"
	"strings"
	"testing"

	"github.com/unet-project/unet/collector/policy/abi"
)

func mustCompile(t *testing.T, sources map[string]string) *Program {
	t.Helper()
	m := map[string][]byte{}
	for k, v := range sources {
		m[k] = []byte(v)
	}
	p, err := Compile(m)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return p
}

func TestCheckSlotsAndRegexes(t *testing.T) {
	p := mustCompile(t, map[string]string{
		"a.unet": `WHEN node.role == "router" AND node.name MATCHES /^core/i
THEN ASSERT node.version IS derived.sys_descr
WHEN node.name MATCHES /^core/i OR node.name MATCHES /^ core # comment/xi
THEN SET custom_data.bgp.asn TO 65001
WHEN node.role == "switch" AND node.fqdn MATCHES /^core/ THEN APPLY "t.j2"`,
		"b.unet": `rule "b1": WHEN derived.extra.cpu_5min > 90 THEN ASSERT custom_data.ok IS node.role`,
	})
	wantFields := []abi.Field{
		{Path: "node.role", Type: abi.TypeString},
		{Path: "node.name", Type: abi.TypeString},
		{Path: "node.version", Type: abi.TypeString},
		{Path: "derived.sys_descr", Type: abi.TypeString},
		{Path: "custom_data.bgp.asn", Type: abi.TypeAny},
		{Path: "node.fqdn", Type: abi.TypeString},
		{Path: "derived.extra.cpu_5min", Type: abi.TypeNumber},
		{Path: "custom_data.ok", Type: abi.TypeAny},
	}
	if !reflect.DeepEqual(p.Fields, wantFields) {
		t.Errorf("fields\n got %v\nwant %v", p.Fields, wantFields)
	}
	wantRegexes := []abi.Regex{{Pattern: "^core", Flags: "i"}, {Pattern: "^core"}}
	if !reflect.DeepEqual(p.Regexes, wantRegexes) {
		t.Errorf("regexes\n got %v\nwant %v", p.Regexes, wantRegexes)
	}
	var names []string
	for _, r := range p.Rules {
		names = append(names, r.Name)
	}
	if strings.Join(names, " ") != "a.unet:1 a.unet:3 a.unet:5 b1" {
		t.Errorf("rules %v", names)
	}
	// The AST carries the slots and IDs.
	r0 := p.Rules[0]
	and := r0.When.(*Logical)
	if s := and.Y.(*Compare).Field.Slot; s != 1 {
		t.Errorf("node.name slot %d", s)
	}
	if r0.Action.Target.Slot != 2 || r0.Action.Value.(*FieldRef).Slot != 3 {
		t.Errorf("action slots %d %d", r0.Action.Target.Slot, r0.Action.Value.(*FieldRef).Slot)
	}
	or := p.Rules[1].When.(*Logical)
	x := or.Y.(*Compare).Value.(*RegexLit)
	if x.ID != 0 || x.Pattern != "^ core # comment" || x.Flags != "ix" {
		t.Errorf("x regex %+v", x)
	}
	if id := p.Rules[2].When.(*Logical).Y.(*Compare).Value.(*RegexLit).ID; id != 1 {
		t.Errorf("case-sensitive regex ID %d", id)
	}
	if !p.Regexp(0).MatchString("CORE-1") || p.Regexp(1).MatchString("CORE-1") {
		t.Error("compiled regexes do not honour their flags")
	}
	if p.Rules[3].Action.Value.(*FieldRef).Type != abi.TypeString || p.Rules[3].Action.Target.Type != abi.TypeAny {
		t.Error("types not set")
	}
}

func TestStripExtended(t *testing.T) {
	tests := []struct{ in, want string }{
		{`a b  c`, `abc`},
		{`^ \d+ \ x $`, `^\d+\ x$`},
		{`a # b c`, `a`},
		{`a\#b`, `a\#b`},
		{`[ #]x y`, `[ #]xy`},
		{`[] ]a b`, `[] ]ab`},
		{`[^] ]a b`, `[^] ]ab`},
		{`\[ a ]`, `\[a]`},
		{"a\tb", "ab"},
	}
	for _, tt := range tests {
		if got := stripExtended(tt.in); got != tt.want {
			t.Errorf("stripExtended(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCheckErrors(t *testing.T) {
	tests := []struct{ cond, action, want string }{
		// Fields.
		{`node.rol == "x"`, ``, `1:6: unknown field node.rol (did you mean node.role?)`},
		{`role == "x"`, ``, `1:6: unknown field role (did you mean node.role?)`},
		{`Node.Vendor == "x"`, ``, `1:6: unknown field Node.Vendor (did you mean node.vendor?)`},
		{`derived.interfaces.errors_in == 1`, ``, `1:6: unknown field derived.interfaces.errors_in (did you mean derived.interfaces.errors_in_rate?)`},
		{`foo.bar == 1`, ``, `1:6: unknown field foo.bar (fields start with node., location., derived. or custom_data.)`},
		{`custom_data == 1`, ``, `1:6: custom_data needs a path: custom_data.KEY or custom_data.KEY.SUBKEY`},
		{`derived.extra == 1`, ``, `1:6: derived.extra needs the name of a value: derived.extra.NAME`},
		{`node.nam == node.b`, ``, "1:6: unknown field node.nam (did you mean node.name?)\nc.unet:1:18: unknown field node.b (the fields of node are name, fqdn, domain, vendor, model, role, lifecycle, version, serial, management_address, snmp_profile, tags)"},
		// Types of comparisons.
		{`derived.uptime == "1"`, ``, `1:21: cannot compare derived.uptime (number) with "1" (string)`},
		{`node.role != 1`, ``, `1:16: cannot compare node.role (string) with 1 (number)`},
		{`derived.reachable == "yes"`, ``, `1:24: cannot compare derived.reachable (bool) with "yes" (string)`},
		{`node.name == derived.uptime`, ``, `1:16: cannot compare node.name (string) with derived.uptime (number)`},
		{`node.tags == "a"`, ``, `1:16: cannot compare node.tags (list) with "a" (string)`},
		{`node.tags == [1]`, ``, `1:19: ==: node.tags holds strings, the list holds 1 (a number)`},
		{`node.name == ["a"]`, ``, `1:16: cannot compare node.name (string) with ["a"] (list)`},
		{`node.name == null`, ``, `1:19: a comparison with null is always false: write node.name IS NULL`},
		{`custom_data.x != null`, ``, `1:23: a comparison with null is always false: write custom_data.x IS NOT NULL`},
		{`custom_data.x < null`, ``, `1:22: < with null is always false: null only goes with IS NULL`},
		{`derived.reachable < true`, ``, `1:24: < orders numbers and strings; derived.reachable is a bool`},
		{`node.tags >= "a"`, ``, `1:16: >= orders numbers and strings; node.tags is a list`},
		{`custom_data.x > true`, ``, `1:22: > orders numbers and strings; true is a bool`},
		{`custom_data.x > [1]`, ``, `1:22: > orders numbers and strings; [1] is a list`},
		{`derived.uptime > "1"`, ``, `1:21: cannot compare derived.uptime (number) with "1" (string)`},
		// CONTAINS.
		{`derived.uptime CONTAINS 1`, ``, `1:21: CONTAINS needs a string or list field; derived.uptime is a number`},
		{`node.name CONTAINS 1`, ``, `1:25: node.name is a string: CONTAINS looks for a substring, and 1 is a number`},
		{`node.tags CONTAINS 1`, ``, `1:25: node.tags holds strings, 1 is a number`},
		{`node.tags CONTAINS ["a"]`, ``, `1:25: CONTAINS takes one value, not a list: combine conditions with OR, or use IN`},
		{`node.name CONTAINS node.tags`, ``, `1:25: node.name is a string: CONTAINS looks for a substring, and node.tags is a list`},
		// MATCHES.
		{`node.name MATCHES "^a"`, ``, `1:24: MATCHES needs a regex literal /…/, not "^a": write /^a/`},
		{`node.name MATCHES node.fqdn`, ``, `1:24: MATCHES needs a regex literal /…/, not node.fqdn`},
		{`derived.uptime MATCHES /1/`, ``, `1:21: MATCHES needs a string field; derived.uptime is a number`},
		{`node.tags MATCHES /a/`, ``, `1:16: MATCHES needs a string field; node.tags is a list`},
		{`node.name MATCHES /a(/`, ``, "1:24: invalid regex: missing closing ): `a(`"},
		{`node.name MATCHES /a(?P<x/i`, ``, "1:24: invalid regex: invalid named capture: `(?P<x`"},
		{`node.name MATCHES /( # comment/x`, ``, "1:24: invalid regex: missing closing ): `(`"},
		{`node.name == /a/`, ``, `1:19: a regex only goes with MATCHES, not ==`},
		{`node.name CONTAINS /a/`, ``, `1:25: a regex only goes with MATCHES, not CONTAINS`},
		// IN.
		{`node.role IN [1, 2]`, ``, `1:19: node.role is a string, and the IN list holds 1 (a number)`},
		{`node.role NOT IN ["a", true]`, ``, `1:23: node.role is a string, and the NOT IN list holds true (a bool)`},
		{`node.role IN ["a", null]`, ``, `1:19: null in an IN list never matches: test IS NULL instead`},
		{`custom_data.x IN [null]`, ``, `1:23: null in an IN list never matches: test IS NULL instead`},
		{`node.tags IN ["a"]`, ``, `1:16: IN compares one value with each element of the list, and node.tags is a list: use CONTAINS`},
		// Actions.
		{`node.name == "a"`, `ASSERT node.version IS 17`, `1:51: ASSERT node.version: node.version is a string, 17 is a number`},
		{`node.name == "a"`, `ASSERT node.tags IS [1]`, `1:48: ASSERT node.tags: node.tags holds strings, the list holds 1 (a number)`},
		{`node.name == "a"`, `ASSERT node.version IS derived.uptime`, `1:51: ASSERT node.version (string) cannot be derived.uptime (number)`},
		{`node.name == "a"`, `ASSERT node.version IS /17/`, `1:51: ASSERT takes a value, not a regex: test the regex in the condition with MATCHES`},
		{`node.name == "a"`, `ASSERT node.verison IS "1"`, `1:35: unknown field node.verison (did you mean node.version?)`},
		{`node.name == "a"`, `ASSERT node.version IS node.vers`, `1:51: unknown field node.vers (did you mean node.version?)`},
		{`node.name == "a"`, `SET node.version TO "1"`, `1:32: SET can only change custom_data.* fields; node.version is not custom data`},
		{`node.name == "a"`, `SET custom_data.x TO /a/`, `1:49: SET takes a value, not a regex: test the regex in the condition with MATCHES`},
		{`node.name == "a"`, `SET custom_data.x TO node.nme`, `1:49: unknown field node.nme (did you mean node.name?)`},
	}
	for _, tt := range tests {
		t.Run(tt.cond+" "+tt.action, func(t *testing.T) {
			action := tt.action
			if action == "" {
				action = `APPLY "t"`
			}
			src := "WHEN " + tt.cond + " THEN " + action
			f, err := Parse("c.unet", []byte(src))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			p, err := Check(f)
			if err == nil {
				t.Fatal("no error")
			}
			if p != nil {
				t.Error("a Program with errors")
			}
			if got := err.Error(); got != "c.unet:"+tt.want {
				t.Errorf("%s\n got %s\nwant c.unet:%s", src, got, tt.want)
			}
		})
	}
}

func TestCheckAccepts(t *testing.T) {
	// Everything here is well typed; custom_data fields take any literal.
	conds := []string{
		`custom_data.x == 1`, `custom_data.x == "a"`, `custom_data.x == true`, `custom_data.x == [1, "a"]`,
		`custom_data.x < 3`, `custom_data.x >= "m"`, `custom_data.x CONTAINS "a"`, `custom_data.x CONTAINS 1`,
		`custom_data.x MATCHES /a/`, `custom_data.x IN [1, "a", true]`, `custom_data.x NOT IN []`,
		`custom_data.x == node.name`, `node.name == custom_data.x`, `custom_data.x == custom_data.y`,
		`node.tags CONTAINS "core"`, `node.tags CONTAINS node.name`, `node.tags CONTAINS custom_data.t`,
		`node.name CONTAINS custom_data.t`, `node.tags == []`, `node.tags != ["a", "b"]`,
		`derived.lldp.neighbor_names CONTAINS node.name`, `location.path CONTAINS "dc1/"`,
		`node.name < "m"`, `derived.uptime < derived.last_poll_age`, `derived.interfaces.down > 0`,
		`node.role IN ["router", "switch"]`, `derived.uptime NOT IN [1, 2.5]`, `derived.reachable IN [true]`,
		`node.version IS NOT NULL`, `derived.extra.if.3 IS NULL`,
	}
	actions := []string{
		`ASSERT node.version IS "1"`, `ASSERT node.version IS null`, `ASSERT node.version IS custom_data.v`,
		`ASSERT custom_data.v IS ["a", 1]`, `ASSERT node.tags IS ["a"]`, `ASSERT node.tags IS []`,
		`ASSERT derived.reachable IS true`, `ASSERT custom_data.a IS custom_data.b`,
		`SET custom_data.a TO 1`, `SET custom_data.a TO null`, `SET custom_data.a TO ["x"]`,
		`SET custom_data.a TO node.tags`, `SET custom_data.a TO derived.uptime`,
	}
	var b strings.Builder
	for _, c := range conds {
		b.WriteString("WHEN " + c + " THEN APPLY \"t\"\n")
	}
	for _, a := range actions {
		b.WriteString("WHEN node.name == \"n\" THEN " + a + "\n")
	}
	f, err := Parse("ok.unet", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Check(f); err != nil {
		t.Fatal(err)
	}
}

func TestCheckDuplicateNames(t *testing.T) {
	a, _ := Parse("a.unet", []byte(`rule "x": WHEN node.name == "a" THEN APPLY "t"
WHEN node.name == "b" THEN APPLY "t"`))
	b, _ := Parse("b.unet", []byte(`
rule "x": WHEN node.name == "c" THEN APPLY "t"
rule "a.unet:2": WHEN node.name == "c" THEN APPLY "t"`))
	_, err := Check(a, b)
	want := `b.unet:2:1: rule name "x" is already used by the rule at a.unet:1:1
b.unet:3:1: rule name "a.unet:2" is already used by the rule at a.unet:2:1`
	if err == nil || err.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}
}

func TestCheckUnnamedOnOneLine(t *testing.T) {
	f, err := Parse("a.unet", []byte(`WHEN node.name == "a" THEN APPLY "t" WHEN node.name == "b" THEN APPLY "u"`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Check(f)
	want := `a.unet:1:38: this rule and the one at a.unet:1:1 are both named a.unet:1 after their line: name one (rule "name": WHEN …) or start it on a line of its own`
	if err == nil || err.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}
}

// TestCheckCollects checks that errors of several rules and files come
// together, in file order then position order.
func TestCheckCollects(t *testing.T) {
	_, err := Compile(map[string][]byte{
		"b.unet": []byte("WHEN node.x == 1 THEN APPLY \"t\"\nWHEN node.role == THEN APPLY \"t\""),
		"a.unet": []byte("WHEN node.role == 1 AND node.y == 2 THEN SET node.role TO \"r\""),
	})
	want := `a.unet:1:16: cannot compare node.role (string) with 1 (number)
a.unet:1:25: unknown field node.y (the fields of node are name, fqdn, domain, vendor, model, role, lifecycle, version, serial, management_address, snmp_profile, tags)
a.unet:1:46: SET can only change custom_data.* fields; node.role is not custom data
b.unet:1:6: unknown field node.x (the fields of node are name, fqdn, domain, vendor, model, role, lifecycle, version, serial, management_address, snmp_profile, tags)
b.unet:2:19: expected a value after == (a string, number, true, false, null, /regex/, [list] or field), found "THEN"`
	if err == nil || err.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}
}

func TestLookup(t *testing.T) {
	tests := []struct {
		path string
		typ  abi.Type
		ok   bool
	}{
		{"node.role", abi.TypeString, true},
		{"node.tags", abi.TypeList, true},
		{"derived.reachable", abi.TypeBool, true},
		{"derived.uptime", abi.TypeNumber, true},
		{"derived.extra.cpu_5min", abi.TypeNumber, true},
		{"derived.extra.if.3", abi.TypeNumber, true},
		{"custom_data.a", abi.TypeAny, true},
		{"custom_data.a.b.c", abi.TypeAny, true},
		{"custom_data.", "", false},
		{"custom_data.a..b", "", false},
		{"custom_data.<path>", "", false},
		{"derived.extra.<name>", "", false},
		{"derived.extra", "", false},
		{"node", "", false},
		{"node.role.x", "", false},
	}
	for _, tt := range tests {
		f, ok := Lookup(tt.path)
		if ok != tt.ok || f.Type != tt.typ || (ok && f.Path != tt.path) {
			t.Errorf("Lookup(%q) = %+v, %v", tt.path, f, ok)
		}
	}
	for _, f := range Fields() {
		if f.Doc == "" || f.Type == "" {
			t.Errorf("field %s has no doc or type", f.Path)
		}
	}
}
