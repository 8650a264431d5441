package desired_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/unet-project/unet/collector/desired"
	"github.com/unet-project/unet/internal/testsupport"
	"github.com/unet-project/unet/shared/bundle"
	"github.com/unet-project/unet/shared/model"
)

// newStore returns a store over a fresh embedded etcd (and the client).
func newStore(t testing.TB, tune ...func(*desired.Config)) (*desired.Store, *clientv3.Client) {
	t.Helper()
	cli := testsupport.Etcd(t)
	cfg := desired.DefaultConfig()
	cfg.Prefix = "/test/"
	for _, f := range tune {
		f(&cfg)
	}
	return desired.New(cli, cfg, testsupport.Logger(t)), cli
}

func testCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// must(f())(t) returns f's value, failing the test on f's error.
func must[T any](v T, err error) func(testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return v
	}
}

// wantFieldError checks that err is a validation error on field whose
// reason contains want.
func wantFieldError(t testing.TB, err error, field, want string) {
	t.Helper()
	v, ok := model.AsValidationError(err)
	if !ok {
		t.Fatalf("error = %v (%T), want a validation error on %s", err, err, field)
	}
	for _, f := range v.Fields {
		if f.Field == field && strings.Contains(f.Reason, want) {
			return
		}
	}
	t.Fatalf("validation error %v has no field %q with %q", err, field, want)
}

func wantIs(t testing.TB, err, target error, contains string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error = %v, want %v", err, target)
	}
	if !strings.Contains(err.Error(), contains) {
		t.Fatalf("error %q does not say %q", err, contains)
	}
}

// hierarchy: eu (region) › fr (country) › par (city) › par1 (site) › r1 (room) › k1 (rack),
// eu › ams1 (site); us (region).
func hierarchy() []model.Location {
	return []model.Location{
		{Name: "eu", Kind: model.KindRegion},
		{Name: "fr", Kind: model.KindCountry, Parent: "eu"},
		{Name: "par", Kind: model.KindCity, Parent: "fr"},
		{Name: "par1", Kind: model.KindSite, Parent: "par"},
		{Name: "r1", Kind: model.KindRoom, Parent: "par1"},
		{Name: "k1", Kind: model.KindRack, Parent: "r1"},
		{Name: "ams1", Kind: model.KindSite, Parent: "eu"},
		{Name: "us", Kind: model.KindRegion},
	}
}

func v2profile(name string) model.SNMPProfile {
	return model.SNMPProfile{Name: name, Version: model.SNMPv2c, Community: "s3cret-" + name}
}

func node(name, loc string) model.Node {
	return model.Node{Name: name, Vendor: model.VendorJuniper, Role: model.RoleRouter, Location: loc,
		Lifecycle: model.LifecycleLive, ManagementAddress: "192.0.2.1"}
}

func link(a, aif, z, zif string) model.Link {
	return model.Link{A: model.Endpoint{Node: a, Interface: aif}, Z: &model.Endpoint{Node: z, Interface: zif}}
}

// seed stores the hierarchy, a profile "std", and nodes.
func seed(t testing.TB, s *desired.Store, nodes ...model.Node) {
	t.Helper()
	ctx := testCtx(t)
	for _, l := range hierarchy() {
		must(s.CreateLocation(ctx, l))(t)
	}
	must(s.CreateSNMPProfile(ctx, v2profile("std")))(t)
	for _, n := range nodes {
		must(s.CreateNode(ctx, n))(t)
	}
}

// genBundle builds a large bundle: 2 regions › 10 countries › 50 sites ›
// 2 rooms each; nodes spread over the rooms; links = 2 per node, each
// interface used once.
func genBundle(nodes, links int) *bundle.Bundle {
	b := &bundle.Bundle{}
	for r := range 2 {
		b.Locations = append(b.Locations, model.Location{Name: fmt.Sprintf("reg%d", r), Kind: model.KindRegion})
	}
	for c := range 10 {
		b.Locations = append(b.Locations, model.Location{Name: fmt.Sprintf("cty%d", c), Kind: model.KindCountry, Parent: fmt.Sprintf("reg%d", c%2)})
	}
	var rooms []string
	for st := range 50 {
		site := fmt.Sprintf("site%02d", st)
		b.Locations = append(b.Locations, model.Location{Name: site, Kind: model.KindSite, Parent: fmt.Sprintf("cty%d", st%10)})
		for r := range 2 {
			room := fmt.Sprintf("%s-room%d", site, r)
			rooms = append(rooms, room)
			b.Locations = append(b.Locations, model.Location{Name: room, Kind: model.KindRoom, Parent: site})
		}
	}
	b.SNMPProfiles = []model.SNMPProfile{v2profile("std")}
	for i := range nodes {
		b.Nodes = append(b.Nodes, model.Node{
			Name: fmt.Sprintf("n%05d", i), Domain: "net.example", Vendor: model.Vendors()[i%4], Role: model.Roles()[i%3],
			Lifecycle: model.LifecycleLive, ManagementAddress: fmt.Sprintf("10.%d.%d.%d", i/65536, (i/256)%256, i%256),
			Location: rooms[i%len(rooms)], SNMPProfile: "std", Model: "MX204", Tags: []string{"core", fmt.Sprintf("t%d", i%10)},
			CustomData: map[string]any{"asn": 65000 + i%100},
		})
	}
	for k := range links {
		a, z := k%nodes, (k+7)%nodes
		b.Links = append(b.Links, link(fmt.Sprintf("n%05d", a), fmt.Sprintf("xe-0/0/%d", k/nodes), fmt.Sprintf("n%05d", z), fmt.Sprintf("xe-1/0/%d", k/nodes)))
	}
	return b
}
