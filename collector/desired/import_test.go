package desired_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/unet-project/unet/collector/desired"
	"github.com/unet-project/unet/shared/bundle"
	"github.com/unet-project/unet/shared/model"
)

// dump returns every key and value under the test prefix.
func dump(t testing.TB, cli *clientv3.Client) map[string]string {
	t.Helper()
	resp := must(cli.Get(testCtx(t), "/test/", clientv3.WithPrefix()))(t)
	out := make(map[string]string, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		out[string(kv.Key)] = string(kv.Value)
	}
	return out
}

func TestImportAllOrNothing(t *testing.T) {
	s, cli := newStore(t)
	ctx := testCtx(t)
	seed(t, s, node("old1", "par1"), node("old2", "par1"))
	stored := must(s.CreateLink(ctx, link("old1", "xe-0", "old2", "xe-0")))(t)
	before := dump(t, cli)

	// Rows in file order; line numbers as a CSV reader would give them.
	b := &bundle.Bundle{
		Locations: []model.Location{
			{Name: "ber1", Kind: model.KindSite, Parent: "de"}, // line 2: parent defined later: fine
			{Name: "de", Kind: model.KindCountry, Parent: "eu"},
			{Name: "x1", Kind: model.KindSite, Parent: "atlantis"}, // bad parent
			{Name: "c1", Kind: model.KindCity, Parent: "c2"},       // cycle
			{Name: "c2", Kind: model.KindCity, Parent: "c1"},       // cycle
		},
		SNMPProfiles: []model.SNMPProfile{
			{Name: "nocomm", Version: model.SNMPv2c}, // line 7: community required
		},
		Nodes: []model.Node{
			node("new1", "ber1"), // line 8: fine (location from the file)
			node("new2", "de"),   // a country
			{Name: "new3", Vendor: "acme", Role: model.RoleRouter, Location: "ber1"}, // bad vendor
			node("new1", "ber1"), // duplicate
			{Name: "new4", Vendor: model.VendorCisco, Role: model.RoleSwitch, Location: "ber1", SNMPProfile: "ghost"},
		},
		Links: []model.Link{
			link("new1", "e1", "old1", "e1"),   // line 13: fine
			link("new1", "e2", "nobody", "e1"), // missing node
			link("new1", "e3", "old2", "xe-0"), // interface of a stored link
			link("old1", "e1", "new1", "e9"),   // old1:e1 is used by line 13
		},
		Sources: bundle.Sources{
			Locations:    []bundle.Position{{Line: 2}, {Line: 3}, {Line: 4}, {Line: 5}, {Line: 6}},
			SNMPProfiles: []bundle.Position{{Line: 7}},
			Nodes:        []bundle.Position{{Line: 8}, {Line: 9}, {Line: 10}, {Line: 11}, {Line: 12}},
			Links:        []bundle.Position{{Line: 13}, {Line: 14}, {Line: 15}, {Line: 16}},
		},
	}
	dry := must(s.CheckImport(ctx, b))(t)
	rep := must(s.Import(ctx, b, nil))(t)
	if !slices.Equal(dry.Errors, rep.Errors) {
		t.Fatalf("dry run errors differ:\n%+v\n%+v", dry.Errors, rep.Errors)
	}

	type row struct {
		line  int
		kind  model.ObjectKind
		name  string
		field string
		says  string
	}
	want := []row{
		{4, model.ObjectLocation, "x1", "parent", `location "atlantis" does not exist`},
		{5, model.ObjectLocation, "c1", "parent", "cycle in the location hierarchy: c1 → c2 → c1"},
		{6, model.ObjectLocation, "c2", "parent", "cycle in the location hierarchy: c2 → c1 → c2"},
		{7, model.ObjectSNMPProfile, "nocomm", "community", "is required"},
		{9, model.ObjectNode, "new2", "location", `location "de" is a country: a node must be in a site or below`},
		{10, model.ObjectNode, "new3", "vendor", `unknown vendor "acme"`},
		{11, model.ObjectNode, "new1", "name", "defined twice in the file (also at line 8)"},
		{12, model.ObjectNode, "new4", "snmp_profile", `SNMP profile "ghost" does not exist`},
		{14, model.ObjectLink, "new1:e2", "z.node", `node "nobody" does not exist`},
		{15, model.ObjectLink, "new1:e3", "z.interface", "old2:xe-0 is already used by link " + stored.ID},
		{16, model.ObjectLink, "old1:e1", "a.interface", "old1:e1 is already used by the link at line 13"},
	}
	if len(rep.Errors) != len(want) {
		for _, e := range rep.Errors {
			t.Logf("%+v", e)
		}
		t.Fatalf("%d errors, want %d", len(rep.Errors), len(want))
	}
	for i, w := range want {
		e := rep.Errors[i]
		if e.Line != w.line || e.Kind != w.kind || e.Name != w.name || e.Field != w.field || !strings.Contains(e.Reason, w.says) {
			t.Errorf("error %d = %+v\nwant %+v", i, e, w)
		}
	}
	if len(rep.Created)+len(rep.Updated) != 0 || rep.Revision != 0 {
		t.Fatalf("report of a refused import: %+v", rep)
	}
	if after := dump(t, cli); !maps.Equal(before, after) {
		t.Fatal("a refused import changed the store")
	}

	// Without Sources, rows are named by their path in the bundle.
	rep = must(s.Import(ctx, &bundle.Bundle{Nodes: []model.Node{node("z", "nowhere")}}, nil))(t)
	if len(rep.Errors) != 1 || rep.Errors[0].Path != "nodes[0]" {
		t.Fatalf("errors %+v", rep.Errors)
	}
}

func TestImportUpsert(t *testing.T) {
	s, cli := newStore(t)
	ctx := testCtx(t)
	seed(t, s, node("keep", "par1"), node("change", "par1"), node("other", "ams1"))
	lk := must(s.CreateLink(ctx, link("keep", "e1", "change", "e1")))(t)
	keepBefore := must(s.GetNode(ctx, "keep"))(t)
	changeBefore := must(s.GetNode(ctx, "change"))(t)

	changed := changeBefore
	changed.Meta = model.Meta{}
	changed.Model = "QFX5120"
	changed.Location = "k1"
	kept := keepBefore
	kept.Meta = model.Meta{ID: "ignored", Revision: 1}
	moved := link("keep", "e1", "other", "e5") // matched by its A end
	moved.Description = "moved"
	b := &bundle.Bundle{
		Locations:    []model.Location{{Name: "lyon", Kind: model.KindCity, Parent: "fr"}, {Name: "lyo1", Kind: model.KindSite, Parent: "lyon"}},
		SNMPProfiles: []model.SNMPProfile{{Name: "std", Version: model.SNMPv2c, Retries: new(int)}}, // no community: kept
		Nodes:        []model.Node{kept, changed, node("fresh", "lyo1")},
		Links:        []model.Link{moved, link("fresh", "e1", "change", "e1")}, // change:e1 freed by the move
	}
	dry := must(s.CheckImport(ctx, b))(t)
	var progress [][2]int
	rep := must(s.Import(ctx, b, func(done, total int) { progress = append(progress, [2]int{done, total}) }))(t)
	if len(rep.Errors) > 0 {
		t.Fatalf("errors: %+v", rep.Errors)
	}
	wantCreated := map[string]int{"location": 2, "node": 1, "link": 1}
	wantUpdated := map[string]int{"snmp-profile": 1, "node": 1, "link": 1}
	if !maps.Equal(rep.Created, wantCreated) || !maps.Equal(rep.Updated, wantUpdated) || rep.Unchanged["node"] != 1 {
		t.Fatalf("report %+v", rep)
	}
	if !maps.Equal(dry.Created, rep.Created) || !maps.Equal(dry.Updated, rep.Updated) || !maps.Equal(dry.Unchanged, rep.Unchanged) || dry.Revision >= rep.Revision {
		t.Fatalf("dry run %+v, import %+v", dry, rep)
	}
	if len(progress) < 2 || progress[len(progress)-1] != [2]int{7, 7} {
		t.Fatalf("progress %v", progress)
	}
	if rep.Revision != must(cli.Get(ctx, "/"))(t).Header.Revision {
		t.Fatalf("report revision %d is not the store's", rep.Revision)
	}

	if got := must(s.GetNode(ctx, "keep"))(t); got.Revision != keepBefore.Revision {
		t.Fatal("an unchanged node was rewritten")
	}
	got := must(s.GetNode(ctx, "change"))(t)
	if got.ID != changeBefore.ID || got.Model != "QFX5120" || got.Location != "k1" || !got.CreatedAt.Equal(changeBefore.CreatedAt) || !got.UpdatedAt.After(changeBefore.UpdatedAt) {
		t.Fatalf("updated node %+v", got)
	}
	if p := must(s.GetSNMPProfile(ctx, "std"))(t); p.Community != "s3cret-std" || p.RetryCount() != 0 {
		t.Fatalf("profile after import: community kept %v, retries %d", p.Community == "s3cret-std", p.RetryCount())
	}
	l := must(s.GetLink(ctx, lk.ID))(t)
	if l.Z.Node != "other" || l.Description != "moved" {
		t.Fatalf("link not updated in place: %+v", l)
	}
	// The indexes follow: change:e1 belongs to the new link, other:e5 to the moved one.
	_, err := s.CreateLink(ctx, link("other", "e5", "keep", "e9"))
	wantIs(t, err, desired.ErrConflict, "used by link "+lk.ID)
	links := must(s.ListLinks(ctx, desired.LinkFilter{Node: "change"}, desired.ListOptions{}))(t)
	if len(links.Items) != 1 || links.Items[0].A.Node != "fresh" {
		t.Fatalf("links of change: %+v", links.Items)
	}
	// ams1 is no longer k1's... check ref index: par1 still referenced (keep), k1 by change.
	var iu *desired.InUseError
	if err := s.DeleteLocation(ctx, "k1", desired.DeleteOptions{}); !errors.As(err, &iu) || iu.ReferencedBy[0].Name != "change" {
		t.Fatalf("delete k1: %v", err)
	}

	// The same file again changes nothing.
	rep = must(s.Import(ctx, b, nil))(t)
	if len(rep.Created)+len(rep.Updated) != 0 || rep.Unchanged["node"] != 3 || rep.Unchanged["link"] != 2 {
		t.Fatalf("second import: %+v", rep)
	}
}

func TestImportChunked(t *testing.T) {
	s, cli := newStore(t, func(c *desired.Config) { c.MaxTxnOps = 16; c.MaxTxnBytes = 4096 })
	ctx := testCtx(t)
	b := genBundle(60, 120)
	var calls int
	last := 0
	rep := must(s.Import(ctx, b, func(done, total int) {
		calls++
		if done < last || total != b.Len() {
			t.Errorf("progress %d/%d after %d", done, total, last)
		}
		last = done
	}))(t)
	if len(rep.Errors) > 0 || rep.Created["node"] != 60 || rep.Created["link"] != 120 || last != b.Len() || calls < 20 {
		t.Fatalf("report %+v, %d progress calls", rep, calls)
	}
	// Everything is there and consistent: the subtree list and the link index.
	res := must(s.ListNodes(ctx, desired.NodeFilter{Location: "reg0"}, desired.ListOptions{}))(t)
	if len(res.Items) != 30 {
		t.Fatalf("%d nodes in reg0, want 30", len(res.Items))
	}
	links := must(s.ListLinks(ctx, desired.LinkFilter{Node: "n00007"}, desired.ListOptions{}))(t)
	if len(links.Items) != 4 {
		t.Fatalf("%d links on n00007, want 4", len(links.Items))
	}
	keys := dump(t, cli)
	// 162 locations + 1 profile + 60 nodes + 120 links, each with an id key;
	// refs: 160 parents + 60 node→location + 60 node→profile + 240 link→node; 240 interfaces.
	if want := 2*(162+1+60+120) + 160 + 60 + 60 + 240 + 240; len(keys) != want {
		t.Fatalf("%d keys, want %d", len(keys), want)
	}
}

// TestImportRollback changes the store while an import runs: the import's
// later transaction fails its compare and the earlier ones are undone.
func TestImportRollback(t *testing.T) {
	s, cli := newStore(t, func(c *desired.Config) { c.MaxTxnOps = 16 })
	ctx := testCtx(t)
	seed(t, s, node("a", "par1"), node("b", "par1"))
	must(s.CreateLink(ctx, link("a", "e1", "b", "e1")))(t)

	b := genBundle(20, 20)
	upd := node("a", "site00-room0")
	upd.Model = "from-file"
	b.Nodes = append(b.Nodes, upd)
	b.Links = append(b.Links, link("a", "e1", "n00001", "e9")) // updates the stored link
	before := dump(t, cli)
	var concurrent model.Node
	_, err := s.Import(ctx, b, func(done, total int) {
		if done > 0 && concurrent.Name == "" {
			n := must(s.GetNode(ctx, "a"))(t)
			n.Serial = "changed-meanwhile"
			concurrent = must(s.UpdateNode(ctx, "a", n, 0))(t)
		}
	})
	wantIs(t, err, desired.ErrConflict, "nothing of it was kept")
	after := dump(t, cli)
	delete(before, "/test/node/a")
	delete(after, "/test/node/a")
	if !maps.Equal(before, after) {
		var diff []string
		for k := range maps.Keys(after) {
			if before[k] != after[k] {
				diff = append(diff, k)
			}
		}
		for k := range maps.Keys(before) {
			if _, ok := after[k]; !ok {
				diff = append(diff, "-"+k)
			}
		}
		slices.Sort(diff)
		t.Fatalf("store not restored; differences: %v", diff[:min(len(diff), 20)])
	}
	if got := must(s.GetNode(ctx, "a"))(t); got.Serial != "changed-meanwhile" || got.Model != "" {
		t.Fatalf("node a = %+v", got)
	}
}

func TestImportKeepsFreeIDs(t *testing.T) {
	s, _ := newStore(t)
	ctx := testCtx(t)
	seed(t, s)
	taken := must(s.GetLocation(ctx, "eu"))(t).ID
	const free = "0a1b2c3d-0000-4000-8000-000000000001"
	n1, n2 := node("i1", "par1"), node("i2", "par1")
	n1.ID, n2.ID = free, taken
	rep := must(s.Import(ctx, &bundle.Bundle{Nodes: []model.Node{n1, n2}}, nil))(t)
	if len(rep.Errors) > 0 {
		t.Fatal(rep.Errors)
	}
	if got := must(s.GetNode(ctx, free))(t); got.Name != "i1" {
		t.Fatalf("free id not kept: %+v", got)
	}
	if got := must(s.GetNode(ctx, "i2"))(t); got.ID == taken || got.ID == "" {
		t.Fatalf("taken id reused: %s", got.ID)
	}
}

func TestExportRoundTrip(t *testing.T) {
	s, _ := newStore(t)
	ctx := testCtx(t)
	a := node("a", "k1")
	a.SNMPProfile = "v3"
	a.CustomData = map[string]any{"bgp": map[string]any{"asn": 65001.0}, "rack_unit": 12.0}
	a.Tags = []string{"core", "pe"}
	seed(t, s)
	must(s.CreateSNMPProfile(ctx, model.SNMPProfile{Name: "v3", Version: model.SNMPv3, User: "mon", AuthProtocol: model.AuthSHA, AuthKey: "authkey123"}))(t)
	for _, n := range []model.Node{a, node("b", "par1"), node("c", "ams1")} {
		must(s.CreateNode(ctx, n))(t)
	}
	must(s.CreateLink(ctx, link("b", "xe-0/0/1", "a", "xe-0/0/1")))(t)
	must(s.CreateLink(ctx, link("a", "xe-0/0/0", "c", "xe-0/0/0")))(t)
	must(s.CreateLink(ctx, model.Link{A: model.Endpoint{Node: "c", Interface: "ge-1"}, Circuit: &model.Circuit{ID: "C-9", Provider: "T1"}, BandwidthBps: 1e9}))(t)

	exp := must(s.Export(ctx))(t)
	raw := must(json.Marshal(exp))(t)
	for _, secret := range []string{"s3cret", "authkey123", "secrets_set"} {
		if strings.Contains(string(raw), secret) {
			t.Fatalf("export holds %q", secret)
		}
	}
	if len(exp.Locations) != 8 || len(exp.SNMPProfiles) != 2 || len(exp.Nodes) != 3 || len(exp.Links) != 3 {
		t.Fatalf("export sizes %d %d %d %d", len(exp.Locations), len(exp.SNMPProfiles), len(exp.Nodes), len(exp.Links))
	}
	if exp.Nodes[0].Name != "a" || exp.Nodes[0].ID == "" || exp.Nodes[0].CreatedAt.IsZero() || exp.Links[0].A.Node != "a" || exp.Locations[0].Name != "ams1" {
		t.Fatalf("export not sorted or without ids/timestamps: %+v / %+v", exp.Nodes[0], exp.Links[0])
	}

	// Into a fresh store. Secrets are not exported, so they are given again
	// (as an operator would); everything else comes from the file.
	s2, _ := newStore(t)
	in := *exp
	in.SNMPProfiles = slices.Clone(exp.SNMPProfiles)
	in.SNMPProfiles[0].Community = "s3cret-std"
	in.SNMPProfiles[1].AuthKey = "authkey123"
	if in.SNMPProfiles[0].Name != "std" {
		in.SNMPProfiles[0], in.SNMPProfiles[1] = in.SNMPProfiles[1], in.SNMPProfiles[0]
	}
	rep := must(s2.Import(ctx, &in, nil))(t)
	if len(rep.Errors) > 0 {
		t.Fatalf("import of an export: %+v", rep.Errors)
	}
	exp2 := must(s2.Export(ctx))(t)

	// Equal except revisions and timestamps (ids are kept: they were free).
	strip := func(b *bundle.Bundle) string {
		c := *b
		c.Locations, c.SNMPProfiles, c.Nodes, c.Links = slices.Clone(b.Locations), slices.Clone(b.SNMPProfiles), slices.Clone(b.Nodes), slices.Clone(b.Links)
		for i := range c.Locations {
			c.Locations[i].Meta = model.Meta{ID: c.Locations[i].ID}
		}
		for i := range c.SNMPProfiles {
			c.SNMPProfiles[i].Meta = model.Meta{ID: c.SNMPProfiles[i].ID}
		}
		for i := range c.Nodes {
			c.Nodes[i].Meta = model.Meta{ID: c.Nodes[i].ID}
		}
		for i := range c.Links {
			c.Links[i].Meta = model.Meta{ID: c.Links[i].ID}
		}
		out, _ := json.MarshalIndent(c, "", " ")
		return string(out)
	}
	if a, b := strip(exp), strip(exp2); a != b {
		t.Fatalf("round trip differs:\n%s\n---\n%s", a, b)
	}
	// And the secrets are in the new store.
	if p := must(s2.GetSNMPProfile(ctx, "v3"))(t); p.AuthKey != "authkey123" {
		t.Fatal("secret lost")
	}
}

// TestConcurrentWriters races writers that would break each other's
// invariants: only one link gets an interface, and a node never ends up in a
// deleted location.
func TestConcurrentWriters(t *testing.T) {
	s, _ := newStore(t)
	ctx := testCtx(t)
	seed(t, s, node("a", "ams1"))
	for i := range 8 {
		must(s.CreateNode(ctx, node(fmt.Sprintf("z%d", i), "ams1")))(t)
	}
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range 8 {
		wg.Go(func() {
			_, errs[i] = s.CreateLink(ctx, link("a", "xe-0/0/0", fmt.Sprintf("z%d", i), "e1"))
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, desired.ErrConflict):
			t.Fatalf("unexpected error %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d links took the same interface", ok)
	}

	for round := range 10 {
		site := fmt.Sprintf("s%d", round)
		must(s.CreateLocation(ctx, model.Location{Name: site, Kind: model.KindSite, Parent: "us"}))(t)
		var nodeErr, delErr error
		wg.Go(func() { _, nodeErr = s.CreateNode(ctx, node("racer"+site, site)) })
		wg.Go(func() { delErr = s.DeleteLocation(ctx, site, desired.DeleteOptions{}) })
		wg.Wait()
		_, getErr := s.GetLocation(ctx, site)
		switch {
		case nodeErr == nil && delErr == nil:
			t.Fatalf("round %d: both the node and the delete of its location succeeded", round)
		case nodeErr == nil && getErr != nil:
			t.Fatalf("round %d: node in a deleted location", round)
		}
	}
}
