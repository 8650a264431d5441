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
}

func (e *InUseError) Error() string {
	refs := make([]string, len(e.ReferencedBy))
	for i, r := range e.ReferencedBy {
		refs[i] = r.String()
	}
	return fmt.Sprintf("%s is referenced by %s", e.Object, strings.Join(refs, ", "))
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
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{Prefix: "/unet/", RequestTimeout: 10 * time.Second, MaxTxnOps: 128}
}

// Store is the desired-state store. It is safe for concurrent use.
type Store struct {
	cli *clientv3.Client
	cfg Config
	log *slog.Logger
}

// New returns a store over an etcd client (embedded or external alike).
func New(cli *clientv3.Client, cfg Config, log *slog.Logger) *Store {
	return &Store{cli: cli, cfg: cfg, log: log}
}

// Ping checks that etcd answers (for /readyz).
func (s *Store) Ping(ctx context.Context) error { panic("unimplemented") }

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
	// Sort is a field name, "-" in front for descending: name (default),
	// created_at, updated_at, and per kind vendor, role, lifecycle, location, kind.
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

// Locations
func (s *Store) CreateLocation(ctx context.Context, l model.Location) (model.Location, error) {
	panic("unimplemented")
}
func (s *Store) GetLocation(ctx context.Context, ref string) (model.Location, error) {
	panic("unimplemented")
}

// UpdateLocation replaces the location ref with l (which may rename it).
// ifRevision != 0 makes it conditional on the stored revision.
func (s *Store) UpdateLocation(ctx context.Context, ref string, l model.Location, ifRevision int64) (model.Location, error) {
	panic("unimplemented")
}
func (s *Store) DeleteLocation(ctx context.Context, ref string, opt DeleteOptions) error {
	panic("unimplemented")
}
func (s *Store) ListLocations(ctx context.Context, f LocationFilter, o ListOptions) (ListResult[model.Location], error) {
	panic("unimplemented")
}

// LocationTree returns the whole hierarchy at one revision.
func (s *Store) LocationTree(ctx context.Context) (*model.LocationTree, error) {
	panic("unimplemented")
}

// SNMP profiles: returned with secrets; the API redacts.
func (s *Store) CreateSNMPProfile(ctx context.Context, p model.SNMPProfile) (model.SNMPProfile, error) {
	panic("unimplemented")
}
func (s *Store) GetSNMPProfile(ctx context.Context, ref string) (model.SNMPProfile, error) {
	panic("unimplemented")
}

// UpdateSNMPProfile replaces the profile; secrets left empty in p keep their stored values.
func (s *Store) UpdateSNMPProfile(ctx context.Context, ref string, p model.SNMPProfile, ifRevision int64) (model.SNMPProfile, error) {
	panic("unimplemented")
}
func (s *Store) DeleteSNMPProfile(ctx context.Context, ref string, opt DeleteOptions) error {
	panic("unimplemented")
}
func (s *Store) ListSNMPProfiles(ctx context.Context, o ListOptions) (ListResult[model.SNMPProfile], error) {
	panic("unimplemented")
}

// Nodes
func (s *Store) CreateNode(ctx context.Context, n model.Node) (model.Node, error) {
	panic("unimplemented")
}
func (s *Store) GetNode(ctx context.Context, ref string) (model.Node, error) {
	panic("unimplemented")
}
func (s *Store) UpdateNode(ctx context.Context, ref string, n model.Node, ifRevision int64) (model.Node, error) {
	panic("unimplemented")
}
func (s *Store) DeleteNode(ctx context.Context, ref string, opt DeleteOptions) error {
	panic("unimplemented")
}
func (s *Store) ListNodes(ctx context.Context, f NodeFilter, o ListOptions) (ListResult[model.Node], error) {
	panic("unimplemented")
}

// Links: ref is the link's id.
func (s *Store) CreateLink(ctx context.Context, l model.Link) (model.Link, error) {
	panic("unimplemented")
}
func (s *Store) GetLink(ctx context.Context, id string) (model.Link, error) {
	panic("unimplemented")
}
func (s *Store) UpdateLink(ctx context.Context, id string, l model.Link, ifRevision int64) (model.Link, error) {
	panic("unimplemented")
}
func (s *Store) DeleteLink(ctx context.Context, id string, opt DeleteOptions) error {
	panic("unimplemented")
}
func (s *Store) ListLinks(ctx context.Context, f LinkFilter, o ListOptions) (ListResult[model.Link], error) {
	panic("unimplemented")
}
