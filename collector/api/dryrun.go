package api

import (
	"context"
	"slices"
	"strconv"

	"github.com/unet-project/unet/collector/desired"
	"github.com/unet-project/unet/shared/bundle"
	"github.com/unet-project/unet/shared/model"
)

// dryRun checks a bundle the way an import would, without writing: every
// object on its own, names given twice, then references against the file
// and the store, and counts what the import would create and update
// (objects match by name, links by their A end; "updated" counts every
// object that exists already, changed or not). The store's Import remains
// the authority: it re-checks everything at write time.
func (a *API) dryRun(ctx context.Context, b *bundle.Bundle) (desired.ImportReport, error) {
	st, err := a.loadState(ctx)
	if err != nil {
		return desired.ImportReport{}, err
	}
	d := &dryRunner{b: b, st: st, rep: desired.ImportReport{Created: map[string]int{}, Updated: map[string]int{}, Unchanged: map[string]int{}}}
	d.locations()
	d.profiles()
	d.nodes()
	d.links()
	d.rep.Revision = st.revision
	return d.rep, nil
}

// storeState is what a dry run compares the file with.
type storeState struct {
	locs     []model.Location
	locNames map[string]bool
	profiles map[string]model.SNMPProfile
	nodes    map[string]bool
	links    []model.Link
	revision int64
}

func (a *API) loadState(ctx context.Context) (*storeState, error) {
	all := desired.ListOptions{}
	locs, err := a.store.ListLocations(ctx, desired.LocationFilter{}, all)
	if err != nil {
		return nil, err
	}
	st := &storeState{locs: locs.Items, locNames: map[string]bool{}, profiles: map[string]model.SNMPProfile{}, nodes: map[string]bool{}, revision: locs.Revision}
	for _, l := range locs.Items {
		st.locNames[l.Name] = true
	}
	profiles, err := a.store.ListSNMPProfiles(ctx, all)
	if err != nil {
		return nil, err
	}
	for _, p := range profiles.Items {
		st.profiles[p.Name] = p
	}
	nodes, err := a.store.ListNodes(ctx, desired.NodeFilter{}, all)
	if err != nil {
		return nil, err
	}
	for _, n := range nodes.Items {
		st.nodes[n.Name] = true
	}
	links, err := a.store.ListLinks(ctx, desired.LinkFilter{}, all)
	if err != nil {
		return nil, err
	}
	st.links = links.Items
	return st, nil
}

type dryRunner struct {
	seen map[string]bundle.Position // kind/name → first row
	b    *bundle.Bundle
	st   *storeState
	rep  desired.ImportReport
	tree *model.LocationTree // store and file locations merged
}

func position(ps []bundle.Position, i int) bundle.Position {
	if i < len(ps) {
		return ps[i]
	}
	return bundle.Position{}
}

// fail records a row error; a ValidationError becomes one row per field.
func (d *dryRunner) fail(pos bundle.Position, kind model.ObjectKind, name string, err error) {
	if v, ok := model.AsValidationError(err); ok {
		for _, f := range v.Fields {
			d.rep.Errors = append(d.rep.Errors, bundle.RowError{Position: pos, Kind: kind, Name: name, Field: f.Field, Reason: f.Reason})
		}
		return
	}
	d.rep.Errors = append(d.rep.Errors, bundle.RowError{Position: pos, Kind: kind, Name: name, Reason: err.Error()})
}

// duplicate records a second row for the same object.
func (d *dryRunner) duplicate(pos bundle.Position, kind model.ObjectKind, name, field string) bool {
	if d.seen == nil {
		d.seen = map[string]bundle.Position{}
	}
	key := string(kind) + "/" + name
	first, dup := d.seen[key]
	if !dup {
		d.seen[key] = pos
		return false
	}
	d.fail(pos, kind, name, model.Invalid(field, string(kind)+" "+quote(name)+" is defined twice in the file (also at "+describe(first)+")"))
	return true
}

func (d *dryRunner) count(kind model.ObjectKind, exists bool) {
	if exists {
		d.rep.Updated[string(kind)]++
	} else {
		d.rep.Created[string(kind)]++
	}
}

func (d *dryRunner) locations() {
	merged := map[string]model.Location{}
	for _, l := range d.st.locs {
		merged[l.Name] = l
	}
	for i, l := range d.b.Locations {
		pos := position(d.b.Sources.Locations, i)
		if err := l.Validate(); err != nil {
			d.fail(pos, model.ObjectLocation, l.Name, err)
			continue
		}
		if d.duplicate(pos, model.ObjectLocation, l.Name, "name") {
			continue
		}
		d.count(model.ObjectLocation, d.st.locNames[l.Name])
		merged[l.Name] = l
	}
	all := make([]model.Location, 0, len(merged))
	for _, l := range merged {
		all = append(all, l)
	}
	tree, err := model.NewLocationTree(all)
	if err != nil {
		d.fail(bundle.Position{}, model.ObjectLocation, "", err)
		return
	}
	d.tree = tree
}

func (d *dryRunner) profiles() {
	for i, p := range d.b.SNMPProfiles {
		pos := position(d.b.Sources.SNMPProfiles, i)
		old, exists := d.st.profiles[p.Name]
		p.Normalize()
		if exists {
			p.KeepSecretsFrom(&old)
		}
		if err := p.Validate(); err != nil {
			d.fail(pos, model.ObjectSNMPProfile, p.Name, err)
			continue
		}
		if d.duplicate(pos, model.ObjectSNMPProfile, p.Name, "name") {
			continue
		}
		d.count(model.ObjectSNMPProfile, exists)
	}
}

func (d *dryRunner) nodes() {
	inFile := map[string]bool{}
	for _, p := range d.b.SNMPProfiles {
		inFile[p.Name] = true
	}
	siteLevel := slices.Index(model.LocationKinds(), model.KindSite)
	for i, n := range d.b.Nodes {
		pos := position(d.b.Sources.Nodes, i)
		n.Normalize()
		if err := n.Validate(); err != nil {
			d.fail(pos, model.ObjectNode, n.Name, err)
			continue
		}
		if d.duplicate(pos, model.ObjectNode, n.Name, "name") {
			continue
		}
		if d.tree != nil {
			loc, ok := d.tree.Get(n.Location)
			switch {
			case !ok:
				d.fail(pos, model.ObjectNode, n.Name, model.Invalid("location", "location "+quote(n.Location)+" exists neither in the file nor in the store"))
			case slices.Index(model.LocationKinds(), loc.Kind) < siteLevel:
				d.fail(pos, model.ObjectNode, n.Name, model.Invalid("location", "location "+quote(n.Location)+" is a "+string(loc.Kind)+": a node belongs to a site or below"))
			}
		}
		if n.SNMPProfile != "" && !inFile[n.SNMPProfile] {
			if _, ok := d.st.profiles[n.SNMPProfile]; !ok {
				d.fail(pos, model.ObjectNode, n.Name, model.Invalid("snmp_profile", "SNMP profile "+quote(n.SNMPProfile)+" exists neither in the file nor in the store"))
			}
		}
		d.count(model.ObjectNode, d.st.nodes[n.Name])
	}
}

func (d *dryRunner) links() {
	nodes := map[string]bool{}
	for _, n := range d.b.Nodes {
		nodes[n.Name] = true
	}
	// Interfaces in use once the import is done: stored links the file
	// does not replace (matched by A end), then the file's links.
	replaced := map[model.Endpoint]bool{}
	for _, l := range d.b.Links {
		replaced[l.A] = true
	}
	used := map[model.Endpoint]string{}
	stored := map[model.Endpoint]bool{}
	for _, l := range d.st.links {
		stored[l.A] = true
		if replaced[l.A] {
			continue
		}
		for _, e := range l.Endpoints() {
			used[e] = "link " + l.ID
		}
	}
	for i, l := range d.b.Links {
		pos := position(d.b.Sources.Links, i)
		name := l.A.String()
		if err := l.Validate(); err != nil {
			d.fail(pos, model.ObjectLink, name, err)
			continue
		}
		if d.duplicate(pos, model.ObjectLink, name, "a") {
			continue
		}
		ok := true
		for j, e := range l.Endpoints() {
			field := []string{"a", "z"}[j]
			if !nodes[e.Node] && !d.st.nodes[e.Node] {
				d.fail(pos, model.ObjectLink, name, model.Invalid(field+".node", "node "+quote(e.Node)+" exists neither in the file nor in the store"))
				ok = false
			}
			if by, taken := used[e]; taken {
				d.fail(pos, model.ObjectLink, name, model.Invalid(field+".interface", "interface "+e.String()+" is already linked by "+by))
				ok = false
			}
		}
		if !ok {
			continue
		}
		for _, e := range l.Endpoints() {
			used[e] = "the link at " + describe(pos)
		}
		d.count(model.ObjectLink, stored[l.A])
	}
}

func quote(s string) string { return strconv.Quote(s) }

// describe names a position in the file for a message.
func describe(p bundle.Position) string {
	switch {
	case p.Line > 0:
		return "line " + strconv.Itoa(p.Line)
	case p.Path != "":
		return p.Path
	}
	return "another row"
}
