package desired

import (
	"time"

	"github.com/google/uuid"
	"go.etcd.io/etcd/api/v3/mvccpb"

	"github.com/unet-project/unet/shared/model"
)

// The steps that creating, renaming, updating and deleting have in common
// for the named kinds (locations, SNMP profiles, nodes). Objects are passed
// as pointers to model objects (see metaOf, objName, refsOf).

// kindLabel is how messages name a kind.
func kindLabel(kind model.ObjectKind) string {
	if kind == model.ObjectSNMPProfile {
		return "SNMP profile"
	}
	return string(kind)
}

// checkFree refuses a name another object of kind has.
func (s *Store) checkFree(r *reader, kind model.ObjectKind, name string) error {
	kv, err := r.get(s.objKey(kind, name))
	if err != nil {
		return err
	}
	if kv != nil {
		return conflictf("%s %q already exists", kindLabel(kind), name)
	}
	return nil
}

// planCreate is the plan storing obj, a new object of kind: its name must be
// free, check (if any) adds the kind's own checks and compares, then obj gets
// an id and times and is stored with its id key and reference keys.
func (s *Store) planCreate(r *reader, kind model.ObjectKind, obj any, check func(p *plan) error) (*plan, error) {
	p := newPlan()
	name := objName(obj)
	key := s.objKey(kind, name)
	if err := s.checkFree(r, kind, name); err != nil {
		return nil, err
	}
	p.expectRev(key, 0)
	if check != nil {
		if err := check(p); err != nil {
			return nil, err
		}
	}
	m := metaOf(obj)
	now := time.Now().UTC()
	m.ID, m.CreatedAt, m.UpdatedAt = uuid.NewString(), now, now
	val, err := encode(obj)
	if err != nil {
		return nil, err
	}
	p.put(key, val)
	p.put(s.idKey(m.ID), []byte(idValue(kind, name)))
	for _, ref := range refsOf(obj) {
		p.put(s.refKey(ref, Ref{kind, name}), nil)
	}
	return p, nil
}

// planRename moves the object self from oldKey to newKey (whose name the
// caller has checked is free): nothing may refer to it, as references name
// it, and the transaction compares that newKey is still free and that no
// reference appears meanwhile.
func (s *Store) planRename(r *reader, p *plan, self Ref, oldKey, newKey string) error {
	if err := r.inUse(self, "rename"); err != nil {
		return err
	}
	p.expectRev(newKey, 0)
	p.expectEmpty(s.refPrefix(self))
	p.del(oldKey)
	return nil
}

// putUpdated ends the plan of an update of a named object: obj, the new
// version of old, keeps old's id (or gets one if old, stored before ids,
// has none) and creation time, and is stored under its name, with its id
// key if the name or id changed and its reference keys moved.
func (s *Store) putUpdated(p *plan, kind model.ObjectKind, old, obj any) error {
	oldMeta, m := metaOf(old), metaOf(obj)
	m.ID, m.CreatedAt, m.UpdatedAt = oldMeta.ID, oldMeta.CreatedAt, time.Now().UTC()
	if m.ID == "" {
		m.ID = uuid.NewString()
	}
	val, err := encode(obj)
	if err != nil {
		return err
	}
	oldName, name := objName(old), objName(obj)
	p.put(s.objKey(kind, name), val)
	if name != oldName || oldMeta.ID == "" {
		p.put(s.idKey(m.ID), []byte(idValue(kind, name)))
	}
	s.moveRefs(p, Ref{kind, oldName}, refsOf(old), Ref{kind, name}, refsOf(obj))
	return nil
}

// planDeleteUnused is the plan deleting obj, stored at kv, which nothing may
// refer to.
func (s *Store) planDeleteUnused(r *reader, kind model.ObjectKind, kv *mvccpb.KeyValue, obj any) (*plan, error) {
	self := Ref{kind, objName(obj)}
	if err := r.inUse(self, "delete"); err != nil {
		return nil, err
	}
	p := newPlan()
	p.expectRev(string(kv.Key), kv.ModRevision)
	p.expectEmpty(s.refPrefix(self))
	s.deleteKeys(p, kind, obj)
	return p, nil
}

// deleteKeys deletes the keys of a named object: its own, its id key and
// its reference keys.
func (s *Store) deleteKeys(p *plan, kind model.ObjectKind, obj any) {
	self := Ref{kind, objName(obj)}
	p.del(s.objKey(kind, self.Name))
	if id := metaOf(obj).ID; id != "" {
		p.del(s.idKey(id))
	}
	for _, ref := range refsOf(obj) {
		p.del(s.refKey(ref, self))
	}
}
