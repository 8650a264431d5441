package cluster

import (
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
)

func newTextLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func TestOwnership(t *testing.T) {
	var nodes []string
	for i := range 1000 {
		nodes = append(nodes, fmt.Sprintf("node-%04d", i))
	}
	healthy := []Member{{Name: "a", Healthy: true}, {Name: "b", Healthy: true}, {Name: "c", Healthy: true}}
	withSick := append(slices.Clone(healthy), Member{Name: "sick"})
	cases := []struct {
		name    string
		members []Member
		self    string
		none    bool // self owns nothing
	}{
		{"healthy member", healthy, "b", false},
		{"unhealthy member", withSick, "sick", true},
		{"not a member", healthy, "stranger", true},
		{"no members", nil, "a", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			owned := Ownership{}.Owned(tc.self, tc.members, nodes)
			if tc.none != (len(owned) == 0) {
				t.Fatalf("%s owns %d nodes", tc.self, len(owned))
			}
			if !slices.IsSorted(owned) {
				t.Error("Owned not sorted")
			}
		})
	}

	// The shares of the members partition the nodes, and an unhealthy
	// member changes nothing.
	var all []string
	for _, m := range healthy {
		mine := Ownership{}.Owned(m.Name, healthy, nodes)
		if !slices.Equal(mine, Ownership{}.Owned(m.Name, withSick, nodes)) {
			t.Errorf("%s: an unhealthy member changed the shares", m.Name)
		}
		all = append(all, mine...)
	}
	slices.Sort(all)
	if !slices.Equal(all, nodes) {
		t.Errorf("the shares hold %d nodes, not each of the %d once", len(all), len(nodes))
	}
}
