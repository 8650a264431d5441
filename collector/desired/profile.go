package desired

import (
	"context"

	"github.com/unet-project/unet/shared/model"
)

// CreateSNMPProfile stores a new SNMP profile, secrets included.
func (s *Store) CreateSNMPProfile(ctx context.Context, p model.SNMPProfile) (model.SNMPProfile, error) {
	normalizeProfile(&p)
	if err := p.Validate(); err != nil {
		return model.SNMPProfile{}, err
	}
	var out model.SNMPProfile
	rev, err := s.write(ctx, "create SNMP profile "+p.Name, func(r *reader) (*plan, error) {
		out = p
		return s.planCreate(r, model.ObjectSNMPProfile, &out, nil)
	})
	if err != nil {
		return model.SNMPProfile{}, err
	}
	out.Revision = rev
	s.log.Info("SNMP profile created", "profile", out, "revision", rev)
	return out, nil
}

// GetSNMPProfile returns the profile with this id or name, secrets included.
func (s *Store) GetSNMPProfile(ctx context.Context, ref string) (model.SNMPProfile, error) {
	return getObject[model.SNMPProfile](ctx, s, model.ObjectSNMPProfile, ref)
}

// UpdateSNMPProfile replaces the profile; secrets left empty in p keep their stored values.
func (s *Store) UpdateSNMPProfile(ctx context.Context, ref string, p model.SNMPProfile, ifRevision int64) (model.SNMPProfile, error) {
	normalizeProfile(&p)
	var out model.SNMPProfile
	rev, err := s.write(ctx, "update SNMP profile "+ref, func(r *reader) (*plan, error) {
		pl := newPlan()
		kv, old, err := resolveAt[model.SNMPProfile](r, model.ObjectSNMPProfile, ref, ifRevision)
		if err != nil {
			return nil, err
		}
		out = p
		out.KeepSecretsFrom(&old)
		if err := out.Validate(); err != nil {
			return nil, err
		}
		oldKey, newKey := string(kv.Key), s.objKey(model.ObjectSNMPProfile, p.Name)
		pl.expectRev(oldKey, kv.ModRevision)
		if p.Name != old.Name {
			if err := s.checkFree(r, model.ObjectSNMPProfile, p.Name); err != nil {
				return nil, err
			}
			if err := s.planRename(r, pl, Ref{model.ObjectSNMPProfile, old.Name}, oldKey, newKey); err != nil {
				return nil, err
			}
		}
		if err := s.putUpdated(pl, model.ObjectSNMPProfile, &old, &out); err != nil {
			return nil, err
		}
		return pl, nil
	})
	if err != nil {
		return model.SNMPProfile{}, err
	}
	out.Revision = rev
	s.log.Info("SNMP profile updated", "profile", out, "revision", rev)
	return out, nil
}

// DeleteSNMPProfile deletes a profile no node uses; it never cascades.
func (s *Store) DeleteSNMPProfile(ctx context.Context, ref string, opt DeleteOptions) error {
	var name string
	_, err := s.write(ctx, "delete SNMP profile "+ref, func(r *reader) (*plan, error) {
		kv, old, err := resolveAt[model.SNMPProfile](r, model.ObjectSNMPProfile, ref, opt.IfRevision)
		if err != nil {
			return nil, err
		}
		name = old.Name
		self := Ref{model.ObjectSNMPProfile, old.Name}
		if err := r.inUse(self, "delete"); err != nil {
			return nil, err
		}
		p := newPlan()
		p.expectRev(string(kv.Key), kv.ModRevision)
		p.expectEmpty(s.refPrefix(self))
		p.del(string(kv.Key))
		if old.ID != "" {
			p.del(s.idKey(old.ID))
		}
		return p, nil
	})
	if err == nil {
		s.log.Info("SNMP profile deleted", "name", name)
	}
	return err
}
