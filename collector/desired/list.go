package desired

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"

	"github.com/unet-project/unet/shared/model"
)

// continueToken is the opaque state of a paged list: every page is read at
// the first page's revision; the name order (key order) continues after the
// last key, the other orders at an offset into the sorted result.
type continueToken struct {
	Rev    int64  `json:"r"`
	Sort   string `json:"s"`
	Filter string `json:"f,omitempty"`
	After  string `json:"k,omitempty"`
	Offset int    `json:"o,omitempty"`
}

func (t continueToken) encode() string {
	b, _ := json.Marshal(t)
	return base64.RawURLEncoding.EncodeToString(b)
}

func parseContinue(s string) (continueToken, error) {
	var t continueToken
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &t)
	}
	if err != nil || t.Rev <= 0 || t.Offset < 0 {
		return t, model.Invalid("continue", "is not a token returned by a previous page of this list")
	}
	return t, nil
}

// item is an object being listed with its key.
type item[T any] struct {
	key string
	obj T
}

// listSpec says how to list one kind.
type listSpec[T any] struct {
	kind model.ObjectKind
	// start and end bound the keys scanned (a name prefix narrows them).
	start, end string
	// candidates, when set (by prepare), replaces the scan with these keys (an
	// index narrowed the list down).
	candidates func(r *reader) ([]string, error)
	// prepare runs on the list's reader before anything is read
	// (to load the location tree a filter needs, for example).
	prepare func(r *reader) error
	// match filters; nil matches everything.
	match func(*T) bool
	// sorts are the orders besides name, as ascending comparisons.
	sorts map[string]func(a, b *T) int
	// filter fingerprints the filter, so a token cannot continue another list.
	filter string
}

// list runs a listSpec: see ListOptions.
func list[T any](ctx context.Context, s *Store, spec listSpec[T], o ListOptions) (ListResult[T], error) {
	var res ListResult[T]
	if o.Limit < 0 {
		return res, model.Invalid("limit", "must not be negative")
	}
	sortSpec := o.Sort
	if sortSpec == "" {
		sortSpec = "name"
	}
	field, desc := strings.CutPrefix(sortSpec, "-")
	if field == "id" && spec.kind == model.ObjectLink {
		field = "name"
	}
	less, ok := spec.sorts[field]
	if !ok && field != "name" {
		accepted := append([]string{"name"}, sortedKeys(spec.sorts)...)
		return res, model.Invalid("sort", fmt.Sprintf("cannot sort %ss by %q (accepted: %s, each with - in front for descending)", spec.kind, field, strings.Join(accepted, ", ")))
	}
	var tok continueToken
	if o.Continue != "" {
		var err error
		if tok, err = parseContinue(o.Continue); err != nil {
			return res, err
		}
		if tok.Sort != sortSpec || tok.Filter != spec.filter {
			return res, model.Invalid("continue", "the token belongs to a list with another sort or filter: repeat the first request's parameters, or start over without a token")
		}
	}
	r := s.newReader(ctx, tok.Rev)
	if err := listReadErr(r, tok, func() error { return spec.prepareAll(r) }); err != nil {
		return res, err
	}
	keyOrder := field == "name" && !desc
	limit := o.Limit
	var items []item[T]
	collect := func(kv *mvccpb.KeyValue) error {
		v, err := decode[T](kv)
		if err != nil {
			return err
		}
		if spec.match == nil || spec.match(&v) {
			items = append(items, item[T]{key: string(kv.Key), obj: v})
			if keyOrder && limit > 0 && len(items) > limit {
				return errStop
			}
		}
		return nil
	}
	err := listReadErr(r, tok, func() error {
		if spec.candidates != nil {
			keys, err := spec.candidates(r)
			if err != nil {
				return err
			}
			slices.Sort(keys)
			if keyOrder && tok.After != "" {
				i, _ := slices.BinarySearch(keys, tok.After+"\x00")
				keys = keys[i:]
			}
			for chunk := range slices.Chunk(keys, rangeChunk) {
				kvs, err := r.getMany(chunk)
				if err != nil {
					return err
				}
				for _, k := range chunk {
					if kv := kvs[k]; kv != nil {
						if err := collect(kv); err != nil {
							return err
						}
					}
				}
			}
			return nil
		}
		start := spec.start
		if keyOrder && tok.After != "" && tok.After+"\x00" > start {
			start = tok.After + "\x00"
		}
		return r.scan(start, spec.end, false, collect)
	})
	if err != nil && err != errStop {
		return res, err
	}
	res.Revision = r.rev
	if keyOrder {
		if limit > 0 && len(items) > limit {
			items = items[:limit]
			res.Continue = continueToken{Rev: r.rev, Sort: sortSpec, Filter: spec.filter, After: items[limit-1].key}.encode()
		}
	} else {
		if field == "name" {
			less = func(a, b *T) int { return 0 } // by key, below
		}
		slices.SortStableFunc(items, func(a, b item[T]) int {
			c := less(&a.obj, &b.obj)
			if c == 0 {
				c = strings.Compare(a.key, b.key)
			}
			if desc {
				c = -c
			}
			return c
		})
		off := min(tok.Offset, len(items))
		items = items[off:]
		if limit > 0 && len(items) > limit {
			items = items[:limit]
			res.Continue = continueToken{Rev: r.rev, Sort: sortSpec, Filter: spec.filter, Offset: off + limit}.encode()
		}
	}
	res.Items = make([]T, len(items))
	for i, it := range items {
		res.Items[i] = it.obj
	}
	return res, nil
}

func (spec *listSpec[T]) prepareAll(r *reader) error {
	if spec.prepare == nil {
		return nil
	}
	return spec.prepare(r)
}

// errStop ends a scan early.
var errStop = &storeError{msg: "stop"}

// listReadErr runs a read of a list; for a continued list, a compacted
// revision says to start over.
func listReadErr(r *reader, tok continueToken, f func() error) error {
	err := f()
	if err != nil && tok.Rev != 0 && errors.Is(err, ErrConflict) {
		return conflictf("the list's revision %d has been compacted: restart the list without a continue token", tok.Rev)
	}
	return err
}

func byTime(get func(*model.Meta) time.Time) func(a, b *model.Meta) int {
	return func(a, b *model.Meta) int { return get(a).Compare(get(b)) }
}

var (
	byCreated = byTime(func(m *model.Meta) time.Time { return m.CreatedAt })
	byUpdated = byTime(func(m *model.Meta) time.Time { return m.UpdatedAt })
)

// indexOf orders enum values by their position in the canonical list
// (hierarchy level, lifecycle stage); unknown values go last.
func indexOf[T comparable](list []T, v T) int {
	if i := slices.Index(list, v); i >= 0 {
		return i
	}
	return len(list)
}

// ListLocations lists locations: Within selects a subtree (the location
// included), Kind one level, NamePrefix names starting with it.
func (s *Store) ListLocations(ctx context.Context, f LocationFilter, o ListOptions) (ListResult[model.Location], error) {
	if f.Kind != "" {
		k, err := model.ParseLocationKind(string(f.Kind))
		if err != nil {
			return ListResult[model.Location]{}, model.Invalid("kind", err.Error())
		}
		f.Kind = k
	}
	spec := rangeSpec[model.Location](s, model.ObjectLocation, f.NamePrefix, fmt.Sprintf("%+v", f))
	spec.sorts = map[string]func(a, b *model.Location) int{
		"created_at": func(a, b *model.Location) int { return byCreated(&a.Meta, &b.Meta) },
		"updated_at": func(a, b *model.Location) int { return byUpdated(&a.Meta, &b.Meta) },
		"kind": func(a, b *model.Location) int {
			return cmp.Compare(indexOf(model.LocationKinds(), a.Kind), indexOf(model.LocationKinds(), b.Kind))
		},
		"parent": func(a, b *model.Location) int { return strings.Compare(a.Parent, b.Parent) },
	}
	var within map[string]bool
	if f.Within != "" {
		spec.prepare = func(r *reader) error {
			locs, err := r.locations()
			if err != nil {
				return err
			}
			tree, err := locationTree(locs)
			if err != nil {
				return err
			}
			if _, ok := tree.Get(f.Within); !ok {
				return model.Invalid("within", fmt.Sprintf("location %q does not exist", f.Within))
			}
			within = tree.Subtree(f.Within)
			return nil
		}
	}
	spec.match = func(l *model.Location) bool {
		return (within == nil || within[l.Name]) && (f.Kind == "" || l.Kind == f.Kind)
	}
	return list(ctx, s, spec, o)
}

// ListSNMPProfiles lists profiles, secrets included (the API redacts).
func (s *Store) ListSNMPProfiles(ctx context.Context, o ListOptions) (ListResult[model.SNMPProfile], error) {
	spec := rangeSpec[model.SNMPProfile](s, model.ObjectSNMPProfile, "", "")
	spec.sorts = map[string]func(a, b *model.SNMPProfile) int{
		"created_at": func(a, b *model.SNMPProfile) int { return byCreated(&a.Meta, &b.Meta) },
		"updated_at": func(a, b *model.SNMPProfile) int { return byUpdated(&a.Meta, &b.Meta) },
		"version":    func(a, b *model.SNMPProfile) int { return strings.Compare(string(a.Version), string(b.Version)) },
	}
	return list(ctx, s, spec, o)
}

// ListNodes lists nodes; every filter field set must match (Location
// selects the location's whole subtree).
func (s *Store) ListNodes(ctx context.Context, f NodeFilter, o ListOptions) (ListResult[model.Node], error) {
	var empty ListResult[model.Node]
	if f.Role != "" {
		v, err := model.ParseRole(string(f.Role))
		if err != nil {
			return empty, model.Invalid("role", err.Error())
		}
		f.Role = v
	}
	if f.Vendor != "" {
		v, err := model.ParseVendor(string(f.Vendor))
		if err != nil {
			return empty, model.Invalid("vendor", err.Error())
		}
		f.Vendor = v
	}
	if f.Lifecycle != "" {
		v, err := model.ParseLifecycle(string(f.Lifecycle))
		if err != nil {
			return empty, model.Invalid("lifecycle", err.Error())
		}
		f.Lifecycle = v
	}
	spec := rangeSpec[model.Node](s, model.ObjectNode, f.NamePrefix, fmt.Sprintf("%+v", f))
	spec.sorts = map[string]func(a, b *model.Node) int{
		"created_at": func(a, b *model.Node) int { return byCreated(&a.Meta, &b.Meta) },
		"updated_at": func(a, b *model.Node) int { return byUpdated(&a.Meta, &b.Meta) },
		"vendor":     func(a, b *model.Node) int { return strings.Compare(string(a.Vendor), string(b.Vendor)) },
		"role":       func(a, b *model.Node) int { return strings.Compare(string(a.Role), string(b.Role)) },
		"lifecycle": func(a, b *model.Node) int {
			return cmp.Compare(indexOf(model.Lifecycles(), a.Lifecycle), indexOf(model.Lifecycles(), b.Lifecycle))
		},
		"location":     func(a, b *model.Node) int { return strings.Compare(a.Location, b.Location) },
		"snmp_profile": func(a, b *model.Node) int { return strings.Compare(a.SNMPProfile, b.SNMPProfile) },
	}
	var subtree map[string]bool
	if f.Location != "" {
		spec.prepare = func(r *reader) error {
			locs, err := r.locations()
			if err != nil {
				return err
			}
			tree, err := locationTree(locs)
			if err != nil {
				return err
			}
			if _, ok := tree.Get(f.Location); !ok {
				return model.Invalid("location", fmt.Sprintf("location %q does not exist", f.Location))
			}
			subtree = tree.Subtree(f.Location)
			return nil
		}
	}
	spec.match = func(n *model.Node) bool {
		return (subtree == nil || subtree[n.Location]) &&
			(f.Role == "" || n.Role == f.Role) &&
			(f.Vendor == "" || n.Vendor == f.Vendor) &&
			(f.Lifecycle == "" || n.Lifecycle == f.Lifecycle) &&
			(f.Tag == "" || n.HasTag(f.Tag)) &&
			(f.SNMPProfile == "" || n.SNMPProfile == f.SNMPProfile)
	}
	return list(ctx, s, spec, o)
}

// ListLinks lists links (name order is id order); Node selects the links
// with an end on that node, through the reference index.
func (s *Store) ListLinks(ctx context.Context, f LinkFilter, o ListOptions) (ListResult[model.Link], error) {
	spec := rangeSpec[model.Link](s, model.ObjectLink, "", fmt.Sprintf("%+v", f))
	spec.sorts = map[string]func(a, b *model.Link) int{
		"created_at": func(a, b *model.Link) int { return byCreated(&a.Meta, &b.Meta) },
		"updated_at": func(a, b *model.Link) int { return byUpdated(&a.Meta, &b.Meta) },
		"a": func(a, b *model.Link) int {
			return cmp.Or(strings.Compare(a.A.Node, b.A.Node), strings.Compare(a.A.Interface, b.A.Interface))
		},
	}
	if f.Node != "" {
		spec.candidates = func(r *reader) ([]string, error) {
			ids, err := r.refNames([]Ref{{model.ObjectNode, f.Node}}, model.ObjectLink)
			if err != nil {
				return nil, err
			}
			keys := make([]string, len(ids))
			for i, id := range ids {
				keys[i] = s.objKey(model.ObjectLink, id)
			}
			return keys, nil
		}
	}
	return list(ctx, s, spec, o)
}

// rangeSpec is a listSpec over a kind's keys, narrowed to a name prefix.
func rangeSpec[T any](s *Store, kind model.ObjectKind, namePrefix, filter string) listSpec[T] {
	start := s.kindPrefix(kind) + namePrefix
	return listSpec[T]{kind: kind, start: start, end: prefixEnd(start), filter: filter}
}
