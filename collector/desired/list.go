package desired

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
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
	// prefilter, when set, rejects stored values on their raw JSON before
	// they are decoded (false: skip it); match still decides for the rest.
	prefilter func(raw []byte) bool
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
	// A page in key order stops as soon as it is full: decode as it comes.
	// Everything else reads the whole range: decode chunks in parallel with
	// the reads of the next ones.
	dec := &batchDecoder[T]{spec: &spec, parallel: !(keyOrder && limit > 0)}
	if !dec.parallel {
		dec.stopAt = limit + 1
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
				batch := make([]*mvccpb.KeyValue, 0, len(kvs))
				for _, k := range chunk {
					if kv := kvs[k]; kv != nil {
						batch = append(batch, kv)
					}
				}
				if err := dec.add(batch); err != nil {
					return err
				}
			}
			return nil
		}
		start := spec.start
		if keyOrder && tok.After != "" && tok.After+"\x00" > start {
			start = tok.After + "\x00"
		}
		return r.scanChunks(start, spec.end, false, dec.add)
	})
	items, derr := dec.wait()
	if err == nil {
		err = derr
	}
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

// batchDecoder decodes and filters chunks of stored values, keeping their order.
type batchDecoder[T any] struct {
	spec     *listSpec[T]
	parallel bool
	stopAt   int // sequential: stop (errStop) once this many items match

	items   []item[T] // sequential
	batches []*batchResult[T]
	wg      sync.WaitGroup
	sem     chan struct{}
}

type batchResult[T any] struct {
	items []item[T]
	err   error
}

func (d *batchDecoder[T]) decode(kvs []*mvccpb.KeyValue, out []item[T], stopAt int) ([]item[T], error) {
	for _, kv := range kvs {
		if d.spec.prefilter != nil && !d.spec.prefilter(kv.Value) {
			continue
		}
		v, err := decode[T](kv)
		if err != nil {
			return out, err
		}
		if d.spec.match == nil || d.spec.match(&v) {
			out = append(out, item[T]{key: string(kv.Key), obj: v})
			if stopAt > 0 && len(out) >= stopAt {
				return out, errStop
			}
		}
	}
	return out, nil
}

func (d *batchDecoder[T]) add(kvs []*mvccpb.KeyValue) error {
	if !d.parallel {
		var err error
		d.items, err = d.decode(kvs, d.items, d.stopAt)
		return err
	}
	if d.sem == nil {
		d.sem = make(chan struct{}, runtime.GOMAXPROCS(0))
	}
	res := &batchResult[T]{}
	d.batches = append(d.batches, res)
	d.sem <- struct{}{}
	d.wg.Add(1)
	go func() {
		defer func() { <-d.sem; d.wg.Done() }()
		res.items, res.err = d.decode(kvs, nil, 0)
	}()
	return nil
}

// wait returns every item in order.
func (d *batchDecoder[T]) wait() ([]item[T], error) {
	if !d.parallel {
		return d.items, nil
	}
	d.wg.Wait()
	n := 0
	for _, b := range d.batches {
		if b.err != nil {
			return nil, b.err
		}
		n += len(b.items)
	}
	items := make([]item[T], 0, n)
	for _, b := range d.batches {
		items = append(items, b.items...)
	}
	return items, nil
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

// locationSubtree is the set of names in the subtree of location name (the
// location included); a location that does not exist is an error on field.
func locationSubtree(r *reader, field, name string) (map[string]bool, error) {
	locs, err := r.locations()
	if err != nil {
		return nil, err
	}
	tree, err := locationTree(locs)
	if err != nil {
		return nil, err
	}
	if _, ok := tree.Get(name); !ok {
		return nil, model.Invalid(field, fmt.Sprintf("location %q does not exist", name))
	}
	return tree.Subtree(name), nil
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
		spec.prepare = func(r *reader) (err error) {
			within, err = locationSubtree(r, "within", f.Within)
			return err
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
		spec.prepare = func(r *reader) (err error) {
			subtree, err = locationSubtree(r, "location", f.Location)
			return err
		}
	}
	// Decoding is most of a list's cost: reject on the raw value first.
	type rawCheck struct {
		key string
		ok  func(string) bool
	}
	var checks []rawCheck
	if f.Location != "" {
		checks = append(checks, rawCheck{"location", func(v string) bool { return subtree[v] }})
	}
	for key, want := range map[string]string{"role": string(f.Role), "vendor": string(f.Vendor), "lifecycle": string(f.Lifecycle)} {
		if want != "" {
			checks = append(checks, rawCheck{key, func(v string) bool { return v == want }})
		}
	}
	if len(checks) > 0 {
		spec.prefilter = func(raw []byte) bool {
			for _, c := range checks {
				if v, found := topLevelString(raw, c.key); found && !c.ok(v) {
					return false
				}
			}
			return true
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

// topLevelString finds the string value of key in a JSON object without
// decoding it: found is false when the key is absent at the top level, its
// value is not a plain string (no escapes), or the input is not an object.
func topLevelString(raw []byte, key string) (value string, found bool) {
	depth := 0
	for i := 0; i < len(raw); i++ {
		switch raw[i] {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		case '"':
			// A string: a key when at depth 1 and followed by ':'.
			end := i + 1
			for end < len(raw) && raw[end] != '"' {
				if raw[end] == '\\' {
					end++
				}
				end++
			}
			if end >= len(raw) {
				return "", false
			}
			if depth == 1 && string(raw[i+1:end]) == key && end+2 < len(raw) && raw[end+1] == ':' {
				v := raw[end+2:]
				if v[0] != '"' {
					return "", false
				}
				j := bytes.IndexAny(v[1:], "\"\\")
				if j < 0 || v[1+j] != '"' {
					return "", false
				}
				return string(v[1 : 1+j]), true
			}
			i = end
		}
	}
	return "", false
}
