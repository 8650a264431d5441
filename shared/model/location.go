package model

import (
	"fmt"
	"slices"
	"strings"
)

// Location is a place in the hierarchy region › … › site › … › rack. Parent
// refers to another location by name; the root has none.
type Location struct {
	Meta
	Name        string       `json:"name"`
	Kind        LocationKind `json:"kind"`
	Parent      string       `json:"parent,omitempty"`
	Description string       `json:"description,omitempty"`
}

// Validate checks the location on its own; references (parent exists, no
// cycle) are checked against the whole set by LocationTree.
func (l *Location) Validate() error {
	var v ValidationError
	checkName(&v, "name", l.Name)
	if l.Kind == "" {
		v.add("kind", "is required")
	} else {
		_, err := ParseLocationKind(string(l.Kind))
		v.addErr("kind", err)
	}
	checkRef(&v, "parent", l.Parent)
	if l.Parent != "" && l.Parent == l.Name {
		v.add("parent", "a location cannot be its own parent")
	}
	checkText(&v, "description", l.Description)
	return v.err()
}

// LocationTree indexes a set of locations by name and answers hierarchy
// questions. It is immutable once built.
type LocationTree struct {
	byName   map[string]*Location
	children map[string][]string // parent name → child names, sorted
}

// NewLocationTree builds a tree and refuses a set with a dangling parent or a
// cycle, naming the locations involved.
func NewLocationTree(locs []Location) (*LocationTree, error) {
	t := &LocationTree{byName: make(map[string]*Location, len(locs)), children: map[string][]string{}}
	for i := range locs {
		l := &locs[i]
		if _, dup := t.byName[l.Name]; dup {
			return nil, Invalid("name", fmt.Sprintf("location %q is defined twice", l.Name))
		}
		t.byName[l.Name] = l
	}
	for _, l := range t.byName {
		if l.Parent == "" {
			continue
		}
		if _, ok := t.byName[l.Parent]; !ok {
			return nil, Invalid("parent", fmt.Sprintf("location %q: parent %q does not exist", l.Name, l.Parent))
		}
		t.children[l.Parent] = append(t.children[l.Parent], l.Name)
	}
	for _, c := range t.children {
		slices.Sort(c)
	}
	for name := range t.byName {
		if cycle := t.cycleFrom(name); cycle != nil {
			return nil, Invalid("parent", "cycle in the location hierarchy: "+strings.Join(cycle, " → "))
		}
	}
	return t, nil
}

// cycleFrom follows parents from name and returns the cycle it runs into, if any.
func (t *LocationTree) cycleFrom(name string) []string {
	seen := map[string]int{}
	var path []string
	for cur := name; cur != ""; cur = t.byName[cur].Parent {
		if i, ok := seen[cur]; ok {
			return append(path[i:], cur)
		}
		seen[cur] = len(path)
		path = append(path, cur)
	}
	return nil
}

// Get returns the location called name.
func (t *LocationTree) Get(name string) (Location, bool) {
	l, ok := t.byName[name]
	if !ok {
		return Location{}, false
	}
	return *l, true
}

// Len is the number of locations in the tree.
func (t *LocationTree) Len() int { return len(t.byName) }

// Ancestors returns the location's ancestors, nearest first.
func (t *LocationTree) Ancestors(name string) []Location {
	var out []Location
	l, ok := t.byName[name]
	for ok && l.Parent != "" {
		l = t.byName[l.Parent]
		out = append(out, *l)
	}
	return out
}

// Descendants returns every location below name, depth first, children in
// name order. The location itself is not included.
func (t *LocationTree) Descendants(name string) []Location {
	var out []Location
	var walk func(string)
	walk = func(n string) {
		for _, c := range t.children[n] {
			out = append(out, *t.byName[c])
			walk(c)
		}
	}
	walk(name)
	return out
}

// Subtree returns the names of name and all its descendants, for filters.
func (t *LocationTree) Subtree(name string) map[string]bool {
	set := map[string]bool{}
	if _, ok := t.byName[name]; !ok {
		return set
	}
	set[name] = true
	for _, d := range t.Descendants(name) {
		set[d.Name] = true
	}
	return set
}

// Path is the names from the root down to the location, joined by "/".
func (t *LocationTree) Path(name string) string {
	if _, ok := t.byName[name]; !ok {
		return ""
	}
	anc := t.Ancestors(name)
	parts := make([]string, 0, len(anc)+1)
	for i := len(anc) - 1; i >= 0; i-- {
		parts = append(parts, anc[i].Name)
	}
	return strings.Join(append(parts, name), "/")
}

// Site returns the site the location is in (itself when it is a site).
func (t *LocationTree) Site(name string) (Location, bool) {
	l, ok := t.byName[name]
	if !ok {
		return Location{}, false
	}
	if l.Kind == KindSite {
		return *l, true
	}
	for _, a := range t.Ancestors(name) {
		if a.Kind == KindSite {
			return a, true
		}
	}
	return Location{}, false
}

// Roots returns the locations without a parent, in name order.
func (t *LocationTree) Roots() []Location {
	var out []Location
	for _, l := range t.byName {
		if l.Parent == "" {
			out = append(out, *l)
		}
	}
	slices.SortFunc(out, func(a, b Location) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Children returns the direct children of name, in name order.
func (t *LocationTree) Children(name string) []Location {
	out := make([]Location, 0, len(t.children[name]))
	for _, c := range t.children[name] {
		out = append(out, *t.byName[c])
	}
	return out
}

// TreeNode is a location with its children, as served by the tree endpoint.
type TreeNode struct {
	Location
	Path     string     `json:"path"`
	Children []TreeNode `json:"children,omitempty"`
}

// Tree returns the hierarchy under name (or every root when name is "").
func (t *LocationTree) Tree(name string) []TreeNode {
	var build func(Location) TreeNode
	build = func(l Location) TreeNode {
		n := TreeNode{Location: l, Path: t.Path(l.Name)}
		for _, c := range t.Children(l.Name) {
			n.Children = append(n.Children, build(c))
		}
		return n
	}
	if name == "" {
		var out []TreeNode
		for _, r := range t.Roots() {
			out = append(out, build(r))
		}
		return out
	}
	l, ok := t.byName[name]
	if !ok {
		return nil
	}
	return []TreeNode{build(*l)}
}
