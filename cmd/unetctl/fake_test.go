package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// Helpers of the in-process tests: a fake collector API that records what
// it is sent, and a runner of the command tree with buffers for streams.

// recorded is one request the fake received.
type recorded struct {
	Method, Path, Query, Body string
	ContentType, Accept, Auth string
	IfMatch, UserAgent        string
}

type fakeAPI struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	reqs   []recorded
	routes map[string]http.HandlerFunc // "GET /api/v1/nodes"
}

func newFake(t *testing.T) *fakeAPI {
	f := &fakeAPI{t: t, routes: map[string]http.HandlerFunc{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.reqs = append(f.reqs, recorded{
		Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Body: string(body),
		ContentType: r.Header.Get("Content-Type"), Accept: r.Header.Get("Accept"),
		Auth: r.Header.Get("Authorization"), IfMatch: r.Header.Get("If-Match"), UserAgent: r.Header.Get("User-Agent"),
	})
	h := f.routes[r.Method+" "+r.URL.Path]
	f.mu.Unlock()
	r.Body = io.NopCloser(bytes.NewReader(body))
	if h == nil {
		reply(404, errorBody("not_found", r.URL.Path+" not found", nil))(w, r)
		return
	}
	h(w, r)
}

// on routes "METHOD /api/v1/path" to h.
func (f *fakeAPI) on(route string, h http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.routes[route] = h
}

func (f *fakeAPI) requests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.reqs...)
}

// last is the last request received; the test fails when there was none.
func (f *fakeAPI) last() recorded {
	f.t.Helper()
	reqs := f.requests()
	if len(reqs) == 0 {
		f.t.Fatal("the fake API received no request")
	}
	return reqs[len(reqs)-1]
}

// reply answers with status and v as JSON (nothing for 204).
func reply(status int, v any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if status == http.StatusNoContent {
			w.WriteHeader(status)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
}

// echo answers 200/201 with the request body, plus extra fields.
func echo(status int, extra map[string]any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		m := map[string]any{}
		_ = json.NewDecoder(r.Body).Decode(&m)
		for k, v := range extra {
			m[k] = v
		}
		reply(status, m)(w, r)
	}
}

func errorBody(code, msg string, details any) map[string]any {
	e := map[string]any{"code": code, "message": msg}
	if details != nil {
		e["details"] = details
	}
	return map[string]any{"error": e}
}

// result is what one run of unetctl produced.
type result struct {
	out, err string
	code     int
}

// invocation describes one in-process run.
type invocation struct {
	env         map[string]string
	stdin       string
	inTerminal  bool
	errTerminal bool
}

func (inv invocation) run(args ...string) result {
	var out, errb bytes.Buffer
	code := run(context.Background(), args, streams{
		in: strings.NewReader(inv.stdin), out: &out, err: &errb,
		inTerminal: inv.inTerminal, errTerminal: inv.errTerminal,
	}, func(k string) string { return inv.env[k] })
	return result{out: out.String(), err: errb.String(), code: code}
}

// cli runs unetctl against the fake, with a HOME of its own so no real
// config file is read.
func (f *fakeAPI) cli(args ...string) result {
	return f.invocation().run(args...)
}

func (f *fakeAPI) invocation() invocation {
	return invocation{env: map[string]string{"UNET_SERVER": f.srv.URL, "HOME": f.t.TempDir()}}
}

// wantCode checks the exit code and, for failures, that stderr is exactly
// one "Error: " line holding every fragment of want.
func (r result) wantCode(t *testing.T, code int, want ...string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d\nstdout: %s\nstderr: %s", r.code, code, r.out, r.err)
	}
	if code == 0 {
		return
	}
	if !strings.HasPrefix(r.err, "Error: ") || strings.Count(r.err, "\n") != 1 {
		t.Errorf("stderr is not one Error: line: %q", r.err)
	}
	for _, w := range want {
		if !strings.Contains(r.err, w) {
			t.Errorf("stderr %q does not say %q", r.err, w)
		}
	}
}

// decodeBody decodes a recorded JSON body.
func decodeBody(t *testing.T, r recorded) map[string]any {
	t.Helper()
	m := map[string]any{}
	dec := json.NewDecoder(strings.NewReader(r.Body))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("body %q: %v", r.Body, err)
	}
	return m
}
