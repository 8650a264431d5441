package desired_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/unet-project/unet/collector/desired"
	"github.com/unet-project/unet/shared/model"
)

func TestPing(t *testing.T) {
	s, _ := newStore(t)
	if err := s.Ping(testCtx(t)); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func TestLocationCRUD(t *testing.T) {
	s, _ := newStore(t)
	ctx := testCtx(t)
	seed(t, s)

	got := must(s.GetLocation(ctx, "par1"))(t)
	if got.Kind != model.KindSite || got.Parent != "par" || got.Revision == 0 || got.CreatedAt.IsZero() {
		t.Fatalf("GetLocation(par1) = %+v", got)
	}
	if _, err := uuid.Parse(got.ID); err != nil {
		t.Fatalf("id %q is not a UUID", got.ID)
	}
	byID := must(s.GetLocation(ctx, got.ID))(t)
	if byID.Name != "par1" || byID.Revision != got.Revision {
		t.Fatalf("GetLocation(id) = %+v, want par1", byID)
	}

	// Update with the right revision, then with the stale one.
	upd := got
	upd.Description = "Paris one"
	after := must(s.UpdateLocation(ctx, "par1", upd, got.Revision))(t)
	if after.Revision <= got.Revision || after.ID != got.ID || !after.CreatedAt.Equal(got.CreatedAt) || !after.UpdatedAt.After(got.UpdatedAt) {
		t.Fatalf("after update: %+v (before %+v)", after, got)
	}
	_, err := s.UpdateLocation(ctx, "par1", upd, got.Revision)
	wantIs(t, err, desired.ErrConflict, "revision")

	tests := []struct {
		name  string
		loc   model.Location
		check func(t *testing.T, err error)
	}{
		{"name taken", model.Location{Name: "eu", Kind: model.KindRegion},
			func(t *testing.T, err error) { wantIs(t, err, desired.ErrConflict, `location "eu" already exists`) }},
		{"parent missing", model.Location{Name: "x", Kind: model.KindSite, Parent: "nowhere"},
			func(t *testing.T, err error) { wantFieldError(t, err, "parent", `location "nowhere" does not exist`) }},
		{"invalid kind", model.Location{Name: "x", Kind: "planet"},
			func(t *testing.T, err error) { wantFieldError(t, err, "kind", "unknown location kind") }},
		{"kind in any case", model.Location{Name: "lyon", Kind: "City", Parent: "fr"},
			func(t *testing.T, err error) {
				if err != nil {
					t.Fatal(err)
				}
				if l := must(s.GetLocation(ctx, "lyon"))(t); l.Kind != model.KindCity {
					t.Fatalf("kind = %q, want city", l.Kind)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.CreateLocation(ctx, tc.loc)
			tc.check(t, err)
		})
	}

	// Delete a leaf, conditional on a stale then the right revision.
	k1 := must(s.GetLocation(ctx, "k1"))(t)
	wantIs(t, s.DeleteLocation(ctx, "k1", desired.DeleteOptions{IfRevision: k1.Revision - 1}), desired.ErrConflict, "revision")
	if err := s.DeleteLocation(ctx, k1.ID, desired.DeleteOptions{IfRevision: k1.Revision}); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetLocation(ctx, "k1")
	wantIs(t, err, desired.ErrNotFound, "k1")
	_, err = s.GetLocation(ctx, k1.ID)
	wantIs(t, err, desired.ErrNotFound, k1.ID)
	// r1 is unreferenced now: deletable.
	if err := s.DeleteLocation(ctx, "r1", desired.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestLocationHierarchyRules(t *testing.T) {
	s, _ := newStore(t)
	ctx := testCtx(t)
	seed(t, s, node("r-par", "k1"))

	tests := []struct {
		name  string
		ref   string
		loc   model.Location
		field string
		want  string
	}{
		{"cycle", "eu", model.Location{Name: "eu", Kind: model.KindRegion, Parent: "par1"}, "parent", "cycle in the location hierarchy"},
		{"own parent", "fr", model.Location{Name: "fr", Kind: model.KindCountry, Parent: "fr"}, "parent", "own parent"},
		{"missing parent", "fr", model.Location{Name: "fr", Kind: model.KindCountry, Parent: "mars"}, "parent", `location "mars" does not exist`},
		{"site becomes a city with a node below", "par1", model.Location{Name: "par1", Kind: model.KindCity, Parent: "par"}, "kind", `"r-par"`},
		{"room moved out of its site", "r1", model.Location{Name: "r1", Kind: model.KindRoom, Parent: "fr"}, "parent", "no longer be in a site"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.UpdateLocation(ctx, tc.ref, tc.loc, 0)
			wantFieldError(t, err, tc.field, tc.want)
		})
	}
	// Moving the room to another site is fine, and so is re-parenting a
	// subtree without nodes.
	must(s.UpdateLocation(ctx, "r1", model.Location{Name: "r1", Kind: model.KindRoom, Parent: "ams1"}, 0))(t)
	must(s.UpdateLocation(ctx, "par", model.Location{Name: "par", Kind: model.KindCity, Parent: "us"}, 0))(t)
	tree := must(s.LocationTree(ctx))(t)
	if got := tree.Path("k1"); got != "eu/ams1/r1/k1" {
		t.Fatalf("path of k1 = %q", got)
	}
	if got := tree.Path("par1"); got != "us/par/par1" {
		t.Fatalf("path of par1 = %q", got)
	}
}

func TestRename(t *testing.T) {
	s, _ := newStore(t)
	ctx := testCtx(t)
	seed(t, s, node("a", "par1"), node("b", "par1"), node("lonely", "ams1"))
	l := must(s.CreateLink(ctx, link("a", "xe-0/0/0", "b", "xe-0/0/0")))(t)

	// Referenced objects cannot be renamed.
	refused := []struct {
		name string
		do   func() error
		want string
	}{
		{"node with links", func() error {
			n := must(s.GetNode(ctx, "a"))(t)
			n.Name = "a2"
			_, err := s.UpdateNode(ctx, "a", n, 0)
			return err
		}, "cannot rename node a: it is referenced by link " + l.ID},
		{"location with children", func() error {
			_, err := s.UpdateLocation(ctx, "eu", model.Location{Name: "europe", Kind: model.KindRegion}, 0)
			return err
		}, "cannot rename location eu"},
		{"profile used by nodes", func() error {
			n := must(s.GetNode(ctx, "lonely"))(t)
			n.SNMPProfile = "std"
			must(s.UpdateNode(ctx, "lonely", n, 0))(t)
			p := v2profile("std2")
			_, err := s.UpdateSNMPProfile(ctx, "std", p, 0)
			return err
		}, "cannot rename snmp-profile std: it is referenced by node lonely"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.do()
			wantIs(t, err, desired.ErrInUse, tc.want)
			var iu *desired.InUseError
			if !errors.As(err, &iu) || iu.Op != "rename" || len(iu.ReferencedBy) == 0 {
				t.Fatalf("error %v: want an InUseError for a rename with references", err)
			}
		})
	}

	// An unreferenced node is renamed: key, id index and its references move.
	old := must(s.GetNode(ctx, "lonely"))(t)
	n := old
	n.Name = "popular"
	n.Location = "par1"
	renamed := must(s.UpdateNode(ctx, "lonely", n, old.Revision))(t)
	if renamed.ID != old.ID {
		t.Fatalf("rename changed the id: %s → %s", old.ID, renamed.ID)
	}
	_, err := s.GetNode(ctx, "lonely")
	wantIs(t, err, desired.ErrNotFound, "lonely")
	if got := must(s.GetNode(ctx, old.ID))(t); got.Name != "popular" {
		t.Fatalf("GetNode(id) after rename = %q", got.Name)
	}
	// Its references followed: ams1 is free, par1 and std are used by it.
	if err := s.DeleteLocation(ctx, "ams1", desired.DeleteOptions{}); err != nil {
		t.Fatalf("delete ams1 after the node left it: %v", err)
	}
	var iu *desired.InUseError
	if err := s.DeleteSNMPProfile(ctx, "std", desired.DeleteOptions{}); !errors.As(err, &iu) || !slices.Contains(iu.ReferencedBy, desired.Ref{Kind: model.ObjectNode, Name: "popular"}) {
		t.Fatalf("delete std = %v, want in use by node popular", err)
	}
	// Renaming to a taken name is a conflict.
	n.Name = "a"
	_, err = s.UpdateNode(ctx, "popular", n, 0)
	wantIs(t, err, desired.ErrConflict, `node "a" already exists`)

	// A renamed location with nothing below it.
	must(s.UpdateLocation(ctx, "us", model.Location{Name: "americas", Kind: model.KindRegion}, 0))(t)
	if got := must(s.GetLocation(ctx, "americas"))(t); got.Name != "americas" {
		t.Fatal(got)
	}
	// A profile nothing uses.
	must(s.CreateSNMPProfile(ctx, v2profile("spare")))(t)
	p := must(s.UpdateSNMPProfile(ctx, "spare", model.SNMPProfile{Name: "spare2", Version: model.SNMPv2c}, 0))(t)
	if p.Community != "s3cret-spare" {
		t.Fatalf("renamed profile lost its community")
	}
}

func TestSNMPProfileSecrets(t *testing.T) {
	s, _ := newStore(t)
	ctx := testCtx(t)
	v3 := model.SNMPProfile{Name: "v3", Version: model.SNMPv3, User: "mon", AuthProtocol: model.AuthSHA256, AuthKey: "authkey123",
		PrivProtocol: model.PrivAES, PrivKey: "privkey123"}
	created := must(s.CreateSNMPProfile(ctx, v3))(t)
	if created.Port != model.DefaultSNMPPort || created.Timeout != model.DefaultSNMPTimeout {
		t.Fatalf("defaults not filled: %+v", created)
	}
	byID := must(s.GetSNMPProfile(ctx, created.ID))(t)
	if byID.AuthKey != "authkey123" {
		t.Fatal("secrets not stored")
	}

	tests := []struct {
		name     string
		update   model.SNMPProfile
		wantAuth string
		wantPriv string
		wantErr  string // field
	}{
		{"secrets left out are kept", model.SNMPProfile{Name: "v3", Version: model.SNMPv3, User: "mon2", AuthProtocol: model.AuthSHA256, PrivProtocol: model.PrivAES},
			"authkey123", "privkey123", ""},
		{"a new secret replaces the stored one", model.SNMPProfile{Name: "v3", Version: model.SNMPv3, User: "mon2", AuthProtocol: model.AuthSHA256, AuthKey: "newauthkey", PrivProtocol: model.PrivAES},
			"newauthkey", "privkey123", ""},
		{"privacy dropped drops its key", model.SNMPProfile{Name: "v3", Version: model.SNMPv3, User: "mon2", AuthProtocol: model.AuthSHA256},
			"newauthkey", "", ""},
		{"v2c needs a community", model.SNMPProfile{Name: "v3", Version: model.SNMPv2c}, "", "", "community"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.UpdateSNMPProfile(ctx, "v3", tc.update, 0)
			if tc.wantErr != "" {
				wantFieldError(t, err, tc.wantErr, "required")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got = must(s.GetSNMPProfile(ctx, "v3"))(t)
			if got.AuthKey != tc.wantAuth || got.PrivKey != tc.wantPriv || got.User != "mon2" {
				t.Fatalf("after update: auth %q priv %q user %q, want %q %q", got.AuthKey, got.PrivKey, got.User, tc.wantAuth, tc.wantPriv)
			}
		})
	}
	_, err := s.CreateSNMPProfile(ctx, v3)
	wantIs(t, err, desired.ErrConflict, "already exists")
	if err := s.DeleteSNMPProfile(ctx, "v3", desired.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	res := must(s.ListSNMPProfiles(ctx, desired.ListOptions{}))(t)
	if len(res.Items) != 0 {
		t.Fatalf("profiles after delete: %v", res.Items)
	}
}

func TestNodeCRUD(t *testing.T) {
	s, _ := newStore(t)
	ctx := testCtx(t)
	seed(t, s)

	n := node("edge1", "k1")
	n.Domain = "Net.Example."
	n.Vendor = "Cisco"
	n.SNMPProfile = "std"
	n.Tags = []string{"b", "a", "b"}
	created := must(s.CreateNode(ctx, n))(t)
	if created.FQDN != "edge1.net.example" || created.Vendor != model.VendorCisco || !slices.Equal(created.Tags, []string{"a", "b"}) {
		t.Fatalf("not normalized: %+v", created)
	}
	for _, ref := range []string{"edge1", created.ID} {
		got := must(s.GetNode(ctx, ref))(t)
		if got.Name != "edge1" || got.Revision != created.Revision || got.ID != created.ID {
			t.Fatalf("GetNode(%s) = %+v", ref, got)
		}
	}

	bad := []struct {
		name  string
		edit  func(*model.Node)
		field string
		want  string
	}{
		{"missing location", func(n *model.Node) { n.Location = "x" }, "location", `location "x" does not exist`},
		{"region", func(n *model.Node) { n.Location = "eu" }, "location", `location "eu" is a region: a node must be in a site or below`},
		{"city", func(n *model.Node) { n.Location = "par" }, "location", `location "par" is a city`},
		{"missing profile", func(n *model.Node) { n.SNMPProfile = "nope" }, "snmp_profile", `SNMP profile "nope" does not exist`},
		{"model validation", func(n *model.Node) { n.ManagementAddress = "999.1.1.1" }, "management_address", "not an IPv4"},
	}
	for _, tc := range bad {
		t.Run("create/"+tc.name, func(t *testing.T) {
			n := node("other", "par1")
			tc.edit(&n)
			_, err := s.CreateNode(ctx, n)
			wantFieldError(t, err, tc.field, tc.want)
		})
		t.Run("update/"+tc.name, func(t *testing.T) {
			n := created
			tc.edit(&n)
			_, err := s.UpdateNode(ctx, "edge1", n, 0)
			wantFieldError(t, err, tc.field, tc.want)
		})
	}
	_, err := s.CreateNode(ctx, node("edge1", "par1"))
	wantIs(t, err, desired.ErrConflict, `node "edge1" already exists`)

	// CAS on update.
	upd := created
	upd.Model = "ASR9k"
	u1 := must(s.UpdateNode(ctx, created.ID, upd, created.Revision))(t)
	_, err = s.UpdateNode(ctx, "edge1", upd, created.Revision)
	wantIs(t, err, desired.ErrConflict, "changed since it was read")
	// Moving the node updates the location references.
	upd.Location = "ams1"
	must(s.UpdateNode(ctx, "edge1", upd, u1.Revision))(t)
	if err := s.DeleteLocation(ctx, "k1", desired.DeleteOptions{}); err != nil {
		t.Fatalf("k1 should be free: %v", err)
	}
	_, err = s.UpdateNode(ctx, "nope", upd, 0)
	wantIs(t, err, desired.ErrNotFound, "nope")
	if err := s.DeleteNode(ctx, "edge1", desired.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetNode(ctx, created.ID)
	wantIs(t, err, desired.ErrNotFound, "")
	wantIs(t, s.DeleteNode(ctx, "edge1", desired.DeleteOptions{}), desired.ErrNotFound, "edge1")
}

func TestLinkCRUD(t *testing.T) {
	s, _ := newStore(t)
	ctx := testCtx(t)
	seed(t, s, node("a", "par1"), node("b", "par1"), node("c", "ams1"))

	l1 := must(s.CreateLink(ctx, link("a", "xe-0/0/0", "b", "xe-0/0/0")))(t)
	if got := must(s.GetLink(ctx, l1.ID))(t); got.A.Node != "a" || got.Z.Interface != "xe-0/0/0" || got.Revision != l1.Revision {
		t.Fatalf("GetLink = %+v", got)
	}
	circuit := must(s.CreateLink(ctx, model.Link{A: model.Endpoint{Node: "c", Interface: "ge-0/0/9"}, Circuit: &model.Circuit{ID: "CID-1", Provider: "Transit"}}))(t)

	bad := []struct {
		name  string
		link  model.Link
		check func(t *testing.T, err error)
	}{
		{"interface taken", link("c", "xe-1", "b", "xe-0/0/0"),
			func(t *testing.T, err error) {
				wantIs(t, err, desired.ErrConflict, "interface b:xe-0/0/0 is already used by link "+l1.ID+" (a:xe-0/0/0 ↔ b:xe-0/0/0)")
			}},
		{"missing nodes", link("x", "e1", "y", "e2"),
			func(t *testing.T, err error) {
				wantFieldError(t, err, "a.node", `node "x" does not exist`)
				wantFieldError(t, err, "z.node", `node "y" does not exist`)
			}},
		{"self link", link("a", "e1", "a", "e2"),
			func(t *testing.T, err error) { wantFieldError(t, err, "z.node", "self-links") }},
		{"circuit interface taken", link("c", "ge-0/0/9", "a", "e9"),
			func(t *testing.T, err error) { wantIs(t, err, desired.ErrConflict, circuit.ID) }},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.CreateLink(ctx, tc.link)
			tc.check(t, err)
		})
	}

	// Moving the Z end frees the old interface and takes the new one.
	moved := l1
	moved.Z = &model.Endpoint{Node: "c", Interface: "xe-0/0/1"}
	l1b := must(s.UpdateLink(ctx, l1.ID, moved, l1.Revision))(t)
	_, err := s.UpdateLink(ctx, l1.ID, moved, l1.Revision)
	wantIs(t, err, desired.ErrConflict, "revision")
	l2 := must(s.CreateLink(ctx, link("b", "xe-0/0/0", "c", "xe-9")))(t)
	_, err = s.CreateLink(ctx, link("b", "xe-7", "c", "xe-0/0/1"))
	wantIs(t, err, desired.ErrConflict, "c:xe-0/0/1 is already used by link "+l1.ID)
	// Keeping one end and moving it onto a taken one.
	moved.Z = &model.Endpoint{Node: "b", Interface: "xe-0/0/0"}
	_, err = s.UpdateLink(ctx, l1.ID, moved, 0)
	wantIs(t, err, desired.ErrConflict, "used by link "+l2.ID)

	// b no longer has a link to a: b's links are l2 only.
	res := must(s.ListLinks(ctx, desired.LinkFilter{Node: "b"}, desired.ListOptions{}))(t)
	if len(res.Items) != 1 || res.Items[0].ID != l2.ID {
		t.Fatalf("links of b = %+v", res.Items)
	}
	if err := s.DeleteLink(ctx, l1.ID, desired.DeleteOptions{IfRevision: l1b.Revision}); err != nil {
		t.Fatal(err)
	}
	// Its interfaces are free again.
	must(s.CreateLink(ctx, link("a", "xe-0/0/0", "c", "xe-0/0/1")))(t)
	_, err = s.GetLink(ctx, l1.ID)
	wantIs(t, err, desired.ErrNotFound, l1.ID)
}

func TestDeleteInUse(t *testing.T) {
	s, _ := newStore(t)
	ctx := testCtx(t)
	a := node("a", "k1")
	a.SNMPProfile = "std"
	seed(t, s, a, node("b", "par1"))
	l := must(s.CreateLink(ctx, link("a", "e1", "b", "e1")))(t)

	tests := []struct {
		name   string
		del    func(desired.DeleteOptions) error
		object desired.Ref
		refs   []desired.Ref
	}{
		{"location with a child and a node", func(o desired.DeleteOptions) error { return s.DeleteLocation(ctx, "par1", o) },
			desired.Ref{Kind: model.ObjectLocation, Name: "par1"},
			[]desired.Ref{{Kind: model.ObjectLocation, Name: "r1"}, {Kind: model.ObjectNode, Name: "b"}}},
		{"node with a link", func(o desired.DeleteOptions) error { return s.DeleteNode(ctx, "b", o) },
			desired.Ref{Kind: model.ObjectNode, Name: "b"}, []desired.Ref{{Kind: model.ObjectLink, Name: l.ID}}},
		{"profile used by a node, even with cascade", func(o desired.DeleteOptions) error {
			o.Cascade = true
			return s.DeleteSNMPProfile(ctx, "std", o)
		}, desired.Ref{Kind: model.ObjectSNMPProfile, Name: "std"}, []desired.Ref{{Kind: model.ObjectNode, Name: "a"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.del(desired.DeleteOptions{})
			var iu *desired.InUseError
			if !errors.As(err, &iu) || !errors.Is(err, desired.ErrInUse) {
				t.Fatalf("error = %v, want an InUseError", err)
			}
			if iu.Object != tc.object || !slices.Equal(iu.ReferencedBy, tc.refs) {
				t.Fatalf("InUseError = %+v, want %v referenced by %v", iu, tc.object, tc.refs)
			}
		})
	}
}

func TestCascade(t *testing.T) {
	s, _ := newStore(t)
	ctx := testCtx(t)
	seed(t, s, node("a", "k1"), node("b", "par1"), node("c", "ams1"), node("d", "ams1"))
	lab := must(s.CreateLink(ctx, link("a", "e1", "b", "e1")))(t)
	lbc := must(s.CreateLink(ctx, link("b", "e2", "c", "e2")))(t)
	lcd := must(s.CreateLink(ctx, link("c", "e3", "d", "e3")))(t)

	// Node cascade: c and its two links.
	if err := s.DeleteNode(ctx, "c", desired.DeleteOptions{Cascade: true}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{lbc.ID, lcd.ID} {
		if _, err := s.GetLink(ctx, id); !errors.Is(err, desired.ErrNotFound) {
			t.Fatalf("link %s survived the cascade: %v", id, err)
		}
	}
	// d lost its link, so it is free; its interface too.
	must(s.CreateLink(ctx, link("d", "e3", "b", "e2")))(t)

	// Location cascade: fr › par › par1 › r1 › k1 with a and b and the a–b link
	// and the d–b link (d stays).
	if err := s.DeleteLocation(ctx, "fr", desired.DeleteOptions{Cascade: true}); err != nil {
		t.Fatal(err)
	}
	tree := must(s.LocationTree(ctx))(t)
	for _, name := range []string{"fr", "par", "par1", "r1", "k1"} {
		if _, ok := tree.Get(name); ok {
			t.Fatalf("location %s survived the cascade", name)
		}
	}
	nodes := must(s.ListNodes(ctx, desired.NodeFilter{}, desired.ListOptions{}))(t)
	if len(nodes.Items) != 1 || nodes.Items[0].Name != "d" {
		t.Fatalf("nodes after cascade: %v", nodes.Items)
	}
	links := must(s.ListLinks(ctx, desired.LinkFilter{}, desired.ListOptions{}))(t)
	if len(links.Items) != 0 {
		t.Fatalf("links after cascade: %v (a–b was %s)", links.Items, lab.ID)
	}
	// d can be deleted without cascade now.
	if err := s.DeleteNode(ctx, "d", desired.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestCascadeTooLarge(t *testing.T) {
	s, _ := newStore(t, func(c *desired.Config) { c.MaxTxnOps = 16 })
	ctx := testCtx(t)
	seed(t, s)
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		must(s.CreateNode(ctx, node(n, "ams1")))(t)
	}
	err := s.DeleteLocation(ctx, "eu", desired.DeleteOptions{Cascade: true})
	wantIs(t, err, desired.ErrInUse, "more than one transaction allows (max-txn-ops 16)")
	if _, err := s.GetLocation(ctx, "ams1"); err != nil {
		t.Fatalf("a refused cascade deleted something: %v", err)
	}
}
