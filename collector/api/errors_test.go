package api

import (
	"net/http"
	"strings"
	"testing"
)

// TestErrors: every error status of the contract, in the one JSON shape,
// with the details a client needs to fix the request.
func TestErrors(t *testing.T) {
	e := newEnv(t)
	linkID := e.seed()
	node := `{"name": "x1", "vendor": "cisco", "role": "router", "location": "par1"}`
	big := `{"name": "x1", "kind": "site", "description": "` + strings.Repeat("a", 1<<20) + `"}`
	cases := []struct {
		name   string
		r      req
		status int
		code   string
		// want are strings the body must hold (field names, params...).
		want []string
	}{
		// 400
		{"unknown field", req{method: "POST", path: "/api/v1/locations", body: `{"name": "x", "kind": "site", "colour": "red"}`},
			400, "bad_request", []string{`"field":"colour"`}},
		{"unknown nested field", req{method: "POST", path: "/api/v1/links", body: `{"a": {"node": "r1", "interface": "e1", "port": 1}, "circuit": {"id": "c"}}`},
			400, "bad_request", []string{`"field":"a.port"`}},
		{"case-insensitive name", req{method: "POST", path: "/api/v1/locations", body: `{"NAME": "x", "kind": "site"}`},
			400, "bad_request", []string{`"field":"NAME"`}},
		{"malformed JSON", req{method: "POST", path: "/api/v1/nodes", body: `{"name": "x1",`}, 400, "bad_request", []string{"malformed JSON"}},
		{"syntax error", req{method: "POST", path: "/api/v1/nodes", body: `{"name": x1}`}, 400, "bad_request", []string{"malformed JSON at byte"}},
		{"trailing data", req{method: "POST", path: "/api/v1/nodes", body: node + ` {}`}, 400, "bad_request", []string{"after the object"}},
		{"two objects", req{method: "PUT", path: "/api/v1/nodes/r1", body: node + node}, 400, "bad_request", []string{"after the object"}},
		{"empty body", req{method: "POST", path: "/api/v1/nodes", body: ``}, 400, "bad_request", []string{"empty"}},
		{"not an object", req{method: "POST", path: "/api/v1/nodes", body: `[` + node + `]`}, 400, "bad_request", []string{"JSON object"}},
		{"null body", req{method: "POST", path: "/api/v1/nodes", body: `null`}, 400, "bad_request", []string{"null"}},
		{"wrong type", req{method: "POST", path: "/api/v1/nodes", body: `{"name": 7}`}, 400, "bad_request", []string{`"field":"name"`}},
		{"number out of range", req{method: "PATCH", path: "/api/v1/nodes/r1", body: `{"custom_data": {"x": [1, 2e999]}}`},
			400, "bad_request", []string{`"field":"custom_data.x[1]"`}},
		{"wrong nested type", req{method: "POST", path: "/api/v1/links", body: `{"a": {"node": ["r1"]}}`}, 400, "bad_request", []string{`a.node`}},
		{"bad revision", req{method: "PUT", path: "/api/v1/nodes/r1", body: `{"name": "r1", "revision": "7"}`}, 400, "bad_request", []string{`"field":"revision"`}},
		{"bad If-Match", req{method: "PUT", path: "/api/v1/nodes/r1", body: node, headers: map[string]string{"If-Match": `"abc"`}},
			400, "bad_request", []string{"If-Match"}},
		{"If-Match and revision disagree", req{method: "PUT", path: "/api/v1/nodes/r1", body: `{"name": "r1", "revision": 3}`, headers: map[string]string{"If-Match": `"4"`}},
			400, "bad_request", []string{"disagree"}},
		{"bad enum filter", req{method: "GET", path: "/api/v1/nodes?role=bogus"}, 400, "bad_request",
			[]string{`"param":"role"`, "router", "load-balancer", "access-point"}},
		{"bad vendor filter", req{method: "GET", path: "/api/v1/nodes?vendor=acme"}, 400, "bad_request", []string{`"param":"vendor"`, "juniper"}},
		{"bad lifecycle filter", req{method: "GET", path: "/api/v1/nodes?lifecycle=dead"}, 400, "bad_request", []string{`"param":"lifecycle"`, "decommissioned"}},
		{"bad kind filter", req{method: "GET", path: "/api/v1/locations?kind=planet"}, 400, "bad_request", []string{`"param":"kind"`, "rack"}},
		{"negative limit", req{method: "GET", path: "/api/v1/nodes?limit=-1"}, 400, "bad_request", []string{`"param":"limit"`}},
		{"text limit", req{method: "GET", path: "/api/v1/nodes?limit=ten"}, 400, "bad_request", []string{`"param":"limit"`}},
		{"huge limit", req{method: "GET", path: "/api/v1/nodes?limit=1000000"}, 400, "bad_request", []string{`"param":"limit"`}},
		{"bad sort", req{method: "GET", path: "/api/v1/nodes?sort=colour"}, 400, "bad_request", []string{`"param":"sort"`, "vendor"}},
		{"bad continue", req{method: "GET", path: "/api/v1/nodes?continue=garbage"}, 400, "bad_request", []string{`"param":"continue"`}},
		{"within nowhere", req{method: "GET", path: "/api/v1/locations?within=nowhere"}, 400, "bad_request", []string{`"param":"within"`}},
		{"unknown param", req{method: "GET", path: "/api/v1/nodes?vendr=cisco"}, 400, "bad_request", []string{`"param":"vendr"`, "vendor"}},
		{"repeated param", req{method: "GET", path: "/api/v1/nodes?role=router&role=switch"}, 400, "bad_request", []string{`"param":"role"`}},
		{"bad cascade", req{method: "DELETE", path: "/api/v1/nodes/r1?cascade=yes"}, 400, "bad_request", []string{`"param":"cascade"`}},
		{"bad export format", req{method: "GET", path: "/api/v1/export?format=xml"}, 400, "bad_request", []string{"json", "csv"}},
		// 404
		{"unknown route", req{method: "GET", path: "/api/v1/routers"}, 404, "not_found", nil},
		{"unknown object", req{method: "GET", path: "/api/v1/nodes/nope"}, 404, "not_found", []string{"nope"}},
		{"unknown link", req{method: "GET", path: "/api/v1/links/00000000-0000-0000-0000-000000000000"}, 404, "not_found", nil},
		{"trailing slash", req{method: "GET", path: "/api/v1/nodes/"}, 404, "not_found", nil},
		// 405
		{"wrong method", req{method: "DELETE", path: "/api/v1/nodes"}, 405, "method_not_allowed", []string{"GET", "POST"}},
		{"wrong method on object", req{method: "POST", path: "/api/v1/nodes/r1", body: node}, 405, "method_not_allowed", []string{"PATCH"}},
		// 409
		{"name taken", req{method: "POST", path: "/api/v1/nodes", body: `{"name": "r1", "vendor": "cisco", "role": "router", "location": "par1"}`},
			409, "conflict", nil},
		{"stale If-Match", req{method: "DELETE", path: "/api/v1/nodes/r1", headers: map[string]string{"If-Match": `"1"`}}, 409, "conflict", nil},
		{"interface already linked", req{method: "POST", path: "/api/v1/links", body: `{"a": {"node": "r1", "interface": "xe-0/0/0"}, "circuit": {"id": "c1"}}`},
			409, "conflict", nil},
		{"in use: location", req{method: "DELETE", path: "/api/v1/locations/par1"}, 409, "in_use",
			[]string{`"referenced_by"`, `{"kind":"location","name":"par1-r1"}`, `{"kind":"node","name":"r1"}`}},
		{"in use: profile", req{method: "DELETE", path: "/api/v1/snmp-profiles/v2?cascade=true"}, 409, "in_use",
			[]string{`{"kind":"node","name":"r1"}`}},
		{"in use: node", req{method: "DELETE", path: "/api/v1/nodes/r2"}, 409, "in_use", []string{`{"kind":"link","name":"` + linkID + `"}`}},
		// 413
		{"body too large", req{method: "POST", path: "/api/v1/locations", body: big}, 413, "payload_too_large", nil},
		// 415
		{"text/plain", req{method: "POST", path: "/api/v1/nodes", body: node, contentType: "text/plain"}, 415, "unsupported_media_type",
			[]string{"application/json"}},
		{"form", req{method: "PUT", path: "/api/v1/nodes/r1", body: node, contentType: "application/x-www-form-urlencoded"}, 415, "unsupported_media_type", nil},
		{"merge patch on PUT", req{method: "PUT", path: "/api/v1/nodes/r1", body: node, contentType: mimeMergePatch}, 415, "unsupported_media_type", nil},
		{"latin-1", req{method: "POST", path: "/api/v1/nodes", body: node, contentType: "application/json; charset=iso-8859-1"}, 415, "unsupported_media_type", nil},
		{"import without type", req{method: "POST", path: "/api/v1/import", body: `{}`, contentType: "application/octet-stream"}, 415, "unsupported_media_type",
			[]string{"text/csv"}},
		// 422
		{"invalid node", req{method: "POST", path: "/api/v1/nodes", body: `{"name": "bad name", "location": "par1", "management_address": "300.1.1.1"}`},
			422, "invalid", []string{`"field":"name"`, `"field":"vendor"`, `"field":"role"`, `"field":"management_address"`}},
		{"bad enum in body", req{method: "POST", path: "/api/v1/nodes", body: `{"name": "x1", "vendor": "cisco", "role": "bogus", "location": "par1"}`},
			422, "invalid", []string{`"field":"role"`, "load-balancer"}},
		{"bad duration", req{method: "POST", path: "/api/v1/snmp-profiles", body: `{"name": "p", "version": "2c", "timeout": "soon"}`},
			422, "invalid", []string{`"field":"timeout"`}},
		{"missing reference", req{method: "POST", path: "/api/v1/nodes", body: `{"name": "x1", "vendor": "cisco", "role": "router", "location": "nowhere"}`},
			422, "invalid", []string{`"field":"location"`}},
		{"v3 without keys", req{method: "PUT", path: "/api/v1/snmp-profiles/v2", body: `{"name": "v2", "version": "3", "user": "u", "auth_protocol": "sha"}`},
			422, "invalid", []string{`"field":"auth_key"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := e.do(tc.r)
			if res.status != tc.status {
				t.Fatalf("status %d, want %d: %s", res.status, tc.status, res.body)
			}
			if code := res.errorCode(t); code != tc.code {
				t.Errorf("code %q, want %q: %s", code, tc.code, res.body)
			}
			if ct := res.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q", ct)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(res.body), w) {
					t.Errorf("the answer does not hold %s: %s", w, res.body)
				}
			}
		})
	}
	// Nothing above changed the seeded nodes.
	if got := e.must(http.StatusOK, req{method: "GET", path: "/api/v1/nodes"}).json(t)["items"].([]any); len(got) != 2 {
		t.Errorf("%d nodes after the failed requests", len(got))
	}
}

// TestMethodNotAllowedHeader: 405 names the allowed methods in Allow.
func TestMethodNotAllowedHeader(t *testing.T) {
	e := newEnv(t)
	res := e.must(http.StatusMethodNotAllowed, req{method: "PUT", path: "/api/v1/locations"})
	allow := res.header.Get("Allow")
	for _, m := range []string{"GET", "POST"} {
		if !strings.Contains(allow, m) {
			t.Errorf("Allow %q lacks %s", allow, m)
		}
	}
}

// TestImportTooLarge: the import limit is its own, and answered with 413.
func TestImportTooLarge(t *testing.T) {
	e := newEnv(t)
	a, _ := e.newAPI(func(c *Config) { c.MaxImportBytes = 1024; c.MaxBodyBytes = 512 })
	srv := newServer(t, a)
	body := `{"locations": [` + strings.Repeat(`{"name": "x", "kind": "site"},`, 100) + `{"name": "y", "kind": "site"}]}`
	for _, r := range []req{
		{method: "POST", path: "/api/v1/import", body: body},
		{method: "POST", path: "/api/v1/import?format=json", body: body, contentType: "application/octet-stream"},
		{method: "POST", path: "/api/v1/locations", body: `{"name": "x", "kind": "site", "description": "` + strings.Repeat("d", 600) + `"}`},
	} {
		res := e.doTo(srv, r)
		if res.status != http.StatusRequestEntityTooLarge || res.errorCode(t) != "payload_too_large" {
			t.Errorf("%s %s: %d %s", r.method, r.path, res.status, res.body)
		}
	}
	// Chunked bodies (no Content-Length) are cut at the limit too.
	res := e.doTo(srv, req{method: "POST", path: "/api/v1/import", body: chunked(body)})
	if res.status != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked import: %d %s", res.status, res.body)
	}
	if n := len(e.must(http.StatusOK, req{method: "GET", path: "/api/v1/locations"}).json(t)["items"].([]any)); n != 0 {
		t.Errorf("%d locations after refused imports", n)
	}
}
