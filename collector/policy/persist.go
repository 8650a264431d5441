package policy

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// resultStore keeps the latest verdict of every (node, rule) in etcd:
//
//	<prefix><node>/<rule>   JSON Result (rule path-escaped: names may hold "/")
//
// Not-applicable verdicts have no key. Only verdicts that changed are
// written, in transactions of at most maxOps operations.
type resultStore struct {
	cli    *clientv3.Client
	prefix string
	maxOps int
	// persisted is the fingerprint of what etcd holds, by key; only the
	// evaluation goroutine (under evalMu) uses it.
	persisted map[string]string
}

func (s *resultStore) key(node, rule string) string {
	return s.prefix + url.PathEscape(node) + "/" + url.PathEscape(rule)
}

// loadStored reads the verdicts stored by a previous run: the API serves
// them until the first evaluation, and only what differs is written again.
func (e *Engine) loadStored(ctx context.Context) error {
	s := e.store
	resp, err := s.cli.Get(ctx, s.prefix, clientv3.WithPrefix())
	if err != nil {
		return fmt.Errorf("reading the stored verdicts under %s: %w", s.prefix, err)
	}
	results := map[string]map[string]*Result{}
	persisted := map[string]string{}
	for _, kv := range resp.Kvs {
		var r Result
		if err := json.Unmarshal(kv.Value, &r); err != nil || r.Node == "" || r.Rule == "" {
			// Written by something else, or damaged: the next persist
			// deletes it, since nothing in memory matches it.
			persisted[string(kv.Key)] = "?"
			continue
		}
		if results[r.Node] == nil {
			results[r.Node] = map[string]*Result{}
		}
		r.fp = r.fingerprint()
		results[r.Node][r.Rule] = &r
		persisted[string(kv.Key)] = r.fp
	}
	s.persisted = persisted
	e.mu.Lock()
	e.results = results
	e.mu.Unlock()
	e.log.Info("stored verdicts read", "verdicts", len(resp.Kvs), "prefix", s.prefix)
	return nil
}

// persist writes what differs between memory and etcd. A failed
// transaction leaves its keys as they were in persisted, so the next
// evaluation tries them again.
func (e *Engine) persist(ctx context.Context) {
	s := e.store
	type write struct {
		key, fp string
		val     []byte // nil: delete
	}
	var writes []write
	want := map[string]bool{}
	e.mu.RLock()
	for node, m := range e.results {
		for rule, r := range m {
			k := s.key(node, rule)
			want[k] = true
			fp := r.fp
			if s.persisted[k] == fp {
				continue
			}
			stored := *r
			stored.EvaluatedAt = stored.Since
			b, err := json.Marshal(stored)
			if err != nil {
				continue
			}
			writes = append(writes, write{k, fp, b})
		}
	}
	e.mu.RUnlock()
	for k := range s.persisted {
		if !want[k] {
			writes = append(writes, write{key: k})
		}
	}
	for i := 0; i < len(writes); i += s.maxOps {
		batch := writes[i:min(i+s.maxOps, len(writes))]
		ops := make([]clientv3.Op, len(batch))
		for j, w := range batch {
			if w.val == nil {
				ops[j] = clientv3.OpDelete(w.key)
			} else {
				ops[j] = clientv3.OpPut(w.key, string(w.val))
			}
		}
		if _, err := s.cli.Txn(ctx).Then(ops...).Commit(); err != nil {
			e.metrics.writeFailures.Inc()
			if ctx.Err() == nil {
				e.log.Warn("writing verdicts to etcd failed; retrying at the next evaluation", "verdicts", len(batch), "error", err)
			}
			continue
		}
		e.metrics.writes.Add(float64(len(batch)))
		for _, w := range batch {
			if w.val == nil {
				delete(s.persisted, w.key)
			} else {
				s.persisted[w.key] = w.fp
			}
		}
	}
}
