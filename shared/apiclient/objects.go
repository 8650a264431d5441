package apiclient

import (
	"context"
	"iter"
	"net/url"

	"github.com/unet-project/unet/shared/model"
)

// Collections of the API.
const (
	collLocations    = "locations"
	collSNMPProfiles = "snmp-profiles"
	collNodes        = "nodes"
	collLinks        = "links"
)

// mergePatchType is the media type of an RFC 7396 JSON merge patch.
const mergePatchType = "application/merge-patch+json"

// The generic calls below implement the routes that every collection has;
// the typed methods further down only name the collection and the type.

func create[T any](ctx context.Context, c *Client, coll string, obj T) (T, error) {
	var out T
	body, err := jsonBody(obj)
	if err != nil {
		return out, err
	}
	err = c.do(ctx, request{method: "POST", path: "/" + coll, body: body, ctype: "application/json"}, &out)
	return out, err
}

func get[T any](ctx context.Context, c *Client, coll, ref string) (T, error) {
	var out T
	err := c.do(ctx, request{method: "GET", path: objectPath(coll, ref)}, &out)
	return out, err
}

func update[T any](ctx context.Context, c *Client, coll, ref string, obj T, ifRevision int64) (T, error) {
	var out T
	body, err := jsonBody(obj)
	if err != nil {
		return out, err
	}
	err = c.do(ctx, request{method: "PUT", path: objectPath(coll, ref), body: body, ctype: "application/json", ifMatch: ifRevision}, &out)
	return out, err
}

func patch[T any](ctx context.Context, c *Client, coll, ref string, p map[string]any, ifRevision int64) (T, error) {
	var out T
	body, err := jsonBody(p)
	if err != nil {
		return out, err
	}
	err = c.do(ctx, request{method: "PATCH", path: objectPath(coll, ref), body: body, ctype: mergePatchType, ifMatch: ifRevision}, &out)
	return out, err
}

func remove(ctx context.Context, c *Client, coll, ref string, cascade bool, ifRevision int64) error {
	var q url.Values
	if cascade {
		q = url.Values{"cascade": {"true"}}
	}
	return c.do(ctx, request{method: "DELETE", path: objectPath(coll, ref), query: q, ifMatch: ifRevision}, nil)
}

// ---- Locations

// LocationFilter selects locations; empty fields match everything.
type LocationFilter struct {
	Within     string // this location and its subtree
	Kind       model.LocationKind
	NamePrefix string
}

func (f LocationFilter) values() url.Values {
	q := url.Values{}
	setIf(q, "within", f.Within)
	setIf(q, "kind", string(f.Kind))
	setIf(q, "name_prefix", f.NamePrefix)
	return q
}

// CreateLocation creates l and returns it as stored.
func (c *Client) CreateLocation(ctx context.Context, l model.Location) (model.Location, error) {
	return create(ctx, c, collLocations, l)
}

// GetLocation returns the location ref (its name or id).
func (c *Client) GetLocation(ctx context.Context, ref string) (model.Location, error) {
	return get[model.Location](ctx, c, collLocations, ref)
}

// ListLocations returns one page of locations.
func (c *Client) ListLocations(ctx context.Context, f LocationFilter, o ListOptions) (Page[model.Location], error) {
	return listPage[model.Location](ctx, c, collLocations, f.values(), o)
}

// AllLocations yields every matching location, following continue tokens.
func (c *Client) AllLocations(ctx context.Context, f LocationFilter, o ListOptions) iter.Seq2[model.Location, error] {
	return listAll[model.Location](ctx, c, collLocations, f.values(), o)
}

// ListAllLocations returns every matching location.
func (c *Client) ListAllLocations(ctx context.Context, f LocationFilter, o ListOptions) ([]model.Location, error) {
	return collect(c.AllLocations(ctx, f, o))
}

// UpdateLocation replaces the location ref with l (which may rename it);
// ifRevision != 0 makes it conditional (409 conflict when stale).
func (c *Client) UpdateLocation(ctx context.Context, ref string, l model.Location, ifRevision int64) (model.Location, error) {
	return update(ctx, c, collLocations, ref, l, ifRevision)
}

// PatchLocation applies a JSON merge patch (RFC 7396) to the location ref.
func (c *Client) PatchLocation(ctx context.Context, ref string, p map[string]any, ifRevision int64) (model.Location, error) {
	return patch[model.Location](ctx, c, collLocations, ref, p, ifRevision)
}

// DeleteLocation deletes the location ref; cascade also deletes its child
// locations and their nodes instead of refusing with in_use.
func (c *Client) DeleteLocation(ctx context.Context, ref string, cascade bool, ifRevision int64) error {
	return remove(ctx, c, collLocations, ref, cascade, ifRevision)
}

// LocationTree returns the hierarchy under the location ref, or every root
// with its subtree when ref is "".
func (c *Client) LocationTree(ctx context.Context, ref string) ([]model.TreeNode, error) {
	if ref == "" {
		out := []model.TreeNode{}
		err := c.do(ctx, request{method: "GET", path: "/location-tree"}, &out)
		return out, err
	}
	var t model.TreeNode
	if err := c.do(ctx, request{method: "GET", path: objectPath(collLocations, ref) + "/tree"}, &t); err != nil {
		return nil, err
	}
	return []model.TreeNode{t}, nil
}

// ---- SNMP profiles (always returned without their secrets)

// CreateSNMPProfile creates p; the answer names the secrets set in SecretsSet.
func (c *Client) CreateSNMPProfile(ctx context.Context, p model.SNMPProfile) (model.SNMPProfile, error) {
	return create(ctx, c, collSNMPProfiles, p)
}

// GetSNMPProfile returns the profile ref (its name or id), redacted.
func (c *Client) GetSNMPProfile(ctx context.Context, ref string) (model.SNMPProfile, error) {
	return get[model.SNMPProfile](ctx, c, collSNMPProfiles, ref)
}

// ListSNMPProfiles returns one page of profiles.
func (c *Client) ListSNMPProfiles(ctx context.Context, o ListOptions) (Page[model.SNMPProfile], error) {
	return listPage[model.SNMPProfile](ctx, c, collSNMPProfiles, nil, o)
}

// AllSNMPProfiles yields every profile, following continue tokens.
func (c *Client) AllSNMPProfiles(ctx context.Context, o ListOptions) iter.Seq2[model.SNMPProfile, error] {
	return listAll[model.SNMPProfile](ctx, c, collSNMPProfiles, nil, o)
}

// ListAllSNMPProfiles returns every profile.
func (c *Client) ListAllSNMPProfiles(ctx context.Context, o ListOptions) ([]model.SNMPProfile, error) {
	return collect(c.AllSNMPProfiles(ctx, o))
}

// UpdateSNMPProfile replaces the profile ref; secrets left empty keep their
// stored values.
func (c *Client) UpdateSNMPProfile(ctx context.Context, ref string, p model.SNMPProfile, ifRevision int64) (model.SNMPProfile, error) {
	return update(ctx, c, collSNMPProfiles, ref, p, ifRevision)
}

// PatchSNMPProfile applies a JSON merge patch to the profile ref.
func (c *Client) PatchSNMPProfile(ctx context.Context, ref string, p map[string]any, ifRevision int64) (model.SNMPProfile, error) {
	return patch[model.SNMPProfile](ctx, c, collSNMPProfiles, ref, p, ifRevision)
}

// DeleteSNMPProfile deletes the profile ref (refused with in_use while nodes
// use it: profiles never cascade).
func (c *Client) DeleteSNMPProfile(ctx context.Context, ref string, ifRevision int64) error {
	return remove(ctx, c, collSNMPProfiles, ref, false, ifRevision)
}

// ---- Nodes

// NodeFilter selects nodes; empty fields match everything.
type NodeFilter struct {
	Location    string // this location's subtree
	Role        model.Role
	Vendor      model.Vendor
	Lifecycle   model.Lifecycle
	Tag         string
	NamePrefix  string
	SNMPProfile string
}

func (f NodeFilter) values() url.Values {
	q := url.Values{}
	setIf(q, "location", f.Location)
	setIf(q, "role", string(f.Role))
	setIf(q, "vendor", string(f.Vendor))
	setIf(q, "lifecycle", string(f.Lifecycle))
	setIf(q, "tag", f.Tag)
	setIf(q, "name_prefix", f.NamePrefix)
	setIf(q, "snmp_profile", f.SNMPProfile)
	return q
}

// CreateNode creates n and returns it as stored (defaults filled).
func (c *Client) CreateNode(ctx context.Context, n model.Node) (model.Node, error) {
	return create(ctx, c, collNodes, n)
}

// GetNode returns the node ref (its name or id).
func (c *Client) GetNode(ctx context.Context, ref string) (model.Node, error) {
	return get[model.Node](ctx, c, collNodes, ref)
}

// ListNodes returns one page of nodes.
func (c *Client) ListNodes(ctx context.Context, f NodeFilter, o ListOptions) (Page[model.Node], error) {
	return listPage[model.Node](ctx, c, collNodes, f.values(), o)
}

// AllNodes yields every matching node, following continue tokens.
func (c *Client) AllNodes(ctx context.Context, f NodeFilter, o ListOptions) iter.Seq2[model.Node, error] {
	return listAll[model.Node](ctx, c, collNodes, f.values(), o)
}

// ListAllNodes returns every matching node.
func (c *Client) ListAllNodes(ctx context.Context, f NodeFilter, o ListOptions) ([]model.Node, error) {
	return collect(c.AllNodes(ctx, f, o))
}

// UpdateNode replaces the node ref with n; ifRevision != 0 makes it
// conditional (409 conflict when stale).
func (c *Client) UpdateNode(ctx context.Context, ref string, n model.Node, ifRevision int64) (model.Node, error) {
	return update(ctx, c, collNodes, ref, n, ifRevision)
}

// PatchNode applies a JSON merge patch to the node ref: keys set replace,
// null removes, nested objects (custom_data) merge.
func (c *Client) PatchNode(ctx context.Context, ref string, p map[string]any, ifRevision int64) (model.Node, error) {
	return patch[model.Node](ctx, c, collNodes, ref, p, ifRevision)
}

// DeleteNode deletes the node ref; cascade also deletes its links instead
// of refusing with in_use.
func (c *Client) DeleteNode(ctx context.Context, ref string, cascade bool, ifRevision int64) error {
	return remove(ctx, c, collNodes, ref, cascade, ifRevision)
}

// ---- Links (addressed by id)

// LinkFilter selects links.
type LinkFilter struct {
	Node string // links with an end on this node
}

func (f LinkFilter) values() url.Values {
	q := url.Values{}
	setIf(q, "node", f.Node)
	return q
}

// CreateLink creates l; the answer carries its id.
func (c *Client) CreateLink(ctx context.Context, l model.Link) (model.Link, error) {
	return create(ctx, c, collLinks, l)
}

// GetLink returns the link with this id.
func (c *Client) GetLink(ctx context.Context, id string) (model.Link, error) {
	return get[model.Link](ctx, c, collLinks, id)
}

// ListLinks returns one page of links.
func (c *Client) ListLinks(ctx context.Context, f LinkFilter, o ListOptions) (Page[model.Link], error) {
	return listPage[model.Link](ctx, c, collLinks, f.values(), o)
}

// AllLinks yields every matching link, following continue tokens.
func (c *Client) AllLinks(ctx context.Context, f LinkFilter, o ListOptions) iter.Seq2[model.Link, error] {
	return listAll[model.Link](ctx, c, collLinks, f.values(), o)
}

// ListAllLinks returns every matching link.
func (c *Client) ListAllLinks(ctx context.Context, f LinkFilter, o ListOptions) ([]model.Link, error) {
	return collect(c.AllLinks(ctx, f, o))
}

// UpdateLink replaces the link id with l.
func (c *Client) UpdateLink(ctx context.Context, id string, l model.Link, ifRevision int64) (model.Link, error) {
	return update(ctx, c, collLinks, id, l, ifRevision)
}

// PatchLink applies a JSON merge patch to the link id.
func (c *Client) PatchLink(ctx context.Context, id string, p map[string]any, ifRevision int64) (model.Link, error) {
	return patch[model.Link](ctx, c, collLinks, id, p, ifRevision)
}

// DeleteLink deletes the link id.
func (c *Client) DeleteLink(ctx context.Context, id string, ifRevision int64) error {
	return remove(ctx, c, collLinks, id, false, ifRevision)
}
