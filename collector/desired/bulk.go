package desired

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.etcd.io/etcd/api/v3/mvccpb"

	"github.com/unet-project/unet/shared/bundle"
	"github.com/unet-project/unet/shared/model"
)

// ImportReport says what an import did, or every reason it did nothing.
type ImportReport struct {
	Created   map[string]int    `json:"created"` // by kind
	Updated   map[string]int    `json:"updated"`
	Unchanged map[string]int    `json:"unchanged"` // in the file and already stored as they are
	Errors    []bundle.RowError `json:"errors,omitempty"`
	Revision  int64             `json:"revision,omitempty"`
}

// Progress is called during an import with the objects written so far.
type Progress func(done, total int)

// Import upserts every object of b (matched by name; links by their A end):
// all of it or, if any row is invalid or refers to something that exists
// neither in the file nor in the store, none of it, with every bad row in
// the report's Errors (and a nil error). Secrets missing from the file keep
// their stored values.
//
// The store is read once, at one revision; the writes go in dependency
// order (locations parents first, SNMP profiles, nodes, links) in
// transactions of at most MaxTxnOps operations and MaxTxnBytes bytes, each
// comparing the revisions of what it writes and refers to. If one fails
// (someone changed the store meanwhile), the transactions already made are
// rolled back and the error wraps ErrConflict. An id carried by a new
// object in the file is kept when no stored object has it.
func (s *Store) Import(ctx context.Context, b *bundle.Bundle, progress Progress) (ImportReport, error) {
	start := time.Now()
	rep, im, units, err := s.checkImport(ctx, b)
	if err != nil || len(rep.Errors) > 0 {
		if len(rep.Errors) > 0 {
			s.log.Info("import refused", "objects", b.Len(), "bad_rows", len(rep.Errors))
		}
		return rep, err
	}
	rev, err := im.write(ctx, units, progress)
	if err != nil {
		return emptyReport(), err
	}
	if rev != 0 {
		rep.Revision = rev
	}
	s.log.Info("import done", "objects", b.Len(), "created", rep.Created, "updated", rep.Updated,
		"revision", rep.Revision, "duration", time.Since(start).Round(time.Millisecond))
	return rep, nil
}

// CheckImport is a dry run of Import: the same checks against the store
// at one revision, and the counts of what Import would create and update
// (and find unchanged) at that revision; nothing is written.
func (s *Store) CheckImport(ctx context.Context, b *bundle.Bundle) (ImportReport, error) {
	rep, _, _, err := s.checkImport(ctx, b)
	return rep, err
}

func emptyReport() ImportReport {
	return ImportReport{Created: map[string]int{}, Updated: map[string]int{}, Unchanged: map[string]int{}}
}

// checkImport reads the store, checks the file against it and plans the
// writes; the report counts them (or lists every bad row).
func (s *Store) checkImport(ctx context.Context, b *bundle.Bundle) (ImportReport, *importer, []*unit, error) {
	start := time.Now()
	rep := emptyReport()
	st, err := s.loadState(ctx)
	if err != nil {
		return rep, nil, nil, err
	}
	s.log.Debug("import: store read", "revision", st.rev, "duration", time.Since(start).Round(time.Millisecond))
	im := &importer{s: s, b: b, st: st, now: time.Now().UTC()}
	im.validate()
	s.log.Debug("import: file checked", "bad_rows", len(im.errs), "duration", time.Since(start).Round(time.Millisecond))
	if len(im.errs) > 0 {
		rep.Errors = im.errs
		return rep, nil, nil, nil
	}
	units, err := im.plan(&rep)
	if err != nil {
		return rep, nil, nil, err
	}
	s.log.Debug("import: planned", "writes", len(units), "duration", time.Since(start).Round(time.Millisecond))
	for _, u := range units {
		if u.created {
			rep.Created[string(u.kind)]++
		} else {
			rep.Updated[string(u.kind)]++
		}
	}
	rep.Revision = st.rev
	return rep, im, units, nil
}

// Export returns everything at one revision, secrets removed, each kind
// sorted by name (links by their A end).
func (s *Store) Export(ctx context.Context) (*bundle.Bundle, error) {
	st, err := s.loadState(ctx)
	if err != nil {
		return nil, err
	}
	b := &bundle.Bundle{
		Locations:    values(st.locs),
		SNMPProfiles: values(st.profiles),
		Nodes:        values(st.nodes),
		Links:        values(st.links),
	}
	for i := range b.SNMPProfiles {
		b.SNMPProfiles[i] = b.SNMPProfiles[i].Redacted()
		b.SNMPProfiles[i].SecretsSet = nil
	}
	slices.SortFunc(b.Locations, func(x, y model.Location) int { return strings.Compare(x.Name, y.Name) })
	slices.SortFunc(b.SNMPProfiles, func(x, y model.SNMPProfile) int { return strings.Compare(x.Name, y.Name) })
	slices.SortFunc(b.Nodes, func(x, y model.Node) int { return strings.Compare(x.Name, y.Name) })
	slices.SortFunc(b.Links, func(x, y model.Link) int {
		return cmp.Or(strings.Compare(x.A.Node, y.A.Node), strings.Compare(x.A.Interface, y.A.Interface), strings.Compare(x.ID, y.ID))
	})
	return b, nil
}

func values[T any](m map[string]stored[T]) []T {
	out := make([]T, 0, len(m))
	for _, v := range m {
		out = append(out, v.obj)
	}
	return out
}

// state is every stored object at one revision.
type state struct {
	rev      int64
	locs     map[string]stored[model.Location]    // by name
	profiles map[string]stored[model.SNMPProfile] // by name
	nodes    map[string]stored[model.Node]        // by name
	links    map[string]stored[model.Link]        // by id
	revs     map[string]int64                     // object key → mod revision
	ids      map[string]bool                      // every id in use
}

func (s *Store) loadState(ctx context.Context) (*state, error) {
	r := s.newReader(ctx, 0)
	st := &state{revs: map[string]int64{}, ids: map[string]bool{}}
	var err error
	if st.locs, err = loadKind[model.Location](r, st, model.ObjectLocation); err != nil {
		return nil, err
	}
	if st.profiles, err = loadKind[model.SNMPProfile](r, st, model.ObjectSNMPProfile); err != nil {
		return nil, err
	}
	if st.nodes, err = loadKind[model.Node](r, st, model.ObjectNode); err != nil {
		return nil, err
	}
	if st.links, err = loadKind[model.Link](r, st, model.ObjectLink); err != nil {
		return nil, err
	}
	st.rev = r.rev
	return st, nil
}

func loadKind[T any](r *reader, st *state, kind model.ObjectKind) (map[string]stored[T], error) {
	prefix := r.s.kindPrefix(kind)
	out := map[string]stored[T]{}
	err := r.scanPrefix(prefix, false, func(kv *mvccpb.KeyValue) error {
		v, err := decode[T](kv)
		if err != nil {
			return err
		}
		key := string(kv.Key)
		out[key[len(prefix):]] = stored[T]{obj: v, rev: kv.ModRevision, raw: kv.Value}
		st.revs[key] = kv.ModRevision
		if id := metaOf(&v).ID; id != "" {
			st.ids[id] = true
		}
		return nil
	})
	return out, err
}

// importer checks and plans one import.
type importer struct {
	s    *Store
	b    *bundle.Bundle
	st   *state
	now  time.Time
	errs []bundle.RowError

	// The file's objects, normalized, and which rows are valid.
	locs     []model.Location
	profiles []model.SNMPProfile
	nodes    []model.Node
	links    []model.Link
	bad      map[model.ObjectKind]map[int]bool

	// The state after the import, by name (links by A end).
	finalLocs     map[string]model.Location
	finalProfiles map[string]bool
	finalNodes    map[string]bool
	linkMatch     []string        // file link → the stored link id it updates, or ""
	matched       map[string]bool // stored link ids the file updates
}

var kindField = map[model.ObjectKind]string{
	model.ObjectLocation: "locations", model.ObjectSNMPProfile: "snmp_profiles",
	model.ObjectNode: "nodes", model.ObjectLink: "links",
}

func (im *importer) position(kind model.ObjectKind, i int) bundle.Position {
	var src []bundle.Position
	switch kind {
	case model.ObjectLocation:
		src = im.b.Sources.Locations
	case model.ObjectSNMPProfile:
		src = im.b.Sources.SNMPProfiles
	case model.ObjectNode:
		src = im.b.Sources.Nodes
	case model.ObjectLink:
		src = im.b.Sources.Links
	}
	if i >= 0 && i < len(src) {
		return src[i]
	}
	return bundle.Position{Path: fmt.Sprintf("%s[%d]", kindField[kind], i)}
}

// fail records a bad row (i < 0: a stored object, not in the file).
func (im *importer) fail(kind model.ObjectKind, i int, name, field, reason string) {
	e := bundle.RowError{Kind: kind, Name: name, Field: field, Reason: reason}
	if i >= 0 {
		e.Position = im.position(kind, i)
		if im.bad[kind] == nil {
			im.bad[kind] = map[int]bool{}
		}
		im.bad[kind][i] = true
	}
	im.errs = append(im.errs, e)
}

func (im *importer) failValidation(kind model.ObjectKind, i int, name string, err error) {
	if err == nil {
		return
	}
	if v, ok := model.AsValidationError(err); ok {
		for _, f := range v.Fields {
			im.fail(kind, i, name, f.Field, f.Reason)
		}
		return
	}
	im.fail(kind, i, name, "", err.Error())
}

func (im *importer) where(kind model.ObjectKind, i int) string {
	p := im.position(kind, i)
	if p.Line > 0 {
		return fmt.Sprintf("line %d", p.Line)
	}
	return p.Path
}

// validate checks every row on its own and every reference against the
// file and the store together, recording every problem.
func (im *importer) validate() {
	im.bad = map[model.ObjectKind]map[int]bool{}
	st := im.st

	// Locations.
	im.finalLocs = make(map[string]model.Location, len(st.locs)+len(im.b.Locations))
	for name, l := range st.locs {
		im.finalLocs[name] = l.obj
	}
	seen := map[string]int{}
	im.locs = slices.Clone(im.b.Locations)
	for i := range im.locs {
		l := &im.locs[i]
		normalizeLocation(l)
		im.failValidation(model.ObjectLocation, i, l.Name, l.Validate())
		if first, dup := seen[l.Name]; dup && l.Name != "" {
			im.fail(model.ObjectLocation, i, l.Name, "name", fmt.Sprintf("location %q is defined twice in the file (also at %s)", l.Name, im.where(model.ObjectLocation, first)))
			continue
		}
		seen[l.Name] = i
		if l.Name != "" {
			im.finalLocs[l.Name] = *l
		}
	}
	for i := range im.locs {
		l := &im.locs[i]
		if l.Parent == "" || l.Parent == l.Name {
			continue
		}
		if _, ok := im.finalLocs[l.Parent]; !ok {
			im.fail(model.ObjectLocation, i, l.Name, "parent", fmt.Sprintf("location %q does not exist", l.Parent))
			continue
		}
		if cycle := im.cycleFrom(l.Name); cycle != nil {
			im.fail(model.ObjectLocation, i, l.Name, "parent", "cycle in the location hierarchy: "+strings.Join(cycle, " → "))
		}
	}

	// SNMP profiles.
	im.finalProfiles = make(map[string]bool, len(st.profiles)+len(im.b.SNMPProfiles))
	for name := range st.profiles {
		im.finalProfiles[name] = true
	}
	clear(seen)
	im.profiles = slices.Clone(im.b.SNMPProfiles)
	for i := range im.profiles {
		p := &im.profiles[i]
		normalizeProfile(p)
		if old, ok := st.profiles[p.Name]; ok {
			p.KeepSecretsFrom(&old.obj)
		}
		im.failValidation(model.ObjectSNMPProfile, i, p.Name, p.Validate())
		if first, dup := seen[p.Name]; dup && p.Name != "" {
			im.fail(model.ObjectSNMPProfile, i, p.Name, "name", fmt.Sprintf("SNMP profile %q is defined twice in the file (also at %s)", p.Name, im.where(model.ObjectSNMPProfile, first)))
			continue
		}
		seen[p.Name] = i
		if p.Name != "" {
			im.finalProfiles[p.Name] = true
		}
	}

	// Nodes.
	getFinal := func(n string) (model.Location, bool) { l, ok := im.finalLocs[n]; return l, ok }
	im.finalNodes = make(map[string]bool, len(st.nodes)+len(im.b.Nodes))
	for name := range st.nodes {
		im.finalNodes[name] = true
	}
	clear(seen)
	im.nodes = slices.Clone(im.b.Nodes)
	for i := range im.nodes {
		n := &im.nodes[i]
		normalizeNode(n)
		verr := n.Validate()
		im.failValidation(model.ObjectNode, i, n.Name, verr)
		if first, dup := seen[n.Name]; dup && n.Name != "" {
			im.fail(model.ObjectNode, i, n.Name, "name", fmt.Sprintf("node %q is defined twice in the file (also at %s)", n.Name, im.where(model.ObjectNode, first)))
			continue
		}
		seen[n.Name] = i
		if n.Name != "" {
			im.finalNodes[n.Name] = true
		}
		if n.Location != "" && !hasField(verr, "location") {
			if reason := nodeLocationProblem(getFinal, n.Location); reason != "" {
				im.fail(model.ObjectNode, i, n.Name, "location", reason)
			}
		}
		if n.SNMPProfile != "" && !hasField(verr, "snmp_profile") && !im.finalProfiles[n.SNMPProfile] {
			im.fail(model.ObjectNode, i, n.Name, "snmp_profile", fmt.Sprintf("SNMP profile %q does not exist", n.SNMPProfile))
		}
	}
	// Stored nodes the file leaves alone must stay in a site.
	if len(im.locs) > 0 {
		getStored := func(n string) (model.Location, bool) { l, ok := st.locs[n]; return l.obj, ok }
		inSite := map[string]bool{}
		for _, name := range sortedKeys(st.nodes) {
			if _, inFile := seen[name]; inFile {
				continue
			}
			loc := st.nodes[name].obj.Location
			ok, known := inSite[loc]
			if !known {
				ok = nodeLocationProblem(getStored, loc) != "" || nodeLocationProblem(getFinal, loc) == ""
				inSite[loc] = ok
			}
			if !ok {
				im.fail(model.ObjectNode, -1, name, "location", fmt.Sprintf("stored node %q (not in the file) would be left outside every site: %s", name, nodeLocationProblem(getFinal, loc)))
			}
		}
	}

	// Links: matched to stored ones by their A end; an interface takes at
	// most one link, across the file and the store.
	storedByA := make(map[model.Endpoint]string, len(st.links))
	for id, l := range st.links {
		storedByA[l.obj.A] = id
	}
	im.links = slices.Clone(im.b.Links)
	im.linkMatch = make([]string, len(im.links))
	seenA := map[model.Endpoint]int{}
	for i := range im.links {
		l := &im.links[i]
		normalizeLink(l)
		verr := l.Validate()
		im.failValidation(model.ObjectLink, i, l.A.String(), verr)
		if first, dup := seenA[l.A]; dup {
			im.fail(model.ObjectLink, i, l.A.String(), "a", fmt.Sprintf("a link from %s is defined twice in the file (also at %s)", l.A, im.where(model.ObjectLink, first)))
			continue
		}
		seenA[l.A] = i
		im.linkMatch[i] = storedByA[l.A]
		for j, e := range l.Endpoints() {
			field := []string{"a.node", "z.node"}[j]
			if e.Node != "" && !hasField(verr, field) && !im.finalNodes[e.Node] {
				im.fail(model.ObjectLink, i, l.A.String(), field, fmt.Sprintf("node %q does not exist", e.Node))
			}
		}
	}
	// Interface owners: stored links the file does not update first, then
	// the file's links in file order.
	im.matched = map[string]bool{}
	for _, id := range im.linkMatch {
		if id != "" {
			im.matched[id] = true
		}
	}
	type owner struct {
		row int    // file row, or -1
		id  string // stored link id when row < 0
	}
	owners := map[model.Endpoint]owner{}
	for id, l := range st.links {
		if !im.matched[id] {
			for _, e := range l.obj.Endpoints() {
				owners[e] = owner{row: -1, id: id}
			}
		}
	}
	for i := range im.links {
		l := &im.links[i]
		if im.bad[model.ObjectLink][i] && seenA[l.A] != i {
			continue // a duplicate row
		}
		for j, e := range l.Endpoints() {
			field := []string{"a.interface", "z.interface"}[j]
			if e.Node == "" || e.Interface == "" {
				continue
			}
			o, taken := owners[e]
			switch {
			case !taken:
				owners[e] = owner{row: i}
			case o.row >= 0:
				im.fail(model.ObjectLink, i, l.A.String(), field, fmt.Sprintf("interface %s is already used by the link at %s: an interface takes at most one link", e, im.where(model.ObjectLink, o.row)))
			default:
				other := st.links[o.id].obj
				im.fail(model.ObjectLink, i, l.A.String(), field, fmt.Sprintf("interface %s is already used by link %s (%s): an interface takes at most one link (links in a file match stored ones by their A end)", e, o.id, describeLink(&other)))
			}
		}
	}

	slices.SortStableFunc(im.errs, func(x, y bundle.RowError) int {
		if (x.Line == 0) != (y.Line == 0) {
			if x.Line == 0 {
				return 1
			}
			return -1
		}
		return cmp.Compare(x.Line, y.Line)
	})
}

func hasField(err error, field string) bool {
	v, ok := model.AsValidationError(err)
	if !ok {
		return false
	}
	return slices.ContainsFunc(v.Fields, func(f model.FieldError) bool { return f.Field == field })
}

// cycleFrom follows parents in the final hierarchy from name and returns
// the cycle through name, if any.
func (im *importer) cycleFrom(name string) []string {
	path := []string{name}
	cur := im.finalLocs[name].Parent
	for range len(im.finalLocs) + 1 {
		if cur == "" {
			return nil
		}
		if cur == name {
			return append(path, name)
		}
		if slices.Contains(path, cur) {
			return nil // a cycle that does not pass through name: reported on its own rows
		}
		path = append(path, cur)
		l, ok := im.finalLocs[cur]
		if !ok {
			return nil
		}
		cur = l.Parent
	}
	return nil
}

// unit is the write of one object: its key, the revisions to compare and
// the operations (with what each key held before, for a rollback).
type unit struct {
	kind    model.ObjectKind
	self    string
	selfRev int64
	deps    []string  // object keys referred to
	cmps    []cmpSpec // other compares
	ops     []wop
	created bool
	bytes   int
}

type wop struct {
	key     string
	val     []byte
	del     bool
	existed bool
	prev    []byte
}

func (u *unit) put(key string, val []byte, existed bool, prev []byte) {
	u.ops = append(u.ops, wop{key: key, val: val, existed: existed, prev: prev})
	u.bytes += len(key) + len(val) + opOverhead
}

func (u *unit) del(key string, prev []byte) {
	u.ops = append(u.ops, wop{key: key, del: true, existed: true, prev: prev})
	u.bytes += len(key) + opOverhead
}

// newID keeps the file's id for a new object when it is a UUID no stored
// object has.
func (im *importer) newID(fileID string) string {
	if id, ok := canonicalID(fileID); ok && !im.st.ids[id] {
		im.st.ids[id] = true
		return id
	}
	for {
		id := uuid.NewString()
		if !im.st.ids[id] {
			im.st.ids[id] = true
			return id
		}
	}
}

// prepare sets the store-managed fields of an object of the file and
// encodes it; unchanged reports that it equals the stored object.
func (im *importer) prepare(obj any, old *model.Meta, oldRaw []byte) (val []byte, unchanged bool, err error) {
	m := metaOf(obj)
	m.Revision = 0
	if old == nil {
		m.ID = im.newID(m.ID)
		m.CreatedAt, m.UpdatedAt = im.now, im.now
		val, err = encode(obj)
		return val, false, err
	}
	m.ID, m.CreatedAt, m.UpdatedAt = old.ID, old.CreatedAt, old.UpdatedAt
	if val, err = encode(obj); err != nil || bytes.Equal(val, oldRaw) {
		return val, err == nil, err
	}
	if m.ID == "" {
		m.ID = im.newID("")
	}
	m.UpdatedAt = im.now
	val, err = encode(obj)
	return val, false, err
}

// refOps adds the reference-key changes of an object to its unit.
func (im *importer) refOps(u *unit, oldSelf Ref, oldRefs []Ref, newSelf Ref, newRefs []Ref) {
	s := im.s
	var oldKeys, newKeys [2]string // objects make at most two references
	olds, news := oldKeys[:0], newKeys[:0]
	for _, ref := range oldRefs {
		olds = append(olds, s.refKey(ref, oldSelf))
	}
	for _, ref := range newRefs {
		news = append(news, s.refKey(ref, newSelf))
	}
	for _, k := range olds {
		if !slices.Contains(news, k) {
			u.del(k, nil)
		}
	}
	for _, k := range news {
		if !slices.Contains(olds, k) {
			u.put(k, nil, false, nil)
		}
	}
}

// objectUnit prepares obj, the file's version of an object of kind stored as
// old (exists false: a new object), and returns the unit writing it: its
// key, its id key if it is new and its reference keys. It returns nil when
// obj equals the stored object.
func objectUnit[T any](im *importer, kind model.ObjectKind, obj *T, old stored[T], exists bool) (*unit, error) {
	var oldMeta *model.Meta
	var oldRefs []Ref
	if exists {
		oldMeta, oldRefs = metaOf(&old.obj), refsOf(&old.obj)
	}
	val, unchanged, err := im.prepare(obj, oldMeta, old.raw)
	if err != nil || unchanged {
		return nil, err
	}
	s, name := im.s, objName(obj) // a new link's id is set by prepare
	key := s.objKey(kind, name)
	u := &unit{kind: kind, self: key, selfRev: old.rev, created: !exists}
	u.put(key, val, exists, old.raw)
	if !exists {
		u.put(s.idKey(metaOf(obj).ID), []byte(idValue(kind, name)), false, nil)
	}
	self := Ref{kind, name}
	im.refOps(u, self, oldRefs, self, refsOf(obj))
	return u, nil
}

// plan turns the checked file into write units in dependency order.
func (im *importer) plan(rep *ImportReport) ([]*unit, error) {
	s, st := im.s, im.st
	var units []*unit
	unitOf := map[string]*unit{}
	add := func(u *unit) {
		units = append(units, u)
		unitOf[u.self] = u
	}
	chain := func(loc string) []string { // the location and its ancestors, as keys
		var keys []string
		for range len(im.finalLocs) + 1 {
			l, ok := im.finalLocs[loc]
			if !ok {
				break
			}
			keys = append(keys, s.objKey(model.ObjectLocation, loc))
			loc = l.Parent
		}
		return keys
	}

	// Locations, parents first.
	order := make([]int, len(im.locs))
	depth := make([]int, len(im.locs))
	for i := range im.locs {
		order[i] = i
		depth[i] = len(chain(im.locs[i].Name))
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return cmp.Or(cmp.Compare(depth[a], depth[b]), strings.Compare(im.locs[a].Name, im.locs[b].Name))
	})
	for _, i := range order {
		l := im.locs[i]
		old, exists := st.locs[l.Name]
		u, err := objectUnit(im, model.ObjectLocation, &l, old, exists)
		if err != nil {
			return nil, err
		}
		if u == nil {
			rep.Unchanged[string(model.ObjectLocation)]++
			continue
		}
		if ch := chain(l.Name); len(ch) > 1 {
			u.deps = ch[1:]
		}
		add(u)
	}
	// Locations that stop being (in) a site must gain no node meanwhile:
	// the compare goes with the nearest changed location above them.
	getStored := func(n string) (model.Location, bool) { l, ok := st.locs[n]; return l.obj, ok }
	getFinal := func(n string) (model.Location, bool) { l, ok := im.finalLocs[n]; return l, ok }
	for _, name := range sortedKeys(st.locs) {
		if nodeLocationProblem(getStored, name) != "" || nodeLocationProblem(getFinal, name) == "" {
			continue
		}
		prefix := s.refKindPrefix(Ref{model.ObjectLocation, name}, model.ObjectNode)
		for _, k := range chain(name) {
			if u := unitOf[k]; u != nil {
				u.cmps = append(u.cmps, cmpSpec{cmpNoNewUnder, prefix, st.rev})
				break
			}
		}
	}

	// SNMP profiles.
	for i := range im.profiles {
		p := im.profiles[i]
		old, exists := st.profiles[p.Name]
		u, err := objectUnit(im, model.ObjectSNMPProfile, &p, old, exists)
		if err != nil {
			return nil, err
		}
		if u == nil {
			rep.Unchanged[string(model.ObjectSNMPProfile)]++
			continue
		}
		add(u)
	}

	// Nodes.
	for i := range im.nodes {
		n := im.nodes[i]
		old, exists := st.nodes[n.Name]
		u, err := objectUnit(im, model.ObjectNode, &n, old, exists)
		if err != nil {
			return nil, err
		}
		if u == nil {
			rep.Unchanged[string(model.ObjectNode)]++
			continue
		}
		u.deps = chain(n.Location)
		if n.SNMPProfile != "" {
			u.deps = append(u.deps, s.objKey(model.ObjectSNMPProfile, n.SNMPProfile))
		}
		add(u)
	}

	// Links: interface index keys are diffed over the whole final state,
	// so that an interface moving from one link to another is written once.
	storedIface := map[model.Endpoint]string{}
	for id, l := range st.links {
		for _, e := range l.obj.Endpoints() {
			storedIface[e] = id
		}
	}
	finalIface := map[model.Endpoint]string{}
	for id, l := range st.links {
		if !im.matched[id] {
			for _, e := range l.obj.Endpoints() {
				finalIface[e] = id
			}
		}
	}
	linkUnit := map[string]*unit{} // by link id
	for i := range im.links {
		l := im.links[i]
		oldID := im.linkMatch[i]
		old, exists := st.links[oldID]
		u, err := objectUnit(im, model.ObjectLink, &l, old, exists)
		if err != nil {
			return nil, err
		}
		for _, e := range l.Endpoints() { // its id is set now
			finalIface[e] = l.ID
		}
		if u == nil {
			rep.Unchanged[string(model.ObjectLink)]++
			continue
		}
		for _, ref := range linkRefs(&l) {
			u.deps = append(u.deps, s.objKey(model.ObjectNode, ref.Name))
		}
		linkUnit[l.ID] = u
		add(u)
	}
	for _, e := range sortedEndpoints(storedIface) {
		if _, kept := finalIface[e]; kept {
			continue
		}
		owner := storedIface[e]
		u := linkUnit[owner]
		if u == nil {
			return nil, fmt.Errorf("import: interface %s of link %s would be released by no write (internal error)", e, owner)
		}
		u.del(s.ifaceKey(e), []byte(owner))
	}
	for _, e := range sortedEndpoints(finalIface) {
		id := finalIface[e]
		prev, existed := storedIface[e]
		if existed && prev == id {
			continue
		}
		u := linkUnit[id]
		if u == nil {
			return nil, fmt.Errorf("import: interface %s of link %s would be written by no write (internal error)", e, id)
		}
		key := s.ifaceKey(e)
		if existed {
			u.put(key, []byte(id), true, []byte(prev))
			u.deps = append(u.deps, s.objKey(model.ObjectLink, prev)) // its owner so far
		} else {
			u.put(key, []byte(id), false, nil)
			u.cmps = append(u.cmps, cmpSpec{cmpModRev, key, 0})
		}
	}
	return units, nil
}

func sortedEndpoints(m map[model.Endpoint]string) []model.Endpoint {
	out := make([]model.Endpoint, 0, len(m))
	for e := range m {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b model.Endpoint) int {
		return cmp.Or(strings.Compare(a.Node, b.Node), strings.Compare(a.Interface, b.Interface))
	})
	return out
}

// write commits the units in order, in transactions as large as the limits
// allow; on a failure it rolls back the transactions already committed.
func (im *importer) write(ctx context.Context, units []*unit, progress Progress) (int64, error) {
	s := im.s
	if progress == nil {
		progress = func(int, int) {}
	}
	progress(0, len(units))
	written := map[string]int64{} // object key → revision of the write
	var done []*unit              // committed, for the rollback
	var lastRev int64
	size := s.cfg.MaxTxnOps
	p, inChunk, chunk := newBulkPlan(size), make(map[string]bool, size), []*unit(nil)
	nChunks := 0

	var cmps []cmpSpec
	cmpsOf := func(u *unit) []cmpSpec {
		cmps = append(cmps[:0], cmpSpec{cmpModRev, u.self, u.selfRev})
		for _, d := range u.deps {
			if inChunk[d] {
				continue
			}
			rev, ok := written[d]
			if !ok {
				rev = im.st.revs[d]
			}
			cmps = append(cmps, cmpSpec{cmpModRev, d, rev})
		}
		return append(cmps, u.cmps...)
	}
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		nChunks++
		t0 := time.Now()
		resp, err := s.commit(ctx, fmt.Sprintf("import (transaction %d)", nChunks), p)
		s.log.Debug("import: transaction", "n", nChunks, "objects", len(chunk), "ops", len(p.ops), "compares", len(p.cmps), "bytes", p.bytes, "duration", time.Since(t0).Round(time.Millisecond))
		if err != nil {
			return err
		}
		if !resp.Succeeded {
			return conflictf("import: the store changed during the import (transaction %d); nothing of it was kept: run the import again", nChunks)
		}
		lastRev = resp.Header.Revision
		for _, u := range chunk {
			written[u.self] = lastRev
		}
		done = append(done, chunk...)
		progress(len(done), len(units))
		p, inChunk, chunk = newBulkPlan(size), make(map[string]bool, size), nil
		return nil
	}
	for _, u := range units {
		cs := cmpsOf(u)
		newCmps, newBytes := 0, 0
		for _, c := range cs {
			if !p.hasCmp(c) {
				newCmps++
				newBytes += cmpBytes(c)
			}
		}
		if len(chunk) > 0 && (len(p.cmps)+newCmps > s.cfg.MaxTxnOps || len(p.ops)+len(u.ops) > s.cfg.MaxTxnOps ||
			p.bytes+u.bytes+newBytes > s.cfg.MaxTxnBytes) {
			if err := flush(); err != nil {
				return 0, im.rollback(done, err)
			}
			cs = cmpsOf(u)
		}
		for _, c := range cs {
			p.addCmp(c)
		}
		for _, o := range u.ops {
			p.set(planOp{key: o.key, val: o.val, del: o.del})
		}
		inChunk[u.self] = true
		chunk = append(chunk, u)
	}
	if err := flush(); err != nil {
		return 0, im.rollback(done, err)
	}
	return lastRev, nil
}

// rollback restores what the committed units overwrote, newest first, and
// returns cause (with a note if the rollback itself failed).
func (im *importer) rollback(done []*unit, cause error) error {
	if len(done) == 0 {
		return cause
	}
	s := im.s
	// The caller's context may be what failed; the rollback must still run.
	ctx, cancel := context.WithTimeout(context.Background(), 4*s.cfg.RequestTimeout)
	defer cancel()
	p := newPlan()
	n := 0
	flush := func() error {
		if len(p.ops) == 0 {
			return nil
		}
		n++
		if _, err := s.commit(ctx, fmt.Sprintf("import rollback (transaction %d)", n), p); err != nil {
			return err
		}
		p = newPlan()
		return nil
	}
	for i := len(done) - 1; i >= 0; i-- {
		u := done[i]
		if len(p.ops)+len(u.ops) > s.cfg.MaxTxnOps || p.bytes+u.bytes > s.cfg.MaxTxnBytes {
			if err := flush(); err != nil {
				s.log.Error("import rollback failed: the store holds part of the import", "error", err)
				return fmt.Errorf("%w; rolling back the part already written failed too (%v): the store holds part of the import, run it again", cause, err)
			}
		}
		for j := len(u.ops) - 1; j >= 0; j-- {
			o := u.ops[j]
			if o.existed {
				p.put(o.key, o.prev)
			} else {
				p.del(o.key)
			}
		}
	}
	if err := flush(); err != nil {
		s.log.Error("import rollback failed: the store holds part of the import", "error", err)
		return fmt.Errorf("%w; rolling back the part already written failed too (%v): the store holds part of the import, run it again", cause, err)
	}
	s.log.Warn("import rolled back", "objects_restored", len(done), "cause", cause)
	return cause
}
