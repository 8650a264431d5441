package policy

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/unet-project/unet/collector/policy/abi"
)

// maxTxnBytes bounds one transaction of verdicts, below etcd's default
// --max-request-bytes (1.5 MiB).
const maxTxnBytes = 1 << 20

// persistChunk is how many verdicts are materialized under the engine's
// read lock at a time: the API and evaluations wait for no longer.
const persistChunk = 4096

// resultStore keeps the latest verdict of every (node, rule) in etcd:
//
//	<prefix><node>/<rule>   JSON Result (rule path-escaped: names may hold "/")
//
// Not-applicable verdicts have no key. Only verdicts that changed are
// written (Engine.dirty), by a goroutine of their own, in transactions of
// at most maxOps operations and maxBytes bytes.
type resultStore struct {
	cli      *clientv3.Client
	prefix   string
	maxOps   int
	maxBytes int
}

func (s *resultStore) key(node, rule string) string {
	return s.prefix + url.PathEscape(node) + "/" + url.PathEscape(rule)
}

// persistSoon wakes the persister.
func (e *Engine) persistSoon() {
	if e.store == nil {
		return
	}
	select {
	case e.persist <- struct{}{}:
	default: // already awake
	}
}

// loadStored reads the verdicts stored by a previous run: the API serves
// them until the first evaluation, and the evaluation writes only what
// differs from them.
func (e *Engine) loadStored(ctx context.Context) error {
	s := e.store
	resp, err := s.cli.Get(ctx, s.prefix, clientv3.WithPrefix())
	if err != nil {
		return fmt.Errorf("reading the stored verdicts under %s: %w", s.prefix, err)
	}
	results := map[string]*nodeVerdicts{}
	// Stored verdicts point at stand-ins of their rules until the first
	// evaluation replaces them; verdicts of one rule share one.
	stubs := map[string]*ruleInfo{}
	var deletes []string
	for _, kv := range resp.Kvs {
		var r Result
		if err := json.Unmarshal(kv.Value, &r); err != nil || r.Node == "" || r.Rule == "" || string(kv.Key) != s.key(r.Node, r.Rule) {
			deletes = append(deletes, string(kv.Key)) // damaged, or written by something else
			continue
		}
		id := fmt.Sprintf("%s\x00%s\x00%d\x00%s\x00%s\x00%s", r.Rule, r.Policy, r.Line, r.Action, r.Target, r.Template)
		ri := stubs[id]
		if ri == nil {
			// expSlot 0: the expected value is the entry's own.
			ri = &ruleInfo{Rule: abi.Rule{Name: r.Rule, Line: r.Line, Action: r.Action, Target: r.Target, Template: r.Template},
				policy: r.Policy, targetSlot: -1, expSlot: 0}
			stubs[id] = ri
		}
		nv := results[r.Node]
		if nv == nil {
			nv = &nodeVerdicts{site: r.Site, revision: r.NodeRevision}
			results[r.Node] = nv
		}
		if t := r.EvaluatedAt.UnixNano(); !r.EvaluatedAt.IsZero() && t > nv.evaluated {
			nv.evaluated = t
		}
		en := entry{rule: ri, status: verdictOf(r.Status), actual: r.Actual, expected: r.Expected}
		if en.status == abi.Error {
			en.errMsg = r.Message
		}
		if !r.Since.IsZero() {
			en.since = r.Since.UnixNano()
		}
		nv.entries = append(nv.entries, en)
	}
	for _, nv := range results {
		slices.SortFunc(nv.entries, func(a, b entry) int {
			switch {
			case a.rule.Name < b.rule.Name:
				return -1
			case a.rule.Name > b.rule.Name:
				return 1
			}
			return 0
		})
	}
	e.mu.Lock()
	e.results = results
	e.deletes = append(e.deletes, deletes...)
	e.mu.Unlock()
	if len(deletes) > 0 {
		e.persistSoon()
	}
	e.log.Info("stored verdicts read", "verdicts", len(resp.Kvs), "prefix", s.prefix)
	return nil
}

func verdictOf(s Status) abi.Verdict {
	switch s {
	case StatusCompliant:
		return abi.Compliant
	case StatusViolation:
		return abi.Violation
	case StatusNotApplicable:
		return abi.NotApplicable
	}
	return abi.Error
}

// persister writes the dirty verdicts whenever woken, until ctx ends; then
// it makes a last attempt, bounded in time.
func (e *Engine) persister(ctx context.Context) {
	for {
		select {
		case <-e.persist:
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := e.flush(fctx); err != nil {
				e.log.Warn("verdicts not written to etcd at shutdown; the next start writes them", "error", err)
			}
			return
		}
		if err := e.flush(ctx); err != nil && ctx.Err() == nil {
			e.metrics.writeFailures.Inc()
			e.log.Warn("writing verdicts to etcd failed; retrying", "error", err)
			if sleep(ctx, 2*time.Second) {
				e.persistSoon()
			}
		}
	}
}

// flush writes (or deletes) the dirty verdicts. What a failed transaction
// held is dirty again.
func (e *Engine) flush(ctx context.Context) error {
	s := e.store
	e.mu.Lock()
	dirty := e.dirty
	e.dirty = map[nodeRule]struct{}{}
	deletes := e.deletes
	e.deletes = nil
	e.mu.Unlock()
	if len(dirty) == 0 && len(deletes) == 0 {
		return nil
	}

	type write struct {
		nr  nodeRule
		key string
		val []byte // nil: delete
	}
	var batch []write
	batchBytes := 0
	commit := func() error {
		if len(batch) == 0 {
			return nil
		}
		ops := make([]clientv3.Op, len(batch))
		for i, w := range batch {
			if w.val == nil {
				ops[i] = clientv3.OpDelete(w.key)
			} else {
				ops[i] = clientv3.OpPut(w.key, string(w.val))
			}
		}
		_, err := s.cli.Txn(ctx).Then(ops...).Commit()
		if err == nil {
			e.metrics.writes.Add(float64(len(batch)))
			batch, batchBytes = batch[:0], 0
		}
		return err
	}
	// requeue marks everything not written dirty again.
	requeue := func(rest []nodeRule, err error) error {
		e.mu.Lock()
		for _, w := range batch {
			if w.nr.node == "" {
				e.deletes = append(e.deletes, w.key)
			} else {
				e.dirty[w.nr] = struct{}{}
			}
		}
		for _, nr := range rest {
			e.dirty[nr] = struct{}{}
		}
		e.mu.Unlock()
		return err
	}
	add := func(w write) error {
		size := len(w.key) + len(w.val) + 64
		if len(batch) > 0 && (len(batch) >= s.maxOps || batchBytes+size > s.maxBytes) {
			if err := commit(); err != nil {
				return err
			}
		}
		batch = append(batch, w)
		batchBytes += size
		return nil
	}
	for i, k := range deletes {
		if err := add(write{key: k}); err != nil {
			e.mu.Lock()
			e.deletes = append(e.deletes, deletes[i:]...)
			e.mu.Unlock()
			return requeue(slices.Collect(maps.Keys(dirty)), err)
		}
	}
	keys := slices.Collect(maps.Keys(dirty))
	for start := 0; start < len(keys); start += persistChunk {
		chunk := keys[start:min(start+persistChunk, len(keys))]
		results := make([]*Result, len(chunk))
		e.mu.RLock()
		for i, nr := range chunk {
			if nv := e.results[nr.node]; nv != nil {
				if en := nv.find(nr.rule); en != nil {
					r := en.result(nr.node, nv)
					r.EvaluatedAt = r.Since // stored: when the verdict was found
					results[i] = &r
				}
			}
		}
		e.mu.RUnlock()
		for i, nr := range chunk {
			w := write{nr: nr, key: s.key(nr.node, nr.rule)}
			if results[i] != nil {
				b, err := json.Marshal(results[i])
				if err != nil {
					e.log.Error("verdict not encodable; not stored", "node", nr.node, "rule", nr.rule, "error", err)
					continue
				}
				w.val = b
			}
			if err := add(w); err != nil {
				return requeue(keys[start+i:], err)
			}
		}
	}
	if err := commit(); err != nil {
		return requeue(nil, err)
	}
	return nil
}
