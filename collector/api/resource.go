package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"github.com/unet-project/unet/collector/desired"
	"github.com/unet-project/unet/shared/model"
)

// resource is one collection of the desired state (locations, nodes...)
// served with the same CRUD handlers: the functions are the store's.
type resource[T any] struct {
	api  *API
	coll string // URL segment: "locations"
	// outputOnly are the fields of T besides Meta's that clients cannot set.
	outputOnly []string
	// sorts and filters are the accepted sort keys and list filters.
	sorts   []string
	filters []string

	get    func(ctx context.Context, ref string) (T, error)
	create func(ctx context.Context, v T) (T, error)
	update func(ctx context.Context, ref string, v T, ifRevision int64) (T, error)
	remove func(ctx context.Context, ref string, o desired.DeleteOptions) error
	// list reads the filters from q (already checked against filters).
	list func(ctx context.Context, q url.Values, o desired.ListOptions) (desired.ListResult[T], error)

	meta func(v *T) *model.Meta
	// key is what the Location header names the object by.
	key func(v *T) string
	// view is what clients see of an object (profiles: redacted).
	view func(v T) T
}

// patchAttempts bounds the re-reads of an unconditional PATCH that raced
// another writer.
const patchAttempts = 3

// page is a list answer.
type page[T any] struct {
	Items    []T    `json:"items"`
	Continue string `json:"continue"`
	Revision int64  `json:"revision"`
}

func (r *resource[T]) register(g *gin.RouterGroup) {
	g.GET("/"+r.coll, r.handleList)
	g.POST("/"+r.coll, r.handleCreate)
	g.GET("/"+r.coll+"/:ref", r.handleGet)
	g.PUT("/"+r.coll+"/:ref", r.handlePut)
	g.PATCH("/"+r.coll+"/:ref", r.handlePatch)
	g.DELETE("/"+r.coll+"/:ref", r.handleDelete)
}

// respond answers with the object, its ETag and status.
func (r *resource[T]) respond(c *gin.Context, status int, v T) {
	setETag(c, r.meta(&v).Revision)
	c.JSON(status, r.view(v))
}

func (r *resource[T]) handleList(c *gin.Context) {
	q := c.Request.URL.Query()
	if err := checkQuery(q, listParams(r.filters...)...); err != nil {
		r.api.writeError(c, err)
		return
	}
	o, err := r.api.listOptions(q, r.sorts)
	if err != nil {
		r.api.writeError(c, err)
		return
	}
	res, err := r.list(c.Request.Context(), q, o)
	if err != nil {
		r.api.writeError(c, queryError(err))
		return
	}
	items := make([]T, len(res.Items))
	for i, v := range res.Items {
		items[i] = r.view(v)
	}
	c.JSON(http.StatusOK, page[T]{Items: items, Continue: res.Continue, Revision: res.Revision})
}

func (r *resource[T]) handleGet(c *gin.Context) {
	if err := checkQuery(c.Request.URL.Query()); err != nil {
		r.api.writeError(c, err)
		return
	}
	v, err := r.get(c.Request.Context(), c.Param("ref"))
	if err != nil {
		r.api.writeError(c, err)
		return
	}
	r.respond(c, http.StatusOK, v)
}

// readObject reads a full object from the body, and the revision it names.
func (r *resource[T]) readObject(c *gin.Context) (T, int64, error) {
	var zero T
	body, err := readBody(c, r.api.cfg.MaxBodyBytes, mimeJSON)
	if err != nil {
		return zero, 0, err
	}
	doc, err := parseDocument(body)
	if err != nil {
		return zero, 0, err
	}
	rev, err := documentRevision(doc)
	if err != nil {
		return zero, 0, err
	}
	v, err := decodeObject[T](doc, r.outputOnly...)
	return v, rev, err
}

func (r *resource[T]) handleCreate(c *gin.Context) {
	v, _, err := r.readObject(c)
	if err != nil {
		r.api.writeError(c, err)
		return
	}
	created, err := r.create(c.Request.Context(), v)
	if err != nil {
		r.api.writeError(c, err)
		return
	}
	c.Header("Location", apiPrefix+"/"+r.coll+"/"+url.PathEscape(r.key(&created)))
	r.respond(c, http.StatusCreated, created)
}

func (r *resource[T]) handlePut(c *gin.Context) {
	v, bodyRev, err := r.readObject(c)
	if err != nil {
		r.api.writeError(c, err)
		return
	}
	rev, err := condition(c, bodyRev)
	if err != nil {
		r.api.writeError(c, err)
		return
	}
	updated, err := r.update(c.Request.Context(), c.Param("ref"), v, rev)
	if err != nil {
		r.api.writeError(c, err)
		return
	}
	r.respond(c, http.StatusOK, updated)
}

// handlePatch applies a JSON merge patch to the stored object (secrets
// included, so a patch that leaves them out keeps them) and writes the
// result, decoded as strictly as a PUT. Without If-Match (or a revision in
// the patch) the write is still a compare-and-swap on the revision read, retried
// when another writer got in between, so no concurrent update is lost.
func (r *resource[T]) handlePatch(c *gin.Context) {
	body, err := readBody(c, r.api.cfg.MaxBodyBytes, mimeMergePatch, mimeJSON)
	if err != nil {
		r.api.writeError(c, err)
		return
	}
	patch, err := parseDocument(body)
	if err != nil {
		r.api.writeError(c, err)
		return
	}
	// The patch is checked on its own first, so an unknown field is named
	// as the client wrote it.
	if p := unknownField(typeOf[T](), patch, ""); p != "" {
		r.api.writeError(c, badRequest("unknown field %q", p).withDetails(map[string]any{"field": p}))
		return
	}
	bodyRev, err := documentRevision(patch)
	if err != nil {
		r.api.writeError(c, err)
		return
	}
	rev, err := condition(c, bodyRev)
	if err != nil {
		r.api.writeError(c, err)
		return
	}
	ctx, ref := c.Request.Context(), c.Param("ref")
	cur, err := r.get(ctx, ref)
	if err != nil {
		r.api.writeError(c, err)
		return
	}
	for attempt := 1; ; attempt++ {
		updated, err := r.applyPatch(ctx, ref, cur, patch, rev)
		if err == nil {
			r.respond(c, http.StatusOK, updated)
			return
		}
		// Retry only when the object moved: a conflict on an object that
		// did not (a name already taken) is the answer.
		if rev == 0 && attempt < patchAttempts && errors.Is(err, desired.ErrConflict) {
			now, gerr := r.get(ctx, ref)
			if gerr == nil && r.meta(&now).Revision != r.meta(&cur).Revision {
				cur = now
				continue
			}
		}
		r.api.writeError(c, err)
		return
	}
}

// applyPatch merges patch into cur and writes the result, conditional on
// rev, or on cur's revision when rev is 0.
func (r *resource[T]) applyPatch(ctx context.Context, ref string, cur T, patch map[string]any, rev int64) (T, error) {
	var zero T
	doc, err := toDocument(cur)
	if err != nil {
		return zero, err
	}
	merged, _ := mergePatch(doc, patch).(map[string]any)
	v, err := decodeObject[T](merged, r.outputOnly...)
	if err != nil {
		return zero, err
	}
	if rev == 0 {
		rev = r.meta(&cur).Revision
	}
	return r.update(ctx, ref, v, rev)
}

func (r *resource[T]) handleDelete(c *gin.Context) {
	q := c.Request.URL.Query()
	if err := checkQuery(q, "cascade"); err != nil {
		r.api.writeError(c, err)
		return
	}
	cascade, err := queryBool(q, "cascade")
	if err != nil {
		r.api.writeError(c, err)
		return
	}
	rev, err := ifMatch(c)
	if err != nil {
		r.api.writeError(c, err)
		return
	}
	if err := r.remove(c.Request.Context(), c.Param("ref"), desired.DeleteOptions{IfRevision: rev, Cascade: cascade}); err != nil {
		r.api.writeError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
