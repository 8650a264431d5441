package desired

import (
	"time"

	"github.com/google/uuid"

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
