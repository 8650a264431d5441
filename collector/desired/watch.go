package desired

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/unet-project/unet/shared/model"
)

// EventType says whether an object was written or deleted.
type EventType string

const (
	EventPut    EventType = "put"
	EventDelete EventType = "delete"
)

// Event is one change of one object.
type Event struct {
	Kind model.ObjectKind `json:"kind"`
	Name string           `json:"name"` // a link's id
	Type EventType        `json:"type"`
	// Revision is the etcd revision of the change.
	Revision int64 `json:"revision"`
	// Value is the object's JSON (with its revision) after a put; SNMP
	// profiles come with their secrets: redact before passing them on.
	Value json.RawMessage `json:"value,omitempty"`
	// Err ends the stream: the events from the requested revision are gone
	// (it wraps ErrConflict: resync from a fresh list) or the watch failed.
	Err error `json:"-"`
}

// Watch streams the changes of every object after fromRevision (0: from
// now on; N: every change at revision N and later), in revision order. The
// channel closes when ctx ends or after an event carrying Err. Index keys
// give no events.
func (s *Store) Watch(ctx context.Context, fromRevision int64) <-chan Event {
	ch := make(chan Event, 64)
	go func() {
		defer close(ch)
		send := func(ev Event) bool {
			select {
			case ch <- ev:
				return true
			case <-ctx.Done():
				return false
			}
		}
		wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
		defer cancel()
		opts := []clientv3.OpOption{clientv3.WithPrefix()}
		if fromRevision > 0 {
			opts = append(opts, clientv3.WithRev(fromRevision))
		}
		for resp := range s.cli.Watch(wctx, s.cfg.Prefix, opts...) {
			if resp.CompactRevision != 0 {
				send(Event{Err: conflictf("watch from revision %d: revision compacted (the oldest kept is %d); resync from a fresh list", fromRevision, resp.CompactRevision)})
				return
			}
			if err := resp.Err(); err != nil {
				if ctx.Err() == nil {
					send(Event{Err: fmt.Errorf("watch: %w", err)})
				}
				return
			}
			for _, e := range resp.Events {
				kind, name, ok := s.parseObjectKey(string(e.Kv.Key))
				if !ok {
					continue
				}
				ev := Event{Kind: kind, Name: name, Revision: e.Kv.ModRevision, Type: EventPut}
				if e.Type == clientv3.EventTypeDelete {
					ev.Type = EventDelete
				} else {
					ev.Value = withRevision(e.Kv.Value, e.Kv.ModRevision)
				}
				if !send(ev) {
					return
				}
			}
		}
		if ctx.Err() == nil {
			send(Event{Err: fmt.Errorf("watch ended: the etcd client was closed")})
		}
	}()
	return ch
}

// withRevision adds the revision to a stored object's JSON, which is
// stored without it.
func withRevision(val []byte, rev int64) json.RawMessage {
	if len(val) < 2 || val[0] != '{' {
		return json.RawMessage(val)
	}
	out := make([]byte, 0, len(val)+32)
	out = append(out, `{"revision":`...)
	out = strconv.AppendInt(out, rev, 10)
	if val[1] != '}' {
		out = append(out, ',')
	}
	return append(out, val[1:]...)
}
