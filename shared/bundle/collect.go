package bundle

import (
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/unet-project/unet/shared/model"
)

// problems are what is wrong with one object, field by field.
type problems []model.FieldError

func (p *problems) add(field, reason string) {
	*p = append(*p, model.FieldError{Field: field, Reason: reason})
}

// covers reports whether field, or a field holding it, already has a
// problem: a value that failed to parse is left zero, and validation would
// then repeat it as "is required".
func (p problems) covers(field string) bool {
	for _, f := range p {
		if f.Field == field || strings.HasPrefix(field, f.Field+".") {
			return true
		}
	}
	return false
}

// has reports whether exactly this problem is already recorded (two model
// fields may map to the same CSV column, "a.node" and "a.interface" to a).
func (p problems) has(field, reason string) bool {
	for _, f := range p {
		if f.Field == field && f.Reason == reason {
			return true
		}
	}
	return false
}

// collector gathers the objects and row errors of one file, with what the
// duplicate checks need to remember. Both decoders feed it.
type collector struct {
	b    Bundle
	errs []RowError
	// csv: field names in errors are CSV columns rather than model fields.
	csv    bool
	names  map[nameKey]Position
	ids    map[string]Position
	ifaces map[model.Endpoint]Position
}

type nameKey struct {
	kind model.ObjectKind
	name string
}

func newCollector(csv bool) *collector {
	return &collector{
		csv:    csv,
		names:  map[nameKey]Position{},
		ids:    map[string]Position{},
		ifaces: map[model.Endpoint]Position{},
	}
}

// rowError records a problem that concerns no object (an unknown top-level
// JSON field) or an object that could not be built (an unknown kind).
func (c *collector) rowError(e RowError) { c.errs = append(c.errs, e) }

func (c *collector) addLocation(l model.Location, pos Position, probs problems) {
	c.checkID(&l.Meta, pos, &probs)
	probs = c.validated(model.ObjectLocation, probs, l.Validate())
	c.checkName(model.ObjectLocation, l.Name, pos, &probs)
	if c.report(model.ObjectLocation, l.Name, pos, probs) {
		c.b.Locations = appendGrow(c.b.Locations, l)
		c.b.Sources.Locations = appendGrow(c.b.Sources.Locations, pos)
	}
}

func (c *collector) addSNMPProfile(p model.SNMPProfile, pos Position, probs problems) {
	c.checkID(&p.Meta, pos, &probs)
	p.Normalize()
	probs = c.validated(model.ObjectSNMPProfile, probs, validateProfile(p))
	c.checkName(model.ObjectSNMPProfile, p.Name, pos, &probs)
	if c.report(model.ObjectSNMPProfile, p.Name, pos, probs) {
		c.b.SNMPProfiles = appendGrow(c.b.SNMPProfiles, p)
		c.b.Sources.SNMPProfiles = appendGrow(c.b.Sources.SNMPProfiles, pos)
	}
}

// validateProfile validates p as if its missing secrets were present: an
// exported file has none, and the store keeps the secrets it holds (or
// reports them missing for a new profile), so their absence is not the
// file's fault. The placeholders only reach this copy, never the bundle.
func validateProfile(p model.SNMPProfile) error {
	placeholders := model.SNMPProfile{Community: "placeholder", AuthKey: "placeholder", PrivKey: "placeholder"}
	p.KeepSecretsFrom(&placeholders)
	return p.Validate()
}

func (c *collector) addNode(n model.Node, pos Position, probs problems) {
	c.checkID(&n.Meta, pos, &probs)
	n.Normalize()
	// Normalize trims and sorts tags but keeps an empty list; nil is the
	// one canonical "none", so that round trips compare equal.
	if len(n.Tags) == 0 {
		n.Tags = nil
	}
	if len(n.CustomData) == 0 {
		n.CustomData = nil
	}
	probs = c.validated(model.ObjectNode, probs, n.Validate())
	c.checkName(model.ObjectNode, n.Name, pos, &probs)
	if c.report(model.ObjectNode, n.Name, pos, probs) {
		c.b.Nodes = appendGrow(c.b.Nodes, n)
		c.b.Sources.Nodes = appendGrow(c.b.Sources.Nodes, pos)
	}
}

func (c *collector) addLink(l model.Link, pos Position, probs problems) {
	c.checkID(&l.Meta, pos, &probs)
	probs = c.validated(model.ObjectLink, probs, l.Validate())
	c.checkInterface(l.A, "a", pos, &probs)
	if l.Z != nil {
		c.checkInterface(*l.Z, "z", pos, &probs)
	}
	name := "" // only needed for errors; building it costs an allocation per link
	if len(probs) > 0 {
		name = linkName(&l)
	}
	if c.report(model.ObjectLink, name, pos, probs) {
		c.b.Links = appendGrow(c.b.Links, l)
		c.b.Sources.Links = appendGrow(c.b.Sources.Links, pos)
	}
}

// appendGrow appends, doubling the capacity when it runs out. Files hold
// tens of thousands of objects of a few hundred bytes each, and append's
// gentler growth for large slices copies them several times over.
func appendGrow[T any](s []T, v T) []T {
	if len(s) == cap(s) {
		s = slices.Grow(s, max(len(s), 16))
	}
	return append(s, v)
}

// linkName names a link in errors by its A end, which is how the store
// matches links on import; links have no name of their own.
func linkName(l *model.Link) string {
	if l.A.Interface == "" {
		return l.A.Node
	}
	return l.A.String()
}

// validated adds the model's validation problems to probs, under CSV
// column names for a CSV file, leaving out fields that failed to parse.
func (c *collector) validated(kind model.ObjectKind, probs problems, err error) problems {
	if err == nil {
		return probs
	}
	v, ok := model.AsValidationError(err)
	if !ok {
		probs.add("", err.Error())
		return probs
	}
	parsed := len(probs) // only parse problems hide validation ones
	for _, f := range v.Fields {
		field := f.Field
		if c.csv {
			field = csvField(kind, field)
		}
		if probs[:parsed].covers(field) || probs.has(field, f.Reason) {
			continue
		}
		probs.add(field, f.Reason)
	}
	return probs
}

// checkID checks that a given id is a UUID used once in the file, whatever
// the kind, and writes it in canonical form (the store assigns ids as UUIDs
// and looks them up by their text).
func (c *collector) checkID(m *model.Meta, pos Position, probs *problems) {
	if m.ID == "" {
		return
	}
	u, err := uuid.Parse(m.ID)
	if err != nil {
		probs.add("id", "is not a UUID")
		return
	}
	m.ID = u.String()
	if first, dup := c.ids[m.ID]; dup {
		probs.add("id", "used twice, also "+first.where())
		return
	}
	c.ids[m.ID] = pos
}

// checkName reports a name defined twice for one kind. The first
// definition wins the name; later ones are the errors, naming the first.
func (c *collector) checkName(kind model.ObjectKind, name string, pos Position, probs *problems) {
	if name == "" {
		return
	}
	key := nameKey{kind, name}
	if first, dup := c.names[key]; dup {
		probs.add(c.field(kind, "name"), "defined twice, also "+first.where())
		return
	}
	c.names[key] = pos
}

// checkInterface reports an interface used by two links.
func (c *collector) checkInterface(e model.Endpoint, field string, pos Position, probs *problems) {
	if e.Node == "" || e.Interface == "" {
		return
	}
	if first, dup := c.ifaces[e]; dup {
		probs.add(field, "interface "+e.String()+" is also used by the link "+first.where())
		return
	}
	c.ifaces[e] = pos
}

func (c *collector) field(kind model.ObjectKind, f string) string {
	if c.csv {
		return csvField(kind, f)
	}
	return f
}

// report turns the object's problems into row errors and tells whether it
// has none, that is whether it belongs in the bundle.
func (c *collector) report(kind model.ObjectKind, name string, pos Position, probs problems) bool {
	for _, p := range probs {
		c.errs = append(c.errs, RowError{Position: pos, Kind: kind, Name: name, Field: p.Field, Reason: p.Reason})
	}
	return len(probs) == 0
}
