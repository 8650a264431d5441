// Package desired keeps the desired state of the network (locations, SNMP
// profiles, nodes, links) in etcd: one key per object under a prefix, JSON
// values, every write a transaction that compares the mod revisions of the
// object and of everything it refers to, so concurrent writers can never
// leave a dangling reference or lose an update.
//
// Key layout under Config.Prefix (default "/unet/"):
//
//	location/<name>                 JSON model.Location
//	snmp-profile/<name>             JSON model.SNMPProfile (secrets included)
//	node/<name>                     JSON model.Node
//	link/<id>                       JSON model.Link
//	id/<uuid>                       "<kind>/<key>": lookup by id
//	ref/<kind>/<name>/<kind>/<key>  "" : reverse references (who uses what)
//	iface/<node>/<interface>        link id: one link per interface
//
// Objects are addressed by name (links by id); every object also has a
// stable UUID, and the getters accept either.
package desired

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/unet-project/unet/shared/model"
)

// Errors the store returns, wrapped with the object concerned. The API maps
// them to HTTP statuses: ErrNotFound 404, ErrConflict 409, ErrInUse 409,
// *model.ValidationError 422.
var (
	ErrNotFound = errors.New("not found")
	// ErrConflict: stale revision, name already taken, interface already linked.
	ErrConflict = errors.New("conflict")
	// ErrInUse: the object is referenced and the operation was not cascaded.
	ErrInUse = errors.New("in use")
)

// Ref names one stored object.
type Ref struct {
	Kind model.ObjectKind `json:"kind"`
	Name string           `json:"name"` // a link's id
}

func (r Ref) String() string { return string(r.Kind) + " " + r.Name }

// InUseError lists the objects that still refer to the one being deleted or
// renamed. It matches ErrInUse with errors.Is.
type InUseError struct {
	Object       Ref
	ReferencedBy []Ref
	// More counts the referencing objects left out of ReferencedBy, which
	// lists at most maxInUseRefs of them.
	More int
	// Op is what was refused: "delete" (when empty) or "rename".
	Op string
}

func (e *InUseError) Error() string {
	refs := make([]string, len(e.ReferencedBy))
	for i, r := range e.ReferencedBy {
		refs[i] = r.String()
	}
	op := e.Op
	if op == "" {
		op = "delete"
	}
	msg := fmt.Sprintf("cannot %s %s: it is referenced by %s", op, e.Object, strings.Join(refs, ", "))
	if e.More > 0 {
		msg += fmt.Sprintf(" and %d more", e.More)
	}
	switch {
	case op == "rename":
		msg += " (only an object nothing refers to can be renamed)"
	case e.Object.Kind == model.ObjectSNMPProfile:
		msg += " (move those nodes to another profile first)"
	default:
		msg += " (delete or move them first, or delete with cascade)"
	}
	return msg
}

func (e *InUseError) Is(target error) bool { return target == ErrInUse }

// Config of the store.
type Config struct {
	// Prefix of every key; lets several μNet installations share a cluster.
	Prefix string `yaml:"prefix"`
	// RequestTimeout bounds each etcd request.
	RequestTimeout time.Duration `yaml:"request-timeout"`
	// MaxTxnOps is the most operations the etcd server accepts in one
	// transaction (its --max-txn-ops, 128 by default). Bulk imports are cut
	// into transactions of at most this size.
	MaxTxnOps int `yaml:"max-txn-ops"`
	// MaxTxnBytes bounds the size of one transaction request: keep it below
	// the server's --max-request-bytes (1.5 MiB by default) and the client's
	// MaxCallSendMsgSize (2 MiB by default).
	MaxTxnBytes int `yaml:"max-txn-bytes"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{Prefix: "/unet/", RequestTimeout: 10 * time.Second, MaxTxnOps: 128, MaxTxnBytes: 1 << 20}
}

// Store is the desired-state store. It is safe for concurrent use.
type Store struct {
	cli *clientv3.Client
	cfg Config
	log *slog.Logger
}

// New returns a store over an etcd client (embedded or external alike).
// Zero fields of cfg take their defaults; the prefix always ends in "/".
func New(cli *clientv3.Client, cfg Config, log *slog.Logger) *Store {
	d := DefaultConfig()
	if cfg.Prefix == "" {
		cfg.Prefix = d.Prefix
	}
	if !strings.HasSuffix(cfg.Prefix, "/") {
		cfg.Prefix += "/"
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = d.RequestTimeout
	}
	if cfg.MaxTxnOps <= 0 {
		cfg.MaxTxnOps = d.MaxTxnOps
	}
	// A cascade of one link already takes 7 operations; below this nothing works.
	cfg.MaxTxnOps = max(cfg.MaxTxnOps, minTxnOps)
	if cfg.MaxTxnBytes <= 0 {
		cfg.MaxTxnBytes = d.MaxTxnBytes
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Store{cli: cli, cfg: cfg, log: log}
}

// Ping checks that etcd answers (for /readyz): a linearizable read of one
// key, which needs a leader and a quorum.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, min(s.cfg.RequestTimeout, 3*time.Second))
	defer cancel()
	if _, err := s.cli.Get(ctx, s.cfg.Prefix, clientv3.WithKeysOnly()); err != nil {
		return fmt.Errorf("etcd does not answer: %w", err)
	}
	return nil
}

// DeleteOptions tune a delete.
type DeleteOptions struct {
	// IfRevision, when non-zero, makes the delete fail with ErrConflict
	// unless the object is still at that revision.
	IfRevision int64
	// Cascade deletes what refers to the object instead of refusing:
	// a location's child locations and nodes, a node's links. SNMP profiles
	// never cascade (deleting nodes because a profile went away is never
	// what anyone means).
	Cascade bool
}

// ListOptions page and sort a list.
type ListOptions struct {
	// Limit is the page size; 0 means everything.
	Limit int
	// Continue is the token of the previous page's ListResult.
	Continue string
	// Sort is a field name, "-" in front for descending: name (default;
	// links: their id, also "id"), created_at, updated_at, and per kind:
	// locations kind (hierarchy level), parent; nodes vendor, role,
	// lifecycle (stage order), location, snmp_profile; SNMP profiles
	// version; links a (the A end). Ties go by name. Name order pages by
	// key; the others sort the whole (filtered) list and page by offset.
	Sort string
}

// ListResult is one page of a list.
type ListResult[T any] struct {
	Items []T
	// Continue is empty on the last page.
	Continue string
	// Revision is the etcd revision the whole list (every page) is read at.
	Revision int64
}

// LocationFilter selects locations.
type LocationFilter struct {
	Within     string // subtree of this location (it included)
	Kind       model.LocationKind
	NamePrefix string
}

// NodeFilter selects nodes; empty fields match everything.
type NodeFilter struct {
	Location    string // the location's subtree
	Role        model.Role
	Vendor      model.Vendor
	Lifecycle   model.Lifecycle
	Tag         string
	NamePrefix  string
	SNMPProfile string
}

// LinkFilter selects links.
type LinkFilter struct {
	Node string // links with an end on this node
}
