package apiclient

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/unet-project/unet/collector/api"
	"github.com/unet-project/unet/collector/desired"
	"github.com/unet-project/unet/internal/testsupport"
	"github.com/unet-project/unet/shared/model"
)

// realCollector serves the real API over a real store on embedded etcd.
func realCollector(t *testing.T) *Client {
	t.Helper()
	gin.SetMode(gin.TestMode) // no debug banner in test output
	store := desired.New(testsupport.Etcd(t), desired.DefaultConfig(), testsupport.Logger(t))
	a, err := api.New(api.DefaultConfig(), api.Dependencies{Store: store, Logger: testsupport.Logger(t), Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	c, err := New(srv.URL, WithUserAgent("unet-agent/test"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestAgentInventoryAgainstTheAPI reads the agent channel of the real API:
// every field of the answer decodes, secrets included.
func TestAgentInventoryAgainstTheAPI(t *testing.T) {
	c := realCollector(t)
	ctx := context.Background()
	for _, l := range []model.Location{
		{Name: "eu", Kind: model.KindRegion},
		{Name: "par1", Kind: model.KindSite, Parent: "eu"},
		{Name: "lon1", Kind: model.KindSite, Parent: "eu"},
	} {
		if _, err := c.CreateLocation(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.CreateSNMPProfile(ctx, model.SNMPProfile{Name: "lab", Version: model.SNMPv2c, Community: "c0mmunity", Port: 1161}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []model.Node{
		{Name: "r1", Vendor: model.VendorCisco, Role: model.RoleRouter, Lifecycle: model.LifecycleLive,
			ManagementAddress: "10.0.0.1", Location: "par1", SNMPProfile: "lab"},
		{Name: "r2", Vendor: model.VendorCisco, Role: model.RoleRouter, Lifecycle: model.LifecyclePlanned,
			ManagementAddress: "10.0.0.2", Location: "par1", SNMPProfile: "lab"},
		{Name: "r3", Vendor: model.VendorJuniper, Role: model.RoleRouter, Lifecycle: model.LifecycleImplementing,
			ManagementAddress: "10.1.0.1", Location: "lon1", SNMPProfile: "lab"},
	} {
		if _, err := c.CreateNode(ctx, n); err != nil {
			t.Fatal(err)
		}
	}

	inv, err := c.AgentInventory(ctx, []string{"par1", "lon1"})
	if err != nil {
		t.Fatal(err)
	}
	if inv.Revision <= 0 || !slices.Equal(inv.Sites, []string{"par1", "lon1"}) || inv.NotPollable != 1 {
		t.Errorf("inventory = %+v", inv)
	}
	if len(inv.Nodes) != 2 || inv.Nodes[0].Name != "r1" || inv.Nodes[1].Name != "r3" || inv.Nodes[0].ManagementAddress != "10.0.0.1" {
		t.Errorf("nodes = %+v", inv.Nodes)
	}
	p := inv.SNMPProfiles["lab"]
	if len(inv.SNMPProfiles) != 1 || p.Community != "c0mmunity" || p.Port != 1161 || p.Version != model.SNMPv2c {
		t.Errorf("profiles = %v", inv.SNMPProfiles)
	}

	var apiErr *Error
	if _, err := c.AgentInventory(ctx, []string{"nowhere"}); !errors.As(err, &apiErr) || apiErr.Code != CodeNotFound {
		t.Errorf("unknown site: %v", err)
	}
	if _, err := c.AgentInventory(ctx, []string{"eu"}); !errors.As(err, &apiErr) || apiErr.Code != CodeInvalid || !strings.Contains(err.Error(), "region") {
		t.Errorf("a region: %v", err)
	}
	if _, err := c.AgentInventory(ctx, nil); err == nil {
		t.Errorf("no site accepted")
	}
}

// TestAgentInventoryRequest checks the request itself: one site parameter
// per site, and empty collections decoded as empty, not nil.
func TestAgentInventoryRequest(t *testing.T) {
	var got url.Values
	var path string
	c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		got, path = r.URL.Query(), r.URL.Path
		writeJSON(w, 200, map[string]any{"revision": 7, "sites": []string{"a b", "c"}, "nodes": []any{}})
	})
	inv, err := c.AgentInventory(context.Background(), []string{"a b", "c"})
	if err != nil {
		t.Fatal(err)
	}
	if path != "/api/v1/agent/inventory" || !reflect.DeepEqual(got["site"], []string{"a b", "c"}) {
		t.Errorf("request %s %v", path, got)
	}
	if inv.Revision != 7 || inv.SNMPProfiles == nil {
		t.Errorf("inventory = %+v", inv)
	}
}

// TestInventoryMatchesTheAPIDocument: the fields of Inventory are those the
// OpenAPI document gives the answer, so the two cannot drift apart.
func TestInventoryMatchesTheAPIDocument(t *testing.T) {
	c := realCollector(t)
	resp, err := c.send(context.Background(), request{method: "GET", path: "/openapi.json"})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]any `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	var documented []string
	for k := range doc.Components.Schemas["AgentInventory"].Properties {
		documented = append(documented, k)
	}
	var fields []string
	rt := reflect.TypeFor[Inventory]()
	for i := range rt.NumField() {
		fields = append(fields, strings.Split(rt.Field(i).Tag.Get("json"), ",")[0])
	}
	slices.Sort(documented)
	slices.Sort(fields)
	if !slices.Equal(documented, fields) {
		t.Errorf("Inventory has %v, the API document %v", fields, documented)
	}
}
