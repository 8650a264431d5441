package desired

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/unet-project/unet/shared/model"
)

// CreateLink stores a new link; both nodes must exist and neither
// interface may be used by another link.
func (s *Store) CreateLink(ctx context.Context, l model.Link) (model.Link, error) {
	normalizeLink(&l)
	if err := l.Validate(); err != nil {
		return model.Link{}, err
	}
	id := uuid.NewString()
	var out model.Link
	rev, err := s.write(ctx, "create link "+describeLink(&l), func(r *reader) (*plan, error) {
		p := newPlan()
		key := s.objKey(model.ObjectLink, id)
		p.expectRev(key, 0)
		if err := s.checkLinkRefs(r, p, id, &l); err != nil {
			return nil, err
		}
		now := time.Now().UTC()
		out = l
		out.ID, out.CreatedAt, out.UpdatedAt = id, now, now
		val, err := encode(&out)
		if err != nil {
			return nil, err
		}
		p.put(key, val)
		p.put(s.idKey(id), []byte(idValue(model.ObjectLink, id)))
		for _, e := range out.Endpoints() {
			p.put(s.ifaceKey(e), []byte(id))
		}
		for _, ref := range linkRefs(&out) {
			p.put(s.refKey(ref, Ref{model.ObjectLink, id}), nil)
		}
		return p, nil
	})
	if err != nil {
		return model.Link{}, err
	}
	out.Revision = rev
	s.log.Info("link created", "id", id, "link", describeLink(&out), "revision", rev)
	return out, nil
}

// checkLinkRefs checks that the link's nodes exist and that its interfaces
// are free (or already the link's own); the transaction compares the
// revisions of the nodes and of the interface index keys.
func (s *Store) checkLinkRefs(r *reader, p *plan, id string, l *model.Link) error {
	ends := l.Endpoints()
	keys := make([]string, 0, 2*len(ends))
	for _, e := range ends {
		keys = append(keys, s.objKey(model.ObjectNode, e.Node), s.ifaceKey(e))
	}
	kvs, err := r.getMany(keys)
	if err != nil {
		return err
	}
	var verr model.ValidationError
	for i, e := range ends {
		field := "a.node"
		if i == 1 {
			field = "z.node"
		}
		nkey := s.objKey(model.ObjectNode, e.Node)
		if kv := kvs[nkey]; kv == nil {
			verr.Fields = append(verr.Fields, model.FieldError{Field: field, Reason: fmt.Sprintf("node %q does not exist", e.Node)})
		} else {
			p.expectRev(nkey, kv.ModRevision)
		}
	}
	if len(verr.Fields) > 0 {
		return &verr
	}
	for _, e := range ends {
		ikey := s.ifaceKey(e)
		kv := kvs[ikey]
		if kv == nil {
			p.expectRev(ikey, 0)
			continue
		}
		if other := string(kv.Value); other != id {
			desc := ""
			if okv, err := r.get(s.objKey(model.ObjectLink, other)); err == nil && okv != nil {
				if ol, err := decode[model.Link](okv); err == nil {
					desc = " (" + describeLink(&ol) + ")"
				}
			}
			return conflictf("interface %s is already used by link %s%s: an interface takes at most one link", e, other, desc)
		}
		p.expectRev(ikey, kv.ModRevision)
	}
	return nil
}

// describeLink is "a:if ↔ z:if", or "a:if → circuit ID" for a circuit.
func describeLink(l *model.Link) string {
	switch {
	case l.Z != nil:
		return l.A.String() + " ↔ " + l.Z.String()
	case l.Circuit != nil:
		return l.A.String() + " → circuit " + l.Circuit.ID
	}
	return l.A.String()
}

// GetLink returns the link with this id.
func (s *Store) GetLink(ctx context.Context, id string) (model.Link, error) {
	return getObject[model.Link](ctx, s, model.ObjectLink, id)
}

// UpdateLink replaces the link id with l (its ends may move).
// ifRevision != 0 makes it conditional on the stored revision.
func (s *Store) UpdateLink(ctx context.Context, id string, l model.Link, ifRevision int64) (model.Link, error) {
	normalizeLink(&l)
	if err := l.Validate(); err != nil {
		return model.Link{}, err
	}
	var out model.Link
	rev, err := s.write(ctx, "update link "+id, func(r *reader) (*plan, error) {
		p := newPlan()
		kv, old, err := resolveAt[model.Link](r, model.ObjectLink, id, ifRevision)
		if err != nil {
			return nil, err
		}
		p.expectRev(string(kv.Key), kv.ModRevision)
		if err := s.checkLinkRefs(r, p, old.ID, &l); err != nil {
			return nil, err
		}
		out = l
		out.ID, out.CreatedAt, out.UpdatedAt = old.ID, old.CreatedAt, time.Now().UTC()
		val, err := encode(&out)
		if err != nil {
			return nil, err
		}
		p.put(string(kv.Key), val)
		for _, e := range old.Endpoints() {
			p.del(s.ifaceKey(e))
		}
		for _, e := range out.Endpoints() {
			p.put(s.ifaceKey(e), []byte(out.ID)) // replaces the delete of a kept end
		}
		self := Ref{model.ObjectLink, out.ID}
		s.moveRefs(p, self, linkRefs(&old), self, linkRefs(&out))
		return p, nil
	})
	if err != nil {
		return model.Link{}, err
	}
	out.Revision = rev
	s.log.Info("link updated", "id", out.ID, "link", describeLink(&out), "revision", rev)
	return out, nil
}

// DeleteLink deletes a link (nothing refers to links).
func (s *Store) DeleteLink(ctx context.Context, id string, opt DeleteOptions) error {
	_, err := s.write(ctx, "delete link "+id, func(r *reader) (*plan, error) {
		kv, old, err := resolveAt[model.Link](r, model.ObjectLink, id, opt.IfRevision)
		if err != nil {
			return nil, err
		}
		p := newPlan()
		p.expectRev(string(kv.Key), kv.ModRevision)
		s.deleteLinkKeys(p, &old)
		return p, nil
	})
	if err == nil {
		s.log.Info("link deleted", "id", id)
	}
	return err
}

func (s *Store) deleteLinkKeys(p *plan, l *model.Link) {
	self := Ref{model.ObjectLink, l.ID}
	p.del(s.objKey(model.ObjectLink, l.ID))
	p.del(s.idKey(l.ID))
	for _, e := range l.Endpoints() {
		p.del(s.ifaceKey(e))
	}
	for _, ref := range linkRefs(l) {
		p.del(s.refKey(ref, self))
	}
}
