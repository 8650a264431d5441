package desired

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/unet-project/unet/shared/model"
)

// Key layout (see the package comment). Names never hold '/', so a name is
// always one path segment; interface names may, which is why iface keys are
// never parsed.

func (s *Store) kindPrefix(kind model.ObjectKind) string { return s.cfg.Prefix + string(kind) + "/" }

func (s *Store) objKey(kind model.ObjectKind, name string) string { return s.kindPrefix(kind) + name }

func (s *Store) idKey(id string) string { return s.cfg.Prefix + "id/" + id }

// idValue is what id/<uuid> holds: "<kind>/<key>".
func idValue(kind model.ObjectKind, name string) string { return string(kind) + "/" + name }

// refPrefix is the prefix of every reverse reference to target.
func (s *Store) refPrefix(target Ref) string {
	return s.cfg.Prefix + "ref/" + string(target.Kind) + "/" + target.Name + "/"
}

// refKindPrefix is the prefix of target's reverse references from objects of one kind.
func (s *Store) refKindPrefix(target Ref, from model.ObjectKind) string {
	return s.refPrefix(target) + string(from) + "/"
}

// refKey records that source refers to target.
func (s *Store) refKey(target, source Ref) string {
	return s.refPrefix(target) + string(source.Kind) + "/" + source.Name
}

// parseRefKey returns the source of a reference key under prefix.
func parseRefKey(prefix, key string) (Ref, bool) {
	rest, ok := strings.CutPrefix(key, prefix)
	if !ok {
		return Ref{}, false
	}
	kind, name, ok := strings.Cut(rest, "/")
	if !ok || name == "" {
		return Ref{}, false
	}
	return Ref{Kind: model.ObjectKind(kind), Name: name}, true
}

func (s *Store) ifaceKey(e model.Endpoint) string {
	return s.cfg.Prefix + "iface/" + e.Node + "/" + e.Interface
}

// parseObjectKey splits an object key into kind and name; index keys (id/,
// ref/, iface/) and foreign keys give ok=false.
func (s *Store) parseObjectKey(key string) (model.ObjectKind, string, bool) {
	rest, ok := strings.CutPrefix(key, s.cfg.Prefix)
	if !ok {
		return "", "", false
	}
	kind, name, ok := strings.Cut(rest, "/")
	if !ok || name == "" || strings.Contains(name, "/") {
		return "", "", false
	}
	switch k := model.ObjectKind(kind); k {
	case model.ObjectLocation, model.ObjectSNMPProfile, model.ObjectNode, model.ObjectLink:
		return k, name, true
	}
	return "", "", false
}

// prefixEnd is the end of the range of keys starting with prefix.
func prefixEnd(prefix string) string {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1])
		}
	}
	return "\x00"
}

// canonicalID returns the canonical text of ref when it is a UUID.
func canonicalID(ref string) (string, bool) {
	u, err := uuid.Parse(ref)
	if err != nil || len(ref) != 36 {
		return "", false
	}
	return u.String(), true
}

// The references each object makes: they become ref/ keys, and the store
// compares the revisions of the objects they name on every write.

func locationRefs(l *model.Location) []Ref {
	if l.Parent == "" {
		return nil
	}
	return []Ref{{model.ObjectLocation, l.Parent}}
}

func nodeRefs(n *model.Node) []Ref {
	refs := []Ref{{model.ObjectLocation, n.Location}}
	if n.SNMPProfile != "" {
		refs = append(refs, Ref{model.ObjectSNMPProfile, n.SNMPProfile})
	}
	return refs
}

func linkRefs(l *model.Link) []Ref {
	refs := []Ref{{model.ObjectNode, l.A.Node}}
	if l.Z != nil && l.Z.Node != l.A.Node {
		refs = append(refs, Ref{model.ObjectNode, l.Z.Node})
	}
	return refs
}

// refsOf returns the references of a model object (a pointer).
func refsOf(obj any) []Ref {
	switch x := obj.(type) {
	case *model.Location:
		return locationRefs(x)
	case *model.SNMPProfile:
		return nil
	case *model.Node:
		return nodeRefs(x)
	case *model.Link:
		return linkRefs(x)
	}
	panic(fmt.Sprintf("desired: no references in %T", obj))
}

// metaOf returns the Meta of a pointer to a model object.
func metaOf(obj any) *model.Meta {
	switch x := obj.(type) {
	case *model.Location:
		return &x.Meta
	case *model.SNMPProfile:
		return &x.Meta
	case *model.Node:
		return &x.Meta
	case *model.Link:
		return &x.Meta
	}
	panic(fmt.Sprintf("desired: no Meta in %T", obj))
}

// objName is the name a model object (a pointer) is stored under; a link's
// is its id.
func objName(obj any) string {
	switch x := obj.(type) {
	case *model.Location:
		return x.Name
	case *model.SNMPProfile:
		return x.Name
	case *model.Node:
		return x.Name
	case *model.Link:
		return x.ID
	}
	panic(fmt.Sprintf("desired: no name in %T", obj))
}

// encode is the stored form of an object (a pointer to it): its JSON
// without the revision, which etcd keeps as the key's mod revision.
func encode(obj any) ([]byte, error) {
	m := metaOf(obj)
	rev := m.Revision
	m.Revision = 0
	b, err := json.Marshal(obj)
	m.Revision = rev
	if err != nil {
		return nil, fmt.Errorf("encode %T: %w", obj, err)
	}
	return b, nil
}

// Normalization: the model's Normalize where it has one, plus enums in their
// canonical spelling (objects built in code may say "Cisco").

func normalizeLocation(l *model.Location) {
	if k, err := model.ParseLocationKind(string(l.Kind)); err == nil {
		l.Kind = k
	}
}

func normalizeNode(n *model.Node) {
	n.Normalize()
	if v, err := model.ParseVendor(string(n.Vendor)); err == nil {
		n.Vendor = v
	}
	if r, err := model.ParseRole(string(n.Role)); err == nil {
		n.Role = r
	}
	if l, err := model.ParseLifecycle(string(n.Lifecycle)); err == nil {
		n.Lifecycle = l
	}
}

func normalizeProfile(p *model.SNMPProfile) {
	p.Normalize()
	if v, err := model.ParseSNMPVersion(string(p.Version)); err == nil {
		p.Version = v
	}
	if a, err := model.ParseAuthProtocol(string(p.AuthProtocol)); err == nil {
		p.AuthProtocol = a
	}
	if pr, err := model.ParsePrivProtocol(string(p.PrivProtocol)); err == nil {
		p.PrivProtocol = pr
	}
}

func normalizeLink(l *model.Link) {
	l.A.Interface = strings.TrimSpace(l.A.Interface)
	if l.Z != nil {
		z := *l.Z
		z.Interface = strings.TrimSpace(z.Interface)
		l.Z = &z
	}
	if l.Circuit != nil {
		c := *l.Circuit
		l.Circuit = &c
	}
}
