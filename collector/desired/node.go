package desired

import (
	"context"
	"fmt"

	"github.com/unet-project/unet/shared/model"
)

// CreateNode stores a new node; its location (a site or below) and SNMP
// profile must exist.
func (s *Store) CreateNode(ctx context.Context, n model.Node) (model.Node, error) {
	normalizeNode(&n)
	if err := n.Validate(); err != nil {
		return model.Node{}, err
	}
	var out model.Node
	rev, err := s.write(ctx, "create node "+n.Name, func(r *reader) (*plan, error) {
		out = n
		return s.planCreate(r, model.ObjectNode, &out, func(p *plan) error {
			return s.checkNodeRefs(r, p, &n)
		})
	})
	if err != nil {
		return model.Node{}, err
	}
	out.Revision = rev
	s.log.Info("node created", "name", out.Name, "location", out.Location, "revision", rev)
	return out, nil
}

// checkNodeRefs checks that the node's location exists and is a site or
// below, and that its SNMP profile exists; the transaction compares the
// revisions of the location, its ancestors and the profile.
func (s *Store) checkNodeRefs(r *reader, p *plan, n *model.Node) error {
	locs, err := r.locations()
	if err != nil {
		return err
	}
	if err := nodeLocationError(locs, n.Location); err != nil {
		return err
	}
	cur := n.Location
	for range 64 { // the location and its ancestors (a corrupt cycle stops here)
		l, ok := locs[cur]
		if !ok {
			break
		}
		p.expectRev(s.objKey(model.ObjectLocation, cur), l.rev)
		cur = l.obj.Parent
	}
	if n.SNMPProfile != "" {
		key := s.objKey(model.ObjectSNMPProfile, n.SNMPProfile)
		kv, err := r.get(key)
		if err != nil {
			return err
		}
		if kv == nil {
			return model.Invalid("snmp_profile", fmt.Sprintf("SNMP profile %q does not exist", n.SNMPProfile))
		}
		p.expectRev(key, kv.ModRevision)
	}
	return nil
}

// nodeLocationError says why a node cannot be in location name (nil if it can).
func nodeLocationError(locs map[string]stored[model.Location], name string) error {
	if reason := nodeLocationProblem(func(n string) (model.Location, bool) {
		l, ok := locs[n]
		return l.obj, ok
	}, name); reason != "" {
		return model.Invalid("location", reason)
	}
	return nil
}

// nodeLocationProblem says why a node cannot be in location name ("" if it
// can): the location must exist and be a site or inside one.
func nodeLocationProblem(get func(string) (model.Location, bool), name string) string {
	l, ok := get(name)
	if !ok {
		return fmt.Sprintf("location %q does not exist", name)
	}
	cur := l
	for range 64 { // hierarchies are a few levels deep; this bounds a corrupt cycle
		if cur.Kind == model.KindSite {
			return ""
		}
		if cur.Parent == "" {
			break
		}
		if cur, ok = get(cur.Parent); !ok {
			break
		}
	}
	return fmt.Sprintf("location %q is a %s: a node must be in a site or below", name, l.Kind)
}

// GetNode returns the node with this id or name.
func (s *Store) GetNode(ctx context.Context, ref string) (model.Node, error) {
	return getObject[model.Node](ctx, s, model.ObjectNode, ref)
}

// UpdateNode replaces the node ref with n (which may rename it, unless links
// refer to it). ifRevision != 0 makes it conditional on the stored revision.
func (s *Store) UpdateNode(ctx context.Context, ref string, n model.Node, ifRevision int64) (model.Node, error) {
	normalizeNode(&n)
	if err := n.Validate(); err != nil {
		return model.Node{}, err
	}
	var out model.Node
	rev, err := s.write(ctx, "update node "+ref, func(r *reader) (*plan, error) {
		p := newPlan()
		kv, old, err := resolveAt[model.Node](r, model.ObjectNode, ref, ifRevision)
		if err != nil {
			return nil, err
		}
		oldKey, newKey := string(kv.Key), s.objKey(model.ObjectNode, n.Name)
		p.expectRev(oldKey, kv.ModRevision)
		if n.Name != old.Name {
			if err := s.checkFree(r, model.ObjectNode, n.Name); err != nil {
				return nil, err
			}
			if err := s.planRename(r, p, Ref{model.ObjectNode, old.Name}, oldKey, newKey); err != nil {
				return nil, err
			}
		}
		if err := s.checkNodeRefs(r, p, &n); err != nil {
			return nil, err
		}
		out = n
		if err := s.putUpdated(p, model.ObjectNode, &old, &out); err != nil {
			return nil, err
		}
		return p, nil
	})
	if err != nil {
		return model.Node{}, err
	}
	out.Revision = rev
	s.log.Info("node updated", "name", out.Name, "revision", rev)
	return out, nil
}

// DeleteNode deletes a node no link refers to or, with Cascade, the node
// and its links in one transaction.
func (s *Store) DeleteNode(ctx context.Context, ref string, opt DeleteOptions) error {
	var name string
	var links int
	_, err := s.write(ctx, "delete node "+ref, func(r *reader) (*plan, error) {
		kv, old, err := resolveAt[model.Node](r, model.ObjectNode, ref, opt.IfRevision)
		if err != nil {
			return nil, err
		}
		name = old.Name
		if !opt.Cascade {
			return s.planDeleteUnused(r, model.ObjectNode, kv, &old)
		}
		var c cascade
		c.init()
		c.addNode(old, kv.ModRevision)
		p, err := s.planCascade(r, &c)
		if err != nil {
			return nil, err
		}
		links = len(c.links)
		if p.size() > s.cfg.MaxTxnOps {
			return nil, inUsef("cascade delete of node %q would delete %d links in %d etcd operations, more than one transaction allows (max-txn-ops %d): delete some of its links first",
				old.Name, links, p.size(), s.cfg.MaxTxnOps)
		}
		return p, nil
	})
	if err == nil {
		s.log.Info("node deleted", "name", name, "cascade", opt.Cascade, "links", links)
	}
	return err
}
