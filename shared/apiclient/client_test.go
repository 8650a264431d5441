package apiclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/unet-project/unet/shared/model"
)

// fake starts an httptest server around h and a client for it.
func fake(t *testing.T, h http.HandlerFunc, opts ...Option) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := New(srv.URL, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func apiError(w http.ResponseWriter, status int, code, msg string, details any) {
	e := map[string]any{"code": code, "message": msg}
	if details != nil {
		e["details"] = details
	}
	writeJSON(w, status, map[string]any{"error": e})
}

func TestNewValidatesAndNormalisesTheURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:8080":         "http://127.0.0.1:8080",
		"http://127.0.0.1:8080/":        "http://127.0.0.1:8080",
		"https://unet.example/api/v1":   "https://unet.example",
		"https://unet.example/unet/":    "https://unet.example/unet",
		" http://h:1/proxy/api/v1/ ":    "http://h:1/proxy",
		"http://[::1]:8080/api/v1":      "http://[::1]:8080",
		"https://unet.example/api/v1/x": "https://unet.example/api/v1/x",
	} {
		c, err := New(in)
		if err != nil {
			t.Errorf("New(%q): %v", in, err)
			continue
		}
		if c.BaseURL() != want {
			t.Errorf("New(%q).BaseURL() = %q, want %q", in, c.BaseURL(), want)
		}
	}
	for _, bad := range []string{"", "127.0.0.1:8080", "ftp://h", "http://", "http://h/?x=1", "http://h/#f"} {
		if _, err := New(bad); err == nil {
			t.Errorf("New(%q) accepted", bad)
		}
	}
}

func TestRequestsCarryTokenAgentAndIfMatch(t *testing.T) {
	var got *http.Request
	var body string
	c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		got = r
		b, _ := io.ReadAll(r.Body)
		body = string(b)
		writeJSON(w, 200, model.Node{Name: "r1"})
	}, WithToken("s3cret"), WithUserAgent("unetctl/test"))

	patchDoc := map[string]any{"role": "switch", "model": nil}
	if _, err := c.PatchNode(context.Background(), "r1", patchDoc, 42); err != nil {
		t.Fatal(err)
	}
	checks := map[string][2]string{
		"method":        {got.Method, "PATCH"},
		"path":          {got.URL.Path, "/api/v1/nodes/r1"},
		"authorization": {got.Header.Get("Authorization"), "Bearer s3cret"},
		"user-agent":    {got.Header.Get("User-Agent"), "unetctl/test"},
		"if-match":      {got.Header.Get("If-Match"), `"42"`},
		"content-type":  {got.Header.Get("Content-Type"), "application/merge-patch+json"},
		"body":          {body, `{"model":null,"role":"switch"}`},
	}
	for name, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s = %q, want %q", name, c[0], c[1])
		}
	}

	if err := c.DeleteNode(context.Background(), "r1", true, 0); err != nil {
		t.Fatal(err)
	}
	if got.Method != "DELETE" || got.URL.RawQuery != "cascade=true" || got.Header.Get("If-Match") != "" {
		t.Errorf("delete sent %s ?%s If-Match=%q", got.Method, got.URL.RawQuery, got.Header.Get("If-Match"))
	}
}

func TestNoTokenNoAuthorizationHeader(t *testing.T) {
	c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		if h, ok := r.Header["Authorization"]; ok {
			t.Errorf("Authorization sent without a token: %q", h)
		}
		if r.Header.Get("User-Agent") != DefaultUserAgent {
			t.Errorf("User-Agent = %q", r.Header.Get("User-Agent"))
		}
		writeJSON(w, 200, model.Location{Name: "dc1"})
	})
	if _, err := c.GetLocation(context.Background(), "dc1"); err != nil {
		t.Fatal(err)
	}
}

func TestCreateDecodesTheStoredObject(t *testing.T) {
	c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		var n model.Node
		if err := json.NewDecoder(r.Body).Decode(&n); err != nil {
			t.Error(err)
		}
		if r.Method != "POST" || r.URL.Path != "/api/v1/nodes" || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("got %s %s (%s)", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
		}
		n.ID, n.Revision, n.Lifecycle = "8f1c", 7, model.LifecyclePlanned
		w.Header().Set("ETag", `"7"`)
		writeJSON(w, 201, n)
	})
	n, err := c.CreateNode(context.Background(), model.Node{Name: "r1", Vendor: "cisco", Role: "router", Location: "dc1"})
	if err != nil {
		t.Fatal(err)
	}
	if n.ID != "8f1c" || n.Revision != 7 || n.Lifecycle != model.LifecyclePlanned || n.Vendor != model.VendorCisco {
		t.Errorf("decoded %+v", n)
	}
}

func TestErrorLines(t *testing.T) {
	cases := []struct {
		name    string
		status  int
		code    string
		msg     string
		details any
		want    string
	}{
		{"fields not in message", 422, "invalid", "", map[string]any{"fields": []map[string]string{
			{"field": "vendor", "reason": `unknown vendor "foo" (accepted: cisco, juniper)`},
			{"field": "role", "reason": "is required"}}},
			`invalid: vendor: unknown vendor "foo" (accepted: cisco, juniper); role: is required`},
		{"fields repeated in the message", 422, "invalid", "invalid object: role: is required", map[string]any{"fields": []map[string]string{
			{"field": "role", "reason": "is required"}}},
			`invalid: role: is required`},
		{"in use", 409, "in_use", "location dc1 is in use", map[string]any{"referenced_by": []map[string]string{
			{"kind": "node", "name": "r1"}, {"kind": "location", "name": "rack1"}}},
			`in_use: location dc1 is in use (referenced by node r1, location rack1)`},
		{"in use, named", 409, "in_use", "location dc1 is referenced by node r1", map[string]any{"referenced_by": []map[string]string{
			{"kind": "node", "name": "r1"}}},
			`in_use: location dc1 is referenced by node r1`},
		{"import rows", 422, "invalid", "5 rows are invalid", map[string]any{"errors": []map[string]any{
			{"line": 2, "kind": "node", "name": "r1", "field": "vendor", "reason": "unknown vendor"},
			{"line": 3, "kind": "node", "name": "r2", "field": "location", "reason": `location "x" does not exist`},
			{"path": "nodes[4]", "reason": "bad JSON"},
			{"line": 9, "reason": "x"}, {"line": 10, "reason": "y"}}},
			`invalid: 5 bad rows: line 2 (node r1): vendor: unknown vendor; line 3 (node r2): location: location "x" does not exist; nodes[4]: bad JSON; and 2 more`},
		{"multi-line message", 500, "internal", "boom\nsecond line", nil, "internal: boom; second line"},
		{"not found", 404, "not_found", `node "r9" not found`, nil, `not_found: node "r9" not found`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := fake(t, func(w http.ResponseWriter, r *http.Request) {
				apiError(w, tc.status, tc.code, tc.msg, tc.details)
			})
			_, err := c.GetNode(context.Background(), "r1")
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v is not *Error", err, err)
			}
			if e.Status != tc.status || e.Code != tc.code {
				t.Errorf("status/code = %d/%s", e.Status, e.Code)
			}
			if e.Error() != tc.want {
				t.Errorf("Error() =\n  %s\nwant\n  %s", e.Error(), tc.want)
			}
		})
	}
}

func TestNonJSONErrorAnswer(t *testing.T) {
	c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(502)
		fmt.Fprint(w, "upstream connect error\n<html>...</html>")
	})
	_, err := c.GetNode(context.Background(), "r1")
	if err == nil || err.Error() != "HTTP 502: upstream connect error" {
		t.Fatalf("err = %v", err)
	}
	c = fake(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(404) })
	_, err = c.GetNode(context.Background(), "r1")
	if !IsNotFound(err) || err.Error() != "not_found: Not Found" {
		t.Fatalf("err = %v (not found: %v)", err, IsNotFound(err))
	}
}

func TestErrorHelpers(t *testing.T) {
	wrapped := fmt.Errorf("deleting: %w", &Error{Status: 409, Code: CodeInUse})
	if !IsInUse(wrapped) || IsConflict(wrapped) || IsNotFound(errors.New("x")) || ErrorCode(nil) != "" {
		t.Error("helpers do not see through wrapping")
	}
}

func TestConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	c, _ := New(url)
	_, err := c.GetNode(context.Background(), "r1")
	var te *TransportError
	if !errors.As(err, &te) {
		t.Fatalf("err = %T %v", err, err)
	}
	want := "cannot reach the collector at " + url + ": "
	if !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "refused") {
		t.Errorf("err = %q, want it to start with %q and say refused", err, want)
	}
}

func TestTimeoutSaysSo(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 50_000_000)
	defer cancel()
	_, err := c.GetNode(ctx, "r1")
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "in time") {
		t.Fatalf("err = %v", err)
	}
}

// pagedNodes serves n nodes in pages, checking that filters come with every page.
func pagedNodes(t *testing.T, n int, pages *int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		*pages++
		q := r.URL.Query()
		if q.Get("role") != "router" || q.Get("location") != "emea" || q.Get("sort") != "-name" {
			t.Errorf("page %d lost the filter: %s", *pages, r.URL.RawQuery)
		}
		limit, _ := strconv.Atoi(q.Get("limit"))
		start, _ := strconv.Atoi(q.Get("continue"))
		end := min(start+limit, n)
		p := Page[model.Node]{Items: []model.Node{}, Revision: 99}
		for i := start; i < end; i++ {
			p.Items = append(p.Items, model.Node{Name: fmt.Sprintf("r%d", i)})
		}
		if end < n {
			p.Continue = strconv.Itoa(end)
		}
		writeJSON(w, 200, p)
	}
}

func TestListAllFollowsContinueTokens(t *testing.T) {
	pages := 0
	c := fake(t, pagedNodes(t, 5, &pages))
	f := NodeFilter{Role: model.RoleRouter, Location: "emea"}
	nodes, err := c.ListAllNodes(context.Background(), f, ListOptions{Limit: 2, Sort: "-name"})
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 5 || nodes[4].Name != "r4" || pages != 3 {
		t.Fatalf("got %d nodes in %d pages: %v", len(nodes), pages, nodes)
	}

	pages = 0
	p, err := c.ListNodes(context.Background(), f, ListOptions{Limit: 2, Sort: "-name"})
	if err != nil || len(p.Items) != 2 || p.Continue != "2" || p.Revision != 99 || pages != 1 {
		t.Fatalf("one page: %+v, %v, %d requests", p, err, pages)
	}

	// Stopping early fetches no further page.
	pages = 0
	for n, err := range c.AllNodes(context.Background(), f, ListOptions{Limit: 2, Sort: "-name"}) {
		if err != nil || n.Name != "r0" {
			t.Fatal(n, err)
		}
		break
	}
	if pages != 1 {
		t.Errorf("early break fetched %d pages", pages)
	}
}

func TestListAllUsesDefaultPageSizeAndStopsOnRepeatedToken(t *testing.T) {
	c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("limit") != strconv.Itoa(DefaultPageSize) {
			t.Errorf("limit = %q", r.URL.Query().Get("limit"))
		}
		writeJSON(w, 200, Page[model.Link]{Items: []model.Link{{Description: "x"}}, Continue: "same"})
	})
	_, err := c.ListAllLinks(context.Background(), LinkFilter{}, ListOptions{})
	if err == nil || !strings.Contains(err.Error(), "twice") {
		t.Fatalf("err = %v", err)
	}
}

func TestListAllReturnsEmptySliceAndErrors(t *testing.T) {
	c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("kind") == "bogus" {
			apiError(w, 400, "bad_request", "kind: unknown", nil)
			return
		}
		writeJSON(w, 200, map[string]any{"items": []any{}, "continue": ""})
	})
	locs, err := c.ListAllLocations(context.Background(), LocationFilter{}, ListOptions{})
	if err != nil || locs == nil || len(locs) != 0 {
		t.Fatalf("locs = %#v, %v", locs, err)
	}
	_, err = c.ListAllLocations(context.Background(), LocationFilter{Kind: "bogus"}, ListOptions{})
	if ErrorCode(err) != CodeBadRequest {
		t.Fatalf("err = %v", err)
	}
}

func TestLocationTree(t *testing.T) {
	c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/location-tree":
			writeJSON(w, 200, []model.TreeNode{{Location: model.Location{Name: "emea"}, Path: "emea"}, {Location: model.Location{Name: "apac"}}})
		case "/api/v1/locations/emea/tree":
			writeJSON(w, 200, model.TreeNode{Location: model.Location{Name: "emea"}, Path: "emea",
				Children: []model.TreeNode{{Location: model.Location{Name: "dc1", Parent: "emea"}, Path: "emea/dc1"}}})
		default:
			apiError(w, 404, "not_found", "no", nil)
		}
	})
	all, err := c.LocationTree(context.Background(), "")
	if err != nil || len(all) != 2 {
		t.Fatalf("all: %v %v", all, err)
	}
	one, err := c.LocationTree(context.Background(), "emea")
	if err != nil || len(one) != 1 || one[0].Children[0].Path != "emea/dc1" {
		t.Fatalf("one: %+v %v", one, err)
	}
}

func TestImportStreamsProgress(t *testing.T) {
	c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if r.URL.Path != "/api/v1/import" || q.Get("format") != "csv" || q.Get("kind") != "node" || q.Get("dry_run") != "true" {
			t.Errorf("import request %s?%s", r.URL.Path, r.URL.RawQuery)
		}
		if r.Header.Get("Content-Type") != "text/csv" || !strings.HasPrefix(r.Header.Get("Accept"), "application/x-ndjson") {
			t.Errorf("headers %v", r.Header)
		}
		if b, _ := io.ReadAll(r.Body); string(b) != "name,vendor\nr1,cisco\n" {
			t.Errorf("body %q", b)
		}
		w.Header().Set("Content-Type", "application/x-ndjson")
		fmt.Fprintln(w, `{"progress":{"done":0,"total":3}}`)
		fmt.Fprintln(w, ``)
		fmt.Fprintln(w, `{"progress":{"done":2,"total":3}}`)
		fmt.Fprintln(w, `{"report":{"created":{"node":2},"updated":{"node":1},"revision":12}}`)
	})
	var seen []string
	rep, err := c.Import(context.Background(), strings.NewReader("name,vendor\nr1,cisco\n"), "csv", "node", true,
		func(done, total int) { seen = append(seen, fmt.Sprintf("%d/%d", done, total)) })
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(seen, " ") != "0/3 2/3" || rep.Created["node"] != 2 || rep.Updated["node"] != 1 || rep.Revision != 12 || rep.Total() != 3 {
		t.Fatalf("progress %v, report %+v", seen, rep)
	}
}

func TestImportStreamError(t *testing.T) {
	c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-ndjson; charset=utf-8")
		fmt.Fprintln(w, `{"progress":{"done":0,"total":2}}`)
		fmt.Fprintln(w, `{"error":{"code":"invalid","message":"2 bad rows","details":{"errors":[`+
			`{"line":2,"kind":"node","name":"r1","field":"vendor","reason":"unknown vendor"},`+
			`{"line":3,"kind":"node","name":"r2","field":"role","reason":"is required"}]}}}`)
	})
	rep, err := c.Import(context.Background(), strings.NewReader("x"), "csv", "", false, func(int, int) {})
	var e *Error
	if !errors.As(err, &e) || e.Status != 422 || len(rep.Errors) != 2 || rep.Errors[1].Field != "role" {
		t.Fatalf("err %v, report %+v", err, rep)
	}
	want := "invalid: 2 bad rows: line 2 (node r1): vendor: unknown vendor; line 3 (node r2): role: is required"
	if err.Error() != want {
		t.Errorf("Error() = %q", err)
	}
}

func TestImportStreamCutShort(t *testing.T) {
	c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		fmt.Fprintln(w, `{"progress":{"done":0,"total":2}}`)
	})
	_, err := c.Import(context.Background(), strings.NewReader("x"), "json", "", false, func(int, int) {})
	if err == nil || !strings.Contains(err.Error(), "without a report") {
		t.Fatalf("err = %v", err)
	}
}

func TestImportPlainJSONAndRefusal(t *testing.T) {
	c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept") != "application/json" || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("without progress the client asked for %q sending %q", r.Header.Get("Accept"), r.Header.Get("Content-Type"))
		}
		if r.URL.Query().Has("dry_run") {
			apiError(w, 422, "invalid", "1 bad row", map[string]any{"errors": []map[string]any{
				{"path": "nodes[0]", "kind": "node", "name": "r1", "field": "location", "reason": "does not exist"}}})
			return
		}
		writeJSON(w, 200, ImportReport{Created: map[string]int{"location": 1}})
	})
	rep, err := c.Import(context.Background(), strings.NewReader("{}"), "json", "", false, nil)
	if err != nil || rep.Created["location"] != 1 {
		t.Fatalf("%+v %v", rep, err)
	}
	rep, err = c.Import(context.Background(), strings.NewReader("{}"), "json", "", true, nil)
	if !IsInvalid(err) || len(rep.Errors) != 1 || rep.Errors[0].Path != "nodes[0]" {
		t.Fatalf("%+v %v", rep, err)
	}
	if err.Error() != "invalid: 1 bad row: nodes[0] (node r1): location: does not exist" {
		t.Errorf("Error() = %q", err)
	}
}

func TestExport(t *testing.T) {
	c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/export" || r.URL.Query().Get("format") != "csv" {
			t.Errorf("export %s?%s", r.URL.Path, r.URL.RawQuery)
		}
		w.Header().Set("Content-Type", "text/csv")
		fmt.Fprint(w, "kind,name\nnode,r1\n")
	})
	rc, err := c.Export(context.Background(), "csv")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	if string(b) != "kind,name\nnode,r1\n" {
		t.Errorf("body %q", b)
	}
}

func TestEveryCollectionUsesItsPath(t *testing.T) {
	var paths []string
	c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.Method+" "+r.URL.Path)
		if r.Method == "DELETE" {
			w.WriteHeader(204)
			return
		}
		writeJSON(w, 200, map[string]any{})
	})
	ctx := context.Background()
	_, _ = c.CreateLocation(ctx, model.Location{})
	_, _ = c.UpdateLocation(ctx, "dc1", model.Location{}, 0)
	_ = c.DeleteLocation(ctx, "dc1", false, 0)
	_, _ = c.CreateSNMPProfile(ctx, model.SNMPProfile{})
	_, _ = c.GetSNMPProfile(ctx, "p")
	_, _ = c.PatchSNMPProfile(ctx, "p", map[string]any{}, 0)
	_ = c.DeleteSNMPProfile(ctx, "p", 0)
	_, _ = c.UpdateNode(ctx, "r1", model.Node{}, 3)
	_, _ = c.CreateLink(ctx, model.Link{})
	_, _ = c.GetLink(ctx, "0b5e")
	_, _ = c.UpdateLink(ctx, "0b5e", model.Link{}, 0)
	_, _ = c.PatchLocation(ctx, "dc1", map[string]any{}, 0)
	_, _ = c.PatchLink(ctx, "0b5e", map[string]any{}, 0)
	_ = c.DeleteLink(ctx, "0b5e", 0)
	want := []string{
		"POST /api/v1/locations", "PUT /api/v1/locations/dc1", "DELETE /api/v1/locations/dc1",
		"POST /api/v1/snmp-profiles", "GET /api/v1/snmp-profiles/p", "PATCH /api/v1/snmp-profiles/p", "DELETE /api/v1/snmp-profiles/p",
		"PUT /api/v1/nodes/r1", "POST /api/v1/links", "GET /api/v1/links/0b5e", "PUT /api/v1/links/0b5e",
		"PATCH /api/v1/locations/dc1", "PATCH /api/v1/links/0b5e", "DELETE /api/v1/links/0b5e",
	}
	if strings.Join(paths, "\n") != strings.Join(want, "\n") {
		t.Errorf("paths:\n%s", strings.Join(paths, "\n"))
	}
}
