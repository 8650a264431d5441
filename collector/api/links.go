package api

import (
	"context"
	"net/url"

	"github.com/unet-project/unet/collector/desired"
	"github.com/unet-project/unet/shared/model"
)

// linkSorts are the sort keys of links: "a" is the A end; "id" (or "name")
// the key order.
func linkSorts() []string { return []string{"id", "name", "created_at", "updated_at", "a"} }

// links are addressed by id only: a link has no name.
func (a *API) links() *resource[model.Link] {
	s := a.store
	return &resource[model.Link]{
		api:     a,
		coll:    "links",
		sorts:   linkSorts(),
		filters: []string{"node"},
		get:     s.GetLink,
		create:  s.CreateLink,
		update:  s.UpdateLink,
		remove:  s.DeleteLink,
		list: func(ctx context.Context, q url.Values, o desired.ListOptions) (desired.ListResult[model.Link], error) {
			// The store sorts links by their key, the id, under "name".
			switch o.Sort {
			case "id":
				o.Sort = "name"
			case "-id":
				o.Sort = "-name"
			}
			return s.ListLinks(ctx, desired.LinkFilter{Node: q.Get("node")}, o)
		},
		meta: func(v *model.Link) *model.Meta { return &v.Meta },
		key:  func(v *model.Link) string { return v.ID },
		view: func(v model.Link) model.Link { return v },
	}
}
