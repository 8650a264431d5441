package api

import (
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/unet-project/unet/collector/desired"
	"github.com/unet-project/unet/shared/model"
)

// checkQuery refuses parameters that are not accepted, or given twice, so a
// typo ("?vendr=cisco") is an error instead of a silently unfiltered answer.
func checkQuery(q url.Values, accepted ...string) error {
	for _, k := range slices.Sorted(maps.Keys(q)) {
		if !slices.Contains(accepted, k) {
			if len(accepted) == 0 {
				return badRequest("unknown query parameter %q: this route takes none", k).withDetails(map[string]any{"param": k})
			}
			return badRequest("unknown query parameter %q (accepted: %s)", k, strings.Join(accepted, ", ")).
				withDetails(map[string]any{"param": k, "accepted": accepted})
		}
		if len(q[k]) > 1 {
			return badRequest("query parameter %q is given %d times; give it once", k, len(q[k])).withDetails(map[string]any{"param": k})
		}
	}
	return nil
}

// queryBool reads a boolean parameter (true/false/1/0, absent is false).
func queryBool(q url.Values, name string) (bool, error) {
	s := q.Get(name)
	if s == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, badRequest("query parameter %s=%q is not a boolean (accepted: true, false)", name, s).
			withDetails(map[string]any{"param": name, "accepted": []string{"true", "false"}})
	}
	return b, nil
}

// queryEnum reads an enum parameter with the model's parser; a value it
// refuses is a 400 naming the parameter and every accepted value.
func queryEnum[T ~string](q url.Values, name string, parse func(string) (T, error), accepted []T) (T, error) {
	s := q.Get(name)
	if s == "" {
		return "", nil
	}
	v, err := parse(s)
	if err != nil {
		return "", badRequest("query parameter %s: %v", name, err).
			withDetails(map[string]any{"param": name, "accepted": accepted})
	}
	return v, nil
}

// listOptions reads limit, continue and sort.
func (a *API) listOptions(q url.Values, sorts []string) (desired.ListOptions, error) {
	o := desired.ListOptions{Limit: a.cfg.DefaultListLimit, Continue: q.Get("continue")}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > a.cfg.MaxListLimit {
			return o, badRequest("query parameter limit=%q must be an integer between 1 and %d (0 or absent: %d)",
				s, a.cfg.MaxListLimit, a.cfg.DefaultListLimit).
				withDetails(map[string]any{"param": "limit", "max": a.cfg.MaxListLimit})
		}
		if n > 0 {
			o.Limit = n
		}
	}
	if s := q.Get("sort"); s != "" {
		if !slices.Contains(sorts, strings.TrimPrefix(s, "-")) {
			return o, badRequest("query parameter sort=%q: accepted: %s, each with an optional leading - for descending order",
				s, strings.Join(sorts, ", ")).
				withDetails(map[string]any{"param": "sort", "accepted": sorts})
		}
		o.Sort = s
	}
	return o, nil
}

// queryError turns the store's refusal of a list parameter (a continue
// token of another list, a within location that does not exist) into the
// 400 of a bad query parameter; other errors pass.
func queryError(err error) error {
	v, ok := model.AsValidationError(err)
	if !ok || len(v.Fields) == 0 {
		return err
	}
	f := v.Fields[0]
	return badRequest("query parameter %s: %s", f.Field, f.Reason).withDetails(map[string]any{"param": f.Field})
}

// listParams are the parameters every list accepts, and extra.
func listParams(extra ...string) []string {
	return append([]string{"limit", "continue", "sort"}, extra...)
}
