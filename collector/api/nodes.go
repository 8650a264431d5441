package api

import (
	"context"
	"net/url"

	"github.com/unet-project/unet/collector/desired"
	"github.com/unet-project/unet/shared/model"
)

// nodeSorts are the sort keys of nodes.
func nodeSorts() []string {
	return []string{"name", "created_at", "updated_at", "vendor", "role", "lifecycle", "location", "snmp_profile"}
}

func (a *API) nodes() *resource[model.Node] {
	s := a.store
	return &resource[model.Node]{
		api:        a,
		coll:       "nodes",
		outputOnly: []string{"fqdn"},
		sorts:      nodeSorts(),
		filters:    []string{"location", "role", "vendor", "lifecycle", "tag", "name_prefix", "snmp_profile"},
		get:        s.GetNode,
		create:     s.CreateNode,
		update:     s.UpdateNode,
		remove:     s.DeleteNode,
		list: func(ctx context.Context, q url.Values, o desired.ListOptions) (desired.ListResult[model.Node], error) {
			f, err := nodeFilter(q)
			if err != nil {
				return desired.ListResult[model.Node]{}, err
			}
			return s.ListNodes(ctx, f, o)
		},
		meta: func(v *model.Node) *model.Meta { return &v.Meta },
		key:  func(v *model.Node) string { return v.Name },
		view: func(v model.Node) model.Node { return v },
	}
}

func nodeFilter(q url.Values) (desired.NodeFilter, error) {
	f := desired.NodeFilter{Location: q.Get("location"), Tag: q.Get("tag"), NamePrefix: q.Get("name_prefix"), SNMPProfile: q.Get("snmp_profile")}
	var err error
	if f.Role, err = queryEnum(q, "role", model.ParseRole, model.Roles()); err != nil {
		return f, err
	}
	if f.Vendor, err = queryEnum(q, "vendor", model.ParseVendor, model.Vendors()); err != nil {
		return f, err
	}
	if f.Lifecycle, err = queryEnum(q, "lifecycle", model.ParseLifecycle, model.Lifecycles()); err != nil {
		return f, err
	}
	return f, nil
}
