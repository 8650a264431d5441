package bundle

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/unet-project/unet/shared/model"
)

func TestDecodeJSON(t *testing.T) {
	for _, tc := range []struct {
		name string
		json string
		want Bundle
	}{{
		name: "keys in any case, enums in any spelling, output-only fields ignored",
		json: `{"Nodes": [{"NAME": "r1", "vendor": "Palo Alto", "role": "LB", "location": "par1", "fqdn": "wrong",
		         "domain": "Example.net", "tags": ["b", " a", "b"], "custom_data": {"asn": 65001}}],
		        "snmp_profiles": [{"name": "p", "version": "v3", "user": "u", "auth_protocol": "SHA1",
		         "retries": null, "secrets_set": ["auth_key"]}],
		        "locations": null}`,
		want: Bundle{
			SNMPProfiles: []model.SNMPProfile{{Name: "p", Version: model.SNMPv3, User: "u", AuthProtocol: model.AuthSHA,
				Port: 161, Timeout: model.DefaultSNMPTimeout, Retries: intp(1), Interval: model.DefaultSNMPInterval, MaxRepetitions: 25}},
			Nodes: []model.Node{{Name: "r1", Domain: "example.net", FQDN: "r1.example.net", Vendor: model.VendorPaloAlto,
				Role: model.RoleLoadBalancer, Lifecycle: model.LifecyclePlanned, Location: "par1", Tags: []string{"a", "b"},
				CustomData: map[string]any{"asn": json.Number("65001")}}},
		},
	}, {
		name: "Meta as given, ids made canonical; empty lists and maps are nil",
		json: `{"locations": [{"id": "{0E5F6F1C-7D43-4A8E-9B0E-6A1F2F3C4D5E}", "revision": 9,
		         "created_at": "2026-01-02T03:04:05.5Z", "name": "eu", "kind": "region"}],
		        "nodes": [{"name": "r1", "vendor": "cisco", "role": "router", "location": "par1", "tags": [], "custom_data": {}}]}`,
		want: Bundle{
			Locations: []model.Location{{Meta: model.Meta{ID: "0e5f6f1c-7d43-4a8e-9b0e-6a1f2f3c4d5e", Revision: 9,
				CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 5e8, time.UTC)}, Name: "eu", Kind: model.KindRegion}},
			Nodes: []model.Node{{Name: "r1", FQDN: "r1", Vendor: model.VendorCisco, Role: model.RoleRouter,
				Lifecycle: model.LifecyclePlanned, Location: "par1"}},
		},
	}, {
		name: "links: nested ends, a null Z with a circuit",
		json: `{"links": [{"a": {"node": "r1", "interface": "e0"}, "z": {"Node": "r2", "interface": "e0"}, "bandwidth_bps": 1000},
		                  {"a": {"node": "r1", "interface": "e1"}, "z": null, "circuit": {"id": "C1"}}]}`,
		want: Bundle{Links: []model.Link{
			{A: model.Endpoint{Node: "r1", Interface: "e0"}, Z: &model.Endpoint{Node: "r2", Interface: "e0"}, BandwidthBps: 1000},
			{A: model.Endpoint{Node: "r1", Interface: "e1"}, Circuit: &model.Circuit{ID: "C1"}},
		}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got := mustDecodeJSON(t, tc.json)
			if d := diffObjects(got, &tc.want); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestDecodeJSONRowErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		json string
		want []wantErr
	}{{
		name: "unknown fields, at the top, in an object, in a nested object",
		json: `{"nodez": [], "nodes": [{"name": "r1", "vendr": "cisco", "vendor": "cisco", "role": "router", "location": "l"}],
		        "links": [{"a": {"node": "r1", "iface": "e0"}, "z": {"node": "r2", "interface": "e0"}}]}`,
		want: []wantErr{
			{reason: `unknown field "nodez" (expected locations, snmp_profiles, nodes or links)`},
			{path: "nodes[0]", kind: "node", name: "r1", reason: `unknown field "vendr"`},
			// (a.interface is then missing, which is no news)
			{path: "links[0]", kind: "link", name: "r1", field: "a", reason: `unknown field "iface"`},
		},
	}, {
		name: "every bad field of an object, with the accepted values",
		json: `{"nodes": [{"name": "r1", "vendor": "foo", "role": "core", "lifecycle": "alive", "location": "l"}]}`,
		want: []wantErr{
			{path: "nodes[0]", kind: "node", name: "r1", field: "vendor", reason: `unknown vendor "foo" (accepted: cisco,`},
			{path: "nodes[0]", kind: "node", name: "r1", field: "role", reason: `unknown role "core"`},
			{path: "nodes[0]", kind: "node", name: "r1", field: "lifecycle", reason: `unknown lifecycle "alive"`},
		},
	}, {
		name: "wrong JSON types, secrets never echoed",
		json: `{"snmp_profiles": [{"name": "p", "version": "2c", "community": 123456789, "port": "161", "timeout": 5,
		                          "retries": 1.5, "created_at": "yesterday"}],
		        "links": [{"a": {"node": "r1", "interface": "e0"}, "z": {"node": "r2", "interface": "e0"}, "bandwidth_bps": -1}],
		        "nodes": [{"name": "r1", "vendor": "cisco", "role": "router", "location": "l", "tags": ["a", 1], "custom_data": []}]}`,
		want: []wantErr{
			{path: "snmp_profiles[0]", kind: "snmp-profile", name: "p", field: "community", reason: "expected a string, not a JSON number"},
			{path: "snmp_profiles[0]", kind: "snmp-profile", name: "p", field: "port", reason: "expected a whole number, not a JSON string"},
			{path: "snmp_profiles[0]", kind: "snmp-profile", name: "p", field: "timeout", reason: "expected a string, not a JSON number"},
			{path: "snmp_profiles[0]", kind: "snmp-profile", name: "p", field: "retries", reason: "expected a whole number, not a JSON number"},
			{path: "snmp_profiles[0]", kind: "snmp-profile", name: "p", field: "created_at", reason: "parsing time"},
			{path: "links[0]", kind: "link", name: "r1:e0", field: "bandwidth_bps", reason: "expected a non-negative whole number, not a JSON number"},
			{path: "nodes[0]", kind: "node", name: "r1", field: "tags", reason: "expected a string, not a JSON number"},
			{path: "nodes[0]", kind: "node", name: "r1", field: "custom_data", reason: "expected an object, not a JSON array"},
		},
	}, {
		name: "shapes: a list that is not an array, an element that is not an object, an end that is a string",
		json: `{"locations": {"name": "eu"}, "nodes": [{"name": "r1", "vendor": "cisco", "role": "router", "location": "l"}, "r2"],
		        "links": [{"a": "r1:e0", "z": {"node": "r2", "interface": "e0"}}]}`,
		want: []wantErr{
			{path: "locations", reason: "expected an array of objects, not a JSON object"},
			{path: "nodes[1]", kind: "node", reason: "expected an object, not a JSON string"},
			{path: "links[0]", kind: "link", field: "a", reason: "expected an object, not a JSON string"},
		},
	}, {
		name: "fields and lists given twice",
		json: `{"nodes": [], "Nodes": [],
		        "locations": [{"name": "eu", "Name": "europe", "kind": "region"}]}`,
		want: []wantErr{
			{path: "nodes", reason: "appears twice"},
			{path: "locations[0]", kind: "location", name: "eu", field: "name", reason: "appears twice"},
		},
	}, {
		name: "the model's validation and duplicates, by path",
		json: `{"locations": [{"name": "eu", "kind": "region"}, {"name": "eu", "kind": "region"}, {"name": "x y"}],
		        "links": [{"a": {"node": "r1", "interface": "e0"}, "z": {"node": "r1", "interface": "e1"}},
		                  {"a": {"node": "r2", "interface": "e0"}, "z": {"node": "r1", "interface": "e0"}, "id": "nope"}]}`,
		want: []wantErr{
			{path: "locations[1]", kind: "location", name: "eu", field: "name", reason: "defined twice, also at locations[0]"},
			{path: "locations[2]", kind: "location", name: "x y", field: "name", reason: "may only hold letters"},
			{path: "locations[2]", kind: "location", name: "x y", field: "kind", reason: "is required"},
			{path: "links[0]", kind: "link", name: "r1:e0", field: "z.node", reason: "self-links are not allowed"},
			{path: "links[1]", kind: "link", name: "r2:e0", field: "id", reason: "is not a UUID"},
			{path: "links[1]", kind: "link", name: "r2:e0", field: "z", reason: "interface r1:e0 is also used by the link at links[0]"},
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			b, rowErrs, err := DecodeJSON(strings.NewReader(tc.json))
			if err != nil {
				t.Fatalf("DecodeJSON: %v", err)
			}
			checkRowErrors(t, rowErrs, tc.want)
			checkBadRowsLeftOut(t, b, rowErrs)
			for _, e := range rowErrs {
				if strings.Contains(e.Error(), "123456789") {
					t.Errorf("a secret is echoed: %v", e)
				}
			}
		})
	}
}

func TestDecodeJSONUnreadable(t *testing.T) {
	for _, tc := range []struct{ name, json, want string }{
		{"empty", "", "empty file"},
		{"blank", " \n\t", "empty file"},
		{"CSV given as JSON", "kind,name\nnode,r1\n", "unreadable JSON: line 1, column 1: invalid character 'k'"},
		{"syntax error, with its line", "{\n  \"nodes\": [\n    {\"name\": \"r1\",}\n  ]\n}", "line 3, column 19: invalid character '}'"},
		{"truncated", `{"nodes": [`, "unexpected end of JSON input"},
		{"two values", `{} {}`, "invalid character '{' after top-level value"},
		{"an array", `[{"name": "r1"}]`, "expected a JSON object {\"locations\": [...], \"nodes\": [...], ...}, not a JSON array"},
		{"a string", `"nodes"`, "not a JSON string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, rowErrs, err := DecodeJSON(strings.NewReader(tc.json))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one containing %q", err, tc.want)
			}
			if b != nil || rowErrs != nil {
				t.Errorf("with an error, got a bundle %v and row errors %v", b, rowErrs)
			}
		})
	}
}

func TestDecodeJSONByteOrderMark(t *testing.T) {
	b := mustDecodeJSON(t, "\ufeff"+`{"locations": [{"name": "eu", "kind": "region"}]}`)
	if len(b.Locations) != 1 {
		t.Errorf("got %d locations", len(b.Locations))
	}
}

// TestJSONFieldsMatchEncodingJSON guards the field-by-field decoder: it
// must know exactly the fields encoding/json writes for every model type,
// so that a field added to the model is neither refused nor missed.
func TestJSONFieldsMatchEncodingJSON(t *testing.T) {
	now := time.Now()
	full := model.Meta{ID: "x", Revision: 1, CreatedAt: now, UpdatedAt: now}
	for _, v := range []any{
		model.Location{Meta: full, Name: "n", Kind: "k", Parent: "p", Description: "d"},
		model.SNMPProfile{Meta: full, Name: "n", Version: "v", Community: "c", User: "u", AuthProtocol: "a", AuthKey: "k",
			PrivProtocol: "p", PrivKey: "k", Port: 1, Timeout: 1, Retries: intp(1), Interval: 1, MaxRepetitions: 1, SecretsSet: []string{"c"}},
		model.Node{Meta: full, Name: "n", Domain: "d", FQDN: "f", Vendor: "v", Model: "m", Role: "r", Lifecycle: "l",
			ManagementAddress: "a", Location: "l", SNMPProfile: "s", Version: "v", Serial: "s", Tags: []string{"t"},
			CustomData: map[string]any{"a": 1}},
		model.Link{Meta: full, A: model.Endpoint{Node: "a", Interface: "i"}, Z: &model.Endpoint{}, Circuit: &model.Circuit{ID: "c", Provider: "p"},
			BandwidthBps: 1, Description: "d"},
		model.Endpoint{Node: "n", Interface: "i"},
		model.Circuit{ID: "i", Provider: "p"},
	} {
		data, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		var want, got []string
		for k := range m {
			want = append(want, k)
		}
		for _, f := range jsonFields(reflect.TypeOf(v)) {
			got = append(got, f.name)
		}
		slices.Sort(want)
		slices.Sort(got)
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%T: JSON fields (-encoding/json +jsonFields):\n%s", v, d)
		}
	}
}
