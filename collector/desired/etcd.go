package desired

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/unet-project/unet/shared/model"
)

const (
	// rangeChunk is how many keys one range read returns at most, so that
	// large lists never need one giant response.
	rangeChunk = 1000
	// maxAttempts bounds how often a write is retried when something it
	// depends on changed between its reads and its transaction.
	maxAttempts = 8
	// maxInUseRefs bounds the references an InUseError lists.
	maxInUseRefs = 100
	// minTxnOps is the smallest MaxTxnOps the store works with.
	minTxnOps = 16
	// opOverhead approximates the protobuf framing of one operation, for
	// the transaction size budget.
	opOverhead = 32
)

// storeError is an error with a plain message that still matches one of the
// package's sentinel errors with errors.Is.
type storeError struct {
	msg  string
	base error
}

func (e *storeError) Error() string { return e.msg }
func (e *storeError) Unwrap() error { return e.base }

func conflictf(format string, args ...any) error {
	return &storeError{msg: fmt.Sprintf(format, args...), base: ErrConflict}
}

func notFoundf(format string, args ...any) error {
	return &storeError{msg: fmt.Sprintf(format, args...), base: ErrNotFound}
}

func inUsef(format string, args ...any) error {
	return &storeError{msg: fmt.Sprintf(format, args...), base: ErrInUse}
}

// etcdErr describes a failed etcd request; a compacted revision becomes a
// conflict (the caller must start again from a fresh read).
func etcdErr(what string, rev int64, err error) error {
	if errors.Is(err, rpctypes.ErrCompacted) {
		return conflictf("%s: etcd revision %d has been compacted; restart from a fresh read", what, rev)
	}
	return fmt.Errorf("%s: etcd: %w", what, err)
}

// reader reads from etcd at one revision: the first read fixes it, every
// later one uses it, so that what an operation sees is one consistent
// snapshot.
type reader struct {
	s   *Store
	ctx context.Context
	rev int64

	locs map[string]stored[model.Location] // loaded on demand
}

// stored is an object as read, with the mod revision of its key and its raw value.
type stored[T any] struct {
	obj T
	rev int64
	raw []byte
}

func (s *Store) newReader(ctx context.Context, rev int64) *reader {
	return &reader{s: s, ctx: ctx, rev: rev}
}

func (r *reader) opts(extra ...clientv3.OpOption) []clientv3.OpOption {
	if r.rev != 0 {
		extra = append(extra, clientv3.WithRev(r.rev))
	}
	return extra
}

func (r *reader) do(what string, f func(ctx context.Context) (int64, error)) error {
	ctx, cancel := context.WithTimeout(r.ctx, r.s.cfg.RequestTimeout)
	defer cancel()
	rev, err := f(ctx)
	if err != nil {
		return etcdErr(what, r.rev, err)
	}
	if r.rev == 0 {
		r.rev = rev
	}
	return nil
}

// get reads one key (nil when it does not exist).
func (r *reader) get(key string) (*mvccpb.KeyValue, error) {
	var kv *mvccpb.KeyValue
	err := r.do("read "+key, func(ctx context.Context) (int64, error) {
		resp, err := r.s.cli.Get(ctx, key, r.opts()...)
		if err != nil {
			return 0, err
		}
		if len(resp.Kvs) > 0 {
			kv = resp.Kvs[0]
		}
		return resp.Header.Revision, nil
	})
	return kv, err
}

// getMany reads several keys in as few round trips as the transaction
// limit allows; missing keys are absent from the map.
func (r *reader) getMany(keys []string) (map[string]*mvccpb.KeyValue, error) {
	out := make(map[string]*mvccpb.KeyValue, len(keys))
	for chunk := range slices.Chunk(keys, r.s.cfg.MaxTxnOps) {
		ops := make([]clientv3.Op, len(chunk))
		for i, k := range chunk {
			ops[i] = clientv3.OpGet(k, r.opts()...)
		}
		err := r.do("read", func(ctx context.Context) (int64, error) {
			resp, err := r.s.cli.Txn(ctx).Then(ops...).Commit()
			if err != nil {
				return 0, err
			}
			for _, op := range resp.Responses {
				for _, kv := range op.GetResponseRange().Kvs {
					out[string(kv.Key)] = kv
				}
			}
			return resp.Header.Revision, nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// scan calls fn for every key in [start, end), in key order, reading
// rangeChunk keys at a time.
func (r *reader) scan(start, end string, keysOnly bool, fn func(kv *mvccpb.KeyValue) error) error {
	return r.scanChunks(start, end, keysOnly, func(kvs []*mvccpb.KeyValue) error {
		for _, kv := range kvs {
			if err := fn(kv); err != nil {
				return err
			}
		}
		return nil
	})
}

// scanChunks calls fn with each chunk of keys in [start, end), in key order.
func (r *reader) scanChunks(start, end string, keysOnly bool, fn func(kvs []*mvccpb.KeyValue) error) error {
	for {
		var kvs []*mvccpb.KeyValue
		var more bool
		err := r.do("read "+start, func(ctx context.Context) (int64, error) {
			opts := r.opts(clientv3.WithRange(end), clientv3.WithLimit(rangeChunk))
			if keysOnly {
				opts = append(opts, clientv3.WithKeysOnly())
			}
			resp, err := r.s.cli.Get(ctx, start, opts...)
			if err != nil {
				return 0, err
			}
			kvs, more = resp.Kvs, resp.More
			return resp.Header.Revision, nil
		})
		if err != nil {
			return err
		}
		if len(kvs) > 0 {
			if err := fn(kvs); err != nil {
				return err
			}
		}
		if !more || len(kvs) == 0 {
			return nil
		}
		start = string(kvs[len(kvs)-1].Key) + "\x00"
	}
}

// scanPrefix is scan over every key under prefix.
func (r *reader) scanPrefix(prefix string, keysOnly bool, fn func(kv *mvccpb.KeyValue) error) error {
	return r.scan(prefix, prefixEnd(prefix), keysOnly, fn)
}

// refs returns who refers to target (at most max of them) and how many do.
func (r *reader) refs(target Ref, max int) ([]Ref, int, error) {
	prefix := r.s.refPrefix(target)
	var refs []Ref
	var count int64
	err := r.do("read references to "+target.String(), func(ctx context.Context) (int64, error) {
		resp, err := r.s.cli.Get(ctx, prefix, r.opts(clientv3.WithPrefix(), clientv3.WithKeysOnly(), clientv3.WithLimit(int64(max)))...)
		if err != nil {
			return 0, err
		}
		for _, kv := range resp.Kvs {
			if ref, ok := parseRefKey(prefix, string(kv.Key)); ok {
				refs = append(refs, ref)
			}
		}
		count = resp.Count
		return resp.Header.Revision, nil
	})
	return refs, int(count), err
}

// refNames returns the names (keys) of every object of kind from that
// refers to one of targets, reading the index ranges in batched transactions.
func (r *reader) refNames(targets []Ref, from model.ObjectKind) ([]string, error) {
	var names []string
	for chunk := range slices.Chunk(targets, r.s.cfg.MaxTxnOps) {
		ops := make([]clientv3.Op, len(chunk))
		prefixes := make([]string, len(chunk))
		for i, t := range chunk {
			prefixes[i] = r.s.refKindPrefix(t, from)
			ops[i] = clientv3.OpGet(prefixes[i], r.opts(clientv3.WithPrefix(), clientv3.WithKeysOnly())...)
		}
		err := r.do("read references", func(ctx context.Context) (int64, error) {
			resp, err := r.s.cli.Txn(ctx).Then(ops...).Commit()
			if err != nil {
				return 0, err
			}
			for i, op := range resp.Responses {
				for _, kv := range op.GetResponseRange().Kvs {
					if name, ok := cutPrefix(string(kv.Key), prefixes[i]); ok {
						names = append(names, name)
					}
				}
			}
			return resp.Header.Revision, nil
		})
		if err != nil {
			return nil, err
		}
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

func cutPrefix(s, prefix string) (string, bool) {
	if len(s) <= len(prefix) || s[:len(prefix)] != prefix {
		return "", false
	}
	return s[len(prefix):], true
}

// locations reads every location (once per reader).
func (r *reader) locations() (map[string]stored[model.Location], error) {
	if r.locs != nil {
		return r.locs, nil
	}
	locs := map[string]stored[model.Location]{}
	err := r.scanPrefix(r.s.kindPrefix(model.ObjectLocation), false, func(kv *mvccpb.KeyValue) error {
		l, err := decode[model.Location](kv)
		if err != nil {
			return err
		}
		locs[l.Name] = stored[model.Location]{obj: l, rev: kv.ModRevision, raw: kv.Value}
		return nil
	})
	if err != nil {
		return nil, err
	}
	r.locs = locs
	return locs, nil
}

// locationTree builds the hierarchy from a location map.
func locationTree(locs map[string]stored[model.Location]) (*model.LocationTree, error) {
	list := make([]model.Location, 0, len(locs))
	for _, l := range locs {
		list = append(list, l.obj)
	}
	return model.NewLocationTree(list)
}

// resolve finds the key of the object of kind that ref names (an id or a
// name; links only have ids).
func (r *reader) resolve(kind model.ObjectKind, ref string) (*mvccpb.KeyValue, error) {
	if ref == "" {
		return nil, notFoundf("%s: no id or name given", kind)
	}
	id, isID := canonicalID(ref)
	if kind == model.ObjectLink || !isID {
		if isID {
			ref = id
		}
		kv, err := r.get(r.s.objKey(kind, ref))
		if err != nil {
			return nil, err
		}
		if kv == nil {
			return nil, notFoundf("%s %q does not exist", kind, ref)
		}
		return kv, nil
	}
	// A UUID: the id index first, then (names may look like UUIDs) the name.
	byName := r.s.objKey(kind, ref)
	kvs, err := r.getMany([]string{r.s.idKey(id), byName})
	if err != nil {
		return nil, err
	}
	if idkv := kvs[r.s.idKey(id)]; idkv != nil {
		if name, ok := cutPrefix(string(idkv.Value), string(kind)+"/"); ok {
			kv, err := r.get(r.s.objKey(kind, name))
			if err != nil {
				return nil, err
			}
			if kv != nil {
				return kv, nil
			}
		}
	}
	if kv := kvs[byName]; kv != nil {
		return kv, nil
	}
	return nil, notFoundf("%s %q does not exist", kind, ref)
}

// getObject reads the object of kind that ref names, at the current revision.
func getObject[T any](ctx context.Context, s *Store, kind model.ObjectKind, ref string) (T, error) {
	kv, err := s.newReader(ctx, 0).resolve(kind, ref)
	if err != nil {
		var zero T
		return zero, err
	}
	return decode[T](kv)
}

// resolveAt reads the object of kind that ref names, refusing it unless it
// is at revision want (0: any revision).
func resolveAt[T any](r *reader, kind model.ObjectKind, ref string, want int64) (*mvccpb.KeyValue, T, error) {
	kv, err := r.resolve(kind, ref)
	if err != nil {
		var zero T
		return nil, zero, err
	}
	old, err := decode[T](kv)
	if err != nil {
		return nil, old, err
	}
	return kv, old, checkRevision(kind, objName(&old), kv.ModRevision, want)
}

// decode reads a stored object and sets its revision.
func decode[T any](kv *mvccpb.KeyValue) (T, error) {
	var v T
	if err := json.Unmarshal(kv.Value, &v); err != nil {
		return v, fmt.Errorf("stored object %s is not valid JSON: %w", kv.Key, err)
	}
	metaOf(&v).Revision = kv.ModRevision
	return v, nil
}

// plan is one transaction being built: compares and operations, each key
// at most once.
type plan struct {
	cmps    []clientv3.Cmp
	cmpSeen map[cmpID]struct{}
	ops     []planOp
	opIdx   map[string]int // nil: the caller guarantees distinct keys
	bytes   int
}

type planOp struct {
	key string
	val []byte
	del bool
}

// cmpKind is what a compare checks.
type cmpKind uint8

const (
	cmpModRev     cmpKind = iota // the key is at mod revision rev (0: absent)
	cmpEmpty                     // no key under the prefix
	cmpNoNewUnder                // no key under the prefix created after rev
)

// cmpSpec is a compare before it is built (building one costs allocations,
// so duplicates are dropped first).
type cmpSpec struct {
	kind cmpKind
	key  string
	rev  int64
}

type cmpID struct {
	kind cmpKind
	key  string
}

func (c cmpSpec) etcd() clientv3.Cmp {
	pc := &pb.Compare{Key: []byte(c.key)}
	switch c.kind {
	case cmpModRev:
		pc.Target, pc.Result = pb.Compare_MOD, pb.Compare_EQUAL
		pc.TargetUnion = &pb.Compare_ModRevision{ModRevision: c.rev}
	case cmpEmpty:
		pc.Target, pc.Result = pb.Compare_CREATE, pb.Compare_EQUAL
		pc.TargetUnion = &pb.Compare_CreateRevision{CreateRevision: 0}
		pc.RangeEnd = []byte(prefixEnd(c.key))
	case cmpNoNewUnder:
		pc.Target, pc.Result = pb.Compare_CREATE, pb.Compare_LESS
		pc.TargetUnion = &pb.Compare_CreateRevision{CreateRevision: c.rev + 1}
		pc.RangeEnd = []byte(prefixEnd(c.key))
	}
	return clientv3.FromCompare(pc)
}

func newPlan() *plan { return &plan{cmpSeen: map[cmpID]struct{}{}, opIdx: map[string]int{}} }

// newBulkPlan is a plan for writes whose keys are known to be distinct.
func newBulkPlan(size int) *plan {
	return &plan{cmpSeen: make(map[cmpID]struct{}, size), cmps: make([]clientv3.Cmp, 0, size), ops: make([]planOp, 0, size)}
}

func (p *plan) hasCmp(c cmpSpec) bool {
	_, ok := p.cmpSeen[cmpID{c.kind, c.key}]
	return ok
}

func (p *plan) addCmp(c cmpSpec) {
	id := cmpID{c.kind, c.key}
	if _, ok := p.cmpSeen[id]; ok {
		return
	}
	p.cmpSeen[id] = struct{}{}
	p.cmps = append(p.cmps, c.etcd())
	p.bytes += cmpBytes(c)
}

func cmpBytes(c cmpSpec) int { return 2*len(c.key) + opOverhead }

// expectRev requires key to be at mod revision rev (0: to be absent).
func (p *plan) expectRev(key string, rev int64) { p.addCmp(cmpSpec{cmpModRev, key, rev}) }

// expectEmpty requires no key under prefix.
func (p *plan) expectEmpty(prefix string) { p.addCmp(cmpSpec{cmpEmpty, prefix, 0}) }

// expectNoNewUnder requires that no key under prefix was created after rev.
func (p *plan) expectNoNewUnder(prefix string, rev int64) {
	p.addCmp(cmpSpec{cmpNoNewUnder, prefix, rev})
}

func (p *plan) set(op planOp) {
	if p.opIdx == nil {
		p.ops = append(p.ops, op)
		p.bytes += len(op.key) + len(op.val) + opOverhead
		return
	}
	if i, ok := p.opIdx[op.key]; ok {
		p.bytes += len(op.val) - len(p.ops[i].val)
		p.ops[i] = op
		return
	}
	p.opIdx[op.key] = len(p.ops)
	p.ops = append(p.ops, op)
	p.bytes += len(op.key) + len(op.val) + opOverhead
}

func (p *plan) put(key string, val []byte) { p.set(planOp{key: key, val: val}) }
func (p *plan) del(key string)             { p.set(planOp{key: key, del: true}) }

func (p *plan) size() int { return max(len(p.ops), len(p.cmps)) }

func (p *plan) etcdOps() []clientv3.Op {
	ops := make([]clientv3.Op, len(p.ops))
	for i, o := range p.ops {
		if o.del {
			ops[i] = clientv3.OpDelete(o.key)
		} else {
			ops[i] = clientv3.OpPut(o.key, string(o.val))
		}
	}
	return ops
}

// commit runs the plan as one transaction.
func (s *Store) commit(ctx context.Context, what string, p *plan) (*clientv3.TxnResponse, error) {
	if p.size() > s.cfg.MaxTxnOps {
		return nil, fmt.Errorf("%s: %d operations in one transaction, more than max-txn-ops (%d)", what, p.size(), s.cfg.MaxTxnOps)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	resp, err := s.cli.Txn(ctx).If(p.cmps...).Then(p.etcdOps()...).Commit()
	if err != nil {
		return nil, etcdErr(what, 0, err)
	}
	return resp, nil
}

// write runs build until its transaction commits. build reads what it
// needs through r (one snapshot), checks it, and returns the plan; a failed
// compare means something it read changed before the write, so it runs
// again on fresh reads, where a stale ifRevision or a taken name then shows
// as a conflict. It returns the revision of the write.
func (s *Store) write(ctx context.Context, what string, build func(r *reader) (*plan, error)) (int64, error) {
	for attempt := 1; ; attempt++ {
		p, err := build(s.newReader(ctx, 0))
		if err != nil {
			return 0, err
		}
		resp, err := s.commit(ctx, what, p)
		if err != nil {
			return 0, err
		}
		if resp.Succeeded {
			return resp.Header.Revision, nil
		}
		if attempt == maxAttempts {
			return 0, conflictf("%s: the objects involved kept changing (%d attempts); try again", what, attempt)
		}
		s.log.Debug("write raced with another writer; retrying", "op", what, "attempt", attempt)
	}
}

// checkRevision refuses a conditional write on a stale revision.
func checkRevision(kind model.ObjectKind, name string, have, want int64) error {
	if want != 0 && have != want {
		return conflictf("%s %q is at revision %d, not %d: it changed since it was read; read it again and retry", kind, name, have, want)
	}
	return nil
}

// inUse builds the error for an object others refer to.
func (r *reader) inUse(target Ref, op string) error {
	refs, count, err := r.refs(target, maxInUseRefs)
	if err != nil {
		return err
	}
	if count == 0 {
		return nil
	}
	return &InUseError{Object: target, ReferencedBy: refs, More: count - len(refs), Op: op}
}
