package api

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestCRUD walks every collection through create, get (by name and id),
// list, conditional PUT and PATCH (fresh and stale), conditional DELETE.
func TestCRUD(t *testing.T) {
	e := newEnv(t)
	e.seed()
	cases := []struct {
		coll   string
		create map[string]any
		byName bool
		// put is the full object sent by PUT; putField/putValue are checked after.
		put                map[string]any
		putField, putValue string
		patch              map[string]any
		patchField         string
		patchValue         any
	}{
		{
			coll: "locations", byName: true,
			create: map[string]any{"name": "lyo1", "kind": "site", "parent": "eu",
				// Output-only fields are accepted and ignored.
				"id": "not-an-id", "created_at": "yesterday", "updated_at": 12},
			put:      map[string]any{"name": "lyo1", "kind": "site", "parent": "eu", "description": "Lyon"},
			putField: "description", putValue: "Lyon",
			patch:      map[string]any{"kind": "building"},
			patchField: "kind", patchValue: "building",
		},
		{
			coll: "snmp-profiles", byName: true,
			create:   map[string]any{"name": "p1", "version": "2c", "community": secretCommunity, "secrets_set": []string{"bogus"}},
			put:      map[string]any{"name": "p1", "version": "2c", "port": 1161, "timeout": "5s"},
			putField: "timeout", putValue: "5s",
			patch:      map[string]any{"retries": 3},
			patchField: "retries", patchValue: float64(3),
		},
		{
			coll: "nodes", byName: true,
			create:   map[string]any{"name": "r3", "vendor": "arista", "role": "switch", "location": "par1", "domain": "example.net", "fqdn": "ignored"},
			put:      map[string]any{"name": "r3", "vendor": "arista", "role": "switch", "location": "par1", "domain": "example.net", "model": "7050"},
			putField: "model", putValue: "7050",
			patch:      map[string]any{"tags": []string{"edge"}, "custom_data": map[string]any{"asn": 64512}},
			patchField: "tags", patchValue: []any{"edge"},
		},
		{
			coll:     "links",
			create:   map[string]any{"a": map[string]any{"node": "r1", "interface": "et-1"}, "circuit": map[string]any{"id": "C-1", "provider": "ACME"}},
			put:      map[string]any{"a": map[string]any{"node": "r1", "interface": "et-1"}, "circuit": map[string]any{"id": "C-1", "provider": "ACME"}, "description": "transit"},
			putField: "description", putValue: "transit",
			patch:      map[string]any{"bandwidth_bps": 10000000000},
			patchField: "bandwidth_bps", patchValue: float64(1e10),
		},
	}
	for _, tc := range cases {
		t.Run(tc.coll, func(t *testing.T) {
			base := "/api/v1/" + tc.coll
			res := e.must(http.StatusCreated, req{method: "POST", path: base, body: tc.create})
			obj := res.json(t)
			id, _ := obj["id"].(string)
			if id == "" || id == "not-an-id" {
				t.Fatalf("created object has id %q", id)
			}
			rev := int64(obj["revision"].(float64))
			if got, want := res.header.Get("ETag"), fmt.Sprintf(`"%d"`, rev); got != want {
				t.Fatalf("ETag %q, want %q", got, want)
			}
			ref := id
			if tc.byName {
				ref = tc.create["name"].(string)
			}
			if got, want := res.header.Get("Location"), base+"/"+url.PathEscape(ref); got != want {
				t.Errorf("Location %q, want %q", got, want)
			}
			if tc.coll == "nodes" && obj["fqdn"] != "r3.example.net" {
				t.Errorf("fqdn %v: the input's fqdn must be ignored", obj["fqdn"])
			}
			if tc.coll == "snmp-profiles" {
				if got := fmt.Sprint(obj["secrets_set"]); got != "[community]" {
					t.Errorf("secrets_set %s, want [community]", got)
				}
			}

			etag1 := res.header.Get("ETag")
			for _, r := range []string{ref, id} {
				got := e.must(http.StatusOK, req{method: "GET", path: base + "/" + url.PathEscape(r)})
				if got.header.Get("ETag") != etag1 {
					t.Errorf("GET %s: ETag %q, want %q", r, got.header.Get("ETag"), etag1)
				}
			}
			list := e.must(http.StatusOK, req{method: "GET", path: base}).json(t)
			if !strings.Contains(fmt.Sprint(list["items"]), id) {
				t.Errorf("list does not hold %s: %v", id, list["items"])
			}
			if _, ok := list["continue"]; !ok {
				t.Errorf("list without continue: %v", list)
			}

			// PUT, conditional on the current ETag.
			put := e.must(http.StatusOK, req{method: "PUT", path: base + "/" + ref, body: tc.put, headers: map[string]string{"If-Match": etag1}})
			if v := put.json(t)[tc.putField]; v != tc.putValue {
				t.Errorf("after PUT %s = %v, want %v", tc.putField, v, tc.putValue)
			}
			etag2 := put.header.Get("ETag")
			if etag2 == "" || etag2 == etag1 {
				t.Fatalf("ETag after PUT %q (before %q)", etag2, etag1)
			}
			// The old ETag is stale now, in the header or in the body.
			if code := e.must(http.StatusConflict, req{method: "PUT", path: base + "/" + ref, body: tc.put,
				headers: map[string]string{"If-Match": etag1}}).errorCode(t); code != "conflict" {
				t.Errorf("stale If-Match: code %s", code)
			}
			stale := map[string]any{"revision": rev}
			for k, v := range tc.put {
				stale[k] = v
			}
			e.must(http.StatusConflict, req{method: "PUT", path: base + "/" + ref, body: stale})
			e.must(http.StatusConflict, req{method: "PATCH", path: base + "/" + ref, body: tc.patch, contentType: mimeMergePatch,
				headers: map[string]string{"If-Match": etag1}})

			// PATCH changes one field and keeps the others.
			patched := e.must(http.StatusOK, req{method: "PATCH", path: base + "/" + ref, body: tc.patch, contentType: mimeMergePatch,
				headers: map[string]string{"If-Match": etag2}}).json(t)
			if v := patched[tc.patchField]; fmt.Sprint(v) != fmt.Sprint(tc.patchValue) {
				t.Errorf("after PATCH %s = %v, want %v", tc.patchField, v, tc.patchValue)
			}
			if v := patched[tc.putField]; v != tc.putValue {
				t.Errorf("PATCH lost %s: %v, want %v", tc.putField, v, tc.putValue)
			}
			etag3 := etag(int64(patched["revision"].(float64)))

			e.must(http.StatusConflict, req{method: "DELETE", path: base + "/" + ref, headers: map[string]string{"If-Match": etag2}})
			e.must(http.StatusNoContent, req{method: "DELETE", path: base + "/" + ref, headers: map[string]string{"If-Match": etag3}})
			if code := e.must(http.StatusNotFound, req{method: "GET", path: base + "/" + ref}).errorCode(t); code != "not_found" {
				t.Errorf("GET after DELETE: code %s", code)
			}
			e.must(http.StatusNotFound, req{method: "DELETE", path: base + "/" + ref})
			e.must(http.StatusNotFound, req{method: "PUT", path: base + "/" + ref, body: tc.put})
			e.must(http.StatusNotFound, req{method: "PATCH", path: base + "/" + ref, body: tc.patch})
		})
	}
}

// TestPatchKeepsSecrets: a PATCH or a PUT that does not mention a secret
// keeps it; answers only ever name the secrets set.
func TestPatchKeepsSecrets(t *testing.T) {
	e := newEnv(t)
	e.seed()
	ctx := t.Context()

	res := e.must(http.StatusOK, req{method: "PATCH", path: "/api/v1/snmp-profiles/v3", body: `{"retries": 4, "user": "noc"}`, contentType: mimeMergePatch})
	if got := fmt.Sprint(res.json(t)["secrets_set"]); got != "[auth_key priv_key]" {
		t.Errorf("secrets_set %s", got)
	}
	p, err := e.store.GetSNMPProfile(ctx, "v3")
	if err != nil {
		t.Fatal(err)
	}
	if p.AuthKey != secretAuthKey || p.PrivKey != secretPrivKey || p.User != "noc" || p.RetryCount() != 4 {
		t.Errorf("after PATCH the stored profile is %+v (secrets kept: %v %v)", p, p.AuthKey == secretAuthKey, p.PrivKey == secretPrivKey)
	}

	// A merge patch of the whole redacted object, as a client that read it
	// would send back, keeps the secrets too.
	got := e.must(http.StatusOK, req{method: "GET", path: "/api/v1/snmp-profiles/v2"})
	e.must(http.StatusOK, req{method: "PATCH", path: "/api/v1/snmp-profiles/v2", body: got.body, headers: map[string]string{"If-Match": got.header.Get("ETag")}})
	e.must(http.StatusOK, req{method: "PUT", path: "/api/v1/snmp-profiles/v2", body: map[string]any{"name": "v2", "version": "2c", "port": 1161}})
	p, err = e.store.GetSNMPProfile(ctx, "v2")
	if err != nil {
		t.Fatal(err)
	}
	if p.Community != secretCommunity || p.Port != 1161 {
		t.Errorf("after PATCH and PUT without the community: community kept %v, port %d", p.Community == secretCommunity, p.Port)
	}

	// A new secret replaces the old one.
	e.must(http.StatusOK, req{method: "PATCH", path: "/api/v1/snmp-profiles/v2", body: map[string]any{"community": "rotated-community"}})
	if p, _ = e.store.GetSNMPProfile(ctx, "v2"); p.Community != "rotated-community" {
		t.Errorf("community not rotated")
	}

	// Every way of reading profiles is redacted (do() checks the bytes).
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/snmp-profiles"})
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/snmp-profiles/v3"})
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/export?format=json"})
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/export?format=csv"})
}

// TestPatchSemantics: RFC 7396 null removes, objects merge, the patched
// document is decoded strictly, and names are the exact JSON names.
func TestPatchSemantics(t *testing.T) {
	e := newEnv(t)
	e.seed()
	e.must(http.StatusOK, req{method: "PATCH", path: "/api/v1/nodes/r1", body: `{"custom_data": {"bgp": {"asn": 64512, "rr": true}}}`})
	n := e.must(http.StatusOK, req{method: "PATCH", path: "/api/v1/nodes/r1", body: `{"custom_data": {"bgp": {"rr": null}}, "tags": null}`}).json(t)
	if got := fmt.Sprint(n["custom_data"]); got != "map[bgp:map[asn:64512]]" {
		t.Errorf("custom_data after merge: %s", got)
	}
	if _, ok := n["tags"]; ok {
		t.Errorf("tags not removed by null: %v", n["tags"])
	}
	for _, tc := range []struct {
		body   string
		status int
		code   string
		field  string
	}{
		{`{"Name": "r9"}`, http.StatusBadRequest, "bad_request", "Name"},
		{`{"custom": 1}`, http.StatusBadRequest, "bad_request", "custom"},
		{`{"role": "bogus"}`, http.StatusUnprocessableEntity, "invalid", "role"},
		{`{"vendor": null}`, http.StatusUnprocessableEntity, "invalid", "vendor"},
		{`{"tags": "core"}`, http.StatusBadRequest, "bad_request", "tags"},
		{`[1]`, http.StatusBadRequest, "bad_request", ""},
	} {
		res := e.do(req{method: "PATCH", path: "/api/v1/nodes/r1", body: tc.body, contentType: mimeMergePatch})
		if res.status != tc.status || res.errorCode(t) != tc.code {
			t.Errorf("PATCH %s: %d %s, want %d %s", tc.body, res.status, res.body, tc.status, tc.code)
			continue
		}
		if tc.field != "" && !strings.Contains(string(res.body), `"`+tc.field+`"`) {
			t.Errorf("PATCH %s: the answer does not name %s: %s", tc.body, tc.field, res.body)
		}
	}
}

// TestRename: a PUT may rename; the old name is gone, the id stays.
func TestRename(t *testing.T) {
	e := newEnv(t)
	e.seed()
	id := e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/locations", body: `{"name": "lab", "kind": "site"}`}).json(t)["id"]
	after := e.must(http.StatusOK, req{method: "PATCH", path: "/api/v1/locations/lab", body: `{"name": "lab2"}`}).json(t)
	if after["name"] != "lab2" || after["id"] != id {
		t.Fatalf("rename: %v", after)
	}
	e.must(http.StatusNotFound, req{method: "GET", path: "/api/v1/locations/lab"})
	e.must(http.StatusOK, req{method: "PUT", path: "/api/v1/locations/lab2", body: `{"name": "lab3", "kind": "site"}`})
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/locations/lab3"})
	// A referenced object cannot be renamed.
	res := e.must(http.StatusConflict, req{method: "PATCH", path: "/api/v1/locations/par1-r1", body: `{"name": "par1-r01"}`})
	if res.errorCode(t) != "in_use" || !strings.Contains(fmt.Sprint(res.details(t)["referenced_by"]), "r2") {
		t.Errorf("rename of a referenced location: %s", res.body)
	}
	// A rename onto a taken name is a conflict, not retried into success.
	if code := e.must(http.StatusConflict, req{method: "PATCH", path: "/api/v1/nodes/r1", body: `{"name": "r2"}`}).errorCode(t); code != "conflict" {
		t.Errorf("rename onto a taken name: %s", code)
	}
	e.must(http.StatusConflict, req{method: "POST", path: "/api/v1/nodes",
		body: map[string]any{"name": "r1", "vendor": "cisco", "role": "router", "location": "par1"}})
}

// TestLists: filters, sorting, paging, and the 400s of bad parameters.
func TestLists(t *testing.T) {
	e := newEnv(t)
	e.seed()
	for i := range 5 {
		e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/nodes",
			body: map[string]any{"name": fmt.Sprintf("sw%d", i), "vendor": "arista", "role": "switch", "location": "par1-r1", "lifecycle": "live",
				"management_address": fmt.Sprintf("192.0.2.%d", i+1)}})
	}
	names := func(r *response) string {
		var out []string
		for _, it := range r.json(t)["items"].([]any) {
			out = append(out, it.(map[string]any)["name"].(string))
		}
		return strings.Join(out, ",")
	}
	for _, tc := range []struct{ query, want string }{
		{"", "r1,r2,sw0,sw1,sw2,sw3,sw4"},
		{"?role=switch", "sw0,sw1,sw2,sw3,sw4"},
		{"?role=ROUTER", "r1,r2"},
		{"?vendor=juniper", "r2"},
		{"?lifecycle=live&name_prefix=sw&sort=-name", "sw4,sw3,sw2,sw1,sw0"},
		{"?location=par1-r1&role=router", "r2"},
		{"?location=eu&sort=vendor&limit=2", "sw0,sw1"},
		{"?tag=core", "r1"},
		{"?snmp_profile=v3", "r2"},
	} {
		if got := names(e.must(http.StatusOK, req{method: "GET", path: "/api/v1/nodes" + tc.query})); got != tc.want {
			t.Errorf("nodes%s: %s, want %s", tc.query, got, tc.want)
		}
	}
	// Paging: every node once, in order, over pages of 3.
	var all []string
	q := "?limit=3"
	for range 10 {
		p := e.must(http.StatusOK, req{method: "GET", path: "/api/v1/nodes" + q})
		all = append(all, names(p))
		next, _ := p.json(t)["continue"].(string)
		if next == "" {
			break
		}
		q = "?limit=3&continue=" + url.QueryEscape(next)
	}
	if got := strings.Join(all, ","); got != "r1,r2,sw0,sw1,sw2,sw3,sw4" {
		t.Errorf("paged: %s", got)
	}
	for _, tc := range []struct{ path, want string }{
		{"/api/v1/locations?kind=rack", "par1-r1"},
		{"/api/v1/locations?within=par1", "par1,par1-r1"},
		{"/api/v1/locations?sort=-kind", "par1-r1,par1,eu"},
		{"/api/v1/snmp-profiles?sort=-name", "v3,v2"},
	} {
		if got := names(e.must(http.StatusOK, req{method: "GET", path: tc.path})); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.path, got, tc.want)
		}
	}
	links := e.must(http.StatusOK, req{method: "GET", path: "/api/v1/links?node=r2&sort=-id"}).json(t)["items"].([]any)
	if len(links) != 1 {
		t.Errorf("links of r2: %v", links)
	}
	if n := len(e.must(http.StatusOK, req{method: "GET", path: "/api/v1/links?node=sw1"}).json(t)["items"].([]any)); n != 0 {
		t.Errorf("links of sw1: %d", n)
	}
}

// TestTree serves a location's subtree and the whole forest.
func TestTree(t *testing.T) {
	e := newEnv(t)
	e.seed()
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/locations", body: map[string]any{"name": "us", "kind": "region"}})
	sub := e.must(http.StatusOK, req{method: "GET", path: "/api/v1/locations/par1/tree"}).json(t)
	if sub["name"] != "par1" || sub["path"] != "eu/par1" {
		t.Errorf("subtree root: %v", sub)
	}
	kids, _ := sub["children"].([]any)
	if len(kids) != 1 || kids[0].(map[string]any)["path"] != "eu/par1/par1-r1" {
		t.Errorf("subtree children: %v", kids)
	}
	// By id too.
	id := e.must(http.StatusOK, req{method: "GET", path: "/api/v1/locations/eu"}).json(t)["id"].(string)
	if got := e.must(http.StatusOK, req{method: "GET", path: "/api/v1/locations/" + id + "/tree"}).json(t); got["name"] != "eu" {
		t.Errorf("subtree by id: %v", got)
	}
	e.must(http.StatusNotFound, req{method: "GET", path: "/api/v1/locations/nowhere/tree"})
	res := e.must(http.StatusOK, req{method: "GET", path: "/api/v1/location-tree"})
	if got := string(res.body); !strings.Contains(got, `"path":"eu/par1/par1-r1"`) || !strings.Contains(got, `"path":"us"`) || got[0] != '[' {
		t.Errorf("forest: %s", got)
	}
}

// TestEmptyLists: empty collections are [] and the forest too.
func TestEmptyLists(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/api/v1/locations", "/api/v1/nodes", "/api/v1/links", "/api/v1/snmp-profiles"} {
		if got := string(e.must(http.StatusOK, req{method: "GET", path: p}).body); !strings.Contains(got, `"items":[]`) {
			t.Errorf("%s: %s", p, got)
		}
	}
	if got := string(e.must(http.StatusOK, req{method: "GET", path: "/api/v1/location-tree"}).body); got != "[]" {
		t.Errorf("empty forest: %s", got)
	}
}
