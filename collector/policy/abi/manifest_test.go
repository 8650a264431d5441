package abi

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const goodManifest = `{
  "abi": 1,
  "fields": [ {"path": "node.role", "type": "string"},
              {"path": "node.version", "type": "string"},
              {"path": "node.fqdn", "type": "string"},
              {"path": "custom_data.bgp.asn", "type": "any"} ],
  "regexes": [ {"pattern": "^ge-", "flags": "i"} ],
  "rules": [ {"name": "core-version", "file": "core.unet", "line": 3,
              "action": "assert", "target": "node.version",
              "expected": {"value": "17.9.4"}},
             {"name": "core.unet:9", "file": "core.unet", "line": 9,
              "action": "set", "target": "custom_data.bgp.asn",
              "expected": {"value": 65001}},
             {"name": "no-asn", "action": "assert", "target": "custom_data.bgp.asn",
              "expected": {"value": null}},
             {"name": "fqdn", "action": "assert", "target": "node.fqdn",
              "expected": {"field": "node.role"}},
             {"name": "core.unet:6", "file": "core.unet", "line": 6,
              "action": "apply", "template": "templates/access-ports.j2"} ]
}`

func TestParseManifest(t *testing.T) {
	m, err := ParseManifest([]byte(goodManifest))
	if err != nil {
		t.Fatal(err)
	}
	want := &Manifest{
		ABI: 1,
		Fields: []Field{{"node.role", TypeString}, {"node.version", TypeString},
			{"node.fqdn", TypeString}, {"custom_data.bgp.asn", TypeAny}},
		Regexes: []Regex{{"^ge-", "i"}},
		Rules: []Rule{
			{Name: "core-version", File: "core.unet", Line: 3, Action: ActionAssert, Target: "node.version", Expected: &Expected{Value: "17.9.4"}},
			{Name: "core.unet:9", File: "core.unet", Line: 9, Action: ActionSet, Target: "custom_data.bgp.asn", Expected: &Expected{Value: 65001.0}},
			{Name: "no-asn", Action: ActionAssert, Target: "custom_data.bgp.asn", Expected: &Expected{}},
			{Name: "fqdn", Action: ActionAssert, Target: "node.fqdn", Expected: &Expected{Field: "node.role"}},
			{Name: "core.unet:6", File: "core.unet", Line: 6, Action: ActionApply, Template: "templates/access-ports.j2"},
		},
	}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	// What the code generator marshals parses back the same, an expected
	// null included.
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"expected":{"value":null}`) {
		t.Errorf("expected null lost: %s", b)
	}
	m2, err := ParseManifest(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(m, m2); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestParseManifestErrors(t *testing.T) {
	// Each case replaces one part of goodManifest.
	tests := []struct {
		name, old, new, want string
	}{
		{"not JSON", goodManifest, "\x00garbage", "manifest is not valid JSON"},
		{"trailing data", goodManifest, goodManifest + "{}", "data after its JSON object"},
		{"unknown key", `"abi": 1,`, `"abi": 1, "abbi": 2,`, `unknown field "abbi"`},
		{"ABI version", `"abi": 1`, `"abi": 2`, "manifest is for ABI version 2, this host implements 1"},
		{"field type", `"type": "any"`, `"type": "object"`, `manifest field 3 (custom_data.bgp.asn): unknown type "object"`},
		{"field twice", `"node.fqdn", "type"`, `"node.role", "type"`, "manifest field 2: node.role is listed twice"},
		{"field path", `"node.fqdn", "type"`, `"fqdn", "type"`, `path "fqdn" is not prefix.name`},
		{"regex flag", `"flags": "i"`, `"flags": "ix"`, `manifest regex 0: unknown flag 'x'`},
		{"regex flag twice", `"flags": "i"`, `"flags": "ii"`, `flag 'i' twice`},
		{"action", `"action": "apply"`, `"action": "deny"`, `manifest rule 4 (core.unet:6): unknown action "deny"`},
		{"no action", `"action": "apply", `, ``, `manifest rule 4 (core.unet:6): no action`},
		{"no name", `"name": "core-version", `, ``, `manifest rule 0: no name`},
		{"same name", `"name": "no-asn"`, `"name": "core-version"`, `manifest rules 0 and 2 are both named "core-version"`},
		{"assert without expected", `,
              "expected": {"value": "17.9.4"}`, ``, "manifest rule 0 (core-version): assert has no expected value"},
		{"assert without target", `"target": "node.version",`, ``, "assert has no target"},
		{"target not a field", `"target": "node.version"`, `"target": "node.serial"`, "target node.serial is not in the manifest's fields"},
		{"expected field not a field", `{"field": "node.role"}`, `{"field": "node.model"}`, "expected field node.model is not in the manifest's fields"},
		{"expected both", `{"field": "node.role"}`, `{"field": "node.role", "value": 1}`, "expected has both a value and a field"},
		{"expected neither", `{"field": "node.role"}`, `{}`, "expected has neither a value nor a field"},
		{"expected object", `{"value": 65001}`, `{"value": {"a": 1}}`, "expected value: map[string]interface {} is not a literal"},
		{"expected nested list", `{"value": 65001}`, `{"value": [[1]]}`, "a list inside a list"},
		{"set outside custom_data", `"action": "set", "target": "custom_data.bgp.asn"`, `"action": "set", "target": "node.version"`, "set target node.version is outside custom_data"},
		{"apply without template", `"template": "templates/access-ports.j2"`, `"template": ""`, "apply has no template"},
		{"apply with target", `"action": "apply",`, `"action": "apply", "target": "node.role",`, "apply has a target or an expected value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.Replace(goodManifest, tt.old, tt.new, 1)
			if src == goodManifest {
				t.Fatalf("%q is not in the manifest", tt.old)
			}
			_, err := ParseManifest([]byte(src))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseManifest: %v, want an error with %q", err, tt.want)
			}
		})
	}
}

func TestParseManifestLimits(t *testing.T) {
	big := make([]byte, MaxManifestBytes+1)
	if _, err := ParseManifest(big); err == nil || !strings.Contains(err.Error(), "more than the limit") {
		t.Errorf("oversized manifest: %v", err)
	}
	fields := make([]Field, MaxFields+1)
	for i := range fields {
		fields[i] = Field{Path: "custom_data.f" + strings.Repeat("x", i%7) + string(rune('a'+i%26)), Type: TypeAny}
	}
	m := Manifest{ABI: 1, Fields: fields}
	if err := m.Validate(); err == nil || !strings.Contains(err.Error(), "more than the limit of 1024") {
		t.Errorf("too many fields: %v", err)
	}
}

func TestRegexCompile(t *testing.T) {
	re, err := Regex{Pattern: "^ge-", Flags: "i"}.Compile()
	if err != nil || !re.MatchString("GE-0/0/1") {
		t.Errorf("Compile: %v %v", re, err)
	}
	if _, err := (Regex{Pattern: "(("}).Compile(); err == nil {
		t.Error("Compile of a bad pattern did not fail")
	}
}
