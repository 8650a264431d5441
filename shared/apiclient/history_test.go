package apiclient

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/unet-project/unet/shared/model"
)

func TestDurationJSON(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{`"1m0s"`, time.Minute, true},
		{`"5m"`, 5 * time.Minute, true},
		{`""`, 0, true},
		{`60`, time.Minute, true},
		{`0.5`, 500 * time.Millisecond, true},
		{`"soon"`, 0, false},
		{`true`, 0, false},
	} {
		var d Duration
		err := json.Unmarshal([]byte(tc.in), &d)
		if tc.ok != (err == nil) || (tc.ok && time.Duration(d) != tc.want) {
			t.Errorf("%s: %v, %v", tc.in, time.Duration(d), err)
		}
	}
	if b, _ := json.Marshal(Duration(90 * time.Second)); string(b) != `"1m30s"` {
		t.Errorf("marshal: %s", b)
	}
}

// TestHistoryQueries checks what the history calls send.
func TestHistoryQueries(t *testing.T) {
	var got url.Values
	var path string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, path = r.URL.Query(), r.URL.EscapedPath()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"points":[],"events":[],"items":[],"interfaces":[]}`))
	}))
	t.Cleanup(srv.Close)
	c, err := New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	from := time.Date(2026, 11, 26, 11, 0, 0, 0, time.FixedZone("CET", 3600))
	to := from.Add(time.Hour)
	for _, tc := range []struct {
		name string
		call func() error
		path string
		want url.Values
	}{
		{"interface", func() error {
			_, err := c.InterfaceHistory(ctx, InterfaceHistoryQuery{Node: "r1", IfName: "Gi0/0/1", From: from, To: to, Step: time.Minute})
			return err
		}, "/api/v1/history/interfaces", url.Values{"node": {"r1"}, "ifname": {"Gi0/0/1"}, "from": {"2026-11-26T10:00:00Z"}, "to": {"2026-11-26T11:00:00Z"}, "step": {"1m0s"}}},
		{"events", func() error {
			_, err := c.Events(ctx, EventQuery{Node: "r1", Types: []model.EventKind{model.EventFlap, model.EventReboot}, From: from, To: to, Limit: 5})
			return err
		}, "/api/v1/history/events", url.Values{"node": {"r1"}, "type": {"flap", "reboot"}, "from": {"2026-11-26T10:00:00Z"}, "to": {"2026-11-26T11:00:00Z"}, "limit": {"5"}}},
		{"top", func() error {
			_, err := c.TopInterfaces(ctx, TopQuery{Metric: "in_bps", Site: "par1", From: from, To: to, N: 3})
			return err
		}, "/api/v1/history/top", url.Values{"metric": {"in_bps"}, "site": {"par1"}, "n": {"3"}, "from": {"2026-11-26T10:00:00Z"}, "to": {"2026-11-26T11:00:00Z"}}},
		{"availability", func() error {
			_, err := c.Availability(ctx, AvailabilityQuery{Site: "par1", From: from, To: to})
			return err
		}, "/api/v1/history/availability", url.Values{"site": {"par1"}, "from": {"2026-11-26T10:00:00Z"}, "to": {"2026-11-26T11:00:00Z"}}},
		{"interfaces", func() error {
			_, err := c.NodeInterfaces(ctx, "r 1")
			return err
		}, "/api/v1/nodes/r%201/interfaces", url.Values{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); err != nil {
				t.Fatal(err)
			}
			if path != tc.path || got.Encode() != tc.want.Encode() {
				t.Errorf("sent %s?%s, want %s?%s", path, got.Encode(), tc.path, tc.want.Encode())
			}
		})
	}
}
