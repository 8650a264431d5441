package api

import (
	"context"
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"github.com/unet-project/unet/collector/desired"
	"github.com/unet-project/unet/shared/model"
)

// locationSorts are the sort keys of locations.
func locationSorts() []string { return []string{"name", "created_at", "updated_at", "kind", "parent"} }

func (a *API) locations() *resource[model.Location] {
	s := a.store
	return &resource[model.Location]{
		api:     a,
		coll:    "locations",
		sorts:   locationSorts(),
		filters: []string{"within", "kind", "name_prefix"},
		get:     s.GetLocation,
		create:  s.CreateLocation,
		update:  s.UpdateLocation,
		remove:  s.DeleteLocation,
		list: func(ctx context.Context, q url.Values, o desired.ListOptions) (desired.ListResult[model.Location], error) {
			kind, err := queryEnum(q, "kind", model.ParseLocationKind, model.LocationKinds())
			if err != nil {
				return desired.ListResult[model.Location]{}, err
			}
			f := desired.LocationFilter{Within: q.Get("within"), Kind: kind, NamePrefix: q.Get("name_prefix")}
			return s.ListLocations(ctx, f, o)
		},
		meta: func(v *model.Location) *model.Meta { return &v.Meta },
		key:  func(v *model.Location) string { return v.Name },
		view: func(v model.Location) model.Location { return v },
	}
}

// handleSubtree answers GET /locations/{ref}/tree: the location and
// everything below it.
func (a *API) handleSubtree(c *gin.Context) {
	if err := checkQuery(c.Request.URL.Query()); err != nil {
		a.writeError(c, err)
		return
	}
	ctx := c.Request.Context()
	loc, err := a.store.GetLocation(ctx, c.Param("ref"))
	if err != nil {
		a.writeError(c, err)
		return
	}
	tree, err := a.store.LocationTree(ctx)
	if err != nil {
		a.writeError(c, err)
		return
	}
	nodes := tree.Tree(loc.Name)
	if len(nodes) == 0 {
		// Deleted between the two reads.
		a.writeError(c, newError(http.StatusNotFound, codeNotFound, "location %q: not found", loc.Name))
		return
	}
	c.JSON(http.StatusOK, nodes[0])
}

// handleTree answers GET /location-tree: every root with its subtree.
func (a *API) handleTree(c *gin.Context) {
	if err := checkQuery(c.Request.URL.Query()); err != nil {
		a.writeError(c, err)
		return
	}
	tree, err := a.store.LocationTree(c.Request.Context())
	if err != nil {
		a.writeError(c, err)
		return
	}
	roots := tree.Tree("")
	if roots == nil {
		roots = []model.TreeNode{}
	}
	c.JSON(http.StatusOK, roots)
}
