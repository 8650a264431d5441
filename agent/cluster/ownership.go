package cluster

import (
	"slices"

	"github.com/unet-project/unet/shared/ring"
)

// Ownership maps nodes to members with shared/ring. Every agent of a site
// must use the same Ring configuration (Config.Ring).
type Ownership struct {
	Ring ring.Config
}

// Assign maps nodes (node ids) to the healthy members among members.
// Members that are not healthy get nothing; with no healthy member every
// node is unowned.
func (o Ownership) Assign(members []Member, nodes []string) *ring.Assignment {
	names := make([]string, 0, len(members))
	for _, m := range members {
		if m.Healthy {
			names = append(names, m.Name)
		}
	}
	return ring.Assign(names, nodes, o.Ring)
}

// Owned returns the nodes that self owns among nodes, sorted: none when
// self is not a healthy member of members.
func (o Ownership) Owned(self string, members []Member, nodes []string) []string {
	owned := slices.Clone(o.Assign(members, nodes).Owned(self))
	slices.Sort(owned)
	return owned
}
