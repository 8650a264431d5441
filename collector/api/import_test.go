package api

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// bundleJSON is a small network as an import file.
const bundleJSON = `{
  "locations": [{"name": "eu", "kind": "region"}, {"name": "par1", "kind": "site", "parent": "eu"}],
  "snmp_profiles": [{"name": "v2", "version": "2c", "community": "` + secretCommunity + `"}],
  "nodes": [
    {"name": "r1", "vendor": "cisco", "role": "router", "location": "par1", "snmp_profile": "v2"},
    {"name": "r2", "vendor": "juniper", "role": "router", "location": "par1"}
  ],
  "links": [{"a": {"node": "r1", "interface": "xe-0/0/0"}, "z": {"node": "r2", "interface": "xe-0/0/0"}}]
}`

// bundleCSV is the same network as one CSV file with a kind column.
const bundleCSV = `kind,name,location_kind,parent,vendor,role,location,snmp_profile,snmp_version,community,a,z
location,eu,region,,,,,,,,,
location,par1,site,eu,,,,,,,,
snmp-profile,v2,,,,,,,2c,` + secretCommunity + `,,
node,r1,,,cisco,router,par1,v2,,,,
node,r2,,,juniper,router,par1,,,,,
link,,,,,,,,,,r1:xe-0/0/0,r2:xe-0/0/0
`

func count(t *testing.T, e *env, coll string) int {
	t.Helper()
	return len(e.must(http.StatusOK, req{method: "GET", path: "/api/v1/" + coll}).json(t)["items"].([]any))
}

func counts(t *testing.T, e *env) string {
	t.Helper()
	return fmt.Sprintf("%d locations, %d profiles, %d nodes, %d links",
		count(t, e, "locations"), count(t, e, "snmp-profiles"), count(t, e, "nodes"), count(t, e, "links"))
}

const seededCounts = "2 locations, 1 profiles, 2 nodes, 1 links"

func TestImport(t *testing.T) {
	cases := []struct {
		name string
		r    req
	}{
		{"json by content type", req{path: "/api/v1/import", body: bundleJSON}},
		{"json by format", req{path: "/api/v1/import?format=json", body: bundleJSON, contentType: "application/x-www-form-urlencoded"}},
		{"csv by content type", req{path: "/api/v1/import", body: bundleCSV, contentType: "text/csv; charset=utf-8"}},
		{"csv by format", req{path: "/api/v1/import?format=csv", body: bundleCSV, contentType: "application/octet-stream"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			tc.r.method = "POST"
			rep := e.must(http.StatusOK, tc.r).json(t)
			if got := fmt.Sprint(rep["created"]); got != "map[link:1 location:2 node:2 snmp-profile:1]" {
				t.Errorf("created %s: %v", got, rep)
			}
			if got := counts(t, e); got != seededCounts {
				t.Errorf("after import: %s", got)
			}
			p, err := e.store.GetSNMPProfile(t.Context(), "v2")
			if err != nil || p.Community != secretCommunity {
				t.Errorf("imported profile: %v (community set: %v)", err, p.Community == secretCommunity)
			}
			// The same file again creates nothing.
			rep = e.must(http.StatusOK, tc.r).json(t)
			if got := fmt.Sprint(rep["created"]); got != "map[]" {
				t.Errorf("second import created %s", got)
			}
		})
	}
}

// TestImportCSVOfOneKind: a CSV without a kind column takes ?kind.
func TestImportCSVOfOneKind(t *testing.T) {
	e := newEnv(t)
	csv := "name,location_kind,parent\nemea,region,\nams1,site,emea\n"
	e.must(http.StatusBadRequest, req{method: "POST", path: "/api/v1/import", body: csv, contentType: mimeCSV})
	res := e.must(http.StatusOK, req{method: "POST", path: "/api/v1/import?kind=locations", body: csv, contentType: mimeCSV})
	if got := fmt.Sprint(res.json(t)["created"]); got != "map[location:2]" {
		t.Errorf("created %s", got)
	}
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/locations/ams1"})
}

// TestImportAllOrNothing: one bad row and nothing is imported; the 422
// names every bad row with its position and field.
func TestImportAllOrNothing(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name string
		r    req
		want []string
	}{
		{"reference to nothing (json)", req{path: "/api/v1/import", body: strings.Replace(bundleJSON, `"location": "par1", "snmp_profile"`, `"location": "lyo1", "snmp_profile"`, 1)},
			[]string{`"path":"nodes[0]"`, `"field":"location"`, "lyo1"}},
		{"invalid value (json)", req{path: "/api/v1/import", body: strings.Replace(bundleJSON, `"vendor": "juniper"`, `"vendor": "acme"`, 1)},
			[]string{`"path":"nodes[1]"`, `"field":"vendor"`}},
		{"unknown field (json)", req{path: "/api/v1/import", body: strings.Replace(bundleJSON, `"kind": "region"`, `"kind": "region", "colour": "red"`, 1)},
			[]string{`"path":"locations[0]"`, "colour"}},
		{"two bad rows (csv)", req{path: "/api/v1/import", contentType: mimeCSV,
			body: strings.Replace(strings.Replace(bundleCSV, "juniper", "acme", 1), "r1:xe-0/0/0,r2", "r1-xe-0/0/0,r2", 1)},
			[]string{`"line":6`, `"line":7`, "acme", "r1-xe-0/0/0"}},
		{"reference to nothing (csv)", req{path: "/api/v1/import", contentType: mimeCSV,
			body: strings.Replace(bundleCSV, "r1:xe-0/0/0,r2", "r9:xe-0/0/0,r2", 1)},
			[]string{`"line":7`, `"field":"a.node"`, "r9"}},
	}
	for _, tc := range cases {
		for _, dry := range []string{"", "&dry_run=true"} {
			t.Run(tc.name+dry, func(t *testing.T) {
				r := tc.r
				r.method = "POST"
				r.path += "?format=" + map[bool]string{true: "csv", false: "json"}[r.contentType == mimeCSV] + dry
				res := e.must(http.StatusUnprocessableEntity, r)
				if res.errorCode(t) != "invalid" {
					t.Errorf("code: %s", res.body)
				}
				if errs, _ := res.details(t)["errors"].([]any); len(errs) == 0 {
					t.Errorf("no row errors: %s", res.body)
				}
				for _, w := range tc.want {
					if !strings.Contains(string(res.body), w) {
						t.Errorf("the answer does not hold %s: %s", w, res.body)
					}
				}
				if got := counts(t, e); got != "0 locations, 0 profiles, 0 nodes, 0 links" {
					t.Errorf("after a refused import: %s", got)
				}
			})
		}
	}
}

// TestImportDryRun checks without writing, and reports what would happen.
func TestImportDryRun(t *testing.T) {
	e := newEnv(t)
	rep := e.must(http.StatusOK, req{method: "POST", path: "/api/v1/import?dry_run=true", body: bundleJSON}).json(t)
	if got := fmt.Sprint(rep["created"]); got != "map[link:1 location:2 node:2 snmp-profile:1]" {
		t.Errorf("dry run created %s", got)
	}
	if got := counts(t, e); got != "0 locations, 0 profiles, 0 nodes, 0 links" {
		t.Errorf("after a dry run: %s", got)
	}
	e.must(http.StatusOK, req{method: "POST", path: "/api/v1/import", body: bundleJSON})
	// Against the imported state: everything exists; a profile without its
	// community is fine (the stored one is kept); a second link on an
	// interface is not.
	again := strings.Replace(bundleJSON, `, "community": "`+secretCommunity+`"`, "", 1)
	rep = e.must(http.StatusOK, req{method: "POST", path: "/api/v1/import?dry_run=1", body: again}).json(t)
	if got := fmt.Sprint(rep["created"], rep["updated"], rep["unchanged"]); got != "map[] map[] map[link:1 location:2 node:2 snmp-profile:1]" {
		t.Errorf("dry run over the stored state: %s", got)
	}
	clash := `{"links": [{"a": {"node": "r2", "interface": "xe-0/0/0"}, "circuit": {"id": "c1"}}]}`
	res := e.must(http.StatusUnprocessableEntity, req{method: "POST", path: "/api/v1/import?dry_run=true", body: clash})
	if !strings.Contains(string(res.body), `"field":"a.interface"`) {
		t.Errorf("interface clash: %s", res.body)
	}
	e.must(http.StatusUnprocessableEntity, req{method: "POST", path: "/api/v1/import", body: clash})
}

// TestImportRequestErrors: what is wrong with the request itself.
func TestImportRequestErrors(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		r      req
		status int
		want   string
	}{
		{req{path: "/api/v1/import?format=xml", body: bundleJSON}, 400, `"param":"format"`},
		{req{path: "/api/v1/import?kind=planet", body: bundleCSV, contentType: mimeCSV}, 400, `"param":"kind"`},
		{req{path: "/api/v1/import?dry_run=maybe", body: bundleJSON}, 400, `"param":"dry_run"`},
		{req{path: "/api/v1/import?force=true", body: bundleJSON}, 400, `"param":"force"`},
		{req{path: "/api/v1/import", body: `{"nodes": [`}, 400, "cannot be read"},
		{req{path: "/api/v1/import", body: `[]`}, 400, "cannot be read"},
		{req{path: "/api/v1/import", body: ``}, 400, "cannot be read"},
		{req{path: "/api/v1/import", body: bundleJSON, contentType: "text/plain"}, 415, "text/csv"},
	} {
		tc.r.method = "POST"
		res := e.do(tc.r)
		if res.status != tc.status || !strings.Contains(string(res.body), tc.want) {
			t.Errorf("%s: %d %s, want %d with %s", tc.r.path, res.status, res.body, tc.status, tc.want)
		}
	}
}

// ndjsonLines splits and decodes a streamed answer.
func ndjsonLines(t *testing.T, body []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if len(m) != 1 {
			t.Errorf("line %q has %d members, want 1", sc.Text(), len(m))
		}
		out = append(out, m)
	}
	return out
}

// TestImportStream: progress lines, then the report, as NDJSON.
func TestImportStream(t *testing.T) {
	e := newEnv(t)
	var nodes []string
	for i := range 300 {
		nodes = append(nodes, fmt.Sprintf(`{"name": "n%03d", "vendor": "linux", "role": "server", "location": "par1"}`, i))
	}
	big := strings.Replace(bundleJSON, `"nodes": [`, `"nodes": [`+strings.Join(nodes, ",")+",", 1)
	// The store writes at most 128 operations per transaction: the import
	// takes several steps.
	res := e.must(http.StatusOK, req{method: "POST", path: "/api/v1/import", body: big, headers: map[string]string{"Accept": "application/x-ndjson"}})
	if ct := res.header.Get("Content-Type"); ct != mimeNDJSON {
		t.Errorf("Content-Type %q", ct)
	}
	lines := ndjsonLines(t, res.body)
	if len(lines) < 2 {
		t.Fatalf("%d lines: %s", len(lines), res.body)
	}
	last := lines[len(lines)-1]
	rep, ok := last["report"].(map[string]any)
	if !ok || fmt.Sprint(rep["created"]) != "map[link:1 location:2 node:302 snmp-profile:1]" {
		t.Errorf("last line: %v", last)
	}
	prev := -1.0
	for _, l := range lines[:len(lines)-1] {
		p, ok := l["progress"].(map[string]any)
		if !ok {
			t.Fatalf("not a progress line: %v", l)
		}
		done, total := p["done"].(float64), p["total"].(float64)
		if done < prev || done > total || total != 306 {
			t.Errorf("progress %v after %v", p, prev)
		}
		prev = done
	}
	if prev != 306 {
		t.Errorf("the last progress line says %v done", prev)
	}

	// Bad rows found by the store come as a final error line; a file that
	// cannot be read is a plain 4xx before the stream starts.
	clash := `{"links": [{"a": {"node": "r2", "interface": "xe-0/0/0"}, "circuit": {"id": "c1"}}]}`
	res = e.must(http.StatusOK, req{method: "POST", path: "/api/v1/import", body: clash, headers: map[string]string{"Accept": "application/x-ndjson"}})
	lines = ndjsonLines(t, res.body)
	eo, _ := lines[len(lines)-1]["error"].(map[string]any)
	if eo["code"] != "invalid" || !strings.Contains(fmt.Sprint(eo["details"]), "a.interface") {
		t.Errorf("last line of a refused import: %s", res.body)
	}
	e.must(http.StatusBadRequest, req{method: "POST", path: "/api/v1/import", body: `{"nodes": `, headers: map[string]string{"Accept": "application/x-ndjson"}})
	// q=0 refuses the stream.
	res = e.must(http.StatusOK, req{method: "POST", path: "/api/v1/import?dry_run=true", body: bundleJSON, headers: map[string]string{"Accept": "application/x-ndjson;q=0, application/json"}})
	if ct := res.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Accept with ndjson;q=0: Content-Type %q", ct)
	}
	// A dry run streams its report alone.
	res = e.must(http.StatusOK, req{method: "POST", path: "/api/v1/import?dry_run=true", body: bundleJSON, headers: map[string]string{"Accept": "application/json, application/x-ndjson"}})
	if lines = ndjsonLines(t, res.body); len(lines) != 1 || lines[0]["report"] == nil {
		t.Errorf("dry run stream: %s", res.body)
	}
}

// TestExportRoundTrip: what export writes, import reads back unchanged, in
// both formats; secrets never leave (do() checks every answer).
func TestExportRoundTrip(t *testing.T) {
	for _, format := range []string{"json", "csv"} {
		t.Run(format, func(t *testing.T) {
			e := newEnv(t)
			e.seed()
			before := e.must(http.StatusOK, req{method: "GET", path: "/api/v1/export?format=" + format})
			wantType := map[string]string{"json": "application/json", "csv": "text/csv"}[format]
			if ct := before.header.Get("Content-Type"); !strings.HasPrefix(ct, wantType) {
				t.Errorf("Content-Type %q", ct)
			}
			if cd := before.header.Get("Content-Disposition"); !strings.Contains(cd, "unet-export."+format) {
				t.Errorf("Content-Disposition %q", cd)
			}
			rep := e.must(http.StatusOK, req{method: "POST", path: "/api/v1/import?format=" + format, body: before.body}).json(t)
			if fmt.Sprint(rep["created"]) != "map[]" {
				t.Errorf("re-import created %v", rep["created"])
			}
			after := e.must(http.StatusOK, req{method: "GET", path: "/api/v1/export?format=" + format})
			if !bytes.Equal(before.body, after.body) {
				t.Errorf("export changed by its own re-import:\n%s\n---\n%s", before.body, after.body)
			}
			p, err := e.store.GetSNMPProfile(t.Context(), "v3")
			if err != nil || p.AuthKey != secretAuthKey || p.PrivKey != secretPrivKey {
				t.Errorf("re-import lost the v3 secrets (%v)", err)
			}
		})
	}
	// Into an empty store the export is a complete network, but for the
	// secrets: profiles need them again.
	e := newEnv(t)
	src := newEnv(t)
	src.seed()
	exp := src.must(http.StatusOK, req{method: "GET", path: "/api/v1/export"})
	var b map[string][]map[string]any
	if err := json.Unmarshal(exp.body, &b); err != nil {
		t.Fatal(err)
	}
	if len(b["locations"]) != 3 || len(b["snmp_profiles"]) != 2 || len(b["nodes"]) != 2 || len(b["links"]) != 1 {
		t.Errorf("export holds %d locations, %d profiles, %d nodes, %d links",
			len(b["locations"]), len(b["snmp_profiles"]), len(b["nodes"]), len(b["links"]))
	}
	res := e.must(http.StatusUnprocessableEntity, req{method: "POST", path: "/api/v1/import", body: exp.body})
	if !strings.Contains(string(res.body), `"field":"community"`) {
		t.Errorf("import of an export without secrets into an empty store: %s", res.body)
	}
}
