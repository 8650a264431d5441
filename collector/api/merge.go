package api

import "maps"

// mergePatch applies an RFC 7396 JSON merge patch to target and returns the
// result; target is not modified. A null in the patch removes the member, an
// object merges member by member, anything else replaces.
func mergePatch(target, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	t, ok := target.(map[string]any)
	if ok {
		t = maps.Clone(t)
	} else {
		t = map[string]any{}
	}
	for k, v := range p {
		if v == nil {
			delete(t, k)
			continue
		}
		t[k] = mergePatch(t[k], v)
	}
	return t
}
