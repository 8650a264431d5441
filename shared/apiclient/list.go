package apiclient

import (
	"context"
	"fmt"
	"iter"
	"net/url"
	"strconv"
)

// DefaultPageSize is the page size the All* and ListAll* calls ask for when
// ListOptions.Limit is zero.
const DefaultPageSize = 500

// ListOptions page and sort a list.
type ListOptions struct {
	// Limit is the page size; 0 lets the server decide (List*) or uses
	// DefaultPageSize (All*, ListAll*).
	Limit int
	// Continue is the token of the previous page.
	Continue string
	// Sort is a field name, "-" in front for descending: name, created_at,
	// updated_at, and per kind vendor, role, lifecycle, location, kind.
	Sort string
}

func (o ListOptions) query(q url.Values) url.Values {
	if q == nil {
		q = url.Values{}
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	setIf(q, "continue", o.Continue)
	setIf(q, "sort", o.Sort)
	return q
}

// Page is one page of a list.
type Page[T any] struct {
	Items []T `json:"items"`
	// Continue is the token of the next page; empty on the last one.
	Continue string `json:"continue"`
	// Revision is the store revision the whole list is read at.
	Revision int64 `json:"revision"`
}

func setIf(q url.Values, key, val string) {
	if val != "" {
		q.Set(key, val)
	}
}

// listPage fetches one page of coll.
func listPage[T any](ctx context.Context, c *Client, coll string, filter url.Values, o ListOptions) (Page[T], error) {
	var p Page[T]
	err := c.do(ctx, request{method: "GET", path: "/" + coll, query: o.query(filter)}, &p)
	return p, err
}

// listAll yields every object of coll, page after page. It stops at the
// first error, which it yields with a zero T.
func listAll[T any](ctx context.Context, c *Client, coll string, filter url.Values, o ListOptions) iter.Seq2[T, error] {
	if o.Limit <= 0 {
		o.Limit = DefaultPageSize
	}
	return func(yield func(T, error) bool) {
		seen := map[string]bool{}
		for {
			// Filters are re-sent with every page: the contract does not
			// promise that a continue token remembers them.
			p, err := listPage[T](ctx, c, coll, cloneValues(filter), o)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, it := range p.Items {
				if !yield(it, nil) {
					return
				}
			}
			if p.Continue == "" {
				return
			}
			if seen[p.Continue] {
				var zero T
				yield(zero, fmt.Errorf("listing %s: the collector returned continue token %q twice", coll, p.Continue))
				return
			}
			seen[p.Continue] = true
			o.Continue = p.Continue
		}
	}
}

// collect gathers a sequence into a slice, stopping at the first error.
func collect[T any](seq iter.Seq2[T, error]) ([]T, error) {
	out := []T{}
	for it, err := range seq {
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, nil
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
