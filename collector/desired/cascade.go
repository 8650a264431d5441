package desired

import (
	"slices"

	"github.com/unet-project/unet/shared/model"
)

// cascade collects what a cascading delete removes, each object with the
// mod revision it was read at.
type cascade struct {
	locs  map[string]stored[model.Location]
	nodes map[string]stored[model.Node]
	links map[string]stored[model.Link]
}

func (c *cascade) init() {
	c.locs = map[string]stored[model.Location]{}
	c.nodes = map[string]stored[model.Node]{}
	c.links = map[string]stored[model.Link]{}
}

func (c *cascade) addLocation(l model.Location, rev int64) {
	c.locs[l.Name] = stored[model.Location]{obj: l, rev: rev}
}

func (c *cascade) addNode(n model.Node, rev int64) {
	c.nodes[n.Name] = stored[model.Node]{obj: n, rev: rev}
}

// planCascade finds the nodes in the cascade's locations and the links of
// all its nodes, and plans deleting everything. Each deleted object's
// revision is compared, and so is the absence of references created after
// the read, so nothing can slip in between.
func (s *Store) planCascade(r *reader, c *cascade) (*plan, error) {
	if len(c.locs) > 0 {
		targets := make([]Ref, 0, len(c.locs))
		for _, name := range sortedKeys(c.locs) {
			targets = append(targets, Ref{model.ObjectLocation, name})
		}
		names, err := r.refNames(targets, model.ObjectNode)
		if err != nil {
			return nil, err
		}
		keys := make([]string, len(names))
		for i, n := range names {
			keys[i] = s.objKey(model.ObjectNode, n)
		}
		kvs, err := r.getMany(keys)
		if err != nil {
			return nil, err
		}
		for _, kv := range kvs {
			n, err := decode[model.Node](kv)
			if err != nil {
				return nil, err
			}
			c.addNode(n, kv.ModRevision)
		}
	}
	if len(c.nodes) > 0 {
		targets := make([]Ref, 0, len(c.nodes))
		for _, name := range sortedKeys(c.nodes) {
			targets = append(targets, Ref{model.ObjectNode, name})
		}
		ids, err := r.refNames(targets, model.ObjectLink)
		if err != nil {
			return nil, err
		}
		keys := make([]string, len(ids))
		for i, id := range ids {
			keys[i] = s.objKey(model.ObjectLink, id)
		}
		kvs, err := r.getMany(keys)
		if err != nil {
			return nil, err
		}
		for _, kv := range kvs {
			l, err := decode[model.Link](kv)
			if err != nil {
				return nil, err
			}
			c.links[l.ID] = stored[model.Link]{obj: l, rev: kv.ModRevision}
		}
	}
	p := newPlan()
	for _, name := range sortedKeys(c.locs) {
		l := c.locs[name]
		p.expectRev(s.objKey(model.ObjectLocation, name), l.rev)
		p.expectNoNewUnder(s.refPrefix(Ref{model.ObjectLocation, name}), r.rev)
		s.deleteKeys(p, model.ObjectLocation, &l.obj)
	}
	for _, name := range sortedKeys(c.nodes) {
		n := c.nodes[name]
		p.expectRev(s.objKey(model.ObjectNode, name), n.rev)
		p.expectNoNewUnder(s.refPrefix(Ref{model.ObjectNode, name}), r.rev)
		s.deleteKeys(p, model.ObjectNode, &n.obj)
	}
	for _, id := range sortedKeys(c.links) {
		l := c.links[id]
		p.expectRev(s.objKey(model.ObjectLink, id), l.rev)
		s.deleteLinkKeys(p, &l.obj)
	}
	return p, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
