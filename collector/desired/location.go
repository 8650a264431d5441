package desired

import (
	"context"
	"fmt"

	"github.com/unet-project/unet/shared/model"
)

// CreateLocation stores a new location; its parent must exist.
func (s *Store) CreateLocation(ctx context.Context, l model.Location) (model.Location, error) {
	normalizeLocation(&l)
	if err := l.Validate(); err != nil {
		return model.Location{}, err
	}
	var out model.Location
	rev, err := s.write(ctx, "create location "+l.Name, func(r *reader) (*plan, error) {
		out = l
		return s.planCreate(r, model.ObjectLocation, &out, func(p *plan) error {
			if l.Parent == "" {
				return nil
			}
			locs, err := r.locations()
			if err != nil {
				return err
			}
			parent, ok := locs[l.Parent]
			if !ok {
				return model.Invalid("parent", fmt.Sprintf("location %q does not exist", l.Parent))
			}
			p.expectRev(s.objKey(model.ObjectLocation, l.Parent), parent.rev)
			return nil
		})
	})
	if err != nil {
		return model.Location{}, err
	}
	out.Revision = rev
	s.log.Info("location created", "name", out.Name, "kind", out.Kind, "revision", rev)
	return out, nil
}

// GetLocation returns the location with this id or name.
func (s *Store) GetLocation(ctx context.Context, ref string) (model.Location, error) {
	return getObject[model.Location](ctx, s, model.ObjectLocation, ref)
}

// UpdateLocation replaces the location ref with l (which may rename it).
// ifRevision != 0 makes it conditional on the stored revision.
func (s *Store) UpdateLocation(ctx context.Context, ref string, l model.Location, ifRevision int64) (model.Location, error) {
	normalizeLocation(&l)
	if err := l.Validate(); err != nil {
		return model.Location{}, err
	}
	var out model.Location
	rev, err := s.write(ctx, "update location "+ref, func(r *reader) (*plan, error) {
		p := newPlan()
		kv, old, err := resolveAt[model.Location](r, model.ObjectLocation, ref, ifRevision)
		if err != nil {
			return nil, err
		}
		oldKey, newKey := string(kv.Key), s.objKey(model.ObjectLocation, l.Name)
		p.expectRev(oldKey, kv.ModRevision)
		locs, err := r.locations()
		if err != nil {
			return nil, err
		}
		if l.Name != old.Name {
			if _, taken := locs[l.Name]; taken {
				return nil, conflictf("location %q already exists", l.Name)
			}
			if err := s.planRename(r, p, Ref{model.ObjectLocation, old.Name}, oldKey, newKey); err != nil {
				return nil, err
			}
		}
		// The hierarchy after the change: the parent exists, no cycle.
		next := make(map[string]stored[model.Location], len(locs))
		for n, v := range locs {
			if n != old.Name {
				next[n] = v
			}
		}
		next[l.Name] = stored[model.Location]{obj: l}
		if l.Parent != "" {
			if _, ok := next[l.Parent]; !ok {
				return nil, model.Invalid("parent", fmt.Sprintf("location %q does not exist", l.Parent))
			}
		}
		newTree, err := locationTree(next)
		if err != nil {
			return nil, err
		}
		// Compare the new ancestors: a concurrent re-parent could otherwise
		// close a cycle.
		for _, a := range newTree.Ancestors(l.Name) {
			p.expectRev(s.objKey(model.ObjectLocation, a.Name), locs[a.Name].rev)
		}
		// Nodes must stay in a site: a kind or parent change may move a
		// whole subtree out of every site.
		if l.Kind != old.Kind || l.Parent != old.Parent {
			if err := s.checkSitesKept(r, p, locs, newTree, l.Name, old.Kind != l.Kind); err != nil {
				return nil, err
			}
		}
		out = l
		if err := s.putUpdated(p, model.ObjectLocation, &old, &out); err != nil {
			return nil, err
		}
		return p, nil
	})
	if err != nil {
		return model.Location{}, err
	}
	out.Revision = rev
	s.log.Info("location updated", "name", out.Name, "revision", rev)
	return out, nil
}

// checkSitesKept refuses a location change that would leave nodes outside
// every site, and makes the transaction compare that no node arrives in
// the locations concerned meanwhile.
func (s *Store) checkSitesKept(r *reader, p *plan, locs map[string]stored[model.Location], newTree *model.LocationTree, name string, kindChanged bool) error {
	oldTree, err := locationTree(locs)
	if err != nil {
		return nil // an inconsistent stored hierarchy cannot get worse here
	}
	var lost []Ref
	for sub := range newTree.Subtree(name) {
		_, before := oldTree.Site(sub)
		_, after := newTree.Site(sub)
		if before && !after {
			lost = append(lost, Ref{model.ObjectLocation, sub})
		}
	}
	if len(lost) == 0 {
		return nil
	}
	nodes, err := r.refNames(lost, model.ObjectNode)
	if err != nil {
		return err
	}
	if len(nodes) > 0 {
		field := "parent"
		if kindChanged {
			field = "kind"
		}
		return model.Invalid(field, fmt.Sprintf("nodes (%s) would no longer be in a site: a node must be in a site or below; move them first", sample(nodes, 5)))
	}
	for _, l := range lost {
		p.expectEmpty(s.refKindPrefix(l, model.ObjectNode))
	}
	return nil
}

// sample lists up to n names, then how many more there are.
func sample(names []string, n int) string {
	if len(names) <= n {
		return quoteJoin(names)
	}
	return fmt.Sprintf("%s and %d more", quoteJoin(names[:n]), len(names)-n)
}

func quoteJoin(names []string) string {
	out := ""
	for i, n := range names {
		if i > 0 {
			out += ", "
		}
		out += fmt.Sprintf("%q", n)
	}
	return out
}

// moveRefs replaces the reference keys of an object (before and after an
// update, possibly a rename).
func (s *Store) moveRefs(p *plan, oldSelf Ref, oldRefs []Ref, newSelf Ref, newRefs []Ref) {
	for _, ref := range oldRefs {
		p.del(s.refKey(ref, oldSelf))
	}
	for _, ref := range newRefs {
		p.put(s.refKey(ref, newSelf), nil) // replaces the delete of the same key
	}
}

// DeleteLocation deletes a location nothing refers to or, with Cascade, its
// whole subtree with the nodes in it and their links, in one transaction.
func (s *Store) DeleteLocation(ctx context.Context, ref string, opt DeleteOptions) error {
	var name string
	var counts [3]int
	_, err := s.write(ctx, "delete location "+ref, func(r *reader) (*plan, error) {
		kv, old, err := resolveAt[model.Location](r, model.ObjectLocation, ref, opt.IfRevision)
		if err != nil {
			return nil, err
		}
		name = old.Name
		if !opt.Cascade {
			return s.planDeleteUnused(r, model.ObjectLocation, kv, &old)
		}
		locs, err := r.locations()
		if err != nil {
			return nil, err
		}
		tree, err := locationTree(locs)
		if err != nil {
			return nil, fmt.Errorf("the stored location hierarchy is inconsistent: %w", err)
		}
		var c cascade
		c.init()
		c.addLocation(old, kv.ModRevision)
		for _, d := range tree.Descendants(old.Name) {
			c.addLocation(d, locs[d.Name].rev)
		}
		p, err := s.planCascade(r, &c)
		if err != nil {
			return nil, err
		}
		counts = [3]int{len(c.locs), len(c.nodes), len(c.links)}
		if p.size() > s.cfg.MaxTxnOps {
			return nil, inUsef("cascade delete of location %q would delete %d locations, %d nodes and %d links in %d etcd operations, more than one transaction allows (max-txn-ops %d): delete part of its contents first",
				old.Name, counts[0], counts[1], counts[2], p.size(), s.cfg.MaxTxnOps)
		}
		return p, nil
	})
	if err != nil {
		return err
	}
	if opt.Cascade {
		s.log.Info("location deleted with cascade", "name", name, "locations", counts[0], "nodes", counts[1], "links", counts[2])
	} else {
		s.log.Info("location deleted", "name", name)
	}
	return nil
}

// LocationTree returns the whole hierarchy at one revision.
func (s *Store) LocationTree(ctx context.Context) (*model.LocationTree, error) {
	locs, err := s.newReader(ctx, 0).locations()
	if err != nil {
		return nil, err
	}
	return locationTree(locs)
}
