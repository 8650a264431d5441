package desired_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/unet-project/unet/collector/desired"
	"github.com/unet-project/unet/shared/model"
)

func names[T any](items []T, name func(T) string) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = name(it)
	}
	return out
}

func nodeNames(items []model.Node) []string {
	return names(items, func(n model.Node) string { return n.Name })
}

func TestListNodes(t *testing.T) {
	s, _ := newStore(t)
	ctx := testCtx(t)
	mk := func(name, loc string, v model.Vendor, r model.Role, lc model.Lifecycle, tags ...string) model.Node {
		n := node(name, loc)
		n.Vendor, n.Role, n.Lifecycle, n.Tags = v, r, lc, tags
		return n
	}
	seed(t, s,
		mk("p1", "par1", model.VendorJuniper, model.RoleRouter, model.LifecycleLive, "core"),
		mk("p2", "k1", model.VendorCisco, model.RoleSwitch, model.LifecyclePlanned),
		mk("p3", "r1", model.VendorArista, model.RoleSwitch, model.LifecycleDecommissioned, "core", "old"),
		mk("a1", "ams1", model.VendorCisco, model.RoleFirewall, model.LifecycleImplementing, "edge"),
	)
	n := must(s.GetNode(ctx, "a1"))(t)
	n.SNMPProfile = "std"
	must(s.UpdateNode(ctx, "a1", n, 0))(t)
	// Values that look like the filtered fields must not fool the filters,
	// which look at the stored JSON before decoding it.
	tricky := mk("t1", "ams1", model.VendorNokia, model.RoleOther, model.LifecyclePlanned)
	tricky.Model = `"location":"par1","role":"switch"`
	tricky.CustomData = map[string]any{"location": "par1", "role": "switch", "list": []any{map[string]any{"location": "k1"}}}
	must(s.CreateNode(ctx, tricky))(t)

	tests := []struct {
		name   string
		filter desired.NodeFilter
		sort   string
		want   []string
	}{
		{"all by name", desired.NodeFilter{}, "", []string{"a1", "p1", "p2", "p3", "t1"}},
		{"descending", desired.NodeFilter{}, "-name", []string{"t1", "p3", "p2", "p1", "a1"}},
		{"subtree of par1", desired.NodeFilter{Location: "par1"}, "", []string{"p1", "p2", "p3"}},
		{"subtree of eu", desired.NodeFilter{Location: "eu"}, "", []string{"a1", "p1", "p2", "p3", "t1"}},
		{"subtree of ams1", desired.NodeFilter{Location: "ams1"}, "", []string{"a1", "t1"}},
		{"subtree of r1", desired.NodeFilter{Location: "r1"}, "", []string{"p2", "p3"}},
		{"subtree of us", desired.NodeFilter{Location: "us"}, "", []string{}},
		{"role", desired.NodeFilter{Role: "Switch"}, "", []string{"p2", "p3"}},
		{"vendor", desired.NodeFilter{Vendor: model.VendorCisco}, "", []string{"a1", "p2"}},
		{"lifecycle", desired.NodeFilter{Lifecycle: model.LifecycleLive}, "", []string{"p1"}},
		{"tag", desired.NodeFilter{Tag: "core"}, "", []string{"p1", "p3"}},
		{"name prefix", desired.NodeFilter{NamePrefix: "p"}, "", []string{"p1", "p2", "p3"}},
		{"other role", desired.NodeFilter{Role: model.RoleOther, Location: "ams1"}, "", []string{"t1"}},
		{"profile", desired.NodeFilter{SNMPProfile: "std"}, "", []string{"a1"}},
		{"combined", desired.NodeFilter{Location: "par1", Tag: "core", Role: model.RoleSwitch}, "", []string{"p3"}},
		{"by vendor", desired.NodeFilter{NamePrefix: "a"}, "vendor", []string{"a1"}},
		{"by vendor in par1", desired.NodeFilter{Location: "par1"}, "vendor", []string{"p3", "p2", "p1"}},
		{"by role desc", desired.NodeFilter{}, "-role", []string{"p3", "p2", "p1", "t1", "a1"}},
		{"by lifecycle stage", desired.NodeFilter{}, "lifecycle", []string{"p2", "t1", "a1", "p1", "p3"}},
		{"by location", desired.NodeFilter{}, "location", []string{"a1", "t1", "p2", "p1", "p3"}},
		{"by creation", desired.NodeFilter{}, "created_at", []string{"p1", "p2", "p3", "a1", "t1"}},
		{"by update, newest first", desired.NodeFilter{}, "-updated_at", []string{"t1", "a1", "p3", "p2", "p1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := must(s.ListNodes(ctx, tc.filter, desired.ListOptions{Sort: tc.sort}))(t)
			if got := nodeNames(res.Items); !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			if res.Continue != "" || res.Revision == 0 {
				t.Fatalf("continue %q revision %d", res.Continue, res.Revision)
			}
		})
	}

	bad := []struct {
		name   string
		filter desired.NodeFilter
		opts   desired.ListOptions
		field  string
	}{
		{"unknown sort", desired.NodeFilter{}, desired.ListOptions{Sort: "colour"}, "sort"},
		{"unknown role", desired.NodeFilter{Role: "toaster"}, desired.ListOptions{}, "role"},
		{"unknown location", desired.NodeFilter{Location: "mars"}, desired.ListOptions{}, "location"},
		{"garbage token", desired.NodeFilter{}, desired.ListOptions{Continue: "!!"}, "continue"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.ListNodes(ctx, tc.filter, tc.opts)
			wantFieldError(t, err, tc.field, "")
		})
	}
}

func TestListLocationsAndLinks(t *testing.T) {
	s, _ := newStore(t)
	ctx := testCtx(t)
	seed(t, s, node("a", "par1"), node("b", "ams1"), node("c", "k1"))
	lab := must(s.CreateLink(ctx, link("a", "e1", "b", "e1")))(t)
	lbc := must(s.CreateLink(ctx, link("b", "e2", "c", "e2")))(t)

	locs := []struct {
		filter desired.LocationFilter
		sort   string
		want   []string
	}{
		{desired.LocationFilter{}, "", []string{"ams1", "eu", "fr", "k1", "par", "par1", "r1", "us"}},
		{desired.LocationFilter{Within: "fr"}, "", []string{"fr", "k1", "par", "par1", "r1"}},
		{desired.LocationFilter{Kind: "site"}, "", []string{"ams1", "par1"}},
		{desired.LocationFilter{NamePrefix: "par"}, "", []string{"par", "par1"}},
		{desired.LocationFilter{Within: "eu"}, "kind", []string{"eu", "fr", "par", "ams1", "par1", "r1", "k1"}},
	}
	for _, tc := range locs {
		t.Run(fmt.Sprintf("locations %+v %s", tc.filter, tc.sort), func(t *testing.T) {
			res := must(s.ListLocations(ctx, tc.filter, desired.ListOptions{Sort: tc.sort}))(t)
			if got := names(res.Items, func(l model.Location) string { return l.Name }); !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
	links := []struct {
		filter desired.LinkFilter
		sort   string
		want   []string
	}{
		{desired.LinkFilter{Node: "b"}, "created_at", []string{lab.ID, lbc.ID}},
		{desired.LinkFilter{Node: "c"}, "", []string{lbc.ID}},
		{desired.LinkFilter{Node: "nobody"}, "", []string{}},
		{desired.LinkFilter{}, "-created_at", []string{lbc.ID, lab.ID}},
		{desired.LinkFilter{}, "a", []string{lab.ID, lbc.ID}},
	}
	for _, tc := range links {
		t.Run(fmt.Sprintf("links %+v %s", tc.filter, tc.sort), func(t *testing.T) {
			res := must(s.ListLinks(ctx, tc.filter, desired.ListOptions{Sort: tc.sort}))(t)
			if got := names(res.Items, func(l model.Link) string { return l.ID }); !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
	// Paging over an index-selected list.
	p1 := must(s.ListLinks(ctx, desired.LinkFilter{Node: "b"}, desired.ListOptions{Limit: 1}))(t)
	p2 := must(s.ListLinks(ctx, desired.LinkFilter{Node: "b"}, desired.ListOptions{Limit: 1, Continue: p1.Continue}))(t)
	if len(p1.Items) != 1 || len(p2.Items) != 1 || p1.Items[0].ID == p2.Items[0].ID || p2.Continue != "" {
		t.Fatalf("pages %v / %v (continue %q)", p1.Items, p2.Items, p2.Continue)
	}
}

// TestListPagination pages through every sort while the store changes
// under it: all pages come from the first page's revision.
func TestListPagination(t *testing.T) {
	s, cli := newStore(t)
	ctx := testCtx(t)
	seed(t, s)
	for i := range 25 {
		n := node(fmt.Sprintf("n%02d", i), []string{"par1", "k1", "ams1"}[i%3])
		n.Vendor = model.Vendors()[i%5]
		must(s.CreateNode(ctx, n))(t)
	}
	extra := 0
	for _, sort := range []string{"name", "-name", "vendor", "-created_at"} {
		t.Run(sort, func(t *testing.T) {
			first := must(s.ListNodes(ctx, desired.NodeFilter{Location: "par1"}, desired.ListOptions{Sort: sort}))(t)
			var got []string
			var rev int64
			opts := desired.ListOptions{Limit: 4, Sort: sort}
			for page := 0; ; page++ {
				res := must(s.ListNodes(ctx, desired.NodeFilter{Location: "par1"}, opts))(t)
				if page == 0 {
					rev = res.Revision
				} else if res.Revision != rev {
					t.Fatalf("page %d at revision %d, first page at %d", page, res.Revision, rev)
				}
				if len(res.Items) > 4 {
					t.Fatalf("page of %d items", len(res.Items))
				}
				got = append(got, nodeNames(res.Items)...)
				// Writes between pages: a new node in the subtree, a deleted one.
				extra++
				must(s.CreateNode(ctx, node(fmt.Sprintf("x%02d", extra), "par1")))(t)
				if page == 1 {
					if err := s.DeleteNode(ctx, got[0], desired.DeleteOptions{}); err != nil {
						t.Fatal(err)
					}
				}
				if res.Continue == "" {
					break
				}
				opts.Continue = res.Continue
			}
			if wantNames := nodeNames(first.Items); !slices.Equal(got, wantNames) {
				t.Fatalf("paged %v\nwant   %v", got, wantNames)
			}
			// A token does not continue a list with another sort.
			if sort != "name" {
				res := must(s.ListNodes(ctx, desired.NodeFilter{Location: "par1"}, desired.ListOptions{Limit: 2, Sort: sort}))(t)
				_, err := s.ListNodes(ctx, desired.NodeFilter{Location: "par1"}, desired.ListOptions{Limit: 2, Continue: res.Continue})
				wantFieldError(t, err, "continue", "another sort or filter")
			}
		})
	}

	// A compacted revision: the list must restart.
	res := must(s.ListNodes(ctx, desired.NodeFilter{}, desired.ListOptions{Limit: 2}))(t)
	must(s.CreateNode(ctx, node("late", "ams1")))(t)
	cur := must(cli.Get(ctx, "/"))(t).Header.Revision
	must(cli.Compact(ctx, cur))(t)
	_, err := s.ListNodes(ctx, desired.NodeFilter{}, desired.ListOptions{Limit: 2, Continue: res.Continue})
	wantIs(t, err, desired.ErrConflict, "restart the list")
}

func TestWatch(t *testing.T) {
	s, cli := newStore(t)
	ctx := testCtx(t)
	seed(t, s)
	start := must(cli.Get(ctx, "/"))(t).Header.Revision

	n := must(s.CreateNode(ctx, node("w1", "par1")))(t)
	must(s.CreateNode(ctx, node("w2", "par1")))(t)
	lk := must(s.CreateLink(ctx, link("w1", "e1", "w2", "e1")))(t)
	if err := s.DeleteNode(ctx, "w1", desired.DeleteOptions{Cascade: true}); err != nil {
		t.Fatal(err)
	}

	type ev struct {
		kind model.ObjectKind
		name string
		typ  desired.EventType
	}
	want := []ev{
		{model.ObjectNode, "w1", desired.EventPut},
		{model.ObjectNode, "w2", desired.EventPut},
		{model.ObjectLink, lk.ID, desired.EventPut},
		{model.ObjectNode, "w1", desired.EventDelete},
		{model.ObjectLink, lk.ID, desired.EventDelete},
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := s.Watch(wctx, start+1)
	var got []ev
	for len(got) < len(want) {
		select {
		case e, ok := <-ch:
			if !ok {
				t.Fatal("watch closed early")
			}
			if e.Err != nil {
				t.Fatal(e.Err)
			}
			got = append(got, ev{e.Kind, e.Name, e.Type})
			if e.Kind == model.ObjectNode && e.Name == "w1" && e.Type == desired.EventPut {
				var v model.Node
				if err := json.Unmarshal(e.Value, &v); err != nil || v.ID != n.ID || v.Revision != n.Revision || e.Revision != n.Revision {
					t.Fatalf("event value %s (err %v), want node %s at revision %d", e.Value, err, n.ID, n.Revision)
				}
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	// Deletes in one transaction come in key order (link/ < node/); compare as sets per revision.
	slices.SortFunc(got[3:], func(a, b ev) int { return cmpString(string(a.kind), string(b.kind)) })
	slices.SortFunc(want[3:], func(a, b ev) int { return cmpString(string(a.kind), string(b.kind)) })
	if !slices.Equal(got, want) {
		t.Fatalf("events %v\nwant   %v", got, want)
	}

	// Live events: a new location.
	must(s.CreateLocation(ctx, model.Location{Name: "live", Kind: model.KindSite}))(t)
	select {
	case e := <-ch:
		if e.Kind != model.ObjectLocation || e.Name != "live" || e.Type != desired.EventPut {
			t.Fatalf("live event %+v", e)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no live event")
	}
	cancel()
	for range ch {
	}

	// From a compacted revision: one error event, then the channel closes.
	cur := must(cli.Get(ctx, "/"))(t).Header.Revision
	must(cli.Compact(ctx, cur))(t)
	ch = s.Watch(ctx, start)
	select {
	case e, ok := <-ch:
		if !ok || !errors.Is(e.Err, desired.ErrConflict) {
			t.Fatalf("event %+v (open %v), want a conflict error", e, ok)
		}
		t.Logf("compacted: %v", e.Err)
	case <-time.After(10 * time.Second):
		t.Fatal("no error event")
	}
	if _, ok := <-ch; ok {
		t.Fatal("channel still open after the error")
	}
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// TestListLarge lists more nodes than one range read returns, so that the
// reads are chunked and decoded in parallel.
func TestListLarge(t *testing.T) {
	s, _ := newStore(t, func(c *desired.Config) { c.MaxTxnOps = 8192; c.MaxTxnBytes = 4 << 20 })
	ctx := testCtx(t)
	b := genBundle(2600, 0)
	must(s.Import(ctx, b, nil))(t)

	all := must(s.ListNodes(ctx, desired.NodeFilter{}, desired.ListOptions{}))(t)
	if len(all.Items) != 2600 || !slices.IsSortedFunc(all.Items, func(a, b model.Node) int { return cmpString(a.Name, b.Name) }) {
		t.Fatalf("%d nodes, sorted %v", len(all.Items), slices.IsSortedFunc(all.Items, func(a, b model.Node) int { return cmpString(a.Name, b.Name) }))
	}
	sub := must(s.ListNodes(ctx, desired.NodeFilter{Location: "reg1"}, desired.ListOptions{Sort: "-name"}))(t)
	if len(sub.Items) != 1300 || sub.Items[0].Name != "n02599" {
		t.Fatalf("%d nodes in reg1, first %s", len(sub.Items), sub.Items[0].Name)
	}
	for _, sort := range []string{"name", "vendor"} {
		var got []string
		opts := desired.ListOptions{Limit: 700, Sort: sort}
		for {
			res := must(s.ListNodes(ctx, desired.NodeFilter{Location: "reg1"}, opts))(t)
			got = append(got, nodeNames(res.Items)...)
			if res.Continue == "" {
				break
			}
			opts.Continue = res.Continue
		}
		slices.Sort(got)
		if len(got) != 1300 || len(slices.Compact(got)) != 1300 {
			t.Fatalf("sort %s: paged %d distinct nodes, want 1300", sort, len(slices.Compact(got)))
		}
	}
}
