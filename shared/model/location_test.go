package model

import (
	"strings"
	"testing"
)

func sampleLocations() []Location {
	return []Location{
		{Name: "eu", Kind: KindRegion},
		{Name: "fr", Kind: KindCountry, Parent: "eu"},
		{Name: "par1", Kind: KindSite, Parent: "fr"},
		{Name: "par1-r01", Kind: KindRack, Parent: "par1"},
		{Name: "par1-r02", Kind: KindRack, Parent: "par1"},
		{Name: "us", Kind: KindRegion},
	}
}

func TestLocationTree(t *testing.T) {
	tree, err := NewLocationTree(sampleLocations())
	if err != nil {
		t.Fatal(err)
	}
	if got := tree.Path("par1-r01"); got != "eu/fr/par1/par1-r01" {
		t.Errorf("path = %q", got)
	}
	if got := names(tree.Ancestors("par1-r01")); got != "par1,fr,eu" {
		t.Errorf("ancestors = %s, want nearest first", got)
	}
	if got := names(tree.Descendants("fr")); got != "par1,par1-r01,par1-r02" {
		t.Errorf("descendants = %s", got)
	}
	if got := names(tree.Roots()); got != "eu,us" {
		t.Errorf("roots = %s", got)
	}
	if s, ok := tree.Site("par1-r02"); !ok || s.Name != "par1" {
		t.Errorf("site of rack = %v %v, want par1", s.Name, ok)
	}
	if _, ok := tree.Site("fr"); ok {
		t.Error("a country has no site above it")
	}
	sub := tree.Subtree("par1")
	if len(sub) != 3 || !sub["par1-r02"] || sub["fr"] {
		t.Errorf("subtree = %v", sub)
	}
	trees := tree.Tree("")
	if len(trees) != 2 || trees[0].Children[0].Children[0].Path != "eu/fr/par1" {
		t.Errorf("tree = %+v", trees)
	}
}

func names(ls []Location) string {
	var out []string
	for _, l := range ls {
		out = append(out, l.Name)
	}
	return strings.Join(out, ",")
}

func TestLocationTreeRefusesCyclesAndDanglingParents(t *testing.T) {
	tests := []struct {
		name string
		locs []Location
		want string
	}{
		{"cycle", []Location{{Name: "a", Kind: KindSite, Parent: "c"}, {Name: "b", Kind: KindSite, Parent: "a"}, {Name: "c", Kind: KindSite, Parent: "b"}}, "cycle"},
		{"dangling", []Location{{Name: "a", Kind: KindSite, Parent: "nowhere"}}, `parent "nowhere" does not exist`},
		{"duplicate", []Location{{Name: "a", Kind: KindSite}, {Name: "a", Kind: KindRack}}, "defined twice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewLocationTree(tc.locs)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestLocationValidate(t *testing.T) {
	tests := []struct {
		name   string
		loc    Location
		fields []string
	}{
		{"valid", Location{Name: "par1", Kind: KindSite, Parent: "fr"}, nil},
		{"no kind", Location{Name: "par1"}, []string{"kind"}},
		{"bad kind", Location{Name: "par1", Kind: "planet"}, []string{"kind"}},
		{"own parent", Location{Name: "par1", Kind: KindSite, Parent: "par1"}, []string{"parent"}},
		{"bad name", Location{Name: "par/1", Kind: KindSite}, []string{"name"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { checkFields(t, tc.loc.Validate(), tc.fields) })
	}
}
